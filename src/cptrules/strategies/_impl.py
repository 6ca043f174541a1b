"""The composite strategies behind the public functions, named as the public calls.

The public functions in :mod:`cptrules.strategies` validate their arguments
and return these; a strategy's repr is therefore ``sessions(payer='aetna')``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import hypothesis.strategies as st

from ..models import PlanOfCare, ServiceLine, Session, TherapyYtd
from ..parsing import dump_session
from . import _data as D
from ._build import build_clean
from ._dicts import corrupt
from ._faults import FAULTS

__all__: list[str] = []

#: Well-formed codes the catalog does not know (E/M, imaging, a category III code):
#: sessions carry them and the engine must cope.
_OTHER_CODES = ("99213", "99203", "72100", "95851", "0552T", "A4556")

#: First date of service cptrules has rule data for (codes.toml ``data_start``).
_DATA_START = dt.date(2020, 1, 1)

_LAST_DAY = dt.date(2026, 12, 31)

_ICD = D.BACK_DIAGNOSES + D.OTHER_DIAGNOSES + D.CHIRO_DIAGNOSES

_NULLABLE_TOP = (
    "diagnoses",
    "plan_of_care",
    "treatment_day",
    "progress_report",
    "therapy_ytd_allowed",
    "total_treatment_minutes",
)

_NULLABLE_LINE = ("minutes", "units", "modifiers", "regions", "techniques", "documentation")


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


@st.composite
def service_lines(
    draw: st.DrawFn, *, code: str | None = None, payer: str | None = None, diagnoses: int = 0
) -> ServiceLine:
    from . import codes, documentations, modifiers, regions, techniques

    if code is None:
        code = draw(codes(payer=payer) | st.sampled_from(_OTHER_CODES))
    line_minutes = draw(st.none() | st.integers(0, 120))
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
        units=draw(st.none() | st.integers(0, 12)),
        modifiers=tuple(draw(st.lists(modifiers(), max_size=5, unique=True))),
        regions=tuple(draw(st.lists(regions(), max_size=3, unique=True))),
        techniques=tuple(draw(st.lists(techniques(), max_size=2, unique=True))),
        assistant_minutes=assistant,
        diagnosis_pointers=pointers,
        muscles=draw(st.none() | st.integers(1, 10)),
        start=start,
        end=end,
        documentation=draw(st.none() | documentations()),
    )


@st.composite
def sessions(
    draw: st.DrawFn, *, payer: str | None = None, min_lines: int = 1, max_lines: int = 6
) -> Session:
    from . import plans_of_care, providers, service_lines

    diagnoses = tuple(draw(st.lists(st.sampled_from(_ICD), max_size=4, unique=True)))
    ytd = draw(
        st.none()
        | st.builds(
            TherapyYtd,
            pt_slp=st.none() | st.integers(0, 900_000).map(lambda c: Decimal(c) / 100),
            ot=st.none() | st.integers(0, 900_000).map(lambda c: Decimal(c) / 100),
        )
    )
    return Session(
        date_of_service=draw(st.dates(_DATA_START, _LAST_DAY)),
        payer=payer if payer is not None else draw(st.sampled_from(D.payer_ids())),
        provider=draw(providers()),
        lines=tuple(
            draw(
                st.lists(
                    service_lines(payer=payer, diagnoses=len(diagnoses)),
                    min_size=min_lines,
                    max_size=max_lines,
                )
            )
        ),
        diagnoses=diagnoses,
        plan_of_care=draw(st.none() | plans_of_care()),
        treatment_day=draw(st.none() | st.integers(1, 30)),
        progress_report=draw(st.none() | st.booleans()),
        therapy_ytd_allowed=ytd,
        total_treatment_minutes=draw(st.none() | st.integers(0, 600)),
    )


@st.composite
def clean_sessions(
    draw: st.DrawFn,
    *,
    payer: str = "medicare",
    disciplines: tuple[str, ...] | None = None,
    min_date: dt.date | None = None,
    max_date: dt.date | None = None,
) -> Session:
    return build_clean(
        draw,
        payer,
        disciplines=disciplines,
        min_date=min_date or D.DEFAULT_MIN_DATE,
        max_date=max_date or D.DEFAULT_MAX_DATE,
    )


@st.composite
def faulty_sessions(draw: st.DrawFn, *, rule: str, payer: str | None = None) -> Session:
    from . import _rule_payers

    pid = payer if payer is not None else draw(st.sampled_from(_rule_payers(rule)))
    fault = FAULTS[rule]
    base = build_clean(draw, pid, need=fault.need)
    return fault.inject(draw, base, D.profile(pid, base.date_of_service))


@st.composite
def session_dicts(draw: st.DrawFn, *, payer: str | None = None) -> dict[str, Any]:
    data = dump_session(draw(sessions(payer=payer)))
    for key in draw(st.lists(st.sampled_from(_NULLABLE_TOP), unique=True, max_size=3)):
        data.setdefault(key, None)
    for line in data["lines"]:
        for key in draw(st.lists(st.sampled_from(_NULLABLE_LINE), unique=True, max_size=2)):
            if key == "minutes" and "assistant_minutes" in line:
                continue
            line.setdefault(key, None)
    return data


@st.composite
def invalid_session_dicts(draw: st.DrawFn, *, payer: str | None = None) -> dict[str, Any]:
    data = dump_session(draw(sessions(payer=payer)))
    return corrupt(draw, data)
