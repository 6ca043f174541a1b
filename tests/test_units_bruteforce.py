"""Exhaustive cross-check of the CMS total-time allocation against independent references.

cptrules.units builds allocations greedily (full units, then leftovers by rank).
Here every unit vector summing to the chart total is enumerated and filtered by
two definitions written without that algorithm:

* ``closest``: the vectors nearest to each code's own time in 15-minute units,
  i.e. minimising ``sum(|15 * units - minutes|)`` (no bounds assumed at all);
* ``declarative``: the CMS constraints as stated in REFERENCE.md 1.1 - at least
  one unit per full 15 minutes of a code's own time, no unit without minutes
  behind it, and no code with a leftover unit while a code with more leftover
  minutes has none.

Both must equal the set from ``total_time_allocations``, for every 1-, 2- and
3-code combination of 0..60 minutes (3 codes: every multiset of minutes, under
every assignment of code names, which covers all 61**3 ordered inputs) and a
boundary grid for 4 codes. The deterministic choice must be the legal vector
that is greatest when codes are read by more minutes, then code.
"""

from __future__ import annotations

import functools
import itertools

import pytest

from cptrules.units import timed_expectations, total_time, total_time_allocations

Vector = tuple[int, ...]
NAMES = ("97110", "97112", "97140", "97530")
MAX = 60


def chart(total: int) -> int:
    """The chart of REFERENCE.md 1.1 written as its row table, not the formula."""
    units, hi = 0, 7
    while total > hi:
        units, hi = units + 1, hi + 15
    return units


@functools.cache
def compositions(n: int, total: int) -> tuple[Vector, ...]:
    """Every vector of n non-negative ints summing to total."""
    if n == 1:
        return ((total,),)
    return tuple(
        (first, *rest) for first in range(total + 1) for rest in compositions(n - 1, total - first)
    )


def closest(minutes: Vector) -> set[Vector]:
    """Vectors summing to the chart total that are nearest to minutes / 15, code by code."""
    best: set[Vector] = set()
    best_cost = None
    for units in compositions(len(minutes), chart(sum(minutes))):
        cost = sum(abs(15 * u - m) for u, m in zip(units, minutes, strict=True))
        if best_cost is None or cost < best_cost:
            best, best_cost = {units}, cost
        elif cost == best_cost:
            best.add(units)
    return best


def declarative(minutes: Vector) -> set[Vector]:
    """Vectors summing to the chart total that meet the CMS constraints of REFERENCE 1.1."""
    legal: set[Vector] = set()
    pairs = list(itertools.permutations(range(len(minutes)), 2))
    for units in compositions(len(minutes), chart(sum(minutes))):
        # 15+ minutes at least one unit, 30+ at least two, ...
        if any(15 * u > m + 14 or 15 * (u + 1) <= m for u, m in zip(units, minutes, strict=True)):
            continue  # also: no unit that has no minutes of its own behind it
        spare = [u * 15 > m for u, m in zip(units, minutes, strict=True)]  # took a leftover unit
        rest = [m % 15 for m in minutes]
        if any(spare[i] and not spare[j] and rest[j] > rest[i] for i, j in pairs):
            continue  # a larger leftover went without while a smaller one got a unit
        legal.add(units)
    return legal


def chosen(legal: set[Vector], minutes: Vector, names: tuple[str, ...]) -> Vector:
    """The documented tie-break: the legal vector greatest read by more minutes, then code."""
    order = sorted(range(len(minutes)), key=lambda i: (-minutes[i], names[i]))
    return max(legal, key=lambda units: tuple(units[i] for i in order))


def check(minutes: Vector, *, expectations: bool = False) -> None:
    legal = closest(minutes)
    assert legal == declarative(minutes), minutes
    for names in itertools.permutations(NAMES[: len(minutes)]):
        mapping = dict(zip(names, minutes, strict=True))
        got = total_time_allocations(mapping)
        vectors = [tuple(a[c] for c in names) for a in got]
        assert len(vectors) == len(set(vectors)), mapping
        assert set(vectors) == legal, mapping
        assert vectors[0] == chosen(legal, minutes, names), mapping
        assert total_time(mapping) == got[0], mapping
        if expectations:
            _, possible = timed_expectations(mapping, "total-time")
            assert possible == {c: {v[i] for v in legal} for i, c in enumerate(names)}, mapping


def test_chart_table_matches_the_formula() -> None:
    assert [chart(t) for t in range(300)] == [0 if t < 8 else (t + 7) // 15 for t in range(300)]


def test_one_code() -> None:
    for m in range(200):
        check((m,))


def test_two_codes() -> None:
    for a, b in itertools.product(range(MAX + 1), repeat=2):
        if a <= b:  # the other order comes from swapping the code names
            check((a, b), expectations=True)


@pytest.mark.parametrize("low", range(0, MAX + 1, 5))
def test_three_codes(low: int) -> None:
    """Every sorted triple whose smallest minutes fall in [low, low + 5)."""
    for a in range(low, min(low + 5, MAX + 1)):
        for b in range(a, MAX + 1):
            for c in range(b, MAX + 1):
                check((a, b, c))


BOUNDARIES = (0, 1, 7, 8, 14, 15, 16, 22, 23, 29, 30, 37, 38, 45)


def test_four_codes_on_boundaries() -> None:
    for minutes in itertools.combinations_with_replacement(BOUNDARIES, 4):
        check(minutes)
