"""The composite strategies behind the public functions, named as the public calls.

The public functions in :mod:`cptrules.strategies` validate their arguments
and return these; a strategy's repr is therefore ``sessions(payer='aetna')``.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import hypothesis.strategies as st

from .. import _schema as S
from ..models import PlanOfCare, ServiceLine, Session, TherapyYtd
from ..parsing import dump_session
from . import _data as D
from ._build import build_clean, env_of
from ._dicts import corrupt
from ._faults import FAULTS

if TYPE_CHECKING:
    from ..engine import Engine

__all__: list[str] = []

#: Well-formed codes the catalog does not know (E/M, imaging, a category III code):
#: sessions carry them and the engine must cope.
_OTHER_CODES = ("99213", "99203", "72100", "95851", "0552T", "A4556")

#: First date of service cptrules has rule data for (codes.toml ``data_start``).
_DATA_START = dt.date(2020, 1, 1)

_LAST_DAY = dt.date(2026, 12, 31)

_ICD = D.BACK_DIAGNOSES + D.OTHER_DIAGNOSES + D.CHIRO_DIAGNOSES

#: Keys a session dict may give as null (the same as leaving them out).
_NULLABLE_TOP = tuple(f.name for f in S.SESSION.fields if not f.required)

#: The same for a line; start and end go together, assistant minutes need minutes.
_NULLABLE_LINE = tuple(
    f.name for f in S.LINE.fields if not f.required and f.name not in ("start", "end")
)

#: Opaque ids as callers write them (never patient data: made up here).
_IDS = st.none() | st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_:.", min_size=1, max_size=S.MAX_ID
)


def _clock(m: int) -> dt.time:
    return dt.time(m // 60, m % 60)


@st.composite
def npis(draw: st.DrawFn) -> str:
    body = draw(st.sampled_from("12")) + draw(st.text("0123456789", min_size=8, max_size=8))
    return body + D.npi_check_digit(body)


@st.composite
def plans_of_care(draw: st.DrawFn) -> PlanOfCare:
    start = draw(st.dates(_DATA_START, _LAST_DAY))
    end = start + dt.timedelta(days=draw(st.integers(0, 200)))
    signed = draw(st.none() | st.dates(start - dt.timedelta(days=30), end))
    return PlanOfCare(start=start, end=end, signed=signed)


@functools.cache
def _parts(payer: str | None) -> dict[str, st.SearchStrategy[Any]]:
    """Sub-strategies built once per payer: building them per draw costs validation."""
    from . import codes, documentations, modifiers, plans_of_care, providers, regions, techniques

    cents = st.none() | st.integers(0, 900_000).map(lambda c: Decimal(c) / 100)
    return {
        "code": codes(payer=payer) | st.sampled_from(_OTHER_CODES),
        "minutes": st.none() | st.integers(0, 120),
        "units": st.none() | st.integers(0, 12),
        "modifiers": st.lists(modifiers(), max_size=5, unique=True).map(tuple),
        "regions": st.lists(regions(), max_size=3, unique=True).map(tuple),
        "techniques": st.lists(techniques(), max_size=2, unique=True).map(tuple),
        "muscles": st.none() | st.integers(1, 10),
        "documentation": st.none() | documentations(),
        "diagnoses": st.lists(st.sampled_from(_ICD), max_size=4, unique=True).map(tuple),
        "ytd": st.none() | st.builds(TherapyYtd, pt_slp=cents, ot=cents),
        "date": st.dates(_DATA_START, _LAST_DAY),
        "payer": st.sampled_from(D.payer_ids()) if payer is None else st.just(payer),
        "provider": providers(),
        "plan": st.none() | plans_of_care(),
        "treatment_day": st.none() | st.integers(1, 30),
        "progress": st.none() | st.booleans(),
        "total": st.none() | st.integers(0, 600),
    }


@functools.cache
def _lines(
    payer: str | None, diagnoses: int, min_lines: int, max_lines: int
) -> st.SearchStrategy[list[ServiceLine]]:
    return st.lists(
        service_lines(payer=payer, diagnoses=diagnoses), min_size=min_lines, max_size=max_lines
    )


@st.composite
def service_lines(
    draw: st.DrawFn, *, code: str | None = None, payer: str | None = None, diagnoses: int = 0
) -> ServiceLine:
    parts = _parts(payer)
    if code is None:
        code = draw(parts["code"])
    line_minutes = draw(parts["minutes"])
    assistant = None
    if line_minutes is not None and draw(st.booleans()):
        assistant = draw(st.integers(0, line_minutes))
    start = end = None
    if draw(st.booleans()):
        a = draw(st.integers(0, 23 * 60 + 59))
        b = draw(st.integers(a, 23 * 60 + 59))
        start, end = _clock(a), _clock(b)
    pointers: tuple[int, ...] = ()
    if diagnoses:
        pointers = tuple(
            draw(st.lists(st.integers(1, diagnoses), max_size=min(4, diagnoses), unique=True))
        )
    return ServiceLine(
        code=code,
        minutes=line_minutes,
        units=draw(parts["units"]),
        modifiers=draw(parts["modifiers"]),
        regions=draw(parts["regions"]),
        techniques=draw(parts["techniques"]),
        assistant_minutes=assistant,
        diagnosis_pointers=pointers,
        muscles=draw(parts["muscles"]),
        start=start,
        end=end,
        documentation=draw(parts["documentation"]),
    )


@st.composite
def sessions(
    draw: st.DrawFn, *, payer: str | None = None, min_lines: int = 1, max_lines: int = 6
) -> Session:
    parts = _parts(payer)
    diagnoses = draw(parts["diagnoses"])
    return Session(
        date_of_service=draw(parts["date"]),
        payer=draw(parts["payer"]),
        provider=draw(parts["provider"]),
        lines=tuple(draw(_lines(payer, len(diagnoses), min_lines, max_lines))),
        diagnoses=diagnoses,
        plan_of_care=draw(parts["plan"]),
        treatment_day=draw(parts["treatment_day"]),
        progress_report=draw(parts["progress"]),
        therapy_ytd_allowed=draw(parts["ytd"]),
        total_treatment_minutes=draw(parts["total"]),
        id=draw(_IDS),
        patient=draw(_IDS),
    )


@st.composite
def clean_sessions(
    draw: st.DrawFn,
    *,
    payer: str = "medicare",
    disciplines: tuple[str, ...] | None = None,
    min_date: dt.date | None = None,
    max_date: dt.date | None = None,
    engine: Engine | None = None,
) -> Session:
    return build_clean(
        draw,
        payer,
        env=env_of(engine),
        disciplines=disciplines,
        min_date=min_date or D.DEFAULT_MIN_DATE,
        max_date=max_date or D.DEFAULT_MAX_DATE,
    )


@st.composite
def faulty_sessions(
    draw: st.DrawFn, *, rule: str, payer: str | None = None, engine: Engine | None = None
) -> Session:
    from . import _rule_payers

    env = env_of(engine)
    pid = payer if payer is not None else draw(st.sampled_from(_rule_payers(rule, env)))
    fault = FAULTS[rule]
    base = build_clean(draw, pid, env=env, need=fault.need)
    return fault.inject(draw, base, env.profile(pid, base.date_of_service), env)


@st.composite
def session_dicts(draw: st.DrawFn, *, payer: str | None = None) -> dict[str, Any]:
    data = dump_session(draw(sessions(payer=payer)))
    for key in draw(st.lists(st.sampled_from(_NULLABLE_TOP), unique=True, max_size=3)):
        data.setdefault(key, None)
    for line in data["lines"]:
        for key in draw(st.lists(st.sampled_from(_NULLABLE_LINE), unique=True, max_size=2)):
            if key == "minutes" and line.get("assistant_minutes") is not None:
                continue
            line.setdefault(key, None)
    return data


@st.composite
def invalid_session_dicts(draw: st.DrawFn, *, payer: str | None = None) -> dict[str, Any]:
    data = dump_session(draw(sessions(payer=payer)))
    return corrupt(draw, data)
