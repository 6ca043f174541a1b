"""The local NCCI store: the official CMS tables imported once into SQLite.

Layout: one table per imported dataset (``ptp_<id>``, ``mue_<id>``) so quarters
live side by side, a ``datasets`` catalogue saying what each one is (kind,
program, version, source files, row count), and a shared ``rationales`` table
(the few hundred distinct rationale texts, stored once).

Which dataset answers (documented in docs/ncci.md):

* PTP: the newest imported version of the program answers every date of service.
  A CMS quarterly file carries the whole history (deleted edits keep their
  windows, retroactive deletions show as indicator 9), so the newest file is the
  best statement of what applied on any past day. Older versions stay in the
  store for audit (``cptrules data status``) and can be pinned with
  ``open_store(path, ptp_version=...)``.
* MUE: the CSV has no dates; each quarterly table is in force from the first day
  of its quarter. A day is answered by the newest imported quarter starting on or
  before it; a day before every imported quarter has no MUE data.

Importing writes a copy of the store next to it, fills it with journaling off
(fast; a crash can only harm the copy) and then moves it over the old file, so
readers never see a half-written store. Imports into one store take turns (a
lock file beside it); a killed import's temporary file is removed by the next.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import json
import os
import pathlib
import re
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from types import MappingProxyType
from typing import NamedTuple, TypeVar

import attrs

from .._memo import Memo
from ..errors import DataError
from ._model import DatasetInfo, EditTables, MueEdit, PtpEdit
from .loaders import (
    Layout,
    Source,
    detect,
    iter_sources,
    mue_records,
    ptp_records,
    version_from_name,
)
from .tables import bundled_tables, default_store_path

__all__ = [
    "SCHEMA_VERSION",
    "StoreTables",
    "damaged",
    "default_tables",
    "import_files",
    "open_store",
    "status",
]

#: Bumped when the store layout changes; an older store must be re-imported.
SCHEMA_VERSION = "1"

_T = TypeVar("_T")

_BATCH = 50_000
_MAX_VARS = 200  # codes per IN (...) list; more are split over several queries
_V_LABEL = re.compile(r"^v(\d{1,4})r(\d{1,2})$")
_Q_LABEL = re.compile(r"^(\d{4})q([1-4])$")
_EMPTY_MUE: Mapping[str, MueEdit] = MappingProxyType({})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS datasets (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    program TEXT NOT NULL,
    version TEXT NOT NULL,
    scheme TEXT NOT NULL,
    rank INTEGER NOT NULL,
    start INTEGER,
    sources TEXT NOT NULL,
    rows INTEGER NOT NULL,
    imported_at TEXT NOT NULL,
    UNIQUE (kind, program, version)
);
CREATE TABLE IF NOT EXISTS rationales (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);
"""


@attrs.frozen
class _Version:
    label: str
    scheme: str  # "v" (CMS vNNNrM) or "q" (YYYYqN)
    rank: int
    start: int | None  # YYYYMMDD of the quarter's first day, for "q" labels


def _parse_version(label: str, where: str) -> _Version:
    text = label.strip().lower()
    if m := _V_LABEL.match(text):
        major, minor = int(m.group(1)), int(m.group(2))
        return _Version(f"v{major}r{minor}", "v", major * 100 + minor, None)
    if m := _Q_LABEL.match(text):
        year, quarter = int(m.group(1)), int(m.group(2))
        start = year * 10000 + (quarter * 3 - 2) * 100 + 1
        return _Version(f"{year}q{quarter}", "q", year * 10 + quarter, start)
    raise DataError(
        f"version {label!r} is neither a CMS PTP version like v324r0 nor a quarter like 2026q4",
        source=where,
    )


@attrs.frozen
class _Group:
    kind: str
    program: str
    version: _Version
    layout: Layout
    sources: tuple[Source, ...]


def _classify(paths: Iterable[str | os.PathLike[str]], version: str | None) -> list[_Group]:
    """Read each file's header and group the tables by (kind, program, version)."""
    groups: dict[tuple[str, str, str], list[tuple[Layout, _Version, Source]]] = {}
    for path in paths:
        for src in iter_sources(path):
            lowered = src.name.lower()
            if "ccioph" in lowered:
                raise DataError(
                    "this is the outpatient hospital PTP table; cptrules checks practitioner "
                    "claims: import the practitioner (ccipra) files",
                    source=src.name,
                )
            layout = detect(src)
            label = version or version_from_name(src.name)
            if label is None:
                raise DataError(
                    "cannot tell the version from the file name; pass --version "
                    "(e.g. v324r0 for PTP, 2026q4 for MUE)",
                    source=src.name,
                )
            ver = _parse_version(label, src.name)
            if layout == "mue-practitioner":
                kind = "mue"
                program = "medicaid" if "medicaid" in lowered else "medicare"
                if ver.scheme != "q":
                    raise DataError(
                        f"an MUE table needs a quarter like 2026q4, not {ver.label!r}: "
                        "pass --version",
                        source=src.name,
                    )
            else:
                kind = "ptp"
                program = "medicaid" if layout == "ptp-medicaid" else "medicare"
            groups.setdefault((kind, program, ver.label), []).append((layout, ver, src))
    return [
        _Group(kind, program, items[0][1], items[0][0], tuple(s for _, _, s in items))
        for (kind, program, _label), items in groups.items()
    ]


def _connect_for_import(path: pathlib.Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA temp_store=DEFAULT")
    con.execute("PRAGMA cache_size=-16384")  # 16 MiB: bigger costs memory, not time
    return con


def _check_schema(con: sqlite3.Connection, where: str) -> None:
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise DataError(f"not a cptrules NCCI store: {exc}", source=where) from None
    if row is None or row[0] != SCHEMA_VERSION:
        found = "none" if row is None else row[0]
        raise DataError(
            f"store layout {found} is not this cptrules' layout {SCHEMA_VERSION}: delete the "
            "file and import the CMS files again",
            source=where,
        )


def import_files(
    paths: Iterable[str | os.PathLike[str]],
    db_path: str | os.PathLike[str] | None = None,
    *,
    version: str | None = None,
) -> tuple[DatasetInfo, ...]:
    """Import CMS PTP/MUE files (TXT, CSV or their zips) into the store at ``db_path``.

    Each file is read once. Files are grouped by kind, program and version (the
    version comes from the file name, e.g. ``ccipra-v324r0-f1.zip`` or
    ``..._Eff_10-01-2026.csv``, or from ``version``); the four PTP parts of one
    release make one dataset. Importing a version already in the store replaces
    it; other versions are kept. ``db_path`` defaults to :func:`default_store_path`.
    Returns what was imported. Malformed input raises DataError and leaves the
    store as it was.
    """
    target = pathlib.Path(db_path) if db_path is not None else default_store_path()
    try:
        groups = _classify(list(paths), version)
    except OSError as exc:  # e.g. a directory or an unreadable file
        raise DataError(f"cannot read: {exc.strerror or exc}", source=str(exc.filename)) from None
    if not groups:
        raise DataError("no files to import")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        lock = _ImportLock(target)
    except OSError as exc:
        raise DataError(f"cannot write the store: {exc.strerror}", source=str(target)) from None
    with lock:
        ids = _import_locked(target, groups)
    by_id = dict(_datasets(target))
    return tuple(by_id[i] for i in ids)


class _ImportLock:
    """One import at a time per store: an exclusive lock on ``.<store>.lock`` beside it.

    A second import waits for the first and then imports on top of its result,
    so neither is lost. The lock file stays (removing it would race); the lock
    goes with the process, so a killed import never leaves the store locked.
    """

    def __init__(self, target: pathlib.Path) -> None:
        self._path = target.parent / f".{target.name}.lock"
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)

    def __enter__(self) -> _ImportLock:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory locks here
            return self
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)  # closing releases the lock


def _remove_stale_temp_files(target: pathlib.Path) -> None:
    """Temporary files of an import that was killed (the caller holds the import lock)."""
    for stale in target.parent.glob(f".{target.name}.*.importing"):
        with contextlib.suppress(OSError):  # gone already, or not ours to remove
            stale.unlink()


def _store_mode(target: pathlib.Path) -> int:
    """The permissions the store keeps: its own, or for a new one what umask allows."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _import_locked(target: pathlib.Path, groups: list[_Group]) -> list[int]:
    _remove_stale_temp_files(target)
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".importing", dir=target.parent
        )
    except OSError as exc:
        raise DataError(f"cannot write the store: {exc.strerror}", source=str(target)) from None
    os.close(fd)
    tmp = pathlib.Path(tmp_name)
    con: sqlite3.Connection | None = None
    try:
        if target.exists() and _metadata_problem(target) is None:
            shutil.copyfile(target, tmp)
        # else: a new store, or one whose metadata is damaged: rebuilt from these files
        con = _connect_for_import(tmp)
        con.execute("BEGIN")
        fresh = con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                con.execute(statement)
        if fresh:
            con.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        _check_schema(con, str(target))
        rationale_ids = {text: rid for rid, text in con.execute("SELECT id, text FROM rationales")}
        ids = [_import_group(con, group, rationale_ids) for group in groups]
        con.execute("COMMIT")
        con.close()
        con = None
        os.chmod(tmp, _store_mode(target))
        os.replace(tmp, target)
    except sqlite3.Error as exc:
        raise DataError(f"cannot write the store: {exc}", source=str(target)) from None
    except OSError as exc:
        where = exc.filename if isinstance(exc.filename, str) else str(target)
        raise DataError(f"cannot import: {exc.strerror or exc}", source=where) from None
    finally:
        if con is not None:
            con.close()
        if tmp.exists():
            tmp.unlink()
    return ids


def damaged(db_path: str | os.PathLike[str] | None = None) -> str | None:
    """What is wrong with the store's metadata, or None when it reads (or is absent).

    A damaged store is rebuilt by the next import, from the files imported then.
    A file that is not a store at all raises :class:`~cptrules.DataError`.
    """
    path = pathlib.Path(db_path) if db_path is not None else default_store_path()
    return _metadata_problem(path) if path.is_file() else None


def _metadata_problem(path: pathlib.Path) -> str | None:
    """The damage of a store's datasets table; a file that is no store at all (or of
    another layout) raises, so that an import never overwrites what is not a store."""
    con = _connect_read_only(path)
    try:
        _rows(con, str(path))
    except DataError as exc:
        return str(exc)
    finally:
        con.close()
    return None


def _import_group(con: sqlite3.Connection, group: _Group, rationale_ids: dict[str, int]) -> int:
    ver = group.version
    others = con.execute(
        "SELECT DISTINCT scheme FROM datasets WHERE kind = ? AND program = ? AND version != ?",
        (group.kind, group.program, ver.label),
    ).fetchall()
    if any(scheme != ver.scheme for (scheme,) in others):
        raise DataError(
            f"the store's {group.program} {group.kind.upper()} versions are named another way "
            f"than {ver.label!r}; pass --version in the same form as before",
            source=group.sources[0].name,
        )
    old = con.execute(
        "SELECT id FROM datasets WHERE kind = ? AND program = ? AND version = ?",
        (group.kind, group.program, ver.label),
    ).fetchone()
    if old is not None:
        con.execute(f"DROP TABLE IF EXISTS {group.kind}_{int(old[0])}")
        con.execute("DELETE FROM datasets WHERE id = ?", (old[0],))
    cur = con.execute(
        "INSERT INTO datasets (kind, program, version, scheme, rank, start, sources, rows, "
        "imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
        (
            group.kind,
            group.program,
            ver.label,
            ver.scheme,
            ver.rank,
            ver.start,
            json.dumps([s.name for s in group.sources]),
            dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        ),
    )
    dataset = int(cur.lastrowid or 0)

    def rationale_id(text: str) -> int:
        rid = rationale_ids.get(text)
        if rid is None:
            rid = int(
                con.execute("INSERT INTO rationales (text) VALUES (?)", (text,)).lastrowid or 0
            )
            rationale_ids[text] = rid
        return rid

    rows = 0
    if group.kind == "ptp":
        table = f"ptp_{dataset}"
        con.execute(
            f"CREATE TABLE {table} (column1 TEXT NOT NULL, column2 TEXT NOT NULL, "
            "effective INTEGER NOT NULL, deletion INTEGER, indicator INTEGER NOT NULL, "
            "rationale INTEGER NOT NULL)"
        )
        insert = f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?)"
        for src in group.sources:
            for layout, records in ptp_records(src):
                if layout != group.layout:  # pragma: no cover - grouped by layout above
                    raise DataError("layout changed between reads", source=src.name)
                for batch in _batches(records):
                    con.executemany(
                        insert,
                        [(a, b, e, d, i, rationale_id(r)) for a, b, e, d, i, r, _ in batch],
                    )
                    rows += len(batch)
        con.execute(f"CREATE INDEX {table}_pair ON {table} (column1, column2)")
    else:
        table = f"mue_{dataset}"
        con.execute(
            f"CREATE TABLE {table} (code TEXT PRIMARY KEY, value INTEGER NOT NULL, "
            "indicator INTEGER NOT NULL, rationale INTEGER NOT NULL) WITHOUT ROWID"
        )
        insert = f"INSERT INTO {table} VALUES (?, ?, ?, ?)"
        seen: set[str] = set()
        for src in group.sources:
            for mue_batch in _batches(mue_records(src)):
                for code, *_rest, line in mue_batch:
                    if code in seen:
                        raise DataError(
                            f"code {code} is in two MUE files", source=src.name, line=line
                        )
                    seen.add(code)
                con.executemany(insert, [(c, v, m, rationale_id(r)) for c, v, m, r, _ in mue_batch])
                rows += len(mue_batch)
    con.execute("UPDATE datasets SET rows = ? WHERE id = ?", (rows, dataset))
    return dataset


def _batches(records: Iterator[_T]) -> Iterator[list[_T]]:
    while batch := list(islice(records, _BATCH)):
        yield batch


# --- reading ---------------------------------------------------------------------------


def _connect_read_only(path: pathlib.Path) -> sqlite3.Connection:
    if not path.is_file():
        raise DataError(
            "no NCCI store here: import the CMS files with `cptrules data import`",
            source=str(path),
        )
    uri = path.resolve().as_uri() + "?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True, check_same_thread=False)
    except sqlite3.Error as exc:
        raise DataError(f"cannot open the store: {exc}", source=str(path)) from None
    _check_schema(con, str(path))
    return con


@attrs.frozen
class _Row:
    id: int
    kind: str
    program: str
    version: str
    rank: int
    start: int | None
    sources: tuple[str, ...]
    rows: int
    imported_at: str


def _rows(con: sqlite3.Connection, where: str) -> list[_Row]:
    """The datasets table, checked: damaged metadata is a one-line DataError."""
    out = []
    try:
        found = con.execute(
            "SELECT id, kind, program, version, rank, start, sources, rows, imported_at "
            "FROM datasets ORDER BY kind, program, rank"
        ).fetchall()
        for rid, kind, program, version, rank, start, sources, rows, imported_at in found:
            names = json.loads(sources)
            if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
                raise ValueError("sources is not a list of file names")
            if not (
                isinstance(rid, int)
                and kind in ("ptp", "mue")
                and program in ("medicare", "medicaid")
                and isinstance(version, str)
                and isinstance(rank, int)
                and (start is None or isinstance(start, int))
                and isinstance(rows, int)
                and isinstance(imported_at, str)
            ):
                raise ValueError("a dataset row has fields of the wrong kind")
            out.append(
                _Row(rid, kind, program, version, rank, start, tuple(names), rows, imported_at)
            )
    except (sqlite3.Error, ValueError, TypeError, RecursionError) as exc:
        detail = " ".join(str(exc).split())[:120]
        raise DataError(
            f"the store's metadata is damaged ({detail}); rebuild it: import the CMS files "
            "again with `cptrules data import FILE... --db` this store",
            source=where,
        ) from None
    return out


def _active_ptp(rows: Sequence[_Row], program: str | None, version: str | None) -> _Row | None:
    ptp = [r for r in rows if r.kind == "ptp"]
    if version is not None:
        label = _parse_version(version, "ptp_version").label
        picked = [r for r in ptp if r.version == label and (program in (None, r.program))]
        if not picked:
            raise DataError(f"the store holds no PTP version {label}")
        return max(picked, key=lambda r: (r.program == "medicare", r.rank))
    if program is None:
        program = "medicare" if any(r.program == "medicare" for r in ptp) else "medicaid"
    candidates = [r for r in ptp if r.program == program]
    return max(candidates, key=lambda r: r.rank) if candidates else None


def _mue_rows(rows: Sequence[_Row], program: str) -> list[_Row]:
    return sorted(
        (r for r in rows if r.kind == "mue" and r.program == program and r.start is not None),
        key=lambda r: r.rank,
    )


def _datasets(path: pathlib.Path) -> list[tuple[int, DatasetInfo]]:
    con = _connect_read_only(path)
    try:
        rows = _rows(con, str(path))
    finally:
        con.close()
    active_ptp = {
        a.id for p in ("medicare", "medicaid") if (a := _active_ptp(rows, p, None)) is not None
    }
    return [
        (
            r.id,
            DatasetInfo(
                kind=r.kind,
                program=r.program,
                version=r.version,
                rows=r.rows,
                sources=r.sources,
                imported_at=r.imported_at,
                active=r.kind == "mue" or r.id in active_ptp,
            ),
        )
        for r in rows
    ]


def status(db_path: str | os.PathLike[str] | None = None) -> tuple[DatasetInfo, ...]:
    """What the store at ``db_path`` (default :func:`default_store_path`) holds.

    ``active`` marks the PTP version that answers lookups (the newest per program);
    every MUE quarter is active for the dates of its quarter onwards.
    """
    path = pathlib.Path(db_path) if db_path is not None else default_store_path()
    return tuple(info for _id, info in _datasets(path))


def _to_date(value: int) -> dt.date:
    return dt.date(value // 10000, value // 100 % 100, value % 100)


#: YYYYMMDD -> date, for the rows stores read. CMS dates edits by quarter starts, so
#: a release holds a few hundred distinct days: one shared object a day spares
#: building a date per row read, and the memory of one per remembered window.
#: Two stores filling it at once may build a day twice, harmlessly.
_DATES_MAX = 20_000
_DATES: Memo[int, dt.date] = Memo("ncci: store dates", size=_DATES_MAX)


def _shared_date(value: int) -> dt.date:
    day = _DATES.get(value)
    if day is None:
        day = _DATES.put(value, _to_date(value))
    return day


#: most code sets whose PTP answers a store remembers, and most MUE answers; past
#: that the oldest remembered goes first (each costs a query to get back)
_CACHE_SIZE = 4096
#: a code set remembers its answers period by period only while its windows times
#: its periods stay within this (a therapy visit's set: a few dozen); a larger set
#: (hundreds of codes) filters its windows at each lookup instead, so that no set
#: holds more than about this many references besides its windows
_ANSWERS_BUDGET = 1024


class _Windows(NamedTuple):  # a tuple: built once per query, cheaper than an attrs class
    """The PTP windows between the codes of one code set, answered period by period."""

    #: the windows (no indicator 9, no same-code pair) in column-1, column-2, effective order
    edits: tuple[PtpEdit, ...]
    #: every day one of them starts or stops applying, in order: the edits in force
    #: are the same on all days with the same number of these passed (a period)
    breaks: tuple[dt.date, ...]
    #: the answer of each period, ``answers[bisect_right(breaks, day)]``, worked out
    #: the first time a day of the period is asked (None until then); the first
    #: period, before every start, is empty. None for a set too large to hold them.
    answers: list[tuple[PtpEdit, ...] | None] | None


#: the usual code set: no edit between any two of its codes (one period, empty)
_NO_WINDOWS = _Windows((), (), [()])


class StoreTables:
    """Edit tables answered from the local SQLite store (read-only).

    One query per code set: the rows of every pair among the asked codes, all
    date windows, are fetched at once; the date filter is then applied in memory.
    What a query brings is worked out once and remembered per code set: a code
    set's PTP answer changes only on a day one of its edits starts or stops, so
    its answer for each *period* between two such days is kept beside its
    windows. MUE answers are remembered per code set and quarter. A batch sees
    the same few code sets visit after visit, so a repeated lookup is a
    dictionary read and a bisection: no lock, no query, no date filtering (as
    with :class:`~cptrules.ncci.MemoryTables`). At most ``_CACHE_SIZE`` code sets
    and MUE answers are remembered, the oldest going first. Answers are handed
    out as remembered (a tuple; a read-only mapping for MUEs).

    Safe to share between threads: remembered answers are read without a lock
    (single dictionary and list operations; a period's answer is filled in by one
    assignment, and two threads filling it at once store equal answers); the
    connection is used, and what a query brings is stored, under a lock, so one
    connection never serves two threads at once.
    """

    def __init__(
        self,
        path: pathlib.Path,
        con: sqlite3.Connection,
        ptp: _Row | None,
        mue: Sequence[_Row],
        fallback: EditTables | None,
    ) -> None:
        """Use :func:`open_store`; this is its plumbing."""
        self._path = path
        self._con = con
        self._lock = threading.Lock()  # the connection, and storing what it brings
        self._fallback = fallback
        self._ptp_table = f"ptp_{ptp.id}" if ptp is not None else None
        prefix = "" if ptp is None or ptp.program == "medicare" else "medicaid "
        program_word = "Medicaid practitioner" if prefix else "practitioner"
        self._ptp_source = f"CMS {program_word} PTP {ptp.version}" if ptp is not None else ""
        # MUE quarters in order of their first day (``mue`` comes in rank order, and a
        # quarter's rank orders its first day too): the quarter answering a day is found
        # by bisection. Index 0 of the tables and labels stands for "before every quarter".
        quarters = [(r.start, r) for r in mue if r.start is not None]
        self._mue_starts: tuple[dt.date, ...] = tuple(_to_date(start) for start, _r in quarters)
        self._mue_tables: tuple[str, ...] = ("", *(f"mue_{r.id}" for _s, r in quarters))
        self._mue_labels: tuple[str | None, ...] = (None, *(r.version for _s, r in quarters))
        if ptp is not None:
            ptp_part = f"{prefix}ptp {ptp.version}"
        else:
            ptp_part = f"ptp {(fallback.version if fallback else 'none').removeprefix('ncci:')}"
        mue_part = "mue " + ",".join(r.version for _s, r in quarters) if quarters else "no mue"
        self._version = f"ncci:store({ptp_part}; {mue_part})"
        self._answers_budget = _ANSWERS_BUDGET
        self._ptp_windows: Memo[frozenset[str], _Windows] = Memo(
            "ncci: store PTP windows", size=_CACHE_SIZE
        )
        self._mue_answers: Memo[tuple[frozenset[str], int], Mapping[str, MueEdit]] = Memo(
            "ncci: store MUE answers", size=_CACHE_SIZE
        )

    @property
    def version(self) -> str:
        """Which data answers, e.g. ``ncci:store(ptp v324r0; mue 2026q4)``."""
        return self._version

    @property
    def has_mue(self) -> bool:
        """True when at least one MUE quarter is imported."""
        return bool(self._mue_starts)

    def mue_quarter(self, day: dt.date) -> str | None:
        """The MUE quarter that answers ``day`` (None: the day precedes every import)."""
        return self._mue_labels[bisect.bisect_right(self._mue_starts, day)]

    def ptp(self, codes: frozenset[str], day: dt.date) -> tuple[PtpEdit, ...]:
        """Edits in force on ``day`` between two different codes of ``codes`` (no indicator 9)."""
        if self._ptp_table is None:
            return self._fallback.ptp(codes, day) if self._fallback is not None else ()
        try:
            windows = self._ptp_windows.get(codes)
        except TypeError:  # a set, not a frozenset: answered as MemoryTables does
            return self.ptp(frozenset(codes), day)
        if windows is None:
            if len(codes) < 2:
                return ()
            windows = self._remember_ptp(codes)
        answers = windows.answers
        if answers is None:  # a very large code set: filtered each time (memory)
            return tuple(e for e in windows.edits if e.in_force(day))
        period = bisect.bisect_right(windows.breaks, day)
        found = answers[period]
        if found is None:
            # Two threads may both work it out and store equal answers: harmless.
            found = tuple(e for e in windows.edits if e.in_force(day))
            if len(found) == len(windows.edits):  # the usual answer: keep one tuple
                found = windows.edits
            answers[period] = found
        return found

    def _remember_ptp(self, codes: frozenset[str]) -> _Windows:
        """Query the windows of ``codes`` once and remember them (the oldest set goes if full)."""
        with self._lock:
            windows = self._ptp_windows.get(codes)  # another thread may have fetched them
            if windows is None:
                windows = self._ptp_windows.put(codes, self._fetch_ptp(codes))
            return windows

    def _fetch_ptp(self, codes: frozenset[str]) -> _Windows:
        """Every window between two different codes of ``codes`` (no indicator 9), queried.

        The caller holds the lock. Order: column 1, column 2, effective date.
        """
        ordered = sorted(codes)
        chunks = [ordered[i : i + _MAX_VARS] for i in range(0, len(ordered), _MAX_VARS)]
        found: list[PtpEdit] = []
        days: set[int] = set()  # YYYYMMDD of every day a window starts or stops
        for c1_chunk in chunks:
            for c2_chunk in chunks:
                sql = (
                    "SELECT p.column1, p.column2, p.effective, p.deletion, p.indicator, "
                    f"r.text FROM {self._ptp_table} p JOIN rationales r ON r.id = p.rationale "
                    f"WHERE p.column1 IN ({','.join('?' * len(c1_chunk))}) "
                    f"AND p.column2 IN ({','.join('?' * len(c2_chunk))}) "
                    "AND p.indicator != 9 AND p.column1 != p.column2"
                )
                for c1, c2, eff, dele, ind, text in self._con.execute(sql, (*c1_chunk, *c2_chunk)):
                    days.add(eff)
                    if dele is not None:
                        days.add(dele)
                    found.append(
                        PtpEdit(
                            column1=c1,
                            column2=c2,
                            indicator=ind,
                            effective=_shared_date(eff),
                            deletion=None if dele is None else _shared_date(dele),
                            rationale=text,
                            source=self._ptp_source,
                        )
                    )
        if not found:
            return _NO_WINDOWS
        found.sort(key=lambda e: (e.column1, e.column2, e.effective))
        edits = tuple(found)
        breaks = tuple(_shared_date(d) for d in sorted(days))
        if len(edits) * (len(breaks) + 1) > self._answers_budget:
            return _Windows(edits, breaks, None)
        answers: list[tuple[PtpEdit, ...] | None] = [None] * (len(breaks) + 1)
        answers[0] = ()  # before every start
        return _Windows(edits, breaks, answers)

    def mue(self, codes: frozenset[str], day: dt.date) -> Mapping[str, MueEdit]:
        """MUEs of the quarter answering ``day`` for those of ``codes`` that have one."""
        quarter = bisect.bisect_right(self._mue_starts, day)
        if not quarter or not codes:
            return _EMPTY_MUE
        key = (codes, quarter)
        try:
            found = self._mue_answers.get(key)
        except TypeError:  # a set, not a frozenset: answered as MemoryTables does
            return self.mue(frozenset(codes), day)
        if found is None:
            found = self._remember_mue(key)
        return found

    def _remember_mue(self, key: tuple[frozenset[str], int]) -> Mapping[str, MueEdit]:
        """Query the MUEs of one code set and quarter once, remember them (bounded)."""
        codes, quarter = key
        table, label = self._mue_tables[quarter], self._mue_labels[quarter]
        with self._lock:
            found = self._mue_answers.get(key)  # another thread may have fetched it
            if found is not None:
                return found
            ordered = sorted(codes)
            result: dict[str, MueEdit] = {}
            for i in range(0, len(ordered), _MAX_VARS):
                chunk = ordered[i : i + _MAX_VARS]
                for code, value, ind, text in self._con.execute(
                    f"SELECT m.code, m.value, m.indicator, r.text FROM {table} m "
                    "JOIN rationales r ON r.id = m.rationale "
                    f"WHERE m.code IN ({','.join('?' * len(chunk))})",
                    chunk,
                ):
                    result[code] = MueEdit(
                        code=code,
                        value=value,
                        indicator=ind,
                        rationale=text,
                        source=f"CMS practitioner MUE {label}",
                    )
            # Read-only: the same mapping is handed to every caller.
            found = MappingProxyType(dict(sorted(result.items())))
            return self._mue_answers.put(key, found)

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._con.close()

    def __repr__(self) -> str:
        return f"StoreTables({str(self._path)!r}, {self._version!r})"


def open_store(
    path: str | os.PathLike[str],
    *,
    program: str | None = None,
    ptp_version: str | None = None,
) -> StoreTables:
    """Open the store at ``path`` read-only for lookups.

    PTP lookups use the newest imported version (``ptp_version`` pins another);
    ``program`` is ``"medicare"`` (the default when imported) or ``"medicaid"``.
    A store with no PTP data answers PTP lookups from the bundled pairs.
    """
    p = pathlib.Path(path)
    if program not in (None, "medicare", "medicaid"):
        raise DataError(f"program must be medicare or medicaid, not {program!r}")
    con = _connect_read_only(p)
    try:
        rows = _rows(con, str(p))
        ptp = _active_ptp(rows, program, ptp_version)
        mue_program = program or (ptp.program if ptp is not None else "medicare")
        mue = _mue_rows(rows, mue_program)
    except BaseException:
        con.close()
        raise
    fallback = bundled_tables() if ptp is None else None
    return StoreTables(p, con, ptp, mue, fallback)


_DEFAULT: Memo[tuple[str, int, int], StoreTables] = Memo("ncci: default store", size=1)
_default_lock = threading.Lock()


def default_tables() -> EditTables:
    """The store at :func:`default_store_path` if it exists, else the bundled pairs.

    An open store is reused while its file is unchanged (same path, size and
    modification time); a re-import is picked up by the next call (the older
    file's tables close when unreferenced).
    """
    path = default_store_path()
    try:
        st = path.stat()
    except OSError:
        return bundled_tables()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    with _default_lock:
        tables = _DEFAULT.get(key)
        if tables is None:
            tables = _DEFAULT.put(key, open_store(path))
        return tables
