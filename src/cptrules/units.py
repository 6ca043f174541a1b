"""Unit arithmetic for timed (15-minute) codes: the CMS and the AMA methods.

Two ways to turn minutes into billed units are in use (see ``docs/units.md``):

* **Medicare total-time** (CMS Pub. 100-04, ch. 5, sec. 20.2): the minutes of
  every timed code of the day are pooled; the total goes through the chart
  (:func:`chart_units`); the units are then allocated across the codes
  (:func:`total_time`, :func:`total_time_allocations`).
* **AMA/CPT midpoint, per code** (most commercial payers): each code's own
  minutes go through the same chart, never pooled (:func:`per_code`).

The chart: under 8 minutes is 0 units; from 8 minutes on, ``(minutes + 7) // 15``
(8-22 -> 1, 23-37 -> 2, 38-52 -> 3, ...).

>>> total_time({"97110": 33, "97140": 7})
{'97110': 2, '97140': 1}
>>> per_code({"97110": 10, "97116": 10})
{'97110': 1, '97116': 1}

Everything here is pure arithmetic on a mapping of code -> minutes: no data
files, no I/O, no dates. Codes are not looked up; pass only the timed codes.
"""

from __future__ import annotations

import itertools
import math
import types
from collections.abc import Iterable, Mapping
from typing import Any, Literal, NamedTuple

import attrs

__all__ = [
    "METHODS",
    "MIDPOINT_MINUTES",
    "UNIT_MINUTES",
    "Explanation",
    "UnitMethod",
    "chart_row",
    "chart_units",
    "explain",
    "per_code",
    "timed_expectations",
    "total_time",
    "total_time_allocations",
]

UnitMethod = Literal["total-time", "per-code"]
"""The unit method of a payer: ``"total-time"`` (CMS) or ``"per-code"`` (AMA midpoint)."""

METHODS: tuple[str, ...] = ("total-time", "per-code")
"""Every accepted unit method name."""

UNIT_MINUTES = 15
"""Minutes in one unit of a timed code."""

MIDPOINT_MINUTES = 8
"""Minutes needed before the first unit is attained (past the midpoint of 15)."""

_CMS_CITATION = "CMS Pub. 100-04, ch. 5, sec. 20.2"
_AMA_CITATION = "AMA CPT time rule (midpoint), per code"

_Items = tuple[tuple[str, int], ...]


# --------------------------------------------------------------------------- chart


def chart_units(total_minutes: int) -> int:
    """Units the 15-minute chart gives for *total_minutes*.

    Under 8 minutes is 0 units; from 8 minutes on it is ``(total + 7) // 15``.

    >>> [chart_units(m) for m in (0, 7, 8, 22, 23, 37, 38, 52, 53, 127, 128)]
    [0, 0, 1, 1, 2, 2, 3, 3, 4, 8, 9]

    Raises :class:`ValueError` for a negative number or a non-integer (``bool``
    included).
    """
    _check_minutes(total_minutes, "total minutes")
    return _chart(total_minutes)


def chart_row(units: int) -> tuple[int, int]:
    """The range of minutes, inclusive, that the chart maps to *units*.

    >>> chart_row(0), chart_row(1), chart_row(3)
    ((0, 7), (8, 22), (38, 52))
    """
    _check_minutes(units, "units")
    if units == 0:
        return (0, MIDPOINT_MINUTES - 1)
    return (UNIT_MINUTES * units - 7, UNIT_MINUTES * units + 7)


def _chart(minutes: int) -> int:
    if minutes < MIDPOINT_MINUTES:
        return 0
    return (minutes + 7) // UNIT_MINUTES


# ---------------------------------------------------------------------- validation


def _check_minutes(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} must be a whole number (int), not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")


def _validated(minutes_by_code: object) -> _Items:
    """Check the input mapping and freeze it as ``((code, minutes), ...)`` in input order."""
    if not isinstance(minutes_by_code, Mapping):
        raise ValueError(
            "minutes_by_code must be a mapping of code -> minutes, "
            f"not {type(minutes_by_code).__name__}"
        )
    items: list[tuple[str, int]] = []
    for code, minutes in minutes_by_code.items():
        if not isinstance(code, str):
            raise ValueError(f"codes must be strings, not {type(code).__name__}")
        if not code:
            raise ValueError("codes must not be empty strings")
        _check_minutes(minutes, f"minutes of code {code!r}")
        items.append((code, minutes))
    return tuple(items)


# ------------------------------------------------------------------- the CMS plan


class _Plan(NamedTuple):
    """The CMS allocation worked out once; every public function reads it."""

    items: _Items
    total: int
    chart: int
    full: tuple[int, ...]  # per item: one unit per full 15 minutes of its own time
    leftover: tuple[int, ...]  # per item: minutes % 15
    remaining: int  # chart - sum(full): units for leftovers
    sure: tuple[int, ...]  # item indexes that get a leftover unit in every allocation
    tied: tuple[int, ...]  # item indexes tied at the cut, in tie-break order
    slots: int  # how many of `tied` get a unit


def _tie_key(items: _Items, i: int) -> tuple[int, str]:
    code, minutes = items[i]
    return (-minutes, code)


def _plan(items: _Items) -> _Plan:
    minutes = [m for _, m in items]
    total = sum(minutes)
    chart = _chart(total)
    full = tuple(m // UNIT_MINUTES for m in minutes)
    leftover = tuple(m % UNIT_MINUTES for m in minutes)
    remaining = chart - sum(full)
    # remaining == (sum(leftover) + 7) // 15 (also when total < 8, where both are 0),
    # and since each leftover is at most 14 that is at most the number of codes with
    # leftover minutes: full units never exceed the chart, and no code needs a second
    # leftover unit. See docs/units.md, "Why the steps always fit".
    ranked = sorted(
        (i for i, r in enumerate(leftover) if r > 0),
        key=lambda i: (-leftover[i], *_tie_key(items, i)),
    )
    assert 0 <= remaining <= len(ranked)  # proven above; cheap guard for refactors
    if remaining == 0:
        return _Plan(items, total, chart, full, leftover, 0, (), (), 0)
    cut = leftover[ranked[remaining - 1]]
    sure = tuple(i for i in ranked if leftover[i] > cut)
    tied = tuple(i for i in ranked if leftover[i] == cut)
    return _Plan(items, total, chart, full, leftover, remaining, sure, tied, remaining - len(sure))


def _allocation(plan: _Plan, extra: Iterable[int]) -> dict[str, int]:
    units = list(plan.full)
    for i in extra:
        units[i] += 1
    return {code: u for (code, _), u in zip(plan.items, units, strict=True)}


def _chosen(plan: _Plan) -> dict[str, int]:
    return _allocation(plan, (*plan.sure, *plan.tied[: plan.slots]))


def _all_allocations(plan: _Plan) -> list[dict[str, int]]:
    return [
        _allocation(plan, (*plan.sure, *combo))
        for combo in itertools.combinations(plan.tied, plan.slots)
    ]


# ----------------------------------------------------------------- public methods


def total_time(minutes_by_code: Mapping[str, int]) -> dict[str, int]:
    """Allocate units by the Medicare total-time method (CMS Pub. 100-04, ch. 5, sec. 20.2).

    1. The total timed minutes of the day go through the chart (:func:`chart_units`).
    2. Each code first gets one unit per full 15 minutes of its own time (so a
       service of 15+ minutes gets at least one unit, 30+ at least two).
    3. The units still left go, one each, to the codes with the largest leftover
       minutes (``minutes % 15``). This covers CMS's "several services of 7 minutes
       or less that together reach 8: bill one unit of the one with most minutes",
       and a lone service under 8 minutes gets nothing.
    4. Never more units than the chart: full units can never exceed it, and never
       more leftover units than codes with leftover minutes (proof in
       ``docs/units.md``), so these steps always fit.

    Ties: when codes with equal leftover minutes compete for fewer units than there
    are such codes, any choice is legal (the choice is the clinician's). This
    function's deterministic choice gives the unit to the code with more minutes
    in total, then to the code that sorts first as a string ("97110" before
    "97112"). :func:`total_time_allocations` lists every legal choice, this one
    first.

    The result has every input code, in input order, with 0 where no unit falls.

    >>> total_time({"97112": 24, "97110": 23})
    {'97112': 2, '97110': 1}
    >>> total_time({"97110": 18, "97140": 5})   # not 2 + 0
    {'97110': 1, '97140': 1}
    >>> total_time({"97110": 18, "97140": 13, "97116": 10, "97035": 8})
    {'97110': 1, '97140': 1, '97116': 1, '97035': 0}
    >>> total_time({"97112": 20, "97110": 20})  # a tie: 97110 sorts first
    {'97112': 1, '97110': 2}
    >>> total_time({"97110": 7})
    {'97110': 0}

    Raises :class:`ValueError` when a code is not a non-empty string or its
    minutes are not a non-negative ``int``.
    """
    return _chosen(_plan(_validated(minutes_by_code)))


def total_time_allocations(minutes_by_code: Mapping[str, int]) -> list[dict[str, int]]:
    """Every legal Medicare total-time allocation, without duplicates.

    The allocations differ only in which of the codes tied on leftover minutes
    take the last units. They are ordered by the tie-break of :func:`total_time`
    (more minutes, then code), so the first is always ``total_time(...)``; each
    has every input code, in input order, and the same total (the chart units).

    >>> total_time_allocations({"97112": 20, "97110": 20})
    [{'97112': 1, '97110': 2}, {'97112': 2, '97110': 1}]
    >>> total_time_allocations({"97110": 33, "97140": 7})
    [{'97110': 2, '97140': 1}]

    With *t* codes tied for *s* units there are ``comb(t, s)`` allocations; a
    visit has a handful of timed codes, so this stays small.
    """
    return _all_allocations(_plan(_validated(minutes_by_code)))


def per_code(minutes_by_code: Mapping[str, int]) -> dict[str, int]:
    """Units by the AMA/CPT midpoint method: each code's own minutes through the chart.

    Minutes of different codes are never pooled.

    >>> per_code({"97110": 10, "97116": 10})
    {'97110': 1, '97116': 1}
    >>> per_code({"97110": 7, "97116": 7})
    {'97110': 0, '97116': 0}
    >>> per_code({"97110": 38, "97140": 22})
    {'97110': 3, '97140': 1}

    Raises :class:`ValueError` on bad input, like :func:`total_time`.
    """
    return {code: _chart(m) for code, m in _validated(minutes_by_code)}


def _check_method(method: object) -> UnitMethod:
    if method == "total-time":
        return "total-time"
    if method == "per-code":
        return "per-code"
    raise ValueError(f"unknown unit method {method!r}; expected one of: {', '.join(METHODS)}")


# ------------------------------------------------------------------ engine helper


# Small unit sets recur in every session: share them instead of building new ones.
_ONE: tuple[frozenset[int], ...] = tuple(frozenset((u,)) for u in range(100))
_TWO: tuple[frozenset[int], ...] = tuple(frozenset((u, u + 1)) for u in range(100))


def _session_units(
    timed: Mapping[str, int], method: UnitMethod
) -> tuple[dict[str, int], dict[str, frozenset[int]]]:
    """Expected units per timed code and the legal counts of each, for valid input.

    What :func:`timed_expectations` returns (it validates, then calls this) and
    what the engine asks once per checked session with minutes the parser
    validated. The arithmetic of :func:`_plan` in one pass, without building
    the plan; ``tests/test_units_properties.py`` holds it to
    :func:`total_time_allocations` and :func:`per_code`. Fresh dicts, in input order.
    """
    expected: dict[str, int] = {}
    legal: dict[str, frozenset[int]] = {}
    if method == "per-code":
        for code, m in timed.items():
            u = 0 if m < MIDPOINT_MINUTES else (m + 7) // UNIT_MINUTES
            expected[code] = u
            legal[code] = _ONE[u] if u < 100 else frozenset((u,))
        return expected, legal
    total = 0
    full = 0
    ranked: list[tuple[int, int, str]] = []
    one = _ONE
    for code, m in timed.items():
        total += m
        f = expected[code] = m // UNIT_MINUTES
        full += f
        if m != f * UNIT_MINUTES:  # leftover minutes: ranked by most, then most minutes, code
            ranked.append((f * UNIT_MINUTES - m, -m, code))
    remaining = (0 if total < MIDPOINT_MINUTES else (total + 7) // UNIT_MINUTES) - full
    if remaining == len(ranked):  # every code with leftover minutes gets a unit
        for _, _, code in ranked:
            expected[code] += 1
        remaining = 0
    if remaining == 0:
        for c, u in expected.items():
            legal[c] = one[u] if u < 100 else frozenset((u,))
        return expected, legal
    ranked.sort()
    for _, _, code in ranked[:remaining]:  # the sure ones, then the first tied ones
        expected[code] += 1
    cut = ranked[remaining - 1][0]
    # Where some codes tied at the cut got the unit and some did not, each may have
    # either; where every code tied at the cut got its unit, one allocation is legal.
    tied_codes = (
        {code for neg_left, _, code in ranked if neg_left == cut}
        if ranked[remaining][0] == cut  # (remaining < len(ranked) here)
        else ()
    )
    for code, u in expected.items():
        if code in tied_codes:
            f = timed[code] // UNIT_MINUTES
            legal[code] = _TWO[f] if f < 99 else frozenset((f, f + 1))
        else:
            legal[code] = one[u] if u < 100 else frozenset((u,))
    return expected, legal


def timed_expectations(
    minutes_by_code: Mapping[str, int], method: str
) -> tuple[dict[str, int], dict[str, frozenset[int]]]:
    """Expected units per timed code, and every unit count a legal allocation allows.

    Returns ``(expected, possible)``: *expected* is the deterministic choice
    (:func:`total_time` or :func:`per_code`); *possible* maps each code to the
    unit counts it has in ANY legal allocation (for ``"per-code"`` just the
    expected count). Billed units in ``possible[code]`` are not an error.

    The dicts returned are fresh, in input order.

    >>> timed_expectations({"97112": 20, "97110": 20}, "total-time")
    ({'97112': 1, '97110': 2}, {'97112': frozenset({1, 2}), '97110': frozenset({1, 2})})
    >>> timed_expectations({"97110": 10, "97116": 10}, "per-code")[0]
    {'97110': 1, '97116': 1}

    Raises :class:`ValueError` for bad input or an unknown *method*.

    *possible* is per code: with three or more codes tied, not every mix of
    per-code counts is legal together. Billed units form a legal allocation
    exactly when every code's count is in *possible* and the counts add up to
    ``sum(expected.values())`` (the chart total).
    """
    checked = _check_method(method)
    return _session_units(dict(_validated(minutes_by_code)), checked)


# -------------------------------------------------------------------- explanation


def _fmt_units(units: Mapping[str, int]) -> str:
    return ", ".join(f"{code} x{u}" for code, u in units.items()) or "no timed codes"


def _fmt_row(units: int) -> str:
    if units == 0:
        return "under 8 minutes"
    lo, hi = chart_row(units)
    return f"chart row {lo}-{hi}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@attrs.frozen
class Explanation:
    """How units were worked out for one set of timed minutes (for people and JSON).

    Build it with :func:`explain`. ``str(explanation)`` gives short lines a
    billing person can follow; :meth:`to_dict` gives the same facts for JSON.

    Attributes:
        method: ``"total-time"`` or ``"per-code"``.
        minutes: minutes per code, in input order.
        total_minutes: all timed minutes added up.
        chart_units: units the chart gives: for ``"total-time"`` on the pooled
            total; for ``"per-code"`` the sum of each code's chart units.
        full_units: per code, one unit per full 15 minutes of its own time.
        leftover_minutes: per code, minutes past the last full 15.
        remaining_units: units left for leftover minutes (``"total-time"``), or
            codes whose leftover reached 8 minutes (``"per-code"``).
        units: the deterministic result.
        allocations: every legal result (one for ``"per-code"``), ``units`` first.
        tied: codes tied on leftover minutes for fewer units than codes.
        more_allocations: legal results left out of ``allocations`` (only when
            :func:`explain` was given ``max_allocations``).

    The mappings are read-only; the class is not hashable.
    """

    method: UnitMethod
    minutes: Mapping[str, int]
    total_minutes: int
    chart_units: int
    full_units: Mapping[str, int]
    leftover_minutes: Mapping[str, int]
    remaining_units: int
    units: Mapping[str, int]
    allocations: tuple[Mapping[str, int], ...]
    tied: tuple[str, ...]
    more_allocations: int = 0

    def lines(self) -> tuple[str, ...]:
        """The explanation as short sentences, one per line.

        >>> for line in explain({"97110": 33, "97140": 7}).lines():
        ...     print(line)
        Total timed minutes 40 -> 3 units (chart row 38-52).
        Full 15-minute units: 97110 x2.
        Leftover minutes: 97110 3, 97140 7.
        Remaining 1 unit to the largest leftover: 97140.
        Result: 97110 x2, 97140 x1.
        """
        if self.method == "per-code":
            return self._per_code_lines()
        return self._total_time_lines()

    def _total_time_lines(self) -> tuple[str, ...]:
        out = [
            f"Total timed minutes {self.total_minutes} -> "
            f"{_plural(self.chart_units, 'unit')} ({_fmt_row(self.chart_units)})."
        ]
        full = {c: u for c, u in self.full_units.items() if u}
        out.append(
            "Full 15-minute units: "
            + (", ".join(f"{c} x{u}" for c, u in full.items()) or "none")
            + "."
        )
        left = {c: m for c, m in self.leftover_minutes.items() if m}
        if left:
            out.append("Leftover minutes: " + ", ".join(f"{c} {m}" for c, m in left.items()) + ".")
        if self.remaining_units:
            winners = [
                c for c in self.units if self.units[c] > self.full_units[c] and c not in self.tied
            ]
            n = self.remaining_units
            head = f"Remaining {_plural(n, 'unit')} to the largest " + (
                "leftover" if n == 1 else "leftovers"
            )
            if not self.tied:
                out.append(f"{head}: {', '.join(winners)}.")
            else:
                slots = n - len(winners)
                cut = self.leftover_minutes[self.tied[0]]
                tied = ", ".join(self.tied)
                if winners:
                    out.append(
                        f"{head}: {', '.join(winners)}; "
                        f"{slots} more to a tie at {cut} minutes: {tied}."
                    )
                else:
                    out.append(f"{head}, tied at {cut} minutes: {tied}.")
                chosen = [c for c in self.tied if self.units[c] > self.full_units[c]]
                out.append(
                    f"Any tied code may take {'it' if slots == 1 else 'them'}; "
                    f"chosen: {', '.join(chosen)} (more minutes, then code)."
                )
        elif left:
            out.append("No units remain for the leftover minutes.")
        out.append(f"Result: {_fmt_units(self.units)}.")
        for other in self.allocations[1:]:
            out.append(f"Also legal: {_fmt_units(other)}.")
        if self.more_allocations:
            out.append(f"And {self.more_allocations:,} more legal allocations (not listed).")
        return tuple(out)

    def _per_code_lines(self) -> tuple[str, ...]:
        out = ["Per code (midpoint): each code's own minutes through the chart, never pooled."]
        for code, m in self.minutes.items():
            u = self.units[code]
            out.append(f"{code} {m} min -> {_plural(u, 'unit')} ({_fmt_row(u)}).")
        out.append(f"Result: {_fmt_units(self.units)}.")
        return tuple(out)

    def __str__(self) -> str:
        """The :meth:`lines`, joined by newlines."""
        return "\n".join(self.lines())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field plus the ``explanation`` lines.

        >>> d = explain({"97110": 10, "97116": 10}, method="per-code").to_dict()
        >>> d["units"], d["chart_units"], d["total_minutes"]
        ({'97110': 1, '97116': 1}, 2, 20)
        """
        return {
            "method": self.method,
            "citation": _CMS_CITATION if self.method == "total-time" else _AMA_CITATION,
            "minutes": dict(self.minutes),
            "total_minutes": self.total_minutes,
            "chart_units": self.chart_units,
            "full_units": dict(self.full_units),
            "leftover_minutes": dict(self.leftover_minutes),
            "remaining_units": self.remaining_units,
            "units": dict(self.units),
            "allocations": [dict(a) for a in self.allocations],
            "tied": list(self.tied),
            **({"more_allocations": self.more_allocations} if self.more_allocations else {}),
            "explanation": list(self.lines()),
        }


def _ro(d: Mapping[str, int]) -> Mapping[str, int]:
    return types.MappingProxyType(dict(d))


def explain(
    minutes_by_code: Mapping[str, int],
    method: str = "total-time",
    *,
    max_allocations: int | None = None,
) -> Explanation:
    """Work out units by *method* and say how, step by step.

    >>> print(explain({"97112": 20, "97110": 20}))
    Total timed minutes 40 -> 3 units (chart row 38-52).
    Full 15-minute units: 97112 x1, 97110 x1.
    Leftover minutes: 97112 5, 97110 5.
    Remaining 1 unit to the largest leftover, tied at 5 minutes: 97110, 97112.
    Any tied code may take it; chosen: 97110 (more minutes, then code).
    Result: 97112 x1, 97110 x2.
    Also legal: 97112 x2, 97110 x1.
    >>> print(explain({"97110": 10, "97116": 10}, method="per-code"))
    Per code (midpoint): each code's own minutes through the chart, never pooled.
    97110 10 min -> 1 unit (chart row 8-22).
    97116 10 min -> 1 unit (chart row 8-22).
    Result: 97110 x1, 97116 x1.

    With ``max_allocations``, a tie with more legal allocations than that lists
    only the chosen one and counts the others in ``more_allocations`` (many
    codes tied make billions of them).

    Raises :class:`ValueError` for bad input or an unknown *method*.
    """
    checked = _check_method(method)
    items = _validated(minutes_by_code)
    minutes = dict(items)
    full = {c: m // UNIT_MINUTES for c, m in items}
    leftover = {c: m % UNIT_MINUTES for c, m in items}
    total = sum(minutes.values())
    if checked == "per-code":
        units = {c: _chart(m) for c, m in items}
        return Explanation(
            method=checked,
            minutes=_ro(minutes),
            total_minutes=total,
            chart_units=sum(units.values()),
            full_units=_ro(full),
            leftover_minutes=_ro(leftover),
            remaining_units=sum(units[c] - full[c] for c in units),
            units=_ro(units),
            allocations=(_ro(units),),
            tied=(),
        )
    plan = _plan(items)
    count = math.comb(len(plan.tied), plan.slots)
    if max_allocations is not None and count > max_allocations:
        allocations: tuple[Mapping[str, int], ...] = (_ro(_chosen(plan)),)
    else:
        allocations = tuple(_ro(a) for a in _all_allocations(plan))
    contested = 0 < plan.slots < len(plan.tied)
    return Explanation(
        method=checked,
        minutes=_ro(minutes),
        total_minutes=total,
        chart_units=plan.chart,
        full_units=_ro(full),
        leftover_minutes=_ro(leftover),
        remaining_units=plan.remaining,
        units=allocations[0],
        allocations=allocations,
        tied=tuple(items[i][0] for i in plan.tied) if contested else (),
        more_allocations=count - len(allocations),
    )
