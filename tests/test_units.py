"""Worked examples for cptrules.units (REFERENCE.md 1.1 and 1.2), validation, explanations."""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import pytest

from cptrules import units
from cptrules.units import (
    chart_row,
    chart_units,
    explain,
    per_code,
    timed_expectations,
    total_time,
    total_time_allocations,
)

# --------------------------------------------------------------------------- chart

CHART = [
    (0, 0),
    (1, 0),
    (7, 0),
    (8, 1),
    (22, 1),
    (23, 2),
    (37, 2),
    (38, 3),
    (52, 3),
    (53, 4),
    (67, 4),
    (68, 5),
    (82, 5),
    (83, 6),
    (97, 6),
    (98, 7),
    (112, 7),
    (113, 8),
    (127, 8),
    (128, 9),
]


@pytest.mark.parametrize(("minutes", "expected"), CHART)
def test_chart_rows_of_reference(minutes: int, expected: int) -> None:
    assert chart_units(minutes) == expected


@pytest.mark.parametrize("units_", range(12))
def test_chart_row_is_the_inverse_of_chart(units_: int) -> None:
    lo, hi = chart_row(units_)
    assert chart_units(lo) == units_
    assert chart_units(hi) == units_
    if lo > 0:
        assert chart_units(lo - 1) == units_ - 1
    assert chart_units(hi + 1) == units_ + 1


# --------------------------------------------------------------- CMS total-time

CMS_EXAMPLES: list[tuple[dict[str, int], list[dict[str, int]]]] = [
    # 97112 24 + 97110 23 = 47 -> 3 units: 97112 x2, 97110 x1
    ({"97112": 24, "97110": 23}, [{"97112": 2, "97110": 1}]),
    # 97112 20 + 97110 20 = 40 -> 3 units: either x2, the other x1 (never 3 of one)
    ({"97112": 20, "97110": 20}, [{"97112": 1, "97110": 2}, {"97112": 2, "97110": 1}]),
    # 97110 33 + 97140 7 = 40 -> 3 units: 97110 x2, 97140 x1 (leftover 3 vs 7)
    ({"97110": 33, "97140": 7}, [{"97110": 2, "97140": 1}]),
    # 97110 18 + 97140 13 + 97116 10 + 97035 8 = 49 -> 3 units: one each, 97035 none
    (
        {"97110": 18, "97140": 13, "97116": 10, "97035": 8},
        [{"97110": 1, "97140": 1, "97116": 1, "97035": 0}],
    ),
    # the trap: largest remainder of each code's share gives 2 + 0; CMS gives 1 + 1
    ({"97110": 18, "97140": 5}, [{"97110": 1, "97140": 1}]),
    # several services of 7 minutes or less reaching 8: one unit, to the one with most minutes
    ({"97110": 5, "97140": 4}, [{"97110": 1, "97140": 0}]),
    ({"97110": 3, "97140": 7}, [{"97110": 0, "97140": 1}]),
    # ... and with equal minutes, any of them
    (
        {"97112": 7, "97110": 7, "97140": 7},
        [
            {"97112": 0, "97110": 1, "97140": 0},
            {"97112": 1, "97110": 0, "97140": 0},
            {"97112": 0, "97110": 0, "97140": 1},
        ],
    ),
    # a lone service under 8 minutes is not billed
    ({"97110": 7}, [{"97110": 0}]),
    ({"97110": 8}, [{"97110": 1}]),
    # 15+ minutes gets at least one unit, 30+ at least two
    (
        {"97110": 15, "97140": 7, "97112": 7},
        [{"97110": 1, "97140": 0, "97112": 1}, {"97110": 1, "97140": 1, "97112": 0}],
    ),
    ({"97110": 30, "97140": 1}, [{"97110": 2, "97140": 0}]),
    # zero minutes are kept in the result with 0 units
    ({"97110": 0, "97140": 23}, [{"97110": 0, "97140": 2}]),
    ({}, [{}]),
]


@pytest.mark.parametrize(("minutes", "legal"), CMS_EXAMPLES)
def test_total_time_reference_examples(
    minutes: dict[str, int], legal: list[dict[str, int]]
) -> None:
    assert total_time(minutes) == legal[0]
    assert list(total_time(minutes)) == list(minutes)  # every code, in input order
    assert total_time_allocations(minutes) == legal


def test_tie_never_gives_three_units_to_one_code() -> None:
    allocations = total_time_allocations({"97112": 20, "97110": 20})
    assert {"97112": 3, "97110": 0} not in allocations
    assert {"97112": 0, "97110": 3} not in allocations


def test_tie_break_prefers_more_minutes_then_code() -> None:
    # 97140 35 and 97110 5 both have 5 leftover minutes; 97140 has more minutes
    assert total_time({"97110": 5, "97140": 35}) == {"97110": 0, "97140": 3}
    assert total_time_allocations({"97110": 5, "97140": 35}) == [
        {"97110": 0, "97140": 3},
        {"97110": 1, "97140": 2},
    ]
    # equal minutes: the code that sorts first, whatever the input order
    assert total_time({"97530": 10, "97112": 10, "97110": 10}) == {
        "97530": 0,
        "97112": 1,
        "97110": 1,
    }


def test_tie_with_a_sure_winner_and_two_tied() -> None:
    # leftovers 9, 8, 8 and 2 units left: 97140 is sure, 97110/97112 tie for one
    minutes = {"97140": 9, "97110": 8, "97112": 8}
    assert total_time(minutes) == {"97140": 1, "97110": 1, "97112": 0}
    assert total_time_allocations(minutes) == [
        {"97140": 1, "97110": 1, "97112": 0},
        {"97140": 1, "97110": 0, "97112": 1},
    ]
    exp = explain(minutes)
    assert exp.tied == ("97110", "97112")
    assert "Remaining 2 units to the largest leftovers: 97140; 1 more to a tie at 8" in str(exp)


def test_long_service_wins_a_tie_at_seven_leftover_minutes() -> None:
    # 97110 22 (leftover 7), 97140 7, 97112 7 = 36 -> 2 units. The allocation steps of
    # REFERENCE 1.1 compare leftovers, so all three tie; any of them is legal.
    minutes = {"97110": 22, "97140": 7, "97112": 7}
    assert total_time(minutes) == {"97110": 2, "97140": 0, "97112": 0}
    assert sorted(a["97110"] for a in total_time_allocations(minutes)) == [1, 1, 2]


# ------------------------------------------------------------------ AMA per-code


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        ({"97110": 10, "97116": 10}, {"97110": 1, "97116": 1}),  # CMS would give 1 in all
        ({"97110": 7, "97116": 7}, {"97110": 0, "97116": 0}),  # CMS would give 1
        ({"97110": 38, "97140": 22}, {"97110": 3, "97140": 1}),
        ({"97110": 18, "97140": 5}, {"97110": 1, "97140": 0}),
        ({"97110": 0}, {"97110": 0}),
        ({}, {}),
    ],
)
def test_per_code_reference_examples(minutes: dict[str, int], expected: dict[str, int]) -> None:
    assert per_code(minutes) == expected


def test_methods_differ_where_the_reference_says() -> None:
    assert sum(total_time({"97110": 10, "97116": 10}).values()) == 1
    assert sum(per_code({"97110": 10, "97116": 10}).values()) == 2
    assert sum(total_time({"97110": 7, "97116": 7}).values()) == 1
    assert sum(per_code({"97110": 7, "97116": 7}).values()) == 0


# ------------------------------------------------------------- timed_expectations


def test_timed_expectations_total_time_tie() -> None:
    expected, possible = timed_expectations({"97112": 20, "97110": 20}, "total-time")
    assert expected == {"97112": 1, "97110": 2}
    assert possible == {"97112": frozenset({1, 2}), "97110": frozenset({1, 2})}


def test_timed_expectations_sure_and_untied() -> None:
    expected, possible = timed_expectations(
        {"97140": 9, "97110": 8, "97112": 8, "97116": 2}, "total-time"
    )
    assert expected == {"97140": 1, "97110": 1, "97112": 0, "97116": 0}
    assert possible == {
        "97140": frozenset({1}),
        "97110": frozenset({0, 1}),
        "97112": frozenset({0, 1}),
        "97116": frozenset({0}),
    }


def test_timed_expectations_per_code_is_singleton() -> None:
    expected, possible = timed_expectations({"97110": 10, "97116": 7}, "per-code")
    assert expected == {"97110": 1, "97116": 0}
    assert possible == {"97110": frozenset({1}), "97116": frozenset({0})}


def test_timed_expectations_returns_fresh_dicts_in_input_order() -> None:
    first, sets = timed_expectations({"97140": 7, "97110": 33}, "total-time")
    assert list(first) == ["97140", "97110"]
    first["97140"] = 99
    sets.clear()
    again, sets_again = timed_expectations({"97110": 33, "97140": 7}, "total-time")
    assert again == {"97110": 2, "97140": 1}
    assert list(again) == ["97110", "97140"]
    assert sets_again == {"97110": frozenset({2}), "97140": frozenset({1})}


def test_timed_expectations_rejects_unknown_method() -> None:
    with pytest.raises(ValueError, match="unknown unit method 'midpoint'"):
        timed_expectations({"97110": 10}, "midpoint")


# --------------------------------------------------------------------- validation

BAD_INPUTS: list[tuple[Any, str]] = [
    ({"97110": -1}, r"minutes of code '97110' must not be negative, got -1"),
    ({"97110": True}, r"minutes of code '97110' must be a whole number \(int\), not bool"),
    ({"97110": 7.5}, r"must be a whole number \(int\), not float"),
    ({"97110": "10"}, r"must be a whole number \(int\), not str"),
    ({"97110": None}, r"not NoneType"),
    ({97110: 10}, r"codes must be strings, not int"),
    ({"": 10}, r"codes must not be empty strings"),
    ([("97110", 10)], r"must be a mapping of code -> minutes, not list"),
    (None, r"must be a mapping of code -> minutes, not NoneType"),
]

PUBLIC = [
    total_time,
    total_time_allocations,
    per_code,
    explain,
    lambda m: timed_expectations(m, "total-time"),
    lambda m: timed_expectations(m, "per-code"),
]


@pytest.mark.parametrize("function", PUBLIC)
@pytest.mark.parametrize(("bad", "message"), BAD_INPUTS)
def test_bad_input_is_a_clear_value_error(function: Any, bad: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        function(bad)


@pytest.mark.parametrize("bad", [-1, True, 1.0, "8", None])
def test_chart_rejects_bad_minutes(bad: Any) -> None:
    with pytest.raises(ValueError, match="total minutes"):
        chart_units(bad)
    with pytest.raises(ValueError, match="units"):
        chart_row(bad)


def test_any_mapping_is_accepted() -> None:
    assert total_time(OrderedDict([("97110", 33), ("97140", 7)])) == {"97110": 2, "97140": 1}


# -------------------------------------------------------------------- explanation


def test_explanation_reads_like_the_brief() -> None:
    exp = explain({"97110": 33, "97140": 7})
    assert str(exp) == (
        "Total timed minutes 40 -> 3 units (chart row 38-52).\n"
        "Full 15-minute units: 97110 x2.\n"
        "Leftover minutes: 97110 3, 97140 7.\n"
        "Remaining 1 unit to the largest leftover: 97140.\n"
        "Result: 97110 x2, 97140 x1."
    )
    assert exp.total_minutes == 40
    assert exp.chart_units == 3
    assert exp.full_units == {"97110": 2, "97140": 0}
    assert exp.leftover_minutes == {"97110": 3, "97140": 7}
    assert exp.remaining_units == 1
    assert exp.units == {"97110": 2, "97140": 1}
    assert exp.allocations == ({"97110": 2, "97140": 1},)
    assert exp.tied == ()


def test_explanation_of_a_lone_short_service() -> None:
    assert explain({"97110": 7}).lines() == (
        "Total timed minutes 7 -> 0 units (under 8 minutes).",
        "Full 15-minute units: none.",
        "Leftover minutes: 97110 7.",
        "No units remain for the leftover minutes.",
        "Result: 97110 x0.",
    )


def test_explanation_of_nothing() -> None:
    assert explain({}).lines()[-1] == "Result: no timed codes."


def test_explanation_of_four_codes() -> None:
    text = str(explain({"97110": 18, "97140": 13, "97116": 10, "97035": 8}))
    assert "Remaining 2 units to the largest leftovers: 97140, 97116." in text
    assert text.endswith("Result: 97110 x1, 97140 x1, 97116 x1, 97035 x0.")


def test_explanation_per_code() -> None:
    exp = explain({"97110": 10, "97116": 7}, method="per-code")
    assert exp.lines() == (
        "Per code (midpoint): each code's own minutes through the chart, never pooled.",
        "97110 10 min -> 1 unit (chart row 8-22).",
        "97116 7 min -> 0 units (under 8 minutes).",
        "Result: 97110 x1, 97116 x0.",
    )
    assert exp.chart_units == 1
    assert exp.allocations == ({"97110": 1, "97116": 0},)


def test_explanation_to_dict_is_json_ready() -> None:
    d = explain({"97112": 20, "97110": 20}).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["method"] == "total-time"
    assert d["citation"] == "CMS Pub. 100-04, ch. 5, sec. 20.2"
    assert d["units"] == {"97112": 1, "97110": 2}
    assert d["allocations"] == [{"97112": 1, "97110": 2}, {"97112": 2, "97110": 1}]
    assert d["tied"] == ["97110", "97112"]
    assert d["explanation"][-1] == "Also legal: 97112 x2, 97110 x1."


def test_explanation_is_frozen_and_read_only() -> None:
    exp = explain({"97110": 33})
    with pytest.raises(AttributeError):
        exp.total_minutes = 1  # type: ignore[misc]  # checking the frozen class refuses
    with pytest.raises(TypeError):
        exp.units["97110"] = 9  # type: ignore[index]  # checking the mapping is read-only


def test_explain_rejects_unknown_method() -> None:
    with pytest.raises(ValueError, match="expected one of: total-time, per-code"):
        explain({"97110": 10}, method="midpoint")


def test_public_names() -> None:
    for name in units.__all__:
        assert getattr(units, name).__doc__ or name.isupper() or name == "UnitMethod"
