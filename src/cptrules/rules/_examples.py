"""Shared parts of the rules' example sessions.

Every rule carries examples that must pass and must fail; most are a Medicare PT
visit on 2026-03-04 with a plan of care in force, changed in one respect. These
helpers build that skeleton so the rule modules only say what differs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["DOC", "POC", "line", "manual_line", "pt_visit"]

#: a certification period in force on 2026-03-04, signed in time
POC: dict[str, str] = {"start": "2026-02-01", "end": "2026-04-30", "signed": "2026-02-10"}

#: documentation of a 97140 line: response, skilled rationale, goal link
DOC: dict[str, str] = {
    "response": "Lumbar extension improved after mobilization; pain eased.",
    "rationale": "Graded joint mobilization needs a therapist's hands and judgement.",
    "goals": "Supports goal 2: sit 30 minutes without pain.",
}


def pt_visit(lines: Iterable[dict[str, Any]], **top: Any) -> dict[str, Any]:
    """A Medicare PT visit on 2026-03-04 with ``lines``; ``top`` overrides or adds
    top-level keys, and a key set to None is left out."""
    session: dict[str, Any] = {
        "date_of_service": "2026-03-04",
        "payer": "medicare",
        "provider": {"discipline": "PT"},
        "diagnoses": ["M54.50"],
        "plan_of_care": POC,
        "treatment_day": 4,
        "lines": list(lines),
    }
    session.update(top)
    return {k: v for k, v in session.items() if v is not None}


def line(code: str, minutes: int | None, units: int, *mods: str, **extra: Any) -> dict[str, Any]:
    """A service line pointing at the first diagnosis; ``extra`` adds keys."""
    out: dict[str, Any] = {"code": code, "units": units, "modifiers": list(mods)}
    if minutes is not None:
        out["minutes"] = minutes
    out["diagnosis_pointers"] = [1]
    out.update(extra)
    return out


def manual_line(minutes: int = 23, units: int = 2, *mods: str, **extra: Any) -> dict[str, Any]:
    """A fully documented 97140 line: lumbar joint mobilization, with GP unless
    ``mods`` are given."""
    fields: dict[str, Any] = {
        "regions": ["lumbar"],
        "techniques": ["joint_mobilization"],
        "documentation": DOC,
    }
    fields.update(extra)
    return line("97140", minutes, units, *(mods or ("GP",)), **fields)
