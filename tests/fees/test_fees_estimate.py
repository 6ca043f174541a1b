"""Medicare allowed amounts: the hand calculation, MPPR, CQ/CO, settings and gaps."""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cptrules
from cptrules.errors import DataError
from cptrules.fees import (
    ContractSchedule,
    FeeSchedule,
    Release,
    compare,
    effective_from_name,
    estimate,
    estimate_contract,
    read_gpci,
    read_pprrvu,
)

FIX = Path(__file__).parent.parent / "fixtures" / "pfs"
FILES = [FIX / "PPRRVU24_JAN.csv", FIX / "RVU24AR_PPRRVU24_JAN.csv", FIX / "GPCI2024.csv"]
AR = {"RVU24AR_PPRRVU24_JAN.csv": dt.date(2024, 3, 9)}
LOC = "99999-01"  # work 1.000, PE 0.950, MP 0.800


@pytest.fixture(scope="module")
def schedule() -> FeeSchedule:
    return FeeSchedule.from_files(FILES, effective=AR)


def _session(lines: list[dict[str, Any]], day: str = "2024-06-03", payer: str = "medicare") -> Any:
    return cptrules.load_session(
        {"date_of_service": day, "payer": payer, "provider": {"discipline": "PT"}, "lines": lines}
    )


def _visit(cq_on_97140: bool = False, day: str = "2024-06-03") -> Any:
    mods = ["GP", "CQ"] if cq_on_97140 else ["GP"]
    return _session(
        [
            {"code": "97110", "minutes": 33, "units": 2, "modifiers": ["GP"]},
            {"code": "97140", "minutes": 8, "units": 1, "modifiers": mods},
        ],
        day,
    )


def _cents(x: Decimal) -> Decimal:
    return x.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _hand() -> dict[str, Decimal]:
    """The hand calculation of docs/money.md, from the fixture's numbers."""
    cf = Decimal("33.2875")
    gw, gpe, gmp = Decimal("1.000"), Decimal("0.950"), Decimal("0.800")
    out = {}
    for code, (w, pe, mp) in {
        "97110": ("0.50", "0.40", "0.02"),
        "97140": ("0.40", "0.35", "0.02"),
    }.items():
        W, PE, MP = Decimal(w) * gw, Decimal(pe) * gpe, Decimal(mp) * gmp
        out[code] = _cents((W + PE + MP) * cf)
        out[code + "-mppr"] = _cents((W + PE / 2 + MP) * cf)
    return out


def test_the_worked_example_without_cq(schedule: FeeSchedule) -> None:
    hand = _hand()
    est = estimate(_visit(), schedule, locality=LOC)
    first, second = est.lines
    # 97110 has the highest PE payment: its first unit is paid in full, every other unit reduced
    assert first.allowed == hand["97110"] + hand["97110-mppr"] == Decimal("53.33")
    assert second.allowed == hand["97140-mppr"] == Decimal("19.38")
    assert est.total == Decimal("72.71")
    assert [(a.kind, a.amount) for a in first.adjustments] == [("mppr", Decimal("-6.33"))]
    assert [(a.kind, a.amount) for a in second.adjustments] == [("mppr", Decimal("-5.54"))]
    assert est.complete


def test_the_worked_example_with_cq_on_one_line(schedule: FeeSchedule) -> None:
    est = estimate(_visit(cq_on_97140=True), schedule, locality=LOC)
    first, second = est.lines
    assert first.allowed == Decimal("53.33")  # no CQ there: unchanged
    assert second.allowed == _cents(_hand()["97140-mppr"] * Decimal("0.85")) == Decimal("16.47")
    assert [(a.kind, a.amount) for a in second.adjustments] == [
        ("mppr", Decimal("-5.54")),
        ("assistant", Decimal("-2.91")),
    ]
    assert est.total == Decimal("69.80")


def test_the_full_unit_goes_to_the_highest_pe_payment(schedule: FeeSchedule) -> None:
    """97530 (PE 0.60) outranks 97110 (PE 0.40): both 97110 units are reduced."""
    est = estimate(
        _session(
            [
                {"code": "97110", "units": 2, "minutes": 30, "modifiers": ["GP"]},
                {"code": "97530", "units": 1, "minutes": 15, "modifiers": ["GP"]},
            ]
        ),
        schedule,
        locality=LOC,
    )
    assert est.lines[0].allowed == 2 * _hand()["97110-mppr"]
    assert est.lines[1].adjustments == ()


def test_one_therapy_unit_alone_is_paid_in_full(schedule: FeeSchedule) -> None:
    est = estimate(_session([{"code": "97140", "units": 1, "minutes": 10}]), schedule, locality=LOC)
    assert est.lines[0].allowed == _hand()["97140"]
    assert est.lines[0].adjustments == ()


def test_release_by_date_of_service(schedule: FeeSchedule) -> None:
    before = estimate(
        _session([{"code": "97140", "units": 1}], "2024-03-08"), schedule, locality=LOC
    )
    after = estimate(
        _session([{"code": "97140", "units": 1}], "2024-03-09"), schedule, locality=LOC
    )
    assert "32.7442" in before.source
    assert "33.2875" in after.source
    assert before.lines[0].allowed == _cents(Decimal("0.7485") * Decimal("32.7442"))
    assert after.lines[0].allowed == _cents(Decimal("0.7485") * Decimal("33.2875"))


def test_cmt_is_not_reduced_and_uses_facility_pe_in_a_facility(schedule: FeeSchedule) -> None:
    lines = [
        {"code": "98940", "units": 1, "modifiers": ["AT"]},
        {"code": "97110", "units": 2, "minutes": 30, "modifiers": ["GP"]},
    ]
    office = estimate(_session(lines), schedule, locality="national")
    hospital = estimate(_session(lines), schedule, locality="national", place_of_service="22")
    cf = Decimal("33.2875")
    assert office.lines[0].allowed == _cents(Decimal("0.77") * cf)  # 0.45 + 0.30 + 0.02
    assert hospital.lines[0].allowed == _cents(Decimal("0.67") * cf)  # facility PE 0.20
    assert office.lines[0].adjustments == ()
    assert "unverified" in hospital.source
    assert "unverified" not in office.source
    # therapy: the non-facility rate in every setting
    assert office.lines[1].allowed == hospital.lines[1].allowed
    evaluation = [
        {"code": "97530", "units": 1, "minutes": 15}
    ]  # facility PE 0.30, non-facility 0.60
    at_hospital = estimate(
        _session(evaluation), schedule, locality="national", place_of_service="22"
    )
    assert at_hospital.lines[0].allowed == _cents(Decimal("1.07") * cf)


def test_lines_that_cannot_be_priced_are_named(schedule: FeeSchedule) -> None:
    est = estimate(
        _session(
            [
                {"code": "97010", "units": 1},
                {"code": "97014", "units": 1},
                {"code": "99999", "units": 1},
                {"code": "97110", "minutes": 30},
            ]
        ),
        schedule,
        locality=LOC,
    )
    assert est.lines[0].allowed == Decimal("0.00")
    assert "bundled" in (est.lines[0].note or "")
    assert est.lines[1].allowed is None
    assert "status I" in (est.lines[1].note or "")
    assert est.lines[2].allowed is None
    assert "not in the fee schedule" in (est.lines[2].note or "")
    assert est.lines[3].allowed is None
    assert "no units" in (est.lines[3].note or "")
    assert not est.complete
    assert est.to_dict()["complete"] is False
    # given units (the engine's expected ones) price the line
    priced = estimate(
        est_session := _session([{"code": "97110", "minutes": 30}]),
        schedule,
        locality=LOC,
        units=[2],
    )
    assert priced.lines[0].units == 2
    assert priced.complete
    assert est_session.lines[0].units is None


def test_no_data_for_the_day_or_locality_is_said(schedule: FeeSchedule) -> None:
    early = estimate(
        _session([{"code": "97110", "units": 1}], "2023-12-31"), schedule, locality=LOC
    )
    assert not early.complete
    assert "no fee schedule release covers 2023-12-31" in early.source
    nowhere = estimate(_session([{"code": "97110", "units": 1}]), schedule, locality="12345-67")
    assert not nowhere.complete
    assert "no GPCI for locality 12345-67 in 2024" in nowhere.source


def test_cq_before_2022_is_not_reduced() -> None:
    table = read_pprrvu(FIX / "PPRRVU24_JAN.csv")
    old = FeeSchedule([Release("RVU21A", dt.date(2021, 1, 1), table.conversion_factor, table.rows)])
    lines = [{"code": "97140", "units": 1, "modifiers": ["GP", "CQ"]}]
    est = estimate(_session(lines, "2021-06-01"), old, locality="national")
    assert est.lines[0].adjustments == ()
    est22 = estimate(_session(lines, "2022-06-01"), old, locality="national")
    assert [a.kind for a in est22.lines[0].adjustments] == ["assistant"]


def test_to_dict_money_is_decimal_strings(schedule: FeeSchedule) -> None:
    d = estimate(_visit(True), schedule, locality=LOC).to_dict()
    assert d["currency"] == "USD"
    assert d["total"] == "69.80"
    assert d["lines"][1] == {
        "line": 1,
        "code": "97140",
        "units": 1,
        "allowed": "16.47",
        "adjustments": [
            {"kind": "mppr", "amount": "-5.54", "units": 1, "source": ANY},
            {"kind": "assistant", "amount": "-2.91", "units": 1, "source": ANY},
        ],
    }
    assert "Pub. 100-04, ch. 5, sec. 10.7" in d["lines"][1]["adjustments"][0]["source"]
    assert "1834(v)" in d["lines"][1]["adjustments"][1]["source"]
    assert any("sequestration" in x for x in d["left_out"])
    text = estimate(_visit(True), schedule, locality=LOC).to_text()
    assert "97140" in text
    assert "16.47" in text
    assert "69.80" in text


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["97110", "97112", "97140", "97530", "98940", "97010", "97016"]),
            st.integers(0, 6),
            st.booleans(),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_invariants(lines: list[tuple[str, int, bool]]) -> None:
    sched = FeeSchedule.from_files(FILES, effective=AR)
    session = _session(
        [{"code": c, "units": u, "modifiers": ["GP", "CQ"] if cq else ["GP"]} for c, u, cq in lines]
    )
    est = estimate(session, sched, locality=LOC)
    assert est.total == sum(ln.allowed or Decimal(0) for ln in est.lines)
    full_units = 0
    for ln, (code, units, _) in zip(est.lines, lines, strict=True):
        assert ln.allowed is not None
        assert ln.allowed >= 0
        assert all(a.amount < 0 for a in ln.adjustments)
        unreduced = ln.allowed - sum(a.amount for a in ln.adjustments)
        rvu = sched.releases[-1].rows[(code, "")]
        if rvu.status == "A":
            assert (
                unreduced
                == units
                * estimate(_session([{"code": code, "units": 1}]), sched, locality=LOC).total
            )
        mppr = [a for a in ln.adjustments if a.kind == "mppr"]
        if rvu.mult_proc == "5" and units:
            full_units += units - mppr[0].units if mppr else units
    therapy_units = sum(u for c, u, _ in lines if sched.releases[-1].rows[(c, "")].mult_proc == "5")
    assert full_units == min(1, therapy_units)  # exactly one therapy unit escapes the MPPR


# --- schedules ------------------------------------------------------------------------------


def test_effective_from_names() -> None:
    assert effective_from_name("RVU24C.zip!PPRRVU24_JUL.csv") == dt.date(2024, 7, 1)
    assert effective_from_name("rvu25d_0.zip") == dt.date(2025, 10, 1)
    assert effective_from_name("mystery.csv") is None


def test_correction_release_needs_its_day() -> None:
    with pytest.raises(DataError, match="give its first day"):
        FeeSchedule.from_files(FILES)


def test_two_releases_on_one_day_are_refused() -> None:
    with pytest.raises(DataError, match="two fee releases take effect on 2024-01-01"):
        FeeSchedule.from_files(
            [FIX / "PPRRVU24_JAN.csv", FIX / "RVU24AR_PPRRVU24_JAN.csv"],
            effective={"RVU24AR_PPRRVU24_JAN.csv": dt.date(2024, 1, 1)},
        )


def test_gpci_lookup_keys_by_mac_and_locality(schedule: FeeSchedule) -> None:
    day = dt.date(2024, 5, 1)
    a, c = schedule.gpci_for(day, "99999-01"), schedule.gpci_for(day, "99998-01")
    assert a is not None
    assert c is not None
    assert a.pe != c.pe
    assert schedule.gpci_for(dt.date(2025, 1, 2), "99999-01") is None
    assert [g.key for g in schedule.localities(2024)][:2] == ["99999-01", "99999-02"]
    assert read_gpci(FIX / "GPCI2024.csv").rows["99999-01"] == a


# --- contract rates and comparison ------------------------------------------------------------


def test_contract_rates_and_compare(schedule: FeeSchedule) -> None:
    acme = ContractSchedule.from_csv(FIX / "contract_rates_acme.csv", name="acme")
    visit = _visit(day="2024-08-01")
    est = estimate_contract(visit, acme, payer="acme")
    assert [ln.allowed for ln in est.lines] == [Decimal("65.00"), Decimal("29.75")]
    assert est.total == Decimal("94.75")
    assert estimate_contract(_visit(day="2024-03-01"), acme).lines[0].allowed == Decimal("62.00")
    missing = estimate_contract(_session([{"code": "97530", "units": 1}]), acme)
    assert not missing.complete
    assert "no contract rate" in (missing.lines[0].note or "")
    both = compare(visit, {"medicare": schedule, "acme": acme}, locality=LOC)
    assert list(both) == ["medicare", "acme"]
    assert both["medicare"].payer == "medicare"
    assert both["acme"].total == Decimal("94.75")
    assert both["medicare"].total == Decimal("72.71")


def test_two_conversion_factors_in_one_release(tmp_path: Path) -> None:
    """From 2026 a release has a non-QP and a QP PPRRVU table: one is read, by choice."""
    z = tmp_path / "RVU26A.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(FIX / "PPRRVU24_JAN.csv", "PPRRVU2026_Jan_nonQPP.csv")
        zf.writestr(
            "PPRRVU2026_Jan_QPP.csv",
            (FIX / "PPRRVU24_JAN.csv").read_bytes().replace(b"32.7442", b"33.0000"),
        )
    default = FeeSchedule.from_files([z])
    qp = FeeSchedule.from_files([z], qualifying_apm=True)
    assert [r.conversion_factor for r in default.releases] == [Decimal("32.7442")]
    assert [r.conversion_factor for r in qp.releases] == [Decimal("33.0000")]
    assert default.releases[0].effective == dt.date(2026, 1, 1)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["97110", "97140", "97530", "98940", "72100"]),
            st.integers(1, 4),
            st.sampled_from([(), ("GP",), ("GP", "CQ"), ("26",), ("TC",)]),
        ),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["2024-02-01", "2024-06-03"]),
    st.sampled_from(["99999-01", "99999-02", "national"]),
    st.sampled_from(["11", "22"]),
)
def test_remembered_answers_equal_fresh_ones(
    lines: list[tuple[str, int, tuple[str, ...]]], day: str, locality: str, pos: str
) -> None:
    """The schedule's memos never change an answer: warm equals freshly computed."""
    sched = FeeSchedule.from_files(FILES, effective=AR)
    other = FeeSchedule.from_files(FILES, effective=AR)
    session = _session([{"code": c, "units": u, "modifiers": list(m)} for c, u, m in lines], day)
    other_pos = "22" if pos == "11" else "11"
    other_day = "2024-06-03" if day == "2024-02-01" else "2024-02-01"
    for loc, p, d in (
        (locality, other_pos, day),
        ("99999-02", pos, day),
        (locality, pos, other_day),
    ):
        neighbour = _session(
            [{"code": c, "units": u, "modifiers": list(m)} for c, u, m in lines], d
        )
        estimate(neighbour, sched, locality=loc, place_of_service=p)  # warm it with neighbours
    warm = estimate(session, sched, locality=locality, place_of_service=pos)
    fresh = estimate(session, other, locality=locality, place_of_service=pos)
    assert warm == fresh
