"""Timed units and the MUE agree, so settle() converges (the day's MUE caps what to bill).

CMS NCCI MUE: a date-of-service MUE (MAI 2 policy, 3 clinical) denies every unit
of the code on the day once the units pass it. A clinic whose chart gives 7
units of 97110 (105 minutes) bills 6, the bundled MUE of 97110 (MAI 3): the
seventh unit would sink the other six.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cptrules
import cptrules.ncci
from cptrules import strategies
from cptrules.ncci.tables import MemoryTables
from cptrules.strategies._build import env_of
from cptrules.strategies._faults import FAULTS

ENGINE = cptrules.Engine(tables=cptrules.ncci.bundled_tables())


def visit(units: int, payer: str = "medicare", minutes: int = 105) -> dict[str, Any]:
    return {
        "date_of_service": "2026-03-04",
        "payer": payer,
        "provider": {"discipline": "PT"},
        "diagnoses": ["M54.50"],
        "plan_of_care": {"start": "2026-02-01", "end": "2026-04-30", "signed": "2026-02-10"},
        "treatment_day": 3,
        "total_treatment_minutes": minutes + 5,
        "lines": [{"code": "97110", "minutes": minutes, "units": units, "modifiers": ["GP"]}],
    }


def rules_of(report: cptrules.Report) -> list[tuple[str, str]]:
    return [(f.rule, f.severity) for f in report.findings]


def test_billing_the_mue_is_not_under_billing() -> None:
    assert rules_of(ENGINE.check(visit(6))) == []


def test_the_charts_count_past_the_mue_is_the_mues_finding_alone() -> None:
    report = ENGINE.check(visit(7))
    assert rules_of(report) == [("ncci.mue", "error")]
    settled = report.settle()
    assert settled.report.ok
    assert settled.session.lines[0].units == 6


def test_over_the_chart_and_the_mue_both_fix_to_the_mue() -> None:
    report = ENGINE.check(visit(8))
    fixes = {(f.rule, fix.value) for f in report.findings for fix in f.fixes}
    assert fixes == {("units.total-time", 6), ("ncci.mue", 6)}
    (f,) = [f for f in report.findings if f.rule == "units.total-time"]
    assert "bill 6" in f.message
    assert "medically unlikely edit allows 6" in f.message
    assert report.settle().report.ok


def test_per_code_units_agree_with_the_mue_too() -> None:
    assert rules_of(ENGINE.check(visit(6, payer="commercial"))) == []
    assert report_ok_after_settle(visit(7, payer="commercial"))


def test_without_an_mue_loaded_the_chart_decides() -> None:
    bundled = cptrules.ncci.bundled_tables()
    engine = cptrules.Engine(tables=MemoryTables("ptp-only", bundled.edits()))
    (f,) = [f for f in engine.check(visit(6)).findings if f.rule == "units.total-time"]
    assert f.severity == "warning"
    assert [fix.value for fix in f.fixes] == [7]


def report_ok_after_settle(session: dict[str, Any]) -> bool:
    return ENGINE.check(session).settle().report.ok


_RULES = sorted(r for r in FAULTS if FAULTS[r].available(env_of(None)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_settle_never_ends_with_more_errors_than_it_started_with(data: st.DataObject) -> None:
    rule = data.draw(st.sampled_from(_RULES))
    session = data.draw(strategies.faulty_sessions(rule=rule))
    report = cptrules.check(session)
    before = sum(f.severity == "error" for f in report.findings)
    after = sum(f.severity == "error" for f in report.settle().report.findings)
    assert after <= before, (rule, rules_of(report), rules_of(report.settle().report))
