"""The per-session context every rule reads, prepared once per check.

Preparation walks the lines once: catalog entries, modifier sets, lines by
code and family, timed minutes summed per code, expected units. Rules read
these; none of them parses, loads or queries anything that was not prepared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from ._memo import Memo
from .catalog import Catalog, CodeInfo
from .models import ServiceLine, Session
from .payers import PayerProfile
from .units import UnitMethod, _session_units

if TYPE_CHECKING:
    from .ncci import EditTables

__all__ = ["Context", "Shape"]

_NO_LEGAL: Mapping[str, frozenset[int]] = {}


_NO_MODS: frozenset[str] = frozenset()

_UnitsKey = tuple[UnitMethod, tuple[tuple[str, int], ...]]
_UnitsAnswer = tuple[Mapping[str, int], Mapping[str, frozenset[int]]]
#: (unit method, timed codes and minutes in line order) -> expected and legal units.
#: An EMR checks the same visit on every save, so its answer is still here. A batch
#: of distinct visits misses about 7 times in 8 (there are too many minute
#: patterns), and each miss stores an answer and later drops an old one: in a memo
#: of 8,192 answers long out of the CPU caches, about 4% of a batch record's CPU
#: time more than in one of 1,024 (56 against 59 us per record, alternating).
_UNITS: Memo[_UnitsKey, _UnitsAnswer] = Memo("unit allocations", size=1024)


class Shape(NamedTuple):
    """What a visit's codes, modifiers and discipline alone decide (see :func:`_shape_of`).

    One object per distinct shape, shared by every visit of it (``Context.shape``):
    a rule's ``quiet`` guard reads it, and the engine works out the rules to run
    once per shape (found by the shape's identity).
    """

    infos: tuple[CodeInfo | None, ...]
    mods: tuple[frozenset[str], ...]
    all_mods: frozenset[str]
    most_mods: int
    by_code: Mapping[str, list[int]]
    by_family: Mapping[str, list[int]]
    codes: frozenset[str]
    present: frozenset[str]
    untimed: Sequence[int]
    #: indices of the lines whose code the catalog does not know
    unknown: Sequence[int]
    #: indices of the lines of known timed codes
    timed: Sequence[int]
    #: each line's expected units before minutes are looked at: an untimed code's
    #: most units, None elsewhere
    expected: tuple[int | None, ...]
    #: the provider's discipline (PT, OT, SLP, DC, MD, ...)
    discipline: str
    catalog: Catalog


_ShapeKey = tuple[int, str, tuple[str, ...], tuple[tuple[str, ...], ...]]
#: (catalog, discipline, the lines' codes, the lines' modifiers) -> the visit's shape.
#: Clinics bill a few combinations of codes and modifiers over and over, so one
#: lookup per visit answers everything but the minutes. Keyed by the catalog's
#: id too: the entries and modifier kinds are the catalog's. The lists inside
#: are shared between sessions (read-only by convention, as every Context field).
_SHAPES: Memo[_ShapeKey, Shape] = Memo("visit shapes", size=4096)


def _shape_of(catalog: Catalog, key: _ShapeKey) -> Shape:
    _, discipline, codes, modkeys = key
    get_info = catalog.codes.get
    known = catalog.modifiers
    infos: list[CodeInfo | None] = []
    by_code: dict[str, list[int]] = {}
    by_family: dict[str, list[int]] = {}
    untimed: list[int] = []
    unknown: list[int] = []
    timed: list[int] = []
    expected: list[int | None] = []
    for i, code in enumerate(codes):
        info = get_info(code)
        infos.append(info)
        by_code.setdefault(code, []).append(i)
        e: int | None = None
        if info is not None:
            by_family.setdefault(info.family, []).append(i)
            if info.timed:
                timed.append(i)
            else:
                e = info.max_units
                untimed.append(i)
        else:
            unknown.append(i)
        expected.append(e)
    mods = tuple(frozenset(m) for m in modkeys)
    every = _NO_MODS.union(*mods)
    kinds = frozenset("mod:" + known[m].kind for m in every if m in known)
    code_set = frozenset(by_code)
    return _SHAPES.put(
        key,
        Shape(
            tuple(infos),
            mods,
            every,
            max(map(len, modkeys), default=0),
            by_code,
            by_family,
            code_set,
            code_set.union(by_family, kinds, ("@" + discipline,)),
            tuple(untimed),
            tuple(unknown),
            tuple(timed),
            tuple(expected),
            discipline,
            catalog,
        ),
    )


class Context:
    """Everything a rule needs about one session under one payer profile.

    Attributes (all read-only by convention):

    - ``session``, ``lines``, ``dos`` (date of service), ``profile``, ``catalog``, ``tables``
    - ``infos[i]``: the catalog entry of line i's code, or None when unknown
    - ``mods[i]``: line i's modifiers as a frozenset
    - ``all_mods``: every modifier of the session
    - ``most_mods``: the most modifiers any one line carries
    - ``by_code``: code -> indices of its lines, in order
    - ``by_family``: code family -> indices of its lines
    - ``codes``: every code billed
    - ``line_codes``: the lines' codes, in order
    - ``present``: codes, code families, ``@DISCIPLINE`` and ``mod:KIND`` for each
      modifier kind on the session (what rule triggers match)
    - ``timed_minutes``: timed code -> minutes summed over its lines (lines with minutes)
    - ``unminuted``: indices of the lines of timed codes that carry no minutes
    - ``untimed``: indices of the lines of known untimed codes
    - ``unknown``: indices of the lines whose code the catalog does not know
    - ``clocked``: indices of the lines of timed codes with a start time
    - ``expected[i]``: the engine's expected units for line i, or None when unknown
    - ``legal[code]``: every unit count of a timed code that some legal allocation gives
    - ``billed[i]``: the line's units, or ``expected[i]`` where the line left units out
    - ``shape``: the :class:`Shape` these fields of codes, modifiers and discipline come
      from, one object shared by every session of that shape (its identity keys
      per-shape memos)
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
        "line_codes",
        "lines",
        "mods",
        "most_mods",
        "present",
        "profile",
        "session",
        "shape",
        "tables",
        "timed_minutes",
        "unknown",
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
        codes: list[str] = []
        modifiers: list[tuple[str, ...]] = []
        units: list[int | None] = []
        for line in lines:  # one loop: cheaper than three tuple(map(...))
            codes.append(line.code)
            modifiers.append(line.modifiers)
            units.append(line.units)
        line_codes = tuple(codes)
        self.line_codes: tuple[str, ...] = line_codes
        key = (id(catalog), session.provider.discipline, line_codes, tuple(modifiers))
        shape = _SHAPES.get(key)
        if shape is None:
            shape = _shape_of(catalog, key)
        self.shape = shape
        (
            self.infos,
            self.mods,
            self.all_mods,
            self.most_mods,
            self.by_code,
            self.by_family,
            self.codes,
            self.present,
            self.untimed,
            self.unknown,
            timed_lines,
            expected0,
            _,
            _,
        ) = shape
        timed: dict[str, int] = {}
        firsts: list[int] = []  # each timed code's first line with minutes
        unminuted: list[int] = []
        clocked: list[int] = []
        expected: list[int | None] = list(expected0)
        for i in timed_lines:
            line = lines[i]
            if line.start is not None:
                clocked.append(i)
            minutes = line.minutes
            if minutes is None:
                unminuted.append(i)
            else:
                # The code's units all go on its first line with minutes (set
                # below, once the minutes are summed); its other lines get 0.
                expected[i] = 0
                code = line.code
                if code in timed:
                    timed[code] += minutes
                else:
                    timed[code] = minutes
                    firsts.append(i)
        self.timed_minutes: Mapping[str, int] = timed
        self.unminuted: Sequence[int] = unminuted
        self.clocked: Sequence[int] = clocked
        legal: Mapping[str, frozenset[int]] = _NO_LEGAL
        if timed:
            units_key = (profile.unit_method, tuple(timed.items()))
            answer = _UNITS.get(units_key)
            if answer is None:
                # Shared between sessions from now on: typed read-only (Mapping).
                answer = _UNITS.put(units_key, _session_units(timed, units_key[0]))
            per_code, legal = answer
            for i in firsts:
                expected[i] = per_code[lines[i].code]
        self.legal = legal
        self.expected: tuple[int | None, ...] = tuple(expected)
        # billed: the lines' units (the usual visit gives every line its count),
        # the expected units where a line left them out
        self.billed: tuple[int | None, ...] = (
            tuple(units)
            if None not in units
            else tuple(e if u is None else u for u, e in zip(units, expected, strict=True))
        )

    def family_lines(self, family: str) -> list[int]:
        """Indices of the lines whose code belongs to ``family`` (empty when none)."""
        return self.by_family.get(family, [])

    def spinal(self, i: int) -> frozenset[str]:
        """The spinal regions of line ``i``."""
        spinal = self.catalog.spinal_regions
        return frozenset(r for r in self.lines[i].regions if r in spinal)
