"""Engine(fees=...): every report carries the estimate when the engine has fee data."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import cptrules
from cptrules.fees import ContractSchedule, FeeSchedule
from cptrules.report import encode_report

FIX = Path(__file__).parent.parent / "fixtures" / "pfs"
SCHEDULE = FeeSchedule.from_files(
    [FIX / "PPRRVU24_JAN.csv", FIX / "RVU24AR_PPRRVU24_JAN.csv", FIX / "GPCI2024.csv"],
    effective={"RVU24AR_PPRRVU24_JAN.csv": dt.date(2024, 3, 9)},
)
ACME = ContractSchedule.from_csv(FIX / "contract_rates_acme.csv", name="acme")


def _visit(payer: str = "medicare") -> dict[str, Any]:
    return {
        "date_of_service": "2024-06-03",
        "payer": payer,
        "provider": {"discipline": "PT"},
        "lines": [
            {"code": "97110", "minutes": 33, "modifiers": ["GP"]},
            {"code": "97140", "minutes": 8, "units": 1, "modifiers": ["GP", "CQ"]},
        ],
    }


def test_report_carries_the_estimate_with_expected_units() -> None:
    engine = cptrules.Engine(fees=SCHEDULE, locality="99999-01")
    report = engine.check(_visit())
    assert report.estimate is not None
    assert [ln.units for ln in report.estimate.lines] == [2, 1]  # 97110: the engine's 2 units
    d = report.to_dict()
    assert d["estimate"]["total"] == "69.80"
    assert d["estimate"]["lines"][0]["allowed"] == "53.33"
    # the fast JSON writer and to_dict agree
    assert json.loads(encode_report(report)) == d
    assert json.loads(encode_report(report, indent=2)) == d


def test_no_fee_data_no_estimate_key() -> None:
    report = cptrules.check(_visit())
    assert report.estimate is None
    assert "estimate" not in report.to_dict()
    commercial = cptrules.Engine(fees=SCHEDULE).check(_visit("commercial"))
    assert commercial.estimate is None  # the Medicare schedule does not price a commercial payer


def test_contract_rates_price_their_payer() -> None:
    engine = cptrules.Engine(fees=SCHEDULE, contracts={"commercial": ACME})
    report = engine.check(_visit("commercial"))
    assert report.estimate is not None
    assert report.estimate.payer == "commercial"
    assert str(report.estimate.total) == "91.75"


def test_no_patient_data_in_the_estimate() -> None:
    visit = _visit()
    visit["lines"][0]["documentation"] = {"response": "SECRET free text"}
    report = cptrules.Engine(fees=SCHEDULE, locality="99999-01").check(visit)
    text = json.dumps(report.to_dict()["estimate"]) + repr(report.estimate)
    assert report.estimate is not None
    assert "SECRET" not in text + report.estimate.to_text()
