"""In-memory edit tables: the bundled therapy pairs, and choosing the default tables."""

from __future__ import annotations

import bisect
import datetime as dt
import os
import pathlib
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from types import MappingProxyType
from typing import Any

from .._memo import Memo
from ..errors import DataError
from ._model import EditTables, MueEdit, PtpEdit

__all__ = [
    "BUNDLED_FILE",
    "MemoryTables",
    "bundled_tables",
    "default_store_path",
]

#: The bundled data file, in the ``cptrules.data`` package.
BUNDLED_FILE = "ncci_therapy_ptp.toml"

_INDICATORS = frozenset((0, 1, 9))
_CONFIDENCE_PREFIXES = ("C-", "S", "?")
_EMPTY_MUE: Mapping[str, MueEdit] = MappingProxyType({})


#: most answers a :class:`MemoryTables` remembers (per kind) before starting afresh
_ANSWERS_MAX = 4096


class MemoryTables:
    """Edit tables held in memory, indexed by column-1 code.

    Used for the bundled pairs; also handy in tests and for a user's own list.
    Lookups do no I/O and no parsing.

    Answers are remembered per code set: claims repeat the same few sets, and a
    check asks for every visit. The PTP answer only changes on a day some edit
    starts or stops, so it is remembered per code set and *period* (the span
    between two such days), not per date of service: a year of visits with one
    code set costs one lookup. Answers are handed out as they are remembered (a
    tuple; a read-only mapping for MUEs). Safe to share between threads: two
    threads asking at once may both work an answer out, and remember equal ones.
    """

    __slots__ = (
        "_breaks",
        "_by_column1",
        "_has_mue",
        "_mue",
        "_mue_answers",
        "_ptp_answers",
        "_version",
    )

    def __init__(
        self,
        version: str,
        ptp: Iterable[PtpEdit],
        mue: Mapping[str, MueEdit] | None = None,
    ) -> None:
        """Index ``ptp`` edits (every window kept) and an optional MUE mapping."""
        by_column1: dict[str, list[PtpEdit]] = {}
        ptp_edits = list(ptp)
        for edit in ptp_edits:
            by_column1.setdefault(edit.column1, []).append(edit)
        self._by_column1 = {
            c1: tuple(sorted(edits, key=lambda e: (e.column2, e.effective)))
            for c1, edits in by_column1.items()
        }
        self._version = version
        self._has_mue = mue is not None
        self._mue: Mapping[str, MueEdit] = MappingProxyType(dict(mue or {}))
        #: every day an edit starts or stops applying, in order: the PTP answer for
        #: a code set is the same on all days with the same number of these passed
        self._breaks: tuple[dt.date, ...] = tuple(
            sorted(
                {e.effective for e in ptp_edits}
                | {e.deletion for e in ptp_edits if e.deletion is not None}
            )
        )
        self._ptp_answers: Memo[tuple[frozenset[str], int], tuple[PtpEdit, ...]] = Memo(
            "ncci: in-memory PTP answers", size=_ANSWERS_MAX
        )
        self._mue_answers: Memo[frozenset[str], Mapping[str, MueEdit]] = Memo(
            "ncci: in-memory MUE answers", size=_ANSWERS_MAX
        )

    @property
    def version(self) -> str:
        """Which data answers, for a report's ``data_version``."""
        return self._version

    @property
    def has_mue(self) -> bool:
        """True when an MUE mapping was given."""
        return self._has_mue

    def edits(self) -> tuple[PtpEdit, ...]:
        """Every edit window held, in column-1, column-2, effective order."""
        return tuple(e for c1 in sorted(self._by_column1) for e in self._by_column1[c1])

    def ptp(self, codes: frozenset[str], day: dt.date) -> tuple[PtpEdit, ...]:
        """Edits in force on ``day`` between two different codes of ``codes`` (no indicator 9)."""
        if type(codes) is not frozenset:  # a set or another iterable: hashable from here
            codes = frozenset(codes)
        key = (codes, bisect.bisect_right(self._breaks, day))
        found = self._ptp_answers.get(key)
        if found is None:
            found = self._ptp_answers.put(key, self._ptp(codes, day))
        return found

    def _ptp(self, codes: frozenset[str], day: dt.date) -> tuple[PtpEdit, ...]:
        """:meth:`ptp` worked out from the index (what the remembered answers hold)."""
        found: list[PtpEdit] = []
        for c1 in sorted(codes):
            for edit in self._by_column1.get(c1, ()):
                if (
                    edit.column2 in codes
                    and edit.column2 != c1
                    and edit.indicator != 9
                    and edit.in_force(day)
                ):
                    found.append(edit)
        return tuple(found)

    def mue(self, codes: frozenset[str], day: dt.date) -> Mapping[str, MueEdit]:
        """MUEs for those of ``codes`` that have one (an in-memory table has no dates)."""
        if not self._mue:
            return _EMPTY_MUE
        if type(codes) is not frozenset:
            codes = frozenset(codes)
        found = self._mue_answers.get(codes)
        if found is None:
            # Read-only: the same mapping is handed to every caller.
            found = self._mue_answers.put(
                codes,
                MappingProxyType({c: self._mue[c] for c in sorted(codes) if c in self._mue}),
            )
        return found

    def __repr__(self) -> str:
        pairs = sum(len(v) for v in self._by_column1.values())
        return f"MemoryTables({self._version!r}, {pairs} PTP windows, mue={self._has_mue})"


def _codes(value: Any, where: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if not (isinstance(item, str) and len(item) == 5 and item.isascii() and item.isalnum()):
            raise DataError(f"{where}: bad code {item!r}", source=BUNDLED_FILE)
        out.append(item)
    if not out:
        raise DataError(f"{where}: no codes", source=BUNDLED_FILE)
    return tuple(out)


def _entry(raw: Mapping[str, Any], where: str, source: str) -> list[PtpEdit]:
    indicator = raw.get("indicator")
    effective = raw.get("effective")
    deletion = raw.get("deletion")
    confidence = raw.get("confidence")
    note = raw.get("note")
    if not isinstance(indicator, int) or indicator not in _INDICATORS:
        raise DataError(f"{where}: indicator must be 0, 1 or 9", source=BUNDLED_FILE)
    if type(effective) is not dt.date or (deletion is not None and type(deletion) is not dt.date):
        raise DataError(f"{where}: effective/deletion must be dates", source=BUNDLED_FILE)
    if not (isinstance(confidence, str) and confidence.startswith(_CONFIDENCE_PREFIXES)):
        raise DataError(f"{where}: confidence must be C-n, S or ?", source=BUNDLED_FILE)
    if not (isinstance(note, str) and note.strip()):
        raise DataError(f"{where}: every row needs a note", source=BUNDLED_FILE)
    unknown = (
        set(raw)
        - {"column1", "column2", "indicator", "effective", "deletion"}
        - {
            "confidence",
            "note",
        }
    )
    if unknown:
        raise DataError(f"{where}: unknown keys {sorted(unknown)}", source=BUNDLED_FILE)
    return [
        PtpEdit(
            column1=c1,
            column2=c2,
            indicator=indicator,
            effective=effective,
            deletion=deletion,
            rationale=note,
            source=source,
            confidence=confidence,
        )
        for c1 in _codes(raw.get("column1"), where)
        for c2 in _codes(raw.get("column2"), where)
        if c1 != c2
    ]


def parse_bundled(text: str) -> MemoryTables:
    """Build tables from the text of a bundled-pairs TOML file (validated)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"not valid TOML: {exc}", source=BUNDLED_FILE) from exc
    version = data.get("version")
    source = data.get("source")
    entries = data.get("ptp")
    if not isinstance(version, str) or not isinstance(source, str) or not isinstance(entries, list):
        raise DataError("needs version, source and [[ptp]] entries", source=BUNDLED_FILE)
    edits: list[PtpEdit] = []
    for i, raw in enumerate(entries):
        if not isinstance(raw, dict):  # pragma: no cover - TOML arrays of tables are dicts
            raise DataError(f"ptp[{i}] is not a table", source=BUNDLED_FILE)
        edits.extend(_entry(raw, f"ptp[{i}]", source))
    mue_entries = data.get("mue")
    if mue_entries is None:
        return MemoryTables(f"ncci:bundled-{version}", edits)
    mue_source = data.get("mue_source")
    if not isinstance(mue_entries, list) or not isinstance(mue_source, str):
        raise DataError("[[mue]] entries need a top-level mue_source", source=BUNDLED_FILE)
    mues: dict[str, MueEdit] = {}
    for i, raw in enumerate(mue_entries):
        for edit in _mue_entry(raw, f"mue[{i}]", mue_source):
            if edit.code in mues:
                raise DataError(f"mue[{i}]: {edit.code} listed twice", source=BUNDLED_FILE)
            mues[edit.code] = edit
    return MemoryTables(f"ncci:bundled-{version}", edits, mues)


def _mue_entry(raw: Any, where: str, source: str) -> list[MueEdit]:
    """The MUE edits of one bundled ``[[mue]]`` entry (validated)."""
    if not isinstance(raw, dict) or set(raw) != {
        "codes",
        "value",
        "indicator",
        "confidence",
        "note",
    }:
        raise DataError(
            f"{where}: needs codes, value, indicator, confidence, note", source=BUNDLED_FILE
        )
    value, indicator, note = raw["value"], raw["indicator"], raw["note"]
    if type(value) is not int or value < 0 or indicator not in (1, 2, 3):
        raise DataError(f"{where}: bad value or indicator", source=BUNDLED_FILE)
    if not (isinstance(note, str) and note.strip()):
        raise DataError(f"{where}: every entry needs a note", source=BUNDLED_FILE)
    return [MueEdit(c, value, indicator, note, source) for c in _codes(raw["codes"], where)]


_BUNDLED: Memo[str, MemoryTables] = Memo("ncci: bundled pairs", size=1)


def bundled_tables() -> EditTables:
    """The bundled therapy pairs (no MUE values), read once and shared.

    >>> import datetime as dt
    >>> t = bundled_tables()
    >>> [(e.column1, e.column2, e.indicator)
    ...  for e in t.ptp(frozenset({"98941", "97140"}), dt.date(2026, 3, 4))]
    [('98941', '97140', 1)]
    """
    found = _BUNDLED.get(BUNDLED_FILE)
    if found is not None:
        return found
    try:
        text = resources.files("cptrules.data").joinpath(BUNDLED_FILE).read_text(encoding="utf-8")
    except OSError as exc:  # pragma: no cover - broken install
        raise DataError(f"cannot read bundled data: {exc}", source=BUNDLED_FILE) from exc
    return _BUNDLED.put(BUNDLED_FILE, parse_bundled(text))


def default_store_path() -> pathlib.Path:
    """Where the local NCCI store lives.

    ``$CPTRULES_DB`` if set; else ``$XDG_CACHE_HOME/cptrules/ncci.sqlite3`` when
    ``XDG_CACHE_HOME`` is an absolute path; else ``~/.cache/cptrules/ncci.sqlite3``.
    """
    explicit = os.environ.get("CPTRULES_DB")
    if explicit:
        return pathlib.Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = pathlib.Path(xdg) if xdg and os.path.isabs(xdg) else pathlib.Path.home() / ".cache"
    return base / "cptrules" / "ncci.sqlite3"
