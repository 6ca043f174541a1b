"""The per-session context every rule reads, prepared once per check.

Preparation walks the lines once: catalog entries, modifier sets, lines by
code and family, timed minutes summed per code, expected units. Rules read
these; none of them parses, loads or queries anything that was not prepared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ._memo import Memo
from .catalog import Catalog, CodeInfo
from .models import ServiceLine, Session
from .payers import PayerProfile
from .units import UnitMethod, _session_units

if TYPE_CHECKING:
    from .ncci import EditTables

__all__ = ["Context"]

_NO_LEGAL: Mapping[str, frozenset[int]] = {}


_NO_MODS: frozenset[str] = frozenset()

_UnitsKey = tuple[UnitMethod, tuple[tuple[str, int], ...]]
_UnitsAnswer = tuple[Mapping[str, int], Mapping[str, frozenset[int]]]
#: (unit method, timed codes and minutes in line order) -> expected and legal units.
#: An EMR checks the same visit on every save and clinics bill the same few
#: minute patterns, so answers repeat; a batch of all-distinct visits only pays
#: for the key.
_UNITS: Memo[_UnitsKey, _UnitsAnswer] = Memo("unit allocations", size=8192)

_ModsAnswer = tuple[tuple[frozenset[str], ...], frozenset[str], frozenset[str]]
#: the lines' modifiers -> each line's as a frozenset, the session's, and the
#: trigger names of their kinds (``mod:distinct``, ...). A few combinations recur
#: in every visit, so one lookup per visit answers all three. Keyed by the
#: catalog's id too: the kinds are the catalog's.
_MODS: Memo[tuple[int, tuple[tuple[str, ...], ...]], _ModsAnswer] = Memo("modifier sets", size=4096)


def _mods_of(catalog: Catalog, key: tuple[tuple[str, ...], ...]) -> _ModsAnswer:
    known = catalog.modifiers
    per_line = tuple(frozenset(m) for m in key)
    every = _NO_MODS.union(*per_line)
    kinds = frozenset("mod:" + known[m].kind for m in every if m in known)
    return _MODS.put((id(catalog), key), (per_line, every, kinds))


class Context:
    """Everything a rule needs about one session under one payer profile.

    Attributes (all read-only by convention):

    - ``session``, ``lines``, ``dos`` (date of service), ``profile``, ``catalog``, ``tables``
    - ``infos[i]``: the catalog entry of line i's code, or None when unknown
    - ``mods[i]``: line i's modifiers as a frozenset
    - ``all_mods``: every modifier of the session
    - ``by_code``: code -> indices of its lines, in order
    - ``by_family``: code family -> indices of its lines
    - ``codes``: every code billed
    - ``present``: codes, code families, ``@DISCIPLINE`` and ``mod:KIND`` for each
      modifier kind on the session (what rule triggers match)
    - ``timed_minutes``: timed code -> minutes summed over its lines (lines with minutes)
    - ``unminuted``: indices of the lines of timed codes that carry no minutes
    - ``untimed``: indices of the lines of known untimed codes
    - ``clocked``: indices of the lines of timed codes with a start time
    - ``expected[i]``: the engine's expected units for line i, or None when unknown
    - ``legal[code]``: every unit count of a timed code that some legal allocation gives
    - ``billed[i]``: the line's units, or ``expected[i]`` where the line left units out
    """

    __slots__ = (
        "all_mods",
        "billed",
        "by_code",
        "by_family",
        "catalog",
        "clocked",
        "codes",
        "dos",
        "expected",
        "infos",
        "legal",
        "lines",
        "mods",
        "present",
        "profile",
        "session",
        "tables",
        "timed_minutes",
        "unminuted",
        "untimed",
    )

    def __init__(
        self,
        session: Session,
        profile: PayerProfile,
        catalog: Catalog,
        tables: EditTables | None,
    ) -> None:
        self.session = session
        lines = session.lines
        self.lines: tuple[ServiceLine, ...] = lines
        self.dos: dt.date = session.date_of_service
        self.profile = profile
        self.catalog = catalog
        self.tables = tables
        get_info = catalog.codes.get
        modkeys: list[tuple[str, ...]] = []
        infos: list[CodeInfo | None] = []
        by_code: dict[str, list[int]] = {}
        by_family: dict[str, list[int]] = {}
        timed: dict[str, int] = {}
        expected: list[int | None] = []
        firsts: list[int] = []  # each timed code's first line with minutes
        unminuted: list[int] = []
        untimed: list[int] = []
        clocked: list[int] = []
        for i, line in enumerate(lines):
            code = line.code
            info = get_info(code)
            infos.append(info)
            modkeys.append(line.modifiers)
            if code in by_code:
                by_code[code].append(i)
            else:
                by_code[code] = [i]
            e: int | None = None
            if info is not None:
                family = info.family
                if family in by_family:
                    by_family[family].append(i)
                else:
                    by_family[family] = [i]
                if not info.timed:
                    e = info.max_units
                    untimed.append(i)
                else:
                    if line.start is not None:
                        clocked.append(i)
                    if line.minutes is None:
                        unminuted.append(i)
                    else:
                        # The code's units all go on its first line with minutes (set
                        # below, once the minutes are summed); its other lines get 0.
                        e = 0
                        if code in timed:
                            timed[code] += line.minutes
                        else:
                            timed[code] = line.minutes
                            firsts.append(i)
            expected.append(e)
        self.infos: tuple[CodeInfo | None, ...] = tuple(infos)
        mods_key = tuple(modkeys)
        answer_mods = _MODS.get((id(catalog), mods_key))
        if answer_mods is None:
            answer_mods = _mods_of(catalog, mods_key)
        self.mods, self.all_mods, kinds = answer_mods
        self.by_code: Mapping[str, list[int]] = by_code
        self.by_family: Mapping[str, list[int]] = by_family
        codes = frozenset(by_code)
        self.codes: frozenset[str] = codes
        #: what rule triggers match: codes, code families, ``@DISCIPLINE``, ``mod:KIND``
        self.present: frozenset[str] = codes.union(
            by_family, kinds, ("@" + session.provider.discipline,)
        )
        self.timed_minutes: Mapping[str, int] = timed
        self.unminuted: Sequence[int] = unminuted
        self.untimed: Sequence[int] = untimed
        self.clocked: Sequence[int] = clocked
        legal: Mapping[str, frozenset[int]] = _NO_LEGAL
        if timed:
            key = (profile.unit_method, tuple(timed.items()))
            answer = _UNITS.get(key)
            if answer is None:
                # Shared between sessions from now on: typed read-only (Mapping).
                answer = _UNITS.put(key, _session_units(timed, key[0]))
            per_code, legal = answer
            for i in firsts:
                expected[i] = per_code[lines[i].code]
        self.legal = legal
        self.expected: tuple[int | None, ...] = tuple(expected)
        self.billed: tuple[int | None, ...] = tuple(
            [
                e if line.units is None else line.units
                for line, e in zip(lines, expected, strict=True)
            ]
        )

    def family_lines(self, family: str) -> list[int]:
        """Indices of the lines whose code belongs to ``family`` (empty when none)."""
        return self.by_family.get(family, [])

    def spinal(self, i: int) -> frozenset[str]:
        """The spinal regions of line ``i``."""
        spinal = self.catalog.spinal_regions
        return frozenset(r for r in self.lines[i].regions if r in spinal)
