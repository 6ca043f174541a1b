"""The rule catalog: one module per rule family, registered in :data:`REGISTRY`.

Importing this package imports every rule module, which registers its rules
from their data (``data/rules/<module>.toml``), and then checks that every rule
the data declares was registered.
"""

from __future__ import annotations

from . import (  # noqa: F401  (imported for their registrations)
    claims,
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
from ._base import REGISTRY, Example, Rule, check_declared, rule

check_declared()

__all__ = ["REGISTRY", "Example", "Rule", "rule"]
