"""Findings carry money where the engine's fee data tells it (docs/money.md)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import cptrules
from cptrules.fees import FeeSchedule
from cptrules.report import encode_report

FIX = Path(__file__).parent / "fixtures" / "pfs"


@pytest.fixture(scope="module")
def engine() -> cptrules.Engine:
    schedule = FeeSchedule.from_files(
        [FIX / "PPRRVU24_JAN.csv", FIX / "RVU24AR_PPRRVU24_JAN.csv", FIX / "GPCI2024.csv"],
        effective={"RVU24AR_PPRRVU24_JAN.csv": dt.date(2024, 3, 9)},
    )
    return cptrules.Engine(fees=schedule, locality="99999-01")


def _visit(*lines: dict[str, Any]) -> dict[str, Any]:
    return {
        "date_of_service": "2024-06-03",
        "payer": "medicare",
        "provider": {"discipline": "PT"},
        "lines": list(lines),
    }


def test_under_billed_units_say_what_they_leave_behind(engine: cptrules.Engine) -> None:
    visit = _visit({"code": "97110", "minutes": 38, "units": 1, "modifiers": ["GP"]})
    report = engine.check(visit)
    under = [f for f in report.findings if f.rule == "units.total-time"]
    assert under
    assert under[0].severity == "warning"
    fixed = engine.check(_visit({"code": "97110", "minutes": 38, "units": 3, "modifiers": ["GP"]}))
    assert report.estimate is not None
    assert fixed.estimate is not None
    assert under[0].amount == fixed.estimate.total - report.estimate.total
    assert under[0].amount > 0
    doc = report.to_dict()
    amounts = [f["amount"] for f in doc["findings"] if f["rule"] == "units.total-time"]
    assert amounts == [str(under[0].amount)]
    assert json.loads(encode_report(report)) == doc


def test_a_line_in_error_says_what_it_would_lose(engine: cptrules.Engine) -> None:
    report = engine.check(_visit({"code": "97110", "minutes": 30, "units": 2}))  # no GP
    errors = [f for f in report.findings if f.severity == "error" and f.line == 0]
    assert errors
    assert report.estimate is not None
    allowed = report.estimate.lines[0].allowed
    assert allowed is not None
    assert all(f.amount == allowed for f in errors)


def test_no_fee_data_no_amount() -> None:
    report = cptrules.check(
        _visit({"code": "97110", "minutes": 30, "units": 1, "modifiers": ["GP"]})
    )
    assert all(f.amount is None for f in report.findings)
    assert all("amount" not in f for f in report.to_dict()["findings"])
