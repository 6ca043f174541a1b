"""Typed, frozen models of one visit (a *session*) and its service lines.

Build them with :func:`cptrules.load_session`, which validates everything and
reports every problem at once; the constructors here trust their input.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

import attrs

__all__ = [
    "DISCIPLINES",
    "Discipline",
    "Documentation",
    "PlanOfCare",
    "Provider",
    "ServiceLine",
    "Session",
    "TherapyYtd",
]

Discipline = Literal["PT", "OT", "SLP", "DC", "MD", "DO", "NP", "PA", "LMT", "LAC", "ATC"]
DISCIPLINES: tuple[str, ...] = (
    "PT",
    "OT",
    "SLP",
    "DC",
    "MD",
    "DO",
    "NP",
    "PA",
    "LMT",
    "LAC",
    "ATC",
)


@attrs.frozen
class Provider:
    """Who furnished the services: a discipline and, optionally, an NPI."""

    discipline: str
    npi: str | None = None


@attrs.frozen
class PlanOfCare:
    """A certification period: first and last day certified, and the signing day."""

    start: dt.date
    end: dt.date
    signed: dt.date | None = None


@attrs.frozen
class Documentation:
    """Free-text notes for one line. Never echoed in messages: only presence is read."""

    response: str | None = None
    rationale: str | None = None
    goals: str | None = None


@attrs.frozen
class TherapyYtd:
    """Medicare allowed dollars accrued this calendar year, before the date of service."""

    pt_slp: Decimal | None = None
    ot: Decimal | None = None


@attrs.frozen
class ServiceLine:
    """One claim line: a code with its minutes, units, modifiers and context."""

    code: str
    minutes: int | None = None
    units: int | None = None
    modifiers: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    assistant_minutes: int | None = None
    diagnosis_pointers: tuple[int, ...] = ()
    muscles: int | None = None
    start: dt.time | None = None
    end: dt.time | None = None
    documentation: Documentation | None = None


@attrs.frozen
class Session:
    """One visit: date of service, payer, provider and service lines."""

    date_of_service: dt.date
    payer: str
    provider: Provider
    lines: tuple[ServiceLine, ...]
    diagnoses: tuple[str, ...] = ()
    plan_of_care: PlanOfCare | None = None
    treatment_day: int | None = None
    progress_report: bool | None = None
    therapy_ytd_allowed: TherapyYtd | None = None
    total_treatment_minutes: int | None = None
