"""Test settings shared by the whole suite.

Under CI (``CI`` set, as ``.ci/run`` runs) Hypothesis draws the same examples every
run (``derandomize``), so a landing never depends on the luck of one draw; locally
it explores afresh each run, and a failure prints the blob that reproduces it.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
