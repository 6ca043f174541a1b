"""poc.*: scope, day-90/91, day-30/31, treatment day 7/8 and 9/10 boundaries, privacy."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cptrules
import cptrules.ncci
from cptrules.report import Finding
from cptrules.rules.plan_of_care import certified_days, signature_deadline

ENGINE = cptrules.Engine(tables=cptrules.ncci.bundled_tables())
START = dt.date(2026, 2, 1)
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def day(n: int, base: dt.date = START) -> str:
    """ISO date ``n`` days after ``base``."""
    return (base + dt.timedelta(days=n)).isoformat()


def session(
    *,
    dos: str = "2026-03-04",
    poc: dict[str, Any] | str | None = "default",
    discipline: str = "PT",
    payer: str = "medicare",
    lines: list[dict[str, Any]] | None = None,
    **top: Any,
) -> dict[str, Any]:
    mod = {"PT": "GP", "OT": "GO", "SLP": "GN"}.get(discipline, "GP")
    s: dict[str, Any] = {
        "date_of_service": dos,
        "payer": payer,
        "provider": {"discipline": discipline},
        "total_treatment_minutes": 55,
        "lines": lines
        or [
            {"code": "97110", "minutes": 30, "units": 2, "modifiers": [mod]},
            {"code": "97530", "minutes": 23, "units": 2, "modifiers": [mod]},
        ],
    }
    if poc == "default":
        s["plan_of_care"] = {"start": "2026-02-01", "end": "2026-04-30", "signed": "2026-02-10"}
    elif poc is not None:
        s["plan_of_care"] = poc
    s.update(top)
    return s


def found(s: dict[str, Any], rule: str) -> list[Finding]:
    return [f for f in ENGINE.check(s).findings if f.rule == rule]


def poc_findings(s: dict[str, Any]) -> list[Finding]:
    return [f for f in ENGINE.check(s).findings if f.rule.startswith("poc.")]


# --------------------------------------------------------------------------- scope


def test_clean_visit_has_no_plan_of_care_findings() -> None:
    assert poc_findings(session(treatment_day=5, progress_report=False)) == []


@pytest.mark.parametrize("discipline", ["PT", "OT", "SLP"])
def test_missing_plan_for_each_therapy_discipline(discipline: str) -> None:
    got = found(session(poc=None, discipline=discipline), "poc.missing")
    assert [(f.severity, f.line, f.fixes) for f in got] == [("error", None, ())]
    assert "plan_of_care" in got[0].message


@pytest.mark.parametrize("discipline", ["MD", "DO", "NP", "PA", "DC", "LMT", "ATC"])
def test_non_therapist_visits_are_out_of_scope(discipline: str) -> None:
    s = session(
        poc={"start": "2026-02-01", "end": "2026-06-30"},
        discipline=discipline,
        dos="2026-07-01",
        treatment_day=12,
    )
    assert poc_findings(s) == []
    assert poc_findings(session(poc=None, discipline=discipline)) == []


def test_visit_without_always_therapy_code_is_out_of_scope() -> None:
    lines = [{"code": "20560", "muscles": 2}]
    assert poc_findings(session(poc=None, lines=lines)) == []
    lines.append({"code": "97110", "minutes": 15, "modifiers": ["GP"]})
    assert [f.rule for f in poc_findings(session(poc=None, lines=lines))] == ["poc.missing"]


@pytest.mark.parametrize("payer", ["commercial", "aetna", "uhc-commercial", "bcbs-mn"])
def test_commercial_payers_are_out_of_scope(payer: str) -> None:
    assert poc_findings(session(poc=None, payer=payer, treatment_day=12)) == []


# --------------------------------------------------------------------------- poc.expired


def plan(end: str, signed: str | None = "2026-02-10") -> dict[str, Any]:
    return {"start": "2026-02-01", "end": end, "signed": signed}


@pytest.mark.parametrize(
    ("dos", "fires"),
    [
        (day(-1), True),  # the day before the first certified day
        (day(0), False),  # the first certified day (the evaluation)
        ("2026-04-30", False),  # the last day certified
        ("2026-05-01", True),  # the day after
    ],
)
def test_date_of_service_in_period_boundaries(dos: str, fires: bool) -> None:
    got = found(session(dos=dos), "poc.expired")
    assert bool(got) is fires
    assert all(f.severity == "error" and "1 day " in f.message for f in got)


def test_before_start_and_after_end_messages_differ() -> None:
    (before,) = found(session(dos=day(-3)), "poc.expired")
    (after,) = found(session(dos="2026-05-04"), "poc.expired")
    assert "3 days before" in before.message
    assert "4 days after" in after.message
    assert "recertification" in after.message


@pytest.mark.parametrize(
    ("end", "length", "fires"),
    [
        (day(88), 89, False),
        (day(89), 90, False),  # 2026-05-01: day 90, start counted as day 1
        (day(90), 91, True),  # 2026-05-02: day 91
        (day(180), 181, True),
    ],
)
def test_ninety_day_period_boundary(end: str, length: int, fires: bool) -> None:
    got = found(session(poc=plan(end)), "poc.expired")
    assert bool(got) is fires
    if fires:
        (f,) = got
        assert f"{length} calendar days" in f.message
        assert f"{length - 90} more" in f.message


def test_day_90_is_2026_05_01() -> None:
    assert day(89) == "2026-05-01"
    assert certified_days(START, dt.date(2026, 5, 1)) == 90
    assert certified_days(START, dt.date(2026, 5, 2)) == 91
    assert certified_days(START, START) == 1


def test_outside_and_too_long_are_two_findings() -> None:
    got = found(session(poc=plan(day(90)), dos=day(91)), "poc.expired")
    assert len(got) == 2


@settings(max_examples=200, deadline=None)
@given(
    length=st.integers(1, 200),
    offset=st.integers(-40, 240),
)
def test_expired_fires_exactly_outside_or_too_long(length: int, offset: int) -> None:
    end = START + dt.timedelta(days=length - 1)
    dos = START + dt.timedelta(days=offset)
    got = found(session(poc=plan(end.isoformat()), dos=dos.isoformat()), "poc.expired")
    expected = int(not START <= dos <= end) + int(length > 90)
    assert len(got) == expected


# --------------------------------------------------------------------------- poc.unsigned


def test_signature_deadline_is_start_plus_30() -> None:
    assert signature_deadline(START) == dt.date(2026, 3, 3)


@pytest.mark.parametrize(
    ("signed", "fires"),
    [(day(0), False), (day(29), False), (day(30), False), (day(31), True), (day(40), True)],
)
def test_signed_day_30_vs_31(signed: str, fires: bool) -> None:
    got = found(session(poc=plan("2026-04-30", signed), dos=day(45)), "poc.unsigned")
    assert bool(got) is fires
    if fires:
        (f,) = got
        assert f.severity == "error"
        assert "late certification" in f.message


def test_signed_one_day_late_says_one_day() -> None:
    (f,) = found(session(poc=plan("2026-04-30", day(31)), dos=day(45)), "poc.unsigned")
    assert "signed 1 day after" in f.message


@pytest.mark.parametrize(
    ("dos", "severity", "phrase"),
    [
        (day(0), "warning", "30 days after this date of service"),
        (day(29), "warning", "1 day after this date of service"),
        (day(30), "warning", "today"),  # the last day of the window
        (day(31), "error", "closed 1 day before"),
        (day(60), "error", "closed 30 days before"),
    ],
)
def test_unsigned_day_30_vs_31(dos: str, severity: str, phrase: str) -> None:
    got = found(session(poc=plan("2026-04-30", None), dos=dos), "poc.unsigned")
    assert [f.severity for f in got] == [severity]
    assert phrase in got[0].message


@pytest.mark.parametrize(("dos", "mentioned"), [("2024-12-31", False), ("2025-01-01", True)])
def test_signed_order_alternative_mentioned_from_2025(dos: str, mentioned: bool) -> None:
    base = dt.date.fromisoformat(dos) - dt.timedelta(days=40)
    p = {"start": base.isoformat(), "end": day(80, base), "signed": None}
    (f,) = found(session(poc=p, dos=dos), "poc.unsigned")
    assert ("signed and dated order" in f.message) is mentioned


def test_signed_before_start_is_not_late() -> None:
    assert found(session(poc=plan("2026-04-30", day(-5))), "poc.unsigned") == []


# --------------------------------------------------------------------------- poc.progress-report


@pytest.mark.parametrize(
    ("td", "severity"),
    [(1, None), (7, None), (8, "info"), (9, "info"), (10, "error"), (11, "error"), (40, "error")],
)
def test_treatment_day_boundaries(td: int, severity: str | None) -> None:
    got = found(session(treatment_day=td, progress_report=False), "poc.progress-report")
    assert [f.severity for f in got] == ([] if severity is None else [severity])


@pytest.mark.parametrize("td", [8, 9, 10, 11])
def test_progress_report_true_silences(td: int) -> None:
    assert found(session(treatment_day=td, progress_report=True), "poc.progress-report") == []


@pytest.mark.parametrize("flag", [False, None])
def test_progress_report_false_or_absent_counts_as_missing(flag: bool | None) -> None:
    s = session(treatment_day=10)
    if flag is not None:
        s["progress_report"] = flag
    assert [f.severity for f in found(s, "poc.progress-report")] == ["error"]


def test_no_treatment_day_says_nothing() -> None:
    assert found(session(progress_report=False), "poc.progress-report") == []


def test_progress_messages() -> None:
    (d8,) = found(session(treatment_day=8), "poc.progress-report")
    (d9,) = found(session(treatment_day=9), "poc.progress-report")
    (d10,) = found(session(treatment_day=10), "poc.progress-report")
    (d11,) = found(session(treatment_day=11), "poc.progress-report")
    (d13,) = found(session(treatment_day=13), "poc.progress-report")
    assert "2 visits after this one" in d8.message
    assert "1 visit after this one" in d9.message
    assert "overdue" not in d10.message
    assert "progress_report to true" in d10.message
    assert "(1 treatment day overdue)" in d11.message
    assert "(3 treatment days overdue)" in d13.message


# --------------------------------------------------------------------------- privacy


def test_messages_carry_no_dates() -> None:
    sessions = [
        session(poc=None),
        session(dos=day(-2)),
        session(dos="2026-05-09"),
        session(poc=plan(day(120))),
        session(poc=plan("2026-04-30", None), dos=day(10)),
        session(poc=plan("2026-04-30", None), dos=day(50)),
        session(poc=plan("2026-04-30", day(44)), dos=day(50)),
        session(treatment_day=9),
        session(treatment_day=12),
    ]
    seen = set()
    for s in sessions:
        for f in poc_findings(s):
            seen.add(f.rule)
            assert not ISO_DATE.search(f.message), f.message
    assert seen == {"poc.missing", "poc.expired", "poc.unsigned", "poc.progress-report"}
