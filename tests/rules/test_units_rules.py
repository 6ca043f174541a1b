"""units.* rules on the worked examples of REFERENCE.md 1.1 and 1.2."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import cptrules
from cptrules import strategies
from cptrules.ncci import bundled_tables

ENGINE = cptrules.Engine(tables=bundled_tables())


def visit(lines: list[tuple[str, int, int | None]], payer: str = "medicare") -> dict[str, Any]:
    return {
        "date_of_service": "2026-03-04",
        "payer": payer,
        "provider": {"discipline": "PT"},
        "plan_of_care": {"start": "2026-02-01", "end": "2026-04-30", "signed": "2026-02-10"},
        "treatment_day": 3,
        "lines": [
            {"code": c, "minutes": m, **({} if u is None else {"units": u}), "modifiers": ["GP"]}
            for c, m, u in lines
        ],
    }


def unit_findings(
    data: dict[str, Any], rule: str = "units.total-time"
) -> list[tuple[int | None, str]]:
    return [(f.line, f.severity) for f in ENGINE.check(data).findings if f.rule == rule]


@pytest.mark.parametrize(
    "lines",
    [
        [("97112", 24, 2), ("97110", 23, 1)],
        [("97112", 20, 2), ("97110", 20, 1)],
        [("97112", 20, 1), ("97110", 20, 2)],
        [("97110", 33, 2), ("97140", 7, 1)],
        [("97110", 18, 1), ("97140", 13, 1), ("97116", 10, 1), ("97035", 8, 0)],
        [("97110", 18, 1), ("97140", 5, 1)],
    ],
)
def test_cms_worked_examples_pass(lines: list[tuple[str, int, int | None]]) -> None:
    assert unit_findings(visit(lines)) == []


def test_cms_tie_never_three_of_one() -> None:
    assert unit_findings(visit([("97112", 20, 3), ("97110", 20, 0)])) == [
        (0, "error"),
        (1, "warning"),
    ]


def test_largest_remainder_trap_is_caught() -> None:
    # 97110 18 + 97140 5 = 23 minutes: CMS gives 1 + 1; "largest remainder" gives 2 + 0.
    assert unit_findings(visit([("97110", 18, 2), ("97140", 5, 0)])) == [
        (0, "error"),
        (1, "warning"),
    ]


def test_fourth_code_gets_none() -> None:
    data = visit([("97110", 18, 1), ("97140", 13, 1), ("97116", 10, 1), ("97035", 8, 1)])
    assert unit_findings(data) == [(3, "error")]


def test_two_short_services_pool_under_medicare_only() -> None:
    seven = [("97110", 7, 1), ("97116", 7, 0)]
    assert unit_findings(visit(seven)) == []
    assert unit_findings(visit(seven, "commercial"), "units.per-code") == [(0, "error")]
    ten = [("97110", 10, 1), ("97116", 10, 1)]
    assert unit_findings(visit(ten, "commercial"), "units.per-code") == []
    # Under Medicare 20 minutes is one unit in all: billing two is over, whichever code.
    assert unit_findings(visit(ten)) == [(1, "error")]


def test_omitted_units_are_computed_and_not_flagged() -> None:
    report = ENGINE.check(visit([("97110", 33, None), ("97140", 7, None)]))
    assert [(u.billed, u.expected) for u in report.units] == [(2, 2), (1, 1)]
    assert not [f for f in report.findings if f.rule.startswith("units.")]


def test_fix_sets_expected_units_and_clears_finding() -> None:
    report = ENGINE.check(visit([("97110", 33, 3), ("97140", 7, 0)]))
    fixed = report.fixed()
    assert [line.units for line in fixed.lines] == [2, 1]
    assert not [f for f in ENGINE.check(fixed).findings if f.rule == "units.total-time"]


def test_same_code_on_two_lines_is_summed() -> None:
    data = visit([("97110", 15, 1), ("97110", 15, 1)])
    report = ENGINE.check(data)
    assert not [f for f in report.findings if f.rule == "units.total-time"]
    assert [f.line for f in report.findings if f.rule == "units.single-line"] == [1]


def test_single_line_rule_starts_april_2021() -> None:
    data = visit([("97110", 15, 1), ("97110", 15, 1)])
    data["plan_of_care"] = {"start": "2021-03-01", "end": "2021-05-01", "signed": "2021-03-02"}
    data["date_of_service"] = "2021-03-31"
    assert "units.single-line" not in ENGINE.check(data).rules()
    data["date_of_service"] = "2021-04-01"
    assert "units.single-line" in ENGINE.check(data).rules()


def test_untimed_units_and_duplicates() -> None:
    data = visit([])
    data["lines"] = [
        {"code": "97161", "units": 2, "modifiers": ["GP"]},
        {"code": "97010", "units": 1, "modifiers": ["GP"]},
        {"code": "97010", "units": 1, "modifiers": ["GP"]},
    ]
    found = [
        (f.line, [x.action for x in f.fixes])
        for f in ENGINE.check(data).findings
        if f.rule == "units.untimed"
    ]
    assert found == [(0, ["set_units"]), (2, ["remove_line"])]


def test_acupuncture_add_on_needs_initial() -> None:
    # one path per fact: code.add-on reports add-ons and two initial codes, not units.untimed
    data = visit([])
    data["lines"] = [{"code": "97811", "units": 1}]
    assert ENGINE.check(data, payer="commercial").rules() & {"units.untimed", "code.add-on"} == {
        "code.add-on"
    }
    data["lines"] = [{"code": "97810", "units": 1}, {"code": "97811", "units": 1}]
    assert "code.add-on" not in ENGINE.check(data, payer="commercial").rules()
    data["lines"] = [{"code": "97810", "units": 1}, {"code": "97813", "units": 1}]
    assert ENGINE.check(data, payer="commercial").rules() & {"units.untimed", "code.add-on"} == {
        "code.add-on"
    }


def test_missing_minutes() -> None:
    data = visit([("97110", 30, 2)])
    del data["lines"][0]["minutes"]
    report = ENGINE.check(data)
    assert [f.line for f in report.findings if f.rule == "units.missing-minutes"] == [0]
    assert report.units[0].expected is None


def test_anthem_cap_by_date() -> None:
    lines = [("97110", 45, 3), ("97112", 30, 2)]
    data = visit(lines, "anthem")
    assert "units.daily-cap" in ENGINE.check(data).rules()
    data["date_of_service"] = "2021-03-31"
    assert "units.daily-cap" not in ENGINE.check(data).rules()
    data["date_of_service"] = "2021-04-01"
    assert "units.daily-cap" in ENGINE.check(data).rules()


# ----------------------------------------------------------- units.untimed fast path


# Untimed codes (one-per-session, by regions, acupuncture initial and add-on)
# beside a timed one, repeated and over their units.
_UNTIMED = ["97012", "G0283", "97161", "98941", "97810", "97811", "97813", "97814", "97110"]
_untimed_mixes = st.lists(
    st.tuples(st.sampled_from(_UNTIMED), st.none() | st.integers(0, 3)), min_size=1, max_size=5
).map(
    lambda lines: cptrules.load_session(
        visit([(code, 15 if code == "97110" else None, units) for code, units in lines])
    )
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(strategies.sessions(), _untimed_mixes))
def test_untimed_fixes_leave_nothing_to_fix(session: cptrules.Session) -> None:
    """Applying units.untimed's own fixes (one unit, one line) leaves it nothing to fix:
    only the acupuncture findings, which carry no fix, may remain."""
    assume(session.date_of_service >= ENGINE.catalog.data_start)
    report = ENGINE.check(session, "medicare")
    fixes = [x for f in report.findings if f.rule == "units.untimed" for x in f.fixes]
    fixed = cptrules.apply_fixes(session, fixes)
    again = [f for f in ENGINE.check(fixed, "medicare").findings if f.rule == "units.untimed"]
    assert all(not f.fixes for f in again), again


def test_three_way_tie_billed_2_2_0_is_over_billing_not_only_under() -> None:
    """20/20/20 minutes give 4 units: every code at least 1 (CMS Pub. 100-04 ch. 5 sec.
    20.2 C). 2/2/0 matches the total, but 97112 took 97116's unit: an error."""
    data = visit([("97110", 20, 2), ("97112", 20, 2), ("97116", 20, 0)])
    got = [f for f in ENGINE.check(data).findings if f.rule == "units.total-time"]
    assert [(f.line, f.severity) for f in got] == [(1, "error"), (2, "warning")]
    assert [x.value for x in got[0].fixes] == [1]
    assert "97110 x2, 97112 x1, 97116 x1" in got[0].message
    fixed = ENGINE.check(ENGINE.check(data).fixed())
    assert not [f for f in fixed.findings if f.rule == "units.total-time"]


def test_tie_billed_away_from_the_engines_pick_is_fixed_to_the_closest_allocation() -> None:
    """20/20 is 3 units; billed 0/3 the closest legal allocation is 1/2, not the pick 2/1."""
    data = visit([("97110", 20, 0), ("97112", 20, 3)])
    got = [f for f in ENGINE.check(data).findings if f.rule == "units.total-time"]
    assert [(f.line, f.severity, f.fixes[0].value) for f in got] == [
        (0, "warning", 1),
        (1, "error", 2),
    ]


def _split(*mods: tuple[str, ...]) -> dict[str, Any]:
    data = visit([("97110", 13, 1)] * len(mods))
    for line_, m in zip(data["lines"], mods, strict=True):
        line_["modifiers"] = list(m)
        if "CQ" in m:
            line_["assistant_minutes"] = 13
    return data


def test_therapist_line_and_assistant_line_are_not_a_single_line_finding() -> None:
    """CMS's CQ/CO billing examples bill one code on a therapist line and a CQ line."""
    assert not unit_findings(_split(("GP",), ("GP", "CQ")), "units.single-line")
    assert unit_findings(_split(("GP",), ("GP",)), "units.single-line")
    assert unit_findings(_split(("GP",), ("GP", "CQ"), ("GP", "CQ")), "units.single-line")


@pytest.mark.parametrize("payer", ["medicare", "commercial"])
@pytest.mark.parametrize(("units", "severity"), [(3, "error"), (1, "warning")])
def test_97129_for_45_minutes_is_advised_as_97129_x1_and_97130_x2(
    payer: str, units: int, severity: str
) -> None:
    rule = "units.total-time" if payer == "medicare" else "units.per-code"
    got = [f for f in ENGINE.check(visit([("97129", 45, units)], payer)).findings if f.rule == rule]
    assert [(f.line, f.severity) for f in got] == [(0, severity)]
    assert "97129 x1 and 97130 x2" in got[0].message
    assert not [
        f
        for f in ENGINE.check(visit([("97129", 15, 1), ("97130", 30, 2)], payer)).findings
        if f.rule == rule
    ]
