"""Readers for the official CMS NCCI files, exactly as CMS publishes them.

Three layouts are read (as the CMS NCCI pages publish them):

* Medicare practitioner PTP edits (``ccipra-vNNNrM-f1..f4``): tab-delimited text,
  CRLF, Windows-1252, six preamble lines (a copyright banner, a title, then a
  column header wrapped over four lines), then rows of Column 1, Column 2, ``*``
  (in existence before 1996), effective date ``YYYYMMDD``, deletion date
  ``YYYYMMDD`` or ``*``, modifier indicator 0/1/9 and the edit rationale.
  CMS ships it as four zips; each zip is read directly, without unpacking.
* Medicaid practitioner PTP edits: the same without the ``*`` column.
* The practitioner MUE table: CSV whose first cell is a quoted, multi-line
  copyright notice, then the header ``HCPCS/CPT Code, Practitioner Services MUE
  Values, MUE Adjudication Indicator, MUE Rationale``; the indicator cell reads
  like ``3 Date of Service Edit: Clinical``.

The layout is told from the header row, never guessed: a file that matches none
raises :class:`~cptrules.errors.DataError` naming the file (and line). Rows are
streamed; nothing here holds a whole file in memory.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import IO, Literal

import attrs

from ..errors import DataError
from ._model import MueEdit, PtpEdit

__all__ = [
    "MAX_COMPRESSION_RATIO",
    "MAX_MEMBER_BYTES",
    "Layout",
    "Source",
    "detect",
    "iter_sources",
    "read_mue",
    "read_ptp",
    "version_from_name",
]

Layout = Literal["ptp-practitioner", "ptp-medicaid", "mue-practitioner"]

#: Largest uncompressed zip member read (a real PTP part is a few hundred MB).
MAX_MEMBER_BYTES = 2 * 1024**3
#: Largest uncompressed/compressed size ratio accepted for a zip member.
MAX_COMPRESSION_RATIO = 200

_ENCODING = "cp1252"
_HEADER_SCAN_LINES = 20  # the PTP header sits on line 3; allow some slack
_MUE_HEADER_SCAN_RECORDS = 10
_SNIFF_BYTES = 64 * 1024
_READ_BUFFER = 1 << 20
# RuntimeError: zipfile's "encrypted, password required"; NotImplementedError: method
_OPEN_ERRORS = (OSError, zipfile.BadZipFile, KeyError, NotImplementedError, RuntimeError)
_INDICATORS = {"0": 0, "1": 1, "9": 9}
_MAI = {"1": 1, "2": 2, "3": 3}
_MUE_VALUE_DIGITS = 6
_NO_DATE = ("", "*")
_READ_SUFFIXES = (".txt", ".csv")


@attrs.frozen
class Source:
    """One readable table: a plain file, or a ``.txt``/``.csv`` member of a zip.

    ``name`` is what error messages show (``part.zip!member.txt`` for members).
    """

    name: str
    path: str = attrs.field(repr=False)
    member: str | None = attrs.field(default=None, repr=False)

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        """Open the table for binary reading (a zip member is size-checked again).

        I/O, zip and decompression errors while the table is read become DataError
        naming it.
        """
        with ExitStack() as stack:
            try:
                if self.member is None:
                    stream: IO[bytes] = stack.enter_context(
                        open(self.path, "rb", buffering=_READ_BUFFER)
                    )
                else:
                    zf = stack.enter_context(zipfile.ZipFile(self.path))
                    info = zf.getinfo(self.member)
                    _check_member(info, os.path.basename(self.path))
                    member = stack.enter_context(zf.open(info))
                    # ZipExtFile's own readline is slow Python; a buffer over it is 4x faster
                    stream = io.BufferedReader(member, _READ_BUFFER)  # type: ignore[type-var]  # ZipExtFile has readinto
            except (
                OSError,
                zipfile.BadZipFile,
                KeyError,
                NotImplementedError,
                RuntimeError,
            ) as exc:
                # RuntimeError: zipfile's "encrypted, password required"
                raise DataError(f"cannot open: {exc}", source=self.name) from None
            try:
                yield stream
            except (OSError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise DataError(f"cannot read: {exc}", source=self.name) from None


def _check_member(info: zipfile.ZipInfo, name: str) -> None:
    """Refuse zip members that would inflate beyond sane limits (zip bombs)."""
    if info.file_size > MAX_MEMBER_BYTES:
        raise DataError(
            f"zip member {info.filename} would unpack to {info.file_size} bytes, over the "
            f"{MAX_MEMBER_BYTES}-byte limit; refusing to read it",
            source=name,
        )
    if info.file_size and (
        info.compress_size == 0 or info.file_size / info.compress_size > MAX_COMPRESSION_RATIO
    ):
        raise DataError(
            f"zip member {info.filename} has a compression ratio over {MAX_COMPRESSION_RATIO}:1; "
            "refusing to read it (not what a CMS table looks like)",
            source=name,
        )


def iter_sources(path: str | os.PathLike[str]) -> Iterator[Source]:
    """The tables in ``path``: the file itself, or each ``.txt``/``.csv`` member of a zip.

    Other zip members (the XLSX copies, PDFs) are skipped. Each member read is
    size-checked first (:data:`MAX_MEMBER_BYTES`, :data:`MAX_COMPRESSION_RATIO`).
    """
    fspath = os.fspath(path)
    base = os.path.basename(fspath)
    if not os.path.isfile(fspath):
        raise DataError("no such file", source=base)
    if not zipfile.is_zipfile(fspath):
        yield Source(base, fspath)
        return
    try:
        with zipfile.ZipFile(fspath) as zf:
            members = [
                info
                for info in zf.infolist()
                if not info.is_dir() and info.filename.lower().endswith(_READ_SUFFIXES)
            ]
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"unreadable zip: {exc}", source=base) from exc
    if not members:
        raise DataError("zip holds no .txt or .csv table", source=base)
    for info in members:
        _check_member(info, base)
    for info in members:
        yield Source(f"{base}!{info.filename}", fspath, info.filename)


# --- version from a file name ---------------------------------------------------------

_V_RE = re.compile(r"v(\d{2,4})r(\d{1,2})", re.IGNORECASE)
_Q_RE = re.compile(r"(20\d\d)[-_ ]?q([1-4])(?!\d)", re.IGNORECASE)
_QY_RE = re.compile(r"(?<![a-z])q([1-4])[-_ ]?(20\d\d)", re.IGNORECASE)
_EFF_RE = re.compile(r"(0[1-9]|1[0-2])[-_](\d\d)[-_](20\d\d)")
_MONTH_RE = re.compile(
    r"(january|february|march|april|may|june|july|august|september|october|november|december)"
    r"[-_ ]?(20\d\d)",
    re.IGNORECASE,
)
_MONTHS = (
    *("january", "february", "march", "april", "may", "june"),
    *("july", "august", "september", "october", "november", "december"),
)


def _quarter(year: str, month: int) -> str:
    return f"{year}q{(month - 1) // 3 + 1}"


def version_from_name(name: str) -> str | None:
    """The edition a CMS file name carries: ``vNNNrM`` (PTP) or ``YYYYqN`` (quarter).

    >>> version_from_name("medicare-ncci-2026q4-practitioner-ptp-edits-ccipra-v324r0-f1.zip")
    'v324r0'
    >>> version_from_name("MCR_MUE_PractitionerServices_Eff_10-01-2026.csv")
    '2026q4'
    >>> version_from_name("notes.txt") is None
    True
    """
    base = os.path.basename(name)
    if m := _V_RE.search(base):
        return f"v{int(m.group(1))}r{int(m.group(2))}"
    if m := _Q_RE.search(base):
        return f"{m.group(1)}q{m.group(2)}"
    if m := _QY_RE.search(base):
        return f"{m.group(2)}q{m.group(1)}"
    if m := _EFF_RE.search(base):
        return _quarter(m.group(3), int(m.group(1)))
    if m := _MONTH_RE.search(base):
        return _quarter(m.group(2), _MONTHS.index(m.group(1).lower()) + 1)
    return None


# --- layout detection ------------------------------------------------------------------


def _norm(cell: str) -> str:
    """Header cell compared without case or whitespace (``HCPCS/\\nCPT Code`` matches)."""
    return "".join(cell.split()).lower()


def _is_ptp_header(cells: list[str]) -> bool:
    return len(cells) >= 2 and _norm(cells[0]) == "column1" and _norm(cells[1]) == "column2"


def detect(source: Source) -> Layout:
    """Tell which CMS table ``source`` is, from its header (raises DataError if none)."""
    with source.open() as stream:
        head = stream.read(_SNIFF_BYTES)
    text = head.decode(_ENCODING, errors="replace")
    lines = text.splitlines()[:_HEADER_SCAN_LINES]
    for i, line in enumerate(lines):
        if _is_ptp_header(line.split("\t")):
            return _ptp_layout(_merge_header(line, lines[i + 1 :]), source.name, i + 1)
    try:
        records = list(csv.reader(io.StringIO(text)))[:_MUE_HEADER_SCAN_RECORDS]
    except csv.Error:
        records = []
    for record in records:
        if record and _norm(record[0]) == "hcpcs/cptcode":
            _mue_columns(record, source.name, None)
            return "mue-practitioner"
    raise DataError(
        "not a CMS NCCI table: no 'Column 1<TAB>Column 2' (PTP) or 'HCPCS/CPT Code' (MUE) "
        "header near the top",
        source=source.name,
    )


def _merge_header(header: str, following: list[str]) -> list[str]:
    """Join the header row with its wrapped continuation lines, column by column."""
    cells = header.split("\t")
    for line in following:
        parts = line.rstrip("\r\n").split("\t")
        if len(parts) < 2 or parts[0].strip() or parts[1].strip():
            break  # a data row (or anything else) ends the header
        for i, part in enumerate(parts):
            if part.strip():
                while len(cells) <= i:
                    cells.append("")
                cells[i] = f"{cells[i]} {part}"
    while cells and not cells[-1].strip():
        cells.pop()
    return [" ".join(c.split()).lower() for c in cells]


def _ptp_layout(names: list[str], source: str, line: int) -> Layout:
    def fits(expected: tuple[str, ...]) -> bool:
        return len(names) == len(expected) and all(
            n.startswith(e) for n, e in zip(names, expected, strict=True)
        )

    tail = ("effective", "deletion", "modifier", "ptp edit rationale")
    if fits(("column 1", "column 2", "*", *tail)):
        return "ptp-practitioner"
    if fits(("column 1", "column 2", *tail)):
        return "ptp-medicaid"
    raise DataError(
        "PTP header not recognised: expected Column 1, Column 2, [*=in existence prior to "
        f"1996,] Effective Date, Deletion Date, Modifier, PTP Edit Rationale; found {names}",
        source=source,
        line=line,
    )


# --- PTP -------------------------------------------------------------------------------

PtpRecord = tuple[str, str, int, int | None, int, str, int]
"""(column1, column2, effective YYYYMMDD, deletion YYYYMMDD or None, indicator, rationale,
line) -- the compact row the store imports."""


def _date_int(text: str) -> int | None:
    if len(text) != 8 or not text.isascii() or not text.isdigit():
        return None
    try:
        dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None
    return int(text)


def _valid_code(code: str) -> bool:
    return len(code) == 5 and code.isascii() and code.isalnum() and code == code.upper()


def ptp_records(source: Source) -> Iterator[tuple[Layout, Iterator[PtpRecord]]]:
    """Open a PTP table; yield once ``(layout, rows)`` with rows streamed as PtpRecord.

    A generator of one item so the file stays open while ``rows`` is consumed.
    """
    with source.open() as stream:
        yield from _ptp_stream(stream, source.name)


def _ptp_stream(stream: IO[bytes], name: str) -> Iterator[tuple[Layout, Iterator[PtpRecord]]]:
    lines = iter(stream)
    lineno = 0
    header: str | None = None
    header_line = 0
    wrapped: list[str] = []
    first_data: tuple[int, str] | None = None
    for raw in lines:
        lineno += 1
        line = _decode(raw, name, lineno)
        cells = line.split("\t")
        if header is None:
            if _is_ptp_header(cells):
                header, header_line = line, lineno
            elif lineno >= _HEADER_SCAN_LINES:
                raise DataError(
                    "no 'Column 1<TAB>Column 2' header in the first "
                    f"{_HEADER_SCAN_LINES} lines: not a CMS PTP file",
                    source=name,
                    line=lineno,
                )
            continue
        # the header wraps over lines whose first two cells are empty
        if len(cells) >= 2 and not cells[0].strip() and not cells[1].strip() and line.strip():
            wrapped.append(line)
            continue
        first_data = (lineno, line)
        break
    if header is None:
        raise DataError("no 'Column 1<TAB>Column 2' header: not a CMS PTP file", source=name)
    layout = _ptp_layout(_merge_header(header, wrapped), name, header_line)
    yield layout, _ptp_rows(layout, lines, first_data, lineno, name)


def _decode(raw: bytes, name: str, lineno: int) -> str:
    try:
        return raw.decode(_ENCODING).rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"byte {raw[exc.start]:#04x} is not Windows-1252 text", source=name, line=lineno
        ) from None


def _ptp_rows(
    layout: Layout,
    lines: Iterator[bytes],
    first: tuple[int, str] | None,
    lineno: int,
    name: str,
) -> Iterator[PtpRecord]:
    """Validate and yield data rows.

    Codes, dates, indicators and rationales repeat across millions of rows, so each
    distinct field is decoded and validated once, by ``parse``, and then found in a
    cache keyed by its raw bytes; a line with any field not yet cached goes to
    ``parse`` whole.
    """
    ncols = 7 if layout == "ptp-practitioner" else 6
    star = layout == "ptp-practitioner"
    eff_i, del_i, ind_i, rat_i = (3, 4, 5, 6) if star else (2, 3, 4, 5)
    codes: dict[bytes, str] = {}
    effective: dict[bytes, int] = {}
    deletion: dict[bytes, int | None] = {b"*": None, b"": None}
    indicators = {b"0": 0, b"1": 1, b"9": 9}
    rationales: dict[bytes, str] = {}
    star_ok = {b"", b"*"}

    def bad(msg: str, at: int) -> DataError:
        return DataError(msg, source=name, line=at)

    def parse(line: str, at: int) -> PtpRecord | None:
        """Check every field of one decoded line and fill the caches."""
        if not line or line.isspace() or line == "\x1a":
            return None
        parts = line.split("\t")
        n = len(parts)
        if n != ncols:
            if n == ncols - 1:
                parts.append("")
            elif n > ncols and not "".join(parts[ncols:]).strip():
                del parts[ncols:]
            else:
                raise bad(f"expected {ncols} tab-separated fields, found {n}", at)
        out: list[str] = []
        for which, raw_code in (("column 1", parts[0]), ("column 2", parts[1])):
            code = raw_code.strip()
            if not _valid_code(code):
                raise bad(f"{which} is not a 5-character code: {code[:12]!r}", at)
            codes[raw_code.encode(_ENCODING)] = code
            out.append(code)
        if star and parts[2].strip() not in _NO_DATE:
            raise bad(f"the in-existence-before-1996 field must be '*' or empty: {parts[2]!r}", at)
        text = parts[eff_i].strip()
        eff = _date_int(text)
        if eff is None:
            raise bad(f"effective date is not YYYYMMDD: {text[:12]!r}", at)
        effective[parts[eff_i].encode(_ENCODING)] = eff
        text = parts[del_i].strip()
        dele = None if text in _NO_DATE else _date_int(text)
        if dele is None and text not in _NO_DATE:
            raise bad(f"deletion date is not YYYYMMDD or '*': {text[:12]!r}", at)
        deletion[parts[del_i].encode(_ENCODING)] = dele
        ind = _INDICATORS.get(parts[ind_i].strip())
        if ind is None:
            raise bad(f"modifier indicator must be 0, 1 or 9: {parts[ind_i][:12]!r}", at)
        indicators[parts[ind_i].encode(_ENCODING)] = ind
        rationale = parts[rat_i].strip()
        return (out[0], out[1], eff, dele, ind, rationale, at)

    if first is not None:
        rec = parse(first[1], first[0])
        if rec is not None:
            yield rec
    for raw in lines:
        lineno += 1
        parts = raw.split(b"\t")
        if len(parts) == ncols:
            c1 = codes.get(parts[0])
            c2 = codes.get(parts[1])
            eff = effective.get(parts[eff_i])
            dele = deletion.get(parts[del_i], 0)
            ind = indicators.get(parts[ind_i])
            if (
                c1 is not None
                and c2 is not None
                and eff is not None
                and dele != 0
                and ind is not None
                and (not star or parts[2] in star_ok)
            ):
                rationale = rationales.get(parts[rat_i])
                if rationale is None:
                    rationale = _decode(parts[rat_i], name, lineno).strip()
                    rationales[parts[rat_i]] = rationale
                yield (c1, c2, eff, dele, ind, rationale, lineno)
                continue
        rec = parse(_decode(raw, name, lineno), lineno)
        if rec is not None:
            yield rec


def _to_date(value: int) -> dt.date:
    return dt.date(value // 10000, value // 100 % 100, value % 100)


def read_ptp(path: str | os.PathLike[str], *, source: str | None = None) -> Iterator[PtpEdit]:
    """Stream every row of a CMS PTP file (TXT, or a zip of parts) as :class:`PtpEdit`.

    Indicator 9 rows are included (they are part of the file); ``source`` labels
    the rows (default: ``CMS practitioner PTP <version from the file name>``).
    """
    for src in iter_sources(path):
        layout = detect(src)
        if not layout.startswith("ptp"):
            raise DataError("not a PTP table (this is an MUE table)", source=src.name)
        label = source or _ptp_label(layout, version_from_name(src.name))
        for _layout, rows in ptp_records(src):
            for c1, c2, eff, dele, ind, rationale, _line in rows:
                yield PtpEdit(
                    column1=c1,
                    column2=c2,
                    indicator=ind,
                    effective=_to_date(eff),
                    deletion=None if dele is None else _to_date(dele),
                    rationale=rationale,
                    source=label,
                )


def _ptp_label(layout: Layout, version: str | None) -> str:
    who = "Medicaid practitioner PTP" if layout == "ptp-medicaid" else "practitioner PTP"
    return f"CMS {who} {version or '(version unknown)'}"


# --- MUE -------------------------------------------------------------------------------

MueRecord = tuple[str, int, int, str, int]
"""(code, value, MAI, rationale, line) -- the compact row the store imports."""


def _mue_columns(header: list[str], name: str, line: int | None) -> tuple[int, int, int, int]:
    """Positions of code, value, MAI and rationale, found by name in the header."""
    found: dict[str, int] = {}
    setting = ""
    for i, cell in enumerate(header):
        key = _norm(cell)
        if key == "hcpcs/cptcode":
            found["code"] = i
        elif key.endswith("muevalues"):
            found["value"] = i
            setting = key.removesuffix("muevalues")
        elif key == "mueadjudicationindicator":
            found["mai"] = i
        elif key == "muerationale":
            found["rationale"] = i
    missing = [k for k in ("code", "value", "mai", "rationale") if k not in found]
    if missing:
        raise DataError(
            "MUE header must name HCPCS/CPT Code, <Setting> Services MUE Values, MUE "
            f"Adjudication Indicator and MUE Rationale; missing {missing}",
            source=name,
            line=line,
        )
    if setting != "practitionerservices":
        raise DataError(
            f"this is the {header[found['value']].strip()!r} table; cptrules checks "
            "practitioner claims: import the Practitioner Services MUE table",
            source=name,
            line=line,
        )
    return found["code"], found["value"], found["mai"], found["rationale"]


def mue_records(source: Source) -> Iterator[MueRecord]:
    """Stream the rows of an MUE CSV as MueRecord (duplicates and junk raise DataError)."""
    with source.open() as stream:
        text = io.TextIOWrapper(stream, encoding=_ENCODING, newline="")
        reader = csv.reader(text)
        name = source.name
        try:
            yield from _mue_rows(reader, lambda: reader.line_num, name)
        except UnicodeDecodeError as exc:
            raise DataError(
                f"byte {exc.object[exc.start]:#04x} is not Windows-1252 text",
                source=name,
                line=reader.line_num + 1,
            ) from None
        except csv.Error as exc:
            raise DataError(f"bad CSV: {exc}", source=name, line=reader.line_num) from None


def _mue_rows(
    reader: Iterator[list[str]], here: Callable[[], int], name: str
) -> Iterator[MueRecord]:
    cols: tuple[int, int, int, int] | None = None
    for count, record in enumerate(reader, 1):
        if record and _norm(record[0]) == "hcpcs/cptcode":
            cols = _mue_columns(record, name, here())
            break
        if count >= _MUE_HEADER_SCAN_RECORDS:
            break
    if cols is None:
        raise DataError("no 'HCPCS/CPT Code' header: not a CMS MUE table", source=name)
    code_i, value_i, mai_i, rat_i = cols
    width = max(cols) + 1
    seen: set[str] = set()
    for record in reader:
        if not any(cell.strip() for cell in record):
            continue
        at = here()
        if len(record) < width:
            raise DataError(f"expected {width} fields, found {len(record)}", source=name, line=at)
        code = record[code_i].strip()
        if not _valid_code(code):
            raise DataError(f"not a 5-character code: {code[:12]!r}", source=name, line=at)
        if code in seen:
            raise DataError(f"code {code} appears twice", source=name, line=at)
        seen.add(code)
        value_text = record[value_i].strip()
        # ASCII digits only ("²" is a digit to str.isdigit), and a sane size: CMS MUE
        # values are a few digits; a longer one is a damaged file, not a value.
        if not (0 < len(value_text) <= _MUE_VALUE_DIGITS and value_text.isascii()):
            value_text = value_text or "(empty)"
            raise DataError(
                f"MUE value must be a whole number of at most {_MUE_VALUE_DIGITS} digits: "
                f"{value_text[:12]!r}",
                source=name,
                line=at,
            )
        if not value_text.isdigit():
            raise DataError(
                f"MUE value must be a whole number: {value_text[:12]!r}", source=name, line=at
            )
        mai_text = record[mai_i].strip()
        mai = _MAI.get(mai_text[:1])
        if mai is None or (len(mai_text) > 1 and not mai_text[1].isspace()):
            raise DataError(
                f"MUE adjudication indicator must start with 1, 2 or 3: {mai_text[:40]!r}",
                source=name,
                line=at,
            )
        yield (code, int(value_text), mai, record[rat_i].strip(), at)


def read_mue(path: str | os.PathLike[str], *, source: str | None = None) -> Iterator[MueEdit]:
    """Stream the rows of a CMS practitioner MUE table (CSV, or a zip holding it)."""
    for src in iter_sources(path):
        if detect(src) != "mue-practitioner":
            raise DataError("not an MUE table (this is a PTP table)", source=src.name)
        quarter = version_from_name(src.name) or "(quarter unknown)"
        label = source or f"CMS practitioner MUE {quarter}"
        for code, value, mai, rationale, _line in mue_records(src):
            yield MueEdit(code=code, value=value, indicator=mai, rationale=rationale, source=label)
