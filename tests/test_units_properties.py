"""Hypothesis invariants of cptrules.units (CMS total-time and AMA per-code)."""

from __future__ import annotations

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from cptrules.units import (
    _session_units,
    chart_units,
    explain,
    per_code,
    timed_expectations,
    total_time,
    total_time_allocations,
)

TIMED = ["97110", "97112", "97116", "97140", "97530", "97535", "97035", "97124", "97750"]

minutes_st = st.integers(min_value=0, max_value=200)
# small minutes make ties and sub-8 services common; large ones exercise full units
mixed_minutes = st.one_of(st.integers(0, 16), minutes_st)
sessions = st.dictionaries(st.sampled_from(TIMED), mixed_minutes, max_size=6)
nonempty = st.dictionaries(st.sampled_from(TIMED), mixed_minutes, min_size=1, max_size=6)

fast = settings(max_examples=300, deadline=None)


def key(allocation: dict[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(allocation.items()))


@fast
@given(sessions)
def test_total_units_equal_the_chart_of_total_minutes(minutes: dict[str, int]) -> None:
    assert sum(total_time(minutes).values()) == chart_units(sum(minutes.values()))


@fast
@given(sessions)
def test_each_full_15_minutes_is_a_unit_and_at_most_one_more(minutes: dict[str, int]) -> None:
    for allocation in total_time_allocations(minutes):
        for code, m in minutes.items():
            assert m // 15 <= allocation[code] <= m // 15 + (1 if m % 15 else 0)


@fast
@given(sessions)
def test_zero_minutes_give_zero_units(minutes: dict[str, int]) -> None:
    for method_result in (total_time(minutes), per_code(minutes)):
        for code, m in minutes.items():
            if m == 0:
                assert method_result[code] == 0


@fast
@given(sessions)
def test_every_code_kept_in_input_order(minutes: dict[str, int]) -> None:
    assert list(total_time(minutes)) == list(minutes)
    assert list(per_code(minutes)) == list(minutes)
    for allocation in total_time_allocations(minutes):
        assert list(allocation) == list(minutes)


@fast
@given(nonempty, st.data())
def test_more_minutes_never_lower_the_total(minutes: dict[str, int], data: st.DataObject) -> None:
    code = data.draw(st.sampled_from(sorted(minutes)))
    extra = data.draw(st.integers(1, 60))
    more = {**minutes, code: minutes[code] + extra}
    assert sum(total_time(more).values()) >= sum(total_time(minutes).values())
    assert sum(per_code(more).values()) >= sum(per_code(minutes).values())
    # the code that grew never loses a unit in the deterministic choice either
    assert total_time(more)[code] >= total_time(minutes)[code]
    assert per_code(more)[code] >= per_code(minutes)[code]


@fast
@given(nonempty, st.data())
def test_fifteen_more_minutes_add_exactly_one_unit_to_that_code(
    minutes: dict[str, int], data: st.DataObject
) -> None:
    code = data.draw(st.sampled_from(sorted(minutes)))
    more = {**minutes, code: minutes[code] + 15}
    shifted = {key({**a, code: a[code] + 1}) for a in total_time_allocations(minutes)}
    assert {key(a) for a in total_time_allocations(more)} == shifted


@fast
@given(sessions)
def test_result_is_the_first_legal_allocation(minutes: dict[str, int]) -> None:
    allocations = total_time_allocations(minutes)
    assert allocations[0] == total_time(minutes)
    assert len({key(a) for a in allocations}) == len(allocations)  # no duplicates
    chart = chart_units(sum(minutes.values()))
    assert all(sum(a.values()) == chart for a in allocations)


@fast
@given(sessions)
def test_leftover_units_go_to_the_largest_leftovers(minutes: dict[str, int]) -> None:
    for allocation in total_time_allocations(minutes):
        got = [m % 15 for c, m in minutes.items() if allocation[c] > m // 15]
        missed = [m % 15 for c, m in minutes.items() if allocation[c] == m // 15 and m % 15]
        if got and missed:
            assert min(got) >= max(missed)


@fast
@given(sessions)
def test_per_code_is_the_chart_per_code(minutes: dict[str, int]) -> None:
    assert per_code(minutes) == {c: chart_units(m) for c, m in minutes.items()}


@fast
@given(sessions, st.randoms(use_true_random=False))
def test_input_order_never_changes_the_result(minutes: dict[str, int], rnd: random.Random) -> None:
    items = list(minutes.items())
    rnd.shuffle(items)
    shuffled = dict(items)
    assert total_time(shuffled) == total_time(minutes)
    assert per_code(shuffled) == per_code(minutes)
    assert [key(a) for a in total_time_allocations(shuffled)] == [
        key(a) for a in total_time_allocations(minutes)
    ]
    for method in ("total-time", "per-code"):
        assert timed_expectations(shuffled, method) == timed_expectations(minutes, method)


@fast
@given(sessions)
def test_timed_expectations_agree_with_the_allocations(minutes: dict[str, int]) -> None:
    expected, possible = timed_expectations(minutes, "total-time")
    allocations = total_time_allocations(minutes)
    assert expected == total_time(minutes)
    assert possible == {c: frozenset(a[c] for a in allocations) for c in minutes}
    expected, possible = timed_expectations(minutes, "per-code")
    assert expected == per_code(minutes)
    assert possible == {c: frozenset({u}) for c, u in expected.items()}


# up to a whole day: the parser's limit, past the small-set caches of _session_units
day_minutes = st.one_of(st.integers(0, 16), st.integers(0, 1440))


@fast
@given(st.dictionaries(st.sampled_from(TIMED), day_minutes, max_size=6))
def test_the_engines_direct_path_agrees_with_the_allocations(minutes: dict[str, int]) -> None:
    """Up to a day of minutes, past the direct path's tables of small unit sets."""
    expected, possible = _session_units(minutes, "total-time")
    allocations = total_time_allocations(minutes)
    assert expected == total_time(minutes)
    assert possible == {c: frozenset(a[c] for a in allocations) for c in minutes}
    expected, possible = _session_units(minutes, "per-code")
    assert expected == per_code(minutes)
    assert possible == {c: frozenset({u}) for c, u in expected.items()}


@fast
@given(sessions, st.sampled_from(["total-time", "per-code"]))
def test_explanation_matches_the_functions(minutes: dict[str, int], method: str) -> None:
    exp = explain(minutes, method=method)
    assert exp.total_minutes == sum(minutes.values())
    if method == "total-time":
        assert exp.units == total_time(minutes)
        assert list(exp.allocations) == total_time_allocations(minutes)
        assert exp.chart_units == chart_units(sum(minutes.values()))
    else:
        assert exp.units == per_code(minutes)
    assert sum(exp.units.values()) == exp.chart_units
    lines = exp.lines()
    assert lines[-1 - max(0, len(exp.allocations) - 1)].startswith("Result: ")
    d = exp.to_dict()
    assert json.loads(json.dumps(d)) == d


@fast
@given(sessions, st.data())
def test_possible_sets_plus_chart_total_decide_legality(
    minutes: dict[str, int], data: st.DataObject
) -> None:
    expected, possible = timed_expectations(minutes, "total-time")
    billed = {c: max(0, u + data.draw(st.integers(-1, 1))) for c, u in expected.items()}
    legal = billed in total_time_allocations(minutes)
    by_sets = all(billed[c] in possible[c] for c in minutes)
    assert legal == (by_sets and sum(billed.values()) == sum(expected.values()))
