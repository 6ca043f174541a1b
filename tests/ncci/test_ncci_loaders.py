"""Loaders for the official CMS NCCI files, on committed real-layout fixtures."""

from __future__ import annotations

import datetime as dt
import types
import zipfile
from pathlib import Path

import pytest

from cptrules.errors import DataError
from cptrules.ncci import loaders, read_mue, read_ptp, version_from_name

FIX = Path(__file__).parent.parent / "fixtures" / "ncci"
PTP_F1 = FIX / "ccipra-v324r0-f1.txt"
PTP_F2 = FIX / "ccipra-v324r0-f2.txt"
MEDICAID = FIX / "medicaid-ncci-2026q4-practitioner-ptp-edits.txt"
MUE = FIX / "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv"
PREAMBLE_LINES = 6


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\r\n")


# --- the fixtures really are in the CMS layout ---------------------------------------


def test_fixtures_are_crlf_cp1252_with_six_preamble_lines() -> None:
    raw = PTP_F1.read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n")  # every line ends CRLF
    assert b"\x96" in raw  # cp1252 en dash
    assert b"\x92" in raw  # cp1252 right single quote
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    lines = _lines(PTP_F1)
    assert lines[2].startswith(b"Column 1\tColumn 2\t*=in existence")
    assert lines[PREAMBLE_LINES].startswith(b"Z0001\tZ0002\t")


def test_detect_tells_the_three_layouts_apart() -> None:
    layouts = {
        src.name: loaders.detect(src)
        for path in (PTP_F1, MEDICAID, MUE)
        for src in loaders.iter_sources(path)
    }
    assert layouts == {
        PTP_F1.name: "ptp-practitioner",
        MEDICAID.name: "ptp-medicaid",
        MUE.name: "mue-practitioner",
    }


# --- practitioner PTP -----------------------------------------------------------------


def test_practitioner_ptp_rows() -> None:
    rows = list(read_ptp(PTP_F1))
    assert len(rows) == len(_lines(PTP_F1)) - PREAMBLE_LINES - 1  # last split is empty
    first = rows[0]
    assert (first.column1, first.column2, first.indicator) == ("Z0001", "Z0002", 1)
    assert first.effective == dt.date(2020, 1, 1)
    assert first.deletion is None  # "*" deletion date
    assert first.rationale == "Standards of medical / surgical services"
    assert first.source == "CMS practitioner PTP v324r0"
    assert first.confidence is None


def test_non_ascii_rationale_decoded_from_cp1252() -> None:
    row = next(r for r in read_ptp(PTP_F1) if r.column2 == "Z0005")
    assert row.rationale.endswith("\u2013 see the manual\u2019s chapter XI \u00a7 E")


def test_pre_1996_star_and_deletion_and_indicator_9_rows_are_kept() -> None:
    rows = {(r.column1, r.column2, r.effective): r for r in read_ptp(PTP_F1)}
    pre = rows["Z0001", "Z0003", dt.date(1996, 1, 1)]
    assert (pre.indicator, pre.deletion) == (0, None)
    retro = rows["Z0001", "Z0004", dt.date(2021, 1, 1)]
    assert (retro.indicator, retro.deletion) == (9, dt.date(2021, 1, 1))
    windows = [r for r in rows.values() if (r.column1, r.column2) == ("Z0015", "Z0018")]
    assert len(windows) == 3  # disjoint windows of one pair all kept


def test_read_ptp_streams() -> None:
    rows = read_ptp(PTP_F1)
    assert isinstance(rows, types.GeneratorType)
    assert next(rows).column1 == "Z0001"


# --- Medicaid PTP (no "*" column) ------------------------------------------------------


def test_medicaid_layout_reads_the_same_edits_without_the_star_column() -> None:
    medicaid = list(read_ptp(MEDICAID))
    practitioner = list(read_ptp(PTP_F1))[: len(medicaid)]
    assert len(medicaid) == 12

    def key(e: object) -> tuple[object, ...]:
        return tuple(getattr(e, f) for f in ("column1", "column2", "indicator", "effective"))

    assert [key(e) for e in medicaid] == [key(e) for e in practitioner]
    assert [e.deletion for e in medicaid] == [e.deletion for e in practitioner]
    assert medicaid[0].source == "CMS Medicaid practitioner PTP 2026q4"


# --- MUE --------------------------------------------------------------------------------


def test_mue_rows_after_the_multiline_copyright_cell() -> None:
    raw = MUE.read_bytes()
    assert raw.startswith(b'"CPT codes')
    assert b"\r\nApplicable FARS" in raw  # the notice cell spans lines
    rows = {m.code: m for m in read_mue(MUE)}
    assert len(rows) == 13
    assert (rows["Z0001"].value, rows["Z0001"].indicator) == (1, 2)
    assert (rows["Z0002"].value, rows["Z0002"].indicator) == (4, 3)
    assert (rows["Z0003"].value, rows["Z0003"].indicator) == (2, 1)
    assert rows["Z0004"].value == 0
    assert rows["Z0002"].rationale == "Clinical: Data"
    assert rows["Z0011"].rationale.endswith("\u00a7 E \u2013 note")
    assert rows["Z0001"].source == "CMS practitioner MUE 2026q4"


def _mue_file(tmp_path: Path, header: str, *rows: str, name: str = "mue-2026q4.csv") -> Path:
    path = tmp_path / name
    notice = '"CPT codes ... copyright.\r\nSecond line of the notice.",,,\r\n'
    path.write_bytes(
        (notice + header + "\r\n" + "".join(r + "\r\n" for r in rows)).encode("cp1252")
    )
    return path


HEADER = "HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale"


def test_mue_header_found_by_name_even_wrapped_or_reordered(tmp_path: Path) -> None:
    wrapped = _mue_file(
        tmp_path,
        '"HCPCS/\r\nCPT Code","MUE Rationale","MUE Adjudication Indicator",'
        '"Practitioner Services MUE Values"',
        'Z0001,"Clinical: Data","3 Date of Service Edit: Clinical",5',
    )
    (row,) = read_mue(wrapped)
    assert (row.code, row.value, row.indicator, row.rationale) == ("Z0001", 5, 3, "Clinical: Data")


def test_mue_bare_indicator_digit_accepted(tmp_path: Path) -> None:
    (row,) = read_mue(_mue_file(tmp_path, HEADER, "Z0001,2,1,Anatomic Consideration"))
    assert row.indicator == 1


def test_mue_of_another_setting_is_refused(tmp_path: Path) -> None:
    path = _mue_file(
        tmp_path,
        HEADER.replace("Practitioner Services", "Outpatient Hospital Services"),
        "Z0001,1,1 Line Edit,Anatomic Consideration",
    )
    with pytest.raises(DataError, match="Practitioner Services MUE table"):
        list(read_mue(path))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("Z0002,two,1 Line Edit,x", "whole number"),
        ("Z0002,1,4 Date of Service Edit: Other,x", "start with 1, 2 or 3"),
        ("Z0002,1,3x,x", "start with 1, 2 or 3"),
        ("Z0001,1,1 Line Edit,x", "appears twice"),
        ("97-40,1,1 Line Edit,x", "5-character code"),
        ("Z0002,1", "expected 4 fields"),
    ],
)
def test_malformed_mue_row_names_file_and_line(tmp_path: Path, row: str, message: str) -> None:
    path = _mue_file(tmp_path, HEADER, "Z0001,1,1 Line Edit,x", row)
    with pytest.raises(DataError, match=message) as info:
        list(read_mue(path))
    # notice spans lines 1-2, header line 3, good row line 4, bad row line 5
    assert (info.value.source, info.value.line) == (path.name, 5)
    assert f"{path.name}:5:" in str(info.value)


# --- malformed PTP ------------------------------------------------------------------


def _with_row(tmp_path: Path, index: int, row: bytes, name: str = "ccipra-v324r0-f1.txt") -> Path:
    lines = _lines(PTP_F1)
    lines[PREAMBLE_LINES + index] = row
    path = tmp_path / name
    path.write_bytes(b"\r\n".join(lines))
    return path


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (b"Z0010\tZ0012\t\t2002-01-01\t*\t1\tx", "effective date"),
        (b"Z0010\tZ0012\t\t20020101\t20021301\t1\tx", "deletion date"),
        (b"Z0010\tZ0012\t\t20020101\t*\t2\tx", "modifier indicator"),
        (b"Z0010\tZ0012\tx\t20020101\t*\t1\tx", "1996"),
        (b"Z00100\tZ0012\t\t20020101\t*\t1\tx", "column 1"),
        (b"Z0010\t\t\t20020101\t*\t1\tx", "column 2"),
        (b"Z0010\tZ0012\t20020101\t*\t1", "fields"),
        (b"Z0010\tZ0012\t\t20020101\t*\t1\tbad \x81 byte", "Windows-1252"),
    ],
)
def test_malformed_ptp_line_names_file_and_line(tmp_path: Path, row: bytes, message: str) -> None:
    path = _with_row(tmp_path, 9, row)
    with pytest.raises(DataError, match=message) as info:
        list(read_ptp(path))
    line = PREAMBLE_LINES + 9 + 1
    assert (info.value.source, info.value.line) == (path.name, line)
    assert str(info.value).startswith(f"{path.name}:{line}: ")


def test_rows_are_checked_even_after_their_fields_were_seen(tmp_path: Path) -> None:
    # the byte cache must not wave through a known code in a bad row
    path = _with_row(tmp_path, 20, b"Z0001\tZ0002\t\t20200101\t*\t1\tx\textra")
    with pytest.raises(DataError, match="found 8"):
        list(read_ptp(path))


def test_trailing_blank_lines_and_missing_rationale_are_fine(tmp_path: Path) -> None:
    path = _with_row(tmp_path, 0, b"Z0001\tZ0002\t\t20200101\t*\t1")
    path.write_bytes(path.read_bytes() + b"\r\n\r\n")
    rows = list(read_ptp(path))
    assert rows[0].rationale == ""
    assert len(rows) == len(list(read_ptp(PTP_F1)))


def test_unrecognised_ptp_header_is_refused(tmp_path: Path) -> None:
    lines = _lines(PTP_F1)
    lines[2] = lines[2].replace(b"\tModifier\t", b"\tModifier\tExtra\t")
    path = tmp_path / "ccipra-v324r0-f1.txt"
    path.write_bytes(b"\r\n".join(lines))
    with pytest.raises(DataError, match="PTP header not recognised") as info:
        list(read_ptp(path))
    assert info.value.line == 3


def test_not_a_cms_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\r\nworld\r\n")
    with pytest.raises(DataError, match="not a CMS NCCI table"):
        list(read_ptp(path))
    with pytest.raises(DataError, match="no such file"):
        list(read_ptp(tmp_path / "missing.txt"))


def test_wrong_kind_is_refused() -> None:
    with pytest.raises(DataError, match="not a PTP table"):
        list(read_ptp(MUE))
    with pytest.raises(DataError, match="not an MUE table"):
        list(read_mue(PTP_F1))


# --- zips -------------------------------------------------------------------------------


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_zip_parts_read_directly(tmp_path: Path) -> None:
    f1 = _zip(
        tmp_path / "medicare-ncci-2026q4-practitioner-ptp-edits-ccipra-v324r0-f1.zip",
        {PTP_F1.name: PTP_F1.read_bytes(), "ccipra-v324r0-f1.xlsx": b"PK not read"},
    )
    f2 = _zip(tmp_path / "ccipra-v324r0-f2.zip", {PTP_F2.name: PTP_F2.read_bytes()})
    names = [s.name for p in (f1, f2) for s in loaders.iter_sources(p)]
    assert names == [f"{f1.name}!{PTP_F1.name}", f"{f2.name}!{PTP_F2.name}"]
    from_zip = [e for p in (f1, f2) for e in read_ptp(p)]
    plain = [*read_ptp(PTP_F1), *read_ptp(PTP_F2)]
    assert from_zip == plain


def test_zip_bomb_member_is_refused_before_reading(tmp_path: Path) -> None:
    bomb = _zip(tmp_path / "ccipra-v324r0-f1.zip", {"ccipra-v324r0-f1.txt": b"\0" * 5_000_000})
    with pytest.raises(DataError, match="compression ratio"):
        list(loaders.iter_sources(bomb))


def test_oversized_member_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    part = _zip(tmp_path / "ccipra-v324r0-f1.zip", {PTP_F1.name: PTP_F1.read_bytes()})
    monkeypatch.setattr(loaders, "MAX_MEMBER_BYTES", 1000)
    with pytest.raises(DataError, match="over the 1000-byte limit"):
        list(read_ptp(part))


def test_zip_without_a_table(tmp_path: Path) -> None:
    empty = _zip(tmp_path / "ccipra-v324r0-f1.zip", {"readme.pdf": b"%PDF"})
    with pytest.raises(DataError, match=r"no \.txt or \.csv"):
        list(read_ptp(empty))


def test_corrupt_zip_member_is_a_data_error(tmp_path: Path) -> None:
    part = _zip(tmp_path / "ccipra-v324r0-f1.zip", {PTP_F1.name: PTP_F1.read_bytes()})
    raw = bytearray(part.read_bytes())
    raw[60:70] = b"\xff" * 10  # inside the compressed data of the only member
    part.write_bytes(bytes(raw))
    with pytest.raises(DataError):
        list(read_ptp(part))


# --- versions from names -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("medicare-ncci-2026q4-practitioner-ptp-edits-ccipra-v324r0-f1.zip", "v324r0"),
        ("ccipra-v321r1-f3.TXT", "v321r1"),
        ("MCR_MUE_PractitionerServices_Eff_10-01-2026.csv", "2026q4"),
        ("medicare-ncci-2025-q2-practitioner-services-mue-table.zip", "2025q2"),
        ("medicaid-ncci-q1-2026-ptp-edits-practitioner-services.zip", "2026q1"),
        ("january-2021-practitioner-mue-table.zip", "2021q1"),
        ("practitioner-mue.csv", None),
    ],
)
def test_version_from_name(name: str, version: str | None) -> None:
    assert version_from_name(name) == version
