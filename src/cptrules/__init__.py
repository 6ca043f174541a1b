"""cptrules: check outpatient therapy and chiropractic billing before a claim goes out.

>>> import cptrules
>>> session = cptrules.load_session({"date_of_service": "2026-03-04", "payer": "medicare",
...     "provider": {"discipline": "PT"},
...     "lines": [{"code": "97110", "minutes": 33, "modifiers": ["GP"]},
...               {"code": "97140", "minutes": 7, "modifiers": ["GP"]}]})
>>> [(u.code, u.expected) for u in cptrules.check(session).units]
[('97110', 2), ('97140', 1)]

Importing cptrules reads no data and never imports hypothesis; the strategies
live in :mod:`cptrules.strategies` (the ``[hypothesis]`` extra).
"""

from __future__ import annotations

from . import units
from ._memo import clear_caches
from ._version import DATA_VERSION, __version__
from .engine import Engine, check, default_engine
from .episodes import Episode, EpisodeVisit, check_episode
from .errors import (
    ConfigError,
    CptRulesError,
    DataError,
    InvalidFixError,
    InvalidSessionError,
    NoRuleDataError,
    ProfileError,
)
from .models import Documentation, PlanOfCare, Provider, ServiceLine, Session, TherapyYtd
from .parsing import dump_session, load_session
from .report import Finding, Fix, LineUnits, Report, apply_fixes

__all__ = [
    "DATA_VERSION",
    "ConfigError",
    "CptRulesError",
    "DataError",
    "Documentation",
    "Engine",
    "Episode",
    "EpisodeVisit",
    "Finding",
    "Fix",
    "InvalidFixError",
    "InvalidSessionError",
    "LineUnits",
    "NoRuleDataError",
    "PlanOfCare",
    "ProfileError",
    "Provider",
    "Report",
    "ServiceLine",
    "Session",
    "TherapyYtd",
    "__version__",
    "apply_fixes",
    "check",
    "check_episode",
    "clear_caches",
    "default_engine",
    "dump_session",
    "load_session",
    "units",
]
