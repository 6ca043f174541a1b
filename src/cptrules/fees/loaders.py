"""Readers for the CMS Physician Fee Schedule files, read as CMS publishes them.

Two tables from each ``RVUyyX`` zip (CMS "PFS Relative Value Files") are read:

* **PPRRVU** (``PPRRVU24_JAN.csv``, ``PPRRVU2025_Oct.txt`` ...): one row per code
  and modifier with the work, non-facility and facility practice expense (PE)
  and malpractice (MP) RVUs, the status code, the multiple procedure indicator
  and the conversion factor.

  - CSV: a few title and copyright lines, then a column header split over two
    or more rows (``,,,STATUS,...,WORK,NON-FAC,...`` over
    ``HCPCS,MOD,DESCRIPTION,CODE,...,RVU,PE RVU,...``). The header row is the
    one starting ``HCPCS,MOD``; each column's name is its cells in the header
    rows above joined top to bottom (``WORK RVU``, ``NON-FAC PE RVU``,
    ``MULT PROC``, ``CONV FACTOR``) and columns are found by that name, never
    by position.
  - TXT: fixed width, record length 200, ``HDR`` copyright lines first; the
    positions are those of the CMS record layout in the RVUPUF documentation
    (CY 2026). A TXT file has no column names, so every payable row is checked
    against itself (total RVUs must equal the sum of the parts) and a file
    whose columns do not line up is refused.

* **GPCI** (``GPCI2024.csv``): a title line, then the header ``Medicare
  Administrative Contractor (MAC), State, Locality Number, Locality Name,
  2024 PW GPCI (with 1.0 Floor), 2024 PE GPCI, 2024 MP GPCI``; the year comes
  from that header. Footnote lines after the table are skipped.

A third reader takes a payer's contract rates (CSV ``code, modifier, rate,
effective, until``, columns by name).

Files are Windows-1252 like every CMS table. Bad input raises
:class:`~cptrules.errors.DataError` naming the file, the 1-based line and the
column. Nothing here downloads anything.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Literal

import attrs

from ..errors import DataError

__all__ = [
    "ContractRate",
    "Gpci",
    "GpciTable",
    "Rvu",
    "RvuTable",
    "is_fee_file",
    "read_contract_rates",
    "read_fee_files",
    "read_gpci",
    "read_pprrvu",
]

_ENCODING = "cp1252"
_MAX_BYTES = 64 * 1024 * 1024  # a full PPRRVU CSV is about 3 MB
#: Status codes whose RVUs Medicare pays (RVUPUF: "A", "R" or "T").
PAYABLE_STATUS = frozenset({"A", "R", "T"})


@attrs.frozen
class Rvu:
    """One PPRRVU row: the RVUs and indicators of a code (and modifier)."""

    code: str
    modifier: str
    status: str
    work: Decimal
    pe_non_facility: Decimal
    pe_facility: Decimal
    mp: Decimal
    mult_proc: str
    non_facility_na: bool = False
    facility_na: bool = False


@attrs.frozen
class RvuTable:
    """One PPRRVU table as read: its rows by (code, modifier) and its conversion factor."""

    name: str
    conversion_factor: Decimal
    rows: Mapping[tuple[str, str], Rvu] = attrs.field(repr=False)
    layout: Literal["csv", "txt"] = "csv"


@attrs.frozen
class Gpci:
    """The three geographic practice cost indices of one Medicare locality."""

    mac: str
    state: str
    locality: str
    name: str
    work: Decimal
    pe: Decimal
    mp: Decimal

    @property
    def key(self) -> str:
        """``MAC-locality``, e.g. ``10112-00``: locality numbers repeat across MACs."""
        return f"{self.mac}-{self.locality}"


@attrs.frozen
class GpciTable:
    """One GPCI table: its calendar year and its localities by :attr:`Gpci.key`."""

    name: str
    year: int
    rows: Mapping[str, Gpci] = attrs.field(repr=False)


@attrs.frozen
class ContractRate:
    """A payer's contracted rate per unit for a code (and modifier) over a date window."""

    code: str
    modifier: str
    rate: Decimal
    effective: dt.date
    until: dt.date | None


# --- sources ---------------------------------------------------------------------------


@attrs.frozen
class _Text:
    name: str
    text: str


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode(_ENCODING, errors="replace")


def _texts(path: str | os.PathLike[str]) -> Iterator[_Text]:
    """The file itself, or the PPRRVU/GPCI members of a CMS zip (CSV preferred to TXT)."""
    fspath = os.fspath(path)
    base = os.path.basename(fspath)
    if not os.path.isfile(fspath):
        raise DataError("no such file", source=base)
    try:
        if not zipfile.is_zipfile(fspath):
            with open(fspath, "rb") as fh:
                raw = fh.read(_MAX_BYTES + 1)
            if len(raw) > _MAX_BYTES:
                raise DataError(f"larger than {_MAX_BYTES} bytes: not a CMS fee table", source=base)
            yield _Text(base, _decode(raw, base))
            return
        with zipfile.ZipFile(fspath) as zf:
            chosen: dict[str, zipfile.ZipInfo] = {}
            for info in zf.infolist():
                member = os.path.basename(info.filename)
                stem, ext = os.path.splitext(member.lower())
                if info.is_dir() or ext not in (".csv", ".txt"):
                    continue
                if not stem.startswith(("pprrvu", "gpci")):
                    continue  # ANES, OPPSCAP, LOCCO: not needed for an estimate
                if stem in chosen and ext == ".txt":
                    continue
                chosen[stem] = info
            if not chosen:
                raise DataError("zip holds no PPRRVU or GPCI table (.csv or .txt)", source=base)
            for info in chosen.values():
                if info.file_size > _MAX_BYTES:
                    raise DataError(
                        f"zip member {info.filename} is larger than {_MAX_BYTES} bytes",
                        source=base,
                    )
                name = f"{base}!{info.filename}"
                yield _Text(name, _decode(zf.read(info), name))
    except (OSError, zipfile.BadZipFile, KeyError, RuntimeError, NotImplementedError) as exc:
        raise DataError(f"cannot read: {exc}", source=base) from None


# --- helpers ---------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def _norm(cell: str) -> str:
    text = _SPACES.sub(" ", cell.strip().upper())
    return text.replace("- ", "-")


def _decimal(cell: str, *, source: str, line: int, column: str) -> Decimal:
    text = cell.strip()
    if not text:
        return Decimal(0)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise DataError(
            f"column {column}: {text[:20]!r} is not a number", source=source, line=line
        ) from None
    if not value.is_finite() or value < 0 or value > 100_000:
        raise DataError(f"column {column}: {text[:20]!r} is out of range", source=source, line=line)
    return value


_CODE = re.compile(r"^[A-Z0-9]{5}$")


def _code(cell: str, *, source: str, line: int) -> str:
    code = cell.strip().upper()
    if not _CODE.match(code):
        raise DataError(
            f"column HCPCS: {code[:12]!r} is not a 5-character code", source=source, line=line
        )
    return code


def _conversion_factor(found: dict[Decimal, int], source: str) -> Decimal:
    positive = {cf: n for cf, n in found.items() if cf > 0}
    if not positive:
        raise DataError("no conversion factor on any payable row", source=source)
    if len(positive) > 1:
        values = ", ".join(str(cf) for cf in sorted(positive))
        raise DataError(f"more than one conversion factor in one table: {values}", source=source)
    return next(iter(positive))


def _csv_rows(text: _Text) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text.text, newline="")))
    except csv.Error as exc:
        raise DataError(f"not readable as CSV: {exc}", source=text.name) from None


# --- PPRRVU CSV ------------------------------------------------------------------------

#: PPRRVU CSV columns, by their joined header name.
_RVU_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "code": "HCPCS",
        "modifier": "MOD",
        "status": "STATUS CODE",
        "work": "WORK RVU",
        "pe_nf": "NON-FAC PE RVU",
        "nf_na": "NON-FAC NA INDICATOR",
        "pe_f": "FACILITY PE RVU",
        "f_na": "FACILITY NA INDICATOR",
        "mp": "MP RVU",
        "mult": "MULT PROC",
        "cf": "CONV FACTOR",
    }
)
_OPTIONAL = frozenset({"nf_na", "f_na"})
_HEADER_SCAN = 40


def _column_names(rows: Sequence[Sequence[str]], at: int) -> list[str]:
    """Each column's name: the header rows above ``at`` (those with 3+ cells) and row ``at``."""
    block = [rows[at]]
    i = at - 1
    while i >= 0 and sum(1 for c in rows[i] if c.strip()) >= 3:
        block.insert(0, rows[i])
        i -= 1
    width = max(len(r) for r in block)
    names = []
    for j in range(width):
        parts = [_norm(r[j]) for r in block if j < len(r) and r[j].strip()]
        names.append(" ".join(parts))
    return names


def _find_columns(
    names: Sequence[str], wanted: Mapping[str, str], source: str, line: int
) -> dict[str, int]:
    found: dict[str, int] = {}
    for key, label in wanted.items():
        hits = [j for j, n in enumerate(names) if n == label or n.endswith(" " + label)]
        if len(hits) > 1:
            raise DataError(f"header: more than one column named {label}", source=source, line=line)
        if hits:
            found[key] = hits[0]
        elif key not in _OPTIONAL:
            raise DataError(f"header: no column named {label}", source=source, line=line)
    return found


def _read_pprrvu_csv(text: _Text) -> RvuTable:
    rows = _csv_rows(text)
    at = next(
        (
            i
            for i, r in enumerate(rows[:_HEADER_SCAN])
            if len(r) > 1 and _norm(r[0]) == "HCPCS" and _norm(r[1]) == "MOD"
        ),
        None,
    )
    if at is None:
        raise DataError("no PPRRVU header row (HCPCS, MOD, ...) near the top", source=text.name)
    names = _column_names(rows, at)
    cols = _find_columns(names, _RVU_COLUMNS, text.name, at + 1)
    for na, pe in (("nf_na", "pe_nf"), ("f_na", "pe_f")):
        # Older headers name both "NA INDICATOR": each is the column after its PE RVU.
        after = cols[pe] + 1
        if na not in cols and after < len(names) and names[after].endswith("NA INDICATOR"):
            cols[na] = after
    width = max(cols.values()) + 1
    table: dict[tuple[str, str], Rvu] = {}
    cfs: dict[Decimal, int] = {}
    for i in range(at + 1, len(rows)):
        row, line = rows[i], i + 1
        if not any(c.strip() for c in row):
            continue
        if len(row) < width:
            raise DataError(
                f"row has {len(row)} columns, the header {width} or more",
                source=text.name,
                line=line,
            )

        def num(key: str, row: list[str] = row, line: int = line) -> Decimal:
            return _decimal(row[cols[key]], source=text.name, line=line, column=_RVU_COLUMNS[key])

        rvu = Rvu(
            code=_code(row[cols["code"]], source=text.name, line=line),
            modifier=row[cols["modifier"]].strip().upper(),
            status=row[cols["status"]].strip().upper(),
            work=num("work"),
            pe_non_facility=num("pe_nf"),
            pe_facility=num("pe_f"),
            mp=num("mp"),
            mult_proc=row[cols["mult"]].strip(),
            non_facility_na="nf_na" in cols and row[cols["nf_na"]].strip().upper() == "NA",
            facility_na="f_na" in cols and row[cols["f_na"]].strip().upper() == "NA",
        )
        _add(table, rvu, text.name, line)
        if rvu.status in PAYABLE_STATUS:
            cf = num("cf")
            cfs[cf] = cfs.get(cf, 0) + 1
    if not table:
        raise DataError("PPRRVU table has no rows", source=text.name)
    return RvuTable(text.name, _conversion_factor(cfs, text.name), MappingProxyType(table), "csv")


def _add(table: dict[tuple[str, str], Rvu], rvu: Rvu, source: str, line: int) -> None:
    key = (rvu.code, rvu.modifier)
    if key in table:
        mod = f"-{rvu.modifier}" if rvu.modifier else ""
        raise DataError(f"code {rvu.code}{mod} appears twice", source=source, line=line)
    table[key] = rvu


# --- PPRRVU TXT (fixed width) -----------------------------------------------------------

# (first, last) 1-based character positions, CMS RVUPUF record layout (CY 2026).
_TXT: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "code": (1, 5),
        "modifier": (6, 7),
        "status": (58, 58),
        "work": (60, 65),
        "pe_nf": (67, 72),
        "nf_na": (73, 74),
        "pe_f": (76, 81),
        "f_na": (82, 83),
        "mp": (85, 89),
        "total_nf": (91, 96),
        "total_f": (97, 102),
        "mult": (116, 116),
        "cf": (133, 140),
    }
)
_TOLERANCE = Decimal("0.015")


def _read_pprrvu_txt(text: _Text) -> RvuTable:
    table: dict[tuple[str, str], Rvu] = {}
    cfs: dict[Decimal, int] = {}

    for line, raw in enumerate(text.text.splitlines(), start=1):
        if not raw.strip() or raw.startswith("HDR"):
            continue
        if len(raw) < _TXT["cf"][1]:
            raise DataError(
                f"record is {len(raw)} characters; the CMS layout needs {_TXT['cf'][1]} or more",
                source=text.name,
                line=line,
            )

        def cut(key: str, raw: str = raw) -> str:
            first, last = _TXT[key]
            return raw[first - 1 : last]

        def num(key: str, line: int = line) -> Decimal:
            return _decimal(cut(key), source=text.name, line=line, column=key)

        rvu = Rvu(
            code=_code(cut("code"), source=text.name, line=line),
            modifier=cut("modifier").strip().upper(),
            status=cut("status").strip().upper(),
            work=num("work"),
            pe_non_facility=num("pe_nf"),
            pe_facility=num("pe_f"),
            mp=num("mp"),
            mult_proc=cut("mult").strip(),
            non_facility_na=cut("nf_na").strip().upper() == "NA",
            facility_na=cut("f_na").strip().upper() == "NA",
        )
        if rvu.status in PAYABLE_STATUS:
            parts = rvu.work + rvu.pe_non_facility + rvu.mp
            if abs(parts - num("total_nf")) > _TOLERANCE:
                raise DataError(
                    f"code {rvu.code}: work + PE + MP ({parts}) differs from the total "
                    f"({num('total_nf')}): the fixed-width columns do not line up with the "
                    "CMS record layout",
                    source=text.name,
                    line=line,
                )
            cf = num("cf")
            cfs[cf] = cfs.get(cf, 0) + 1
        _add(table, rvu, text.name, line)
    if not table:
        raise DataError("PPRRVU table has no rows", source=text.name)
    return RvuTable(text.name, _conversion_factor(cfs, text.name), MappingProxyType(table), "txt")


def read_pprrvu(path: str | os.PathLike[str]) -> RvuTable:
    """Read one PPRRVU table (CSV or fixed-width TXT, plain or the first in a zip)."""
    for text in _texts(path):
        if _kind(text) in ("pprrvu-csv", "pprrvu-txt"):
            return _read_pprrvu(text)
    raise DataError("no PPRRVU table found", source=os.path.basename(os.fspath(path)))


def _read_pprrvu(text: _Text) -> RvuTable:
    if _kind(text) == "pprrvu-txt":
        return _read_pprrvu_txt(text)
    return _read_pprrvu_csv(text)


# --- GPCI CSV --------------------------------------------------------------------------

_GPCI_YEAR = re.compile(r"\b(20\d\d)\s+PW\s+GPCI")


def _read_gpci(text: _Text) -> GpciTable:
    rows = _csv_rows(text)
    at = next(
        (
            i
            for i, r in enumerate(rows[:_HEADER_SCAN])
            if any(_norm(c) == "LOCALITY NUMBER" for c in r)
        ),
        None,
    )
    if at is None:
        raise DataError(
            "no GPCI header row (... Locality Number ...) near the top", source=text.name
        )
    names = [_norm(c) for c in rows[at]]
    line = at + 1

    def col(test: str, label: str, avoid: str | None = None) -> int:
        hits = [j for j, n in enumerate(names) if test in n and (avoid is None or avoid not in n)]
        if not hits:
            raise DataError(f"header: no column named {label}", source=text.name, line=line)
        return hits[0]

    mac = col("CONTRACTOR", "Medicare Administrative Contractor (MAC)")
    state = col("STATE", "State")
    loc = col("LOCALITY NUMBER", "Locality Number")
    lname = col("LOCALITY NAME", "Locality Name")
    pw = col("PW GPCI", "PW GPCI (with 1.0 Floor)", avoid="WITHOUT")
    pe = col("PE GPCI", "PE GPCI")
    mp = col("MP GPCI", "MP GPCI")
    year_match = _GPCI_YEAR.search(names[pw])
    if year_match is None:
        raise DataError("header: the PW GPCI column names no year", source=text.name, line=line)
    width = max(mac, state, loc, lname, pw, pe, mp) + 1
    table: dict[str, Gpci] = {}
    for i in range(at + 1, len(rows)):
        row, line = rows[i], i + 1
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(row) < width or not cells[mac][:1].isdigit():
            if len(row) >= width and any(cells[j] for j in (pw, pe, mp)):
                raise DataError(
                    "column Medicare Administrative Contractor (MAC): not a contractor number",
                    source=text.name,
                    line=line,
                )
            continue  # a footnote line
        locality = cells[loc].zfill(2)
        if not (cells[mac].isdigit() and locality.isdigit()):
            raise DataError("MAC and locality must be numbers", source=text.name, line=line)

        def num(j: int, label: str, line: int = line, cells: list[str] = cells) -> Decimal:
            value = _decimal(cells[j], source=text.name, line=line, column=label)
            if value <= 0 or value > 10:
                raise DataError(
                    f"column {label}: {value} is not a GPCI", source=text.name, line=line
                )
            return value

        g = Gpci(
            mac=cells[mac],
            state=cells[state].upper(),
            locality=locality,
            name=cells[lname],
            work=num(pw, "PW GPCI"),
            pe=num(pe, "PE GPCI"),
            mp=num(mp, "MP GPCI"),
        )
        if g.key in table:
            raise DataError(f"locality {g.key} appears twice", source=text.name, line=line)
        table[g.key] = g
    if not table:
        raise DataError("GPCI table has no localities", source=text.name)
    return GpciTable(text.name, int(year_match.group(1)), MappingProxyType(table))


def read_gpci(path: str | os.PathLike[str]) -> GpciTable:
    """Read one GPCI table (CSV, plain or inside a CMS zip)."""
    for text in _texts(path):
        if _kind(text) == "gpci":
            return _read_gpci(text)
    raise DataError("no GPCI table found", source=os.path.basename(os.fspath(path)))


# --- what a file is ---------------------------------------------------------------------


def _kind(text: _Text) -> str:
    head = text.text[:20_000].upper()
    if text.text.startswith("HDR"):
        return "pprrvu-txt"
    if "LOCALITY NUMBER" in head and "GPCI" in head:
        return "gpci"
    if re.search(r"^\s*\"?HCPCS\"?\s*,\s*\"?MOD\"?\s*,", head, re.MULTILINE):
        return "pprrvu-csv"
    return "unknown"


def is_fee_file(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a CMS PPRRVU or GPCI table, or a zip holding one.

    Reads the zip's member names or the file's first lines only; an unreadable
    file is not a fee file (the caller's own reader reports it).
    """
    fspath = os.fspath(path)
    try:
        if zipfile.is_zipfile(fspath):
            with zipfile.ZipFile(fspath) as zf:
                return any(
                    os.path.basename(n).lower().startswith(("pprrvu", "gpci"))
                    and n.lower().endswith((".csv", ".txt"))
                    for n in zf.namelist()
                )
        with open(fspath, "rb") as fh:
            head = fh.read(20_000)
    except (OSError, zipfile.BadZipFile):
        return False
    return _kind(_Text(os.path.basename(fspath), _decode(head, fspath))) != "unknown"


def read_fee_files(
    paths: Sequence[str | os.PathLike[str]],
) -> tuple[list[RvuTable], list[GpciTable]]:
    """Every PPRRVU and GPCI table in ``paths`` (files or CMS ``RVUyyX`` zips).

    A file that is neither raises DataError naming it.
    """
    rvus: list[RvuTable] = []
    gpcis: list[GpciTable] = []
    for path in paths:
        for text in _texts(path):
            kind = _kind(text)
            if kind == "gpci":
                gpcis.append(_read_gpci(text))
            elif kind.startswith("pprrvu"):
                rvus.append(_read_pprrvu(text))
            else:
                raise DataError(
                    "not a CMS PPRRVU or GPCI table (no HCPCS/MOD or Locality Number header)",
                    source=text.name,
                )
    return rvus, gpcis


# --- contract rates ---------------------------------------------------------------------

_RATE_COLUMNS = ("code", "modifier", "rate", "effective", "until")


def _date(cell: str, *, source: str, line: int, column: str) -> dt.date:
    try:
        return dt.date.fromisoformat(cell.strip())
    except ValueError:
        raise DataError(
            f"column {column}: {cell.strip()[:20]!r} is not a date (YYYY-MM-DD)",
            source=source,
            line=line,
        ) from None


def read_contract_rates(path: str | os.PathLike[str]) -> tuple[ContractRate, ...]:
    """Read a payer's contract rate CSV: ``code, modifier, rate, effective, until``.

    Columns are found by name (any order, any case); ``modifier`` and ``until``
    may be empty. ``rate`` is dollars per unit. Two rows for one code and
    modifier whose date windows overlap are an error.
    """
    texts = list(_texts(path))
    text = texts[0]
    rows = _csv_rows(text)
    if not rows:
        raise DataError("empty contract rate file", source=text.name)
    names = [c.strip().lower() for c in rows[0]]
    cols: dict[str, int] = {}
    for want in _RATE_COLUMNS:
        if want not in names:
            raise DataError(f"header: no column named {want}", source=text.name, line=1)
        cols[want] = names.index(want)
    width = max(cols.values()) + 1
    out: list[ContractRate] = []
    for i, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) < width:
            raise DataError(f"row has {len(row)} columns, needs {width}", source=text.name, line=i)
        until = row[cols["until"]].strip()
        rate = ContractRate(
            code=_code(row[cols["code"]], source=text.name, line=i),
            modifier=row[cols["modifier"]].strip().upper(),
            rate=_decimal(row[cols["rate"]], source=text.name, line=i, column="rate"),
            effective=_date(row[cols["effective"]], source=text.name, line=i, column="effective"),
            until=_date(until, source=text.name, line=i, column="until") if until else None,
        )
        if rate.until is not None and rate.until < rate.effective:
            raise DataError("until is before effective", source=text.name, line=i)
        for other in out:
            if (other.code, other.modifier) == (rate.code, rate.modifier) and _overlap(other, rate):
                raise DataError(
                    f"code {rate.code}: two rates in force on the same day",
                    source=text.name,
                    line=i,
                )
        out.append(rate)
    if not out:
        raise DataError("contract rate file has no rates", source=text.name)
    return tuple(out)


def _overlap(a: ContractRate, b: ContractRate) -> bool:
    a_end = a.until or dt.date.max
    b_end = b.until or dt.date.max
    return a.effective <= b_end and b.effective <= a_end
