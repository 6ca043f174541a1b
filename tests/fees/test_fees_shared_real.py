"""Real CMS 2024 RVUs, read in place from ../shared/real/pfs/ (never copied here).

That file is an independent decoding of the four 2024 PPRRVU releases (RVU24A,
RVU24AR, RVU24B, RVU24C) for therapy and chiropractic codes, in a derived
layout. The test writes its rows back into the official CMS CSV layout in a
temporary folder, reads them with our loader, and checks that the loader, the
release chosen by date and the per-unit national amount agree with it.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

import cptrules
from cptrules.fees import FeeSchedule, estimate

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "real" / "pfs" / "pprrvu_2024__therapy_chiro__arkrvu.csv"

_TOP = (
    ",,,STATUS,MEDICARE,WORK,NON-FAC,NA,FACILITY,NA,MP,NON-FACILITY,FACILITY,PCTC,GLOB,PRE,"
    "INTRA,POST,MULT,BILAT,ASST,CO-,TEAM,ENDO,CONV,DIAGNOSTIC,CALCULATION,FAMILY,PAYMENT,"
    "PAYMENT,PAYMENT"
)
_BOTTOM = (
    "HCPCS,MOD,DESCRIPTION,CODE,PAYMENT,RVU,PE RVU,INDICATOR,PE RVU,INDICATOR,RVU,TOTAL,TOTAL,"
    "IND,DAYS,OP,OP,OP,PROC,SURG,SURG,SURG,SURG,BASE,FACTOR,PROCEDURES,FLAG,INDICATOR,AMOUNT,"
    "AMOUNT,AMOUNT"
)
_ORDER = (
    *("hcpcs", "mod", None, "status_code", "not_used_for_medicare_payment", "work_rvu"),
    *("non_fac_pe_rvu", "non_fac_indicator", "facility_pe_rvu", "facility_indicator", "mp_rvu"),
    *("non_facility_total", "facility_total", "pctc_ind", "glob_days", "pre_op", "intra_op"),
    *("post_op", "mult_proc", "bilat_surg", "asst_surg", "co_surg", "team_surg", "endo_base"),
    *("conv_factor", "physician_supervision_of_diagnostic_procedures", "calculation_flag"),
    *("diagnostic_imaging_family_indicator", "non_facility_pe_used_for_opps_payment_amount"),
    *("facility_pe_used_for_opps_payment_amount", "mp_used_for_opps_payment_amount"),
)

pytestmark = pytest.mark.skipif(
    not REAL.exists(), reason="../shared/real is not beside the checkout"
)


def _rows() -> list[dict[str, str]]:
    with REAL.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> tuple[FeeSchedule, list[dict[str, str]]]:
    rows = _rows()
    folder = tmp_path_factory.mktemp("rvu")
    paths, effective = [], {}
    for source in dict.fromkeys(r["source_file"] for r in rows):
        name = f"{source.upper()}_PPRRVU.csv"  # e.g. RVU24AR_JAN_PPRRVU.csv
        lines = [",,2024 PPRRVU (rebuilt for a test),,", _TOP, _BOTTOM]
        for r in rows:
            if r["source_file"] == source:
                lines.append(",".join("" if k is None else r[k] for k in _ORDER))
        (folder / name).write_text("\r\n".join(lines) + "\r\n", encoding="cp1252")
        paths.append(folder / name)
        first = next(r for r in rows if r["source_file"] == source)
        effective[name] = dt.date.fromisoformat(first["date_start"])
    return FeeSchedule.from_files(paths, effective=effective), rows


def test_loader_agrees_with_the_real_rows(real: tuple[FeeSchedule, list[dict[str, str]]]) -> None:
    schedule, rows = real
    assert len(schedule.releases) == 4
    for r in rows:
        release = schedule.release_for(dt.date.fromisoformat(r["date_start"]))
        assert release is not None
        rvu = release.rows[(r["hcpcs"], r["mod"])]
        assert rvu.work == Decimal(r["work_rvu"])
        assert rvu.pe_non_facility == Decimal(r["non_fac_pe_rvu"])
        assert rvu.pe_facility == Decimal(r["facility_pe_rvu"])
        assert rvu.mp == Decimal(r["mp_rvu"])
        assert rvu.mult_proc == r["mult_proc"]
        assert release.conversion_factor == Decimal(r["conv_factor"])


def test_97110_2024_and_the_conversion_factor_change(
    real: tuple[FeeSchedule, list[dict[str, str]]],
) -> None:
    schedule, rows = real
    r = next(x for x in rows if x["hcpcs"] == "97110" and x["source_file"] == "rvu24a_jan")
    assert (r["work_rvu"], r["non_fac_pe_rvu"], r["mp_rvu"], r["mult_proc"]) == (
        "0.45",
        "0.42",
        "0.01",
        "5",
    )
    for day, cf in (("2024-03-08", "32.7442"), ("2024-03-09", "33.2875")):
        session = cptrules.load_session(
            {
                "date_of_service": day,
                "payer": "medicare",
                "provider": {"discipline": "PT"},
                "lines": [{"code": "97110", "minutes": 15, "units": 1, "modifiers": ["GP"]}],
            }
        )
        est = estimate(session, schedule, locality="national")
        expected = (Decimal(r["non_facility_total"]) * Decimal(cf)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        assert est.lines[0].allowed == expected
        assert cf in est.source


def test_always_therapy_codes_carry_indicator_5(
    real: tuple[FeeSchedule, list[dict[str, str]]],
) -> None:
    """The MPPR reads indicator 5 from the file: the timed therapy codes have it, CMT not."""
    schedule, _ = real
    rows = schedule.releases[0].rows
    assert {rows[(c, "")].mult_proc for c in ("97110", "97112", "97140", "97530")} == {"5"}
    assert rows[("98940", "")].mult_proc == "0"
