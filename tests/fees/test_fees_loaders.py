"""Loaders for the CMS PPRRVU and GPCI files and contract rate CSVs."""

from __future__ import annotations

import contextlib
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cptrules.errors import CptRulesError, DataError
from cptrules.fees import read_contract_rates, read_fee_files, read_gpci, read_pprrvu

FIX = Path(__file__).parent.parent / "fixtures" / "pfs"
CSV = FIX / "PPRRVU24_JAN.csv"
TXT = FIX / "PPRRVU24_JAN.txt"
GPCI = FIX / "GPCI2024.csv"
RATES = FIX / "contract_rates_acme.csv"
HEADER_ROW = 5  # 1-based line of the HCPCS,MOD,... row in the fixture


def _lines(path: Path) -> list[str]:
    return path.read_bytes().decode("cp1252").split("\r\n")


# --- the fixtures are in the CMS layouts --------------------------------------------------


def test_fixtures_are_crlf_with_cms_header_rows() -> None:
    lines = _lines(CSV)
    assert lines[HEADER_ROW - 1].startswith("HCPCS,MOD,DESCRIPTION,CODE,PAYMENT,RVU,PE RVU,")
    assert lines[HEADER_ROW - 2].startswith(",,,STATUS,MEDICARE,WORK,NON-FAC,NA,FACILITY,")
    txt = [line for line in _lines(TXT) if line]
    assert all(len(line) == 150 for line in txt if line.startswith("HDR"))  # RVUPUF: 1-150
    assert all(len(line) == 200 for line in txt if not line.startswith("HDR"))
    assert _lines(GPCI)[2].startswith("Medicare Administrative Contractor (MAC),State,")


def test_no_descriptor_text_in_fixtures() -> None:
    for line in _lines(CSV)[HEADER_ROW:]:
        if line:
            assert line.split(",")[2] == ""  # DESCRIPTION empty


# --- PPRRVU CSV -------------------------------------------------------------------------


def test_csv_reads_rvus_and_conversion_factor() -> None:
    table = read_pprrvu(CSV)
    assert table.conversion_factor == Decimal("32.7442")
    r = table.rows[("97110", "")]
    assert (r.status, r.work, r.pe_non_facility, r.pe_facility, r.mp, r.mult_proc) == (
        "A",
        Decimal("0.50"),
        Decimal("0.40"),
        Decimal("0.40"),
        Decimal("0.02"),
        "5",
    )
    assert r.facility_na
    assert not r.non_facility_na
    assert table.rows[("72100", "26")].pe_non_facility == Decimal("0.08")
    assert len(table.rows) == 25


def test_csv_columns_are_found_by_name_not_position(tmp_path: Path) -> None:
    """Move the MP RVU column to the end: the loader still finds it by its name."""
    out = []
    for i, line in enumerate(_lines(CSV)):
        cells = line.split(",")
        if i >= HEADER_ROW - 2 and len(cells) > 10:
            cells.append(cells.pop(10))
        out.append(",".join(cells))
    moved = tmp_path / "PPRRVU24_JAN.csv"
    moved.write_text("\r\n".join(out), encoding="cp1252")
    assert dict(read_pprrvu(moved).rows) == dict(read_pprrvu(CSV).rows)


def test_txt_reads_the_same_rows_as_csv() -> None:
    txt, csv = read_pprrvu(TXT), read_pprrvu(CSV)
    assert txt.layout == "txt"
    assert dict(txt.rows) == dict(csv.rows)
    assert txt.conversion_factor == csv.conversion_factor


def test_txt_shifted_columns_are_refused(tmp_path: Path) -> None:
    lines = _lines(TXT)
    shifted = [line if line.startswith("HDR") or not line else " " + line[:-1] for line in lines]
    bad = tmp_path / "PPRRVU24_JAN.txt"
    bad.write_text("\r\n".join(shifted), encoding="cp1252")
    with pytest.raises(DataError) as err:
        read_pprrvu(bad)
    assert "PPRRVU24_JAN.txt:3:" in str(err.value)


def test_bad_number_names_file_line_and_column(tmp_path: Path) -> None:
    lines = _lines(CSV)
    cells = lines[HEADER_ROW + 3].split(",")
    cells[5] = "abc"
    lines[HEADER_ROW + 3] = ",".join(cells)
    bad = tmp_path / "PPRRVU24_JAN.csv"
    bad.write_text("\r\n".join(lines), encoding="cp1252")
    with pytest.raises(DataError) as err:
        read_pprrvu(bad)
    assert err.value.line == HEADER_ROW + 4
    assert "PPRRVU24_JAN.csv:9: column WORK RVU: 'abc' is not a number" in str(err.value)


def test_missing_column_is_named(tmp_path: Path) -> None:
    lines = _lines(CSV)
    lines[HEADER_ROW - 2] = lines[HEADER_ROW - 2].replace(",MULT,", ",MULTI,")
    bad = tmp_path / "PPRRVU24_JAN.csv"
    bad.write_text("\r\n".join(lines), encoding="cp1252")
    with pytest.raises(DataError, match=r":5: header: no column named MULT PROC"):
        read_pprrvu(bad)


def test_duplicate_code_and_two_conversion_factors(tmp_path: Path) -> None:
    lines = _lines(CSV)
    dup = tmp_path / "dup.csv"
    dup.write_text("\r\n".join([*lines[: HEADER_ROW + 1], *lines[HEADER_ROW:]]), "cp1252")
    with pytest.raises(DataError, match="code 20560 appears twice"):
        read_pprrvu(dup)
    two = tmp_path / "two.csv"
    two.write_text("\r\n".join(lines).replace("32.7442,09", "33.0000,09", 1), "cp1252")
    with pytest.raises(DataError, match="more than one conversion factor"):
        read_pprrvu(two)


# --- zips, GPCI, kinds ---------------------------------------------------------------------


def test_reads_a_cms_zip_preferring_csv_and_skipping_other_tables(tmp_path: Path) -> None:
    z = tmp_path / "RVU24A.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(CSV, "PPRRVU24_JAN.csv")
        zf.write(TXT, "PPRRVU24_JAN.txt")
        zf.write(GPCI, "GPCI2024.csv")
        zf.writestr("ANES2024.csv", "Contractor,Locality,Anesthesia CF\r\n")
        zf.writestr("RVU24A.pdf", b"%PDF")
    rvus, gpcis = read_fee_files([z])
    assert [t.name for t in rvus] == ["RVU24A.zip!PPRRVU24_JAN.csv"]
    assert [(g.name, g.year) for g in gpcis] == [("RVU24A.zip!GPCI2024.csv", 2024)]


def test_gpci_by_mac_and_locality_and_footnotes_skipped() -> None:
    table = read_gpci(GPCI)
    assert table.year == 2024
    assert set(table.rows) == {"99999-01", "99999-02", "99999-99", "99998-01"}
    a = table.rows["99999-01"]
    assert (a.work, a.pe, a.mp, a.state) == (
        Decimal("1.000"),
        Decimal("0.950"),
        Decimal("0.800"),
        "ZZ",
    )


def test_gpci_bad_value_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "GPCI2024.csv"
    bad.write_text(GPCI.read_text().replace("0.950", "x"), encoding="cp1252")
    with pytest.raises(DataError, match=r"GPCI2024.csv:4: column PE GPCI"):
        read_gpci(bad)


def test_not_a_fee_table(tmp_path: Path) -> None:
    other = tmp_path / "notes.csv"
    other.write_text("a,b,c\r\n1,2,3\r\n")
    with pytest.raises(DataError, match=r"notes\.csv: not a CMS PPRRVU or GPCI table"):
        read_fee_files([other])
    with pytest.raises(DataError, match="no such file"):
        read_fee_files([tmp_path / "missing.csv"])


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_junk_gets_the_librarys_own_error(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes
) -> None:
    path = tmp_path_factory.mktemp("junk") / "PPRRVU24_JAN.csv"
    path.write_bytes(raw)
    with contextlib.suppress(CptRulesError):
        read_fee_files([path])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="HCPSMOD,0123456789.AN \r\n", max_size=30), max_size=12))
def test_header_like_junk_gets_the_librarys_own_error(
    tmp_path_factory: pytest.TempPathFactory, rows: list[str]
) -> None:
    path = tmp_path_factory.mktemp("junk") / "x.csv"
    path.write_text("HCPCS,MOD,\r\n" + "\r\n".join(rows))
    with contextlib.suppress(CptRulesError):
        read_fee_files([path])


# --- contract rates --------------------------------------------------------------------------


def test_contract_rates_by_name() -> None:
    rates = read_contract_rates(RATES)
    assert [(r.code, str(r.rate), r.until is None) for r in rates[:2]] == [
        ("97110", "31.00", False),
        ("97110", "32.50", True),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("code,rate,effective,until\r\n", "no column named modifier"),
        ("code,modifier,rate,effective,until\r\n97110,,abc,2024-01-01,\r\n", ":2: column rate"),
        ("code,modifier,rate,effective,until\r\n97110,,1,2024-13-01,\r\n", ":2: column effective"),
        (
            "code,modifier,rate,effective,until\r\n97110,,1,2024-01-01,\r\n97110,,2,2024-05-01,\r\n",
            ":3: code 97110: two rates in force on the same day",
        ),
        ("code,modifier,rate,effective,until\r\n971,,1,2024-01-01,\r\n", "5-character code"),
    ],
)
def test_contract_rates_bad_input(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rates.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_contract_rates(path)
