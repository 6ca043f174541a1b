"""The rule catalog: one module per rule family, registered in :data:`REGISTRY`.

Importing this package imports every rule module, which registers its rules.
"""

from __future__ import annotations

from . import (  # noqa: F401  (imported for their registrations)
    code_catalog,
    coding,
    coverage,
    documentation,
    episode,
    modifiers,
    ncci,
    plan_of_care,
    provider_limits,
    telehealth,
    timing,
    units,
)
from ._base import REGISTRY, Example, Rule, rule

__all__ = ["REGISTRY", "Example", "Rule", "rule"]
