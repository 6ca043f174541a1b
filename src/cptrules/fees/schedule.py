"""Fee schedules prepared once and looked up by date of service.

A :class:`FeeSchedule` holds the Medicare PFS releases side by side (each PPRRVU
table with the day it takes effect) and the GPCI tables by calendar year. A
day of service is answered by the newest release in force on it, never by
today's date. CMS names its releases ``RVUyyA`` (January), ``B`` (April), ``C``
(July), ``D`` (October) and ``AR`` for a January correction (RVUPUF "update
schedule"); the effective day is read from that name or from the PPRRVU member
name (``PPRRVU24_JAN``), and a correction release, whose day the name does not
say, needs it given (``effective=``).

A :class:`ContractSchedule` holds a commercial payer's contract rates.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import os
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import attrs

from .._memo import Memo
from ..errors import DataError
from .loaders import (
    ContractRate,
    Gpci,
    GpciTable,
    Rvu,
    RvuTable,
    read_contract_rates,
    read_fee_files,
)

__all__ = [
    "NATIONAL",
    "ContractSchedule",
    "FeeSchedule",
    "Release",
    "choose_variant",
    "effective_from_name",
]

#: Entries a schedule's memo holds (prepared tables by day and by period), oldest dropped first.
MEMO_SIZE = 8192
#: The locality key for national amounts: every GPCI 1.000 (no geographic adjustment).
NATIONAL = "national"
_ONE = Decimal(1)
_NATIONAL_GPCI = Gpci("", "", "", "national (no geographic adjustment)", _ONE, _ONE, _ONE)

_RELEASE = re.compile(r"RVU(\d{2})([A-D])(R?)(?![A-Z])", re.IGNORECASE)
_MEMBER = re.compile(r"PPRRVU(\d{2}|20\d\d)_?(JAN|APR|JUL|OCT)", re.IGNORECASE)
_QUARTER_MONTH = {"A": 1, "B": 4, "C": 7, "D": 10, "JAN": 1, "APR": 4, "JUL": 7, "OCT": 10}


def effective_from_name(name: str) -> dt.date | None:
    """The first day a CMS RVU release is in force, from its file name; None if unsaid.

    >>> effective_from_name("rvu24b.zip!PPRRVU24_APR.csv")
    datetime.date(2024, 4, 1)
    >>> effective_from_name("PPRRVU2025_Oct.txt")
    datetime.date(2025, 10, 1)
    >>> effective_from_name("RVU24AR.zip!PPRRVU24_JAN.csv") is None  # a correction: say when
    True
    """
    base = os.path.basename(name)
    if m := _RELEASE.search(base):
        if m.group(3):
            return None
        return dt.date(2000 + int(m.group(1)), _QUARTER_MONTH[m.group(2).upper()], 1)
    if m := _MEMBER.search(base):
        year = int(m.group(1))
        return dt.date(year if year > 100 else 2000 + year, _QUARTER_MONTH[m.group(2).upper()], 1)
    return None


@attrs.frozen
class Release:
    """One PPRRVU table and the first day it is in force."""

    label: str
    effective: dt.date
    conversion_factor: Decimal
    rows: Mapping[tuple[str, str], Rvu] = attrs.field(repr=False)

    def lookup(self, code: str, modifiers: Sequence[str] = ()) -> Rvu | None:
        """The row for ``code``: with a pricing modifier (26, TC, 53) when billed, else global."""
        rows = self.rows
        for mod in modifiers:
            if mod in ("26", "TC", "53") and (hit := rows.get((code, mod))) is not None:
                return hit
        return rows.get((code, ""))


@attrs.frozen(init=False)
class FeeSchedule:
    """Medicare PFS releases by effective day and GPCI tables by year, prepared once."""

    releases: tuple[Release, ...]
    gpcis: Mapping[int, Mapping[str, Gpci]] = attrs.field(repr=False)
    _starts: tuple[dt.date, ...] = attrs.field(repr=False)
    #: prepared price tables by period and by day (cptrules.fees.estimate fills it)
    memo: Memo[Hashable, Any] = attrs.field(repr=False, eq=False)

    def __init__(self, releases: Iterable[Release], gpcis: Iterable[GpciTable] = ()) -> None:
        ordered = tuple(sorted(releases, key=lambda r: r.effective))
        for a, b in itertools.pairwise(ordered):
            if a.effective == b.effective:
                raise DataError(
                    f"two fee releases take effect on {a.effective}: {a.label} and {b.label}"
                )
        years: dict[int, Mapping[str, Gpci]] = {}
        for table in gpcis:
            years[table.year] = table.rows  # a later file for the same year replaces it
        self.__attrs_init__(
            ordered,
            MappingProxyType(years),
            tuple(r.effective for r in ordered),
            Memo("fee schedule price tables", size=MEMO_SIZE),
        )

    @classmethod
    def from_files(
        cls,
        paths: Sequence[str | os.PathLike[str]],
        *,
        effective: Mapping[str, dt.date] | None = None,
        qualifying_apm: bool = False,
    ) -> FeeSchedule:
        """Read CMS PPRRVU and GPCI files (or ``RVUyyX`` zips) into a schedule.

        ``effective`` maps a file's base name to the first day its release is in
        force, for names that do not say it (an ``AR`` correction, a renamed file).
        From 2026 CMS publishes two PPRRVU tables per release, one per conversion
        factor (``..._nonQPP`` and ``..._QPP``, for qualifying APM participants):
        the non-QP one is read unless ``qualifying_apm``.
        """
        rvus, gpcis = read_fee_files(paths)
        given = dict(effective or {})
        releases = [_release(table, given) for table in choose_variant(rvus, qualifying_apm)]
        return cls(releases, gpcis)

    def release_for(self, day: dt.date) -> Release | None:
        """The release in force on ``day`` (the newest that starts on or before it)."""
        i = bisect.bisect_right(self._starts, day)
        return self.releases[i - 1] if i else None

    def gpci_for(self, day: dt.date, locality: str) -> Gpci | None:
        """The GPCIs of ``locality`` (``MAC-LL`` or ``national``) for ``day``'s year."""
        if locality == NATIONAL:
            return _NATIONAL_GPCI
        rows = self.gpcis.get(day.year)
        return None if rows is None else rows.get(locality)

    def localities(self, year: int) -> tuple[Gpci, ...]:
        """The localities of ``year``'s GPCI table, in file order."""
        return tuple(self.gpcis.get(year, {}).values())


def choose_variant(tables: Sequence[RvuTable], qualifying_apm: bool) -> list[RvuTable]:
    """The PPRRVU tables for one conversion factor: drop the other APM variant's tables."""

    def variant(t: RvuTable) -> str:
        name = os.path.basename(t.name.split("!")[-1]).lower()
        return "non-qp" if "nonqpp" in name else "qp" if "qpp" in name else ""

    unwanted = "non-qp" if qualifying_apm else "qp"
    return [t for t in tables if variant(t) != unwanted]


def _release(table: RvuTable, given: Mapping[str, dt.date]) -> Release:
    names = {table.name, table.name.split("!")[0], table.name.split("!")[-1]}
    day = next((given[n] for n in names if n in given), None)
    if day is None:
        day = effective_from_name(table.name)
    if day is None:
        raise DataError(
            "the file name does not say when this release takes effect (a correction "
            "release such as RVU24AR?): give its first day (--effective YYYY-MM-DD)",
            source=table.name,
        )
    label = table.name.split("!")[0]
    return Release(label, day, table.conversion_factor, table.rows)


@attrs.frozen(init=False)
class ContractSchedule:
    """A commercial payer's contract rates per unit, by code, modifier and date."""

    name: str
    rates: Mapping[tuple[str, str], tuple[ContractRate, ...]] = attrs.field(repr=False)

    def __init__(self, name: str, rates: Iterable[ContractRate]) -> None:
        by_key: dict[tuple[str, str], list[ContractRate]] = {}
        for r in rates:
            by_key.setdefault((r.code, r.modifier), []).append(r)
        frozen = {k: tuple(sorted(v, key=lambda r: r.effective)) for k, v in by_key.items()}
        self.__attrs_init__(name, MappingProxyType(frozen))

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str], name: str | None = None) -> ContractSchedule:
        """Read a contract rate CSV (see :func:`~cptrules.fees.loaders.read_contract_rates`)."""
        label = name or os.path.basename(os.fspath(path))
        return cls(label, read_contract_rates(path))

    def rate_for(self, code: str, modifiers: Sequence[str], day: dt.date) -> ContractRate | None:
        """The rate in force on ``day``: one for a billed modifier first, then the code's own."""
        for mod in (*modifiers, ""):
            for r in self.rates.get((code, mod), ()):
                if r.effective <= day and (r.until is None or day <= r.until):
                    return r
        return None
