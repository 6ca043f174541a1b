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


def test_one_shape_is_priced_by_the_table_of_its_own_day() -> None:
    # The engine keeps estimates per route and visit shape: a route must never span a
    # day on which the prices change (a release, 1 January for the GPCI year).
    days = ["2024-03-08", "2024-03-09", "2024-12-31", "2025-01-01", "2026-02-02", "2024-03-08"]
    # the correction in force a year later: 1 January 2025 falls inside a release
    later = FeeSchedule.from_files(
        [FIX / "PPRRVU24_JAN.csv", FIX / "RVU24AR_PPRRVU24_JAN.csv"],
        effective={"RVU24AR_PPRRVU24_JAN.csv": dt.date(2026, 1, 15)},
    )
    for schedule, locality, distinct in (
        (SCHEDULE, "99999-01", 4),
        (SCHEDULE, "national", 4),
        (later, "national", 3),
    ):
        engine = cptrules.Engine(fees=schedule, locality=locality)
        sources = set()
        for day in days:
            visit = {**_visit(), "date_of_service": day}
            report = engine.check(visit)
            session = cptrules.load_session(visit)
            alone = cptrules.fees.estimate(
                session, schedule, locality=locality, units=[u.billed for u in report.units]
            )
            assert report.estimate == alone, (locality, day)
            sources.add(alone.source)
        # two releases in 2024; then GPCI 2025 and 2026 (none for the locality: said per year)
        assert len(sources) == distinct, locality


def test_an_estimate_kept_for_a_dropped_shape_is_not_reused() -> None:
    # The engine keeps estimates by the id of a visit's shape object: an id can come
    # back for another shape once the first is dropped, so the entry pins its shape.
    engine = cptrules.Engine(fees=SCHEDULE, locality="99999-01")
    other = {**_visit(), "lines": [{"code": "97530", "minutes": 40, "modifiers": ["GP"]}]}
    wrong = engine.check(other).estimate
    first = engine.check(_visit()).estimate
    assert wrong is not None
    assert first is not None
    assert wrong != first
    planted = 0
    for route in list(engine._routes.values()):
        if route.prices is not None:
            # every entry now claims to be some other shape's, with the other visit's estimate
            for key in list(route.prices):
                route.prices[key] = (object(), wrong, True)
                planted += 1
    assert planted == 2
    assert engine.check(_visit()).estimate == first
