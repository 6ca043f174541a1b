"""Invariants of the modifier and unit rules, on drawn sessions.

Each rule is one function (a visit-level guard, then one loop over the lines);
these properties hold it to what a billing person expects whatever path a
visit takes through it, without comparing a rule with a copy of itself:

- a clean session stays clean under every bundled payer;
- every finding names a line of the session (or none), every fix a line that
  exists, and every modifier a fix adds is one the catalog knows;
- the verdict does not depend on the order of the lines;
- applying a modifier rule's own fixes leaves that rule nothing to fix on the
  lines it fixed.
"""

from __future__ import annotations

from collections import Counter

import attrs
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import cptrules
from cptrules import strategies
from cptrules.catalog import catalog
from cptrules.ncci import bundled_tables
from cptrules.strategies import _data as D

ENGINE = cptrules.Engine(tables=bundled_tables())
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PAYERS = D.payer_ids()
#: rules whose verdict per line does not depend on the lines' order
ORDER_FREE = (
    "modifier.therapy",
    "modifier.assistant",
    "modifier.kx",
    "modifier.distinct",
    "modifier.at",
    "modifier.unknown",
    "units.missing-minutes",
    "units.daily-cap",
)
# (units.untimed is left out on purpose: of a code's repeated lines the first is
# checked for its units and the others are reported as repeats, so which line
# comes first decides whether an over-billed line counts once or twice.)
#: modifier rules whose fixes only add or remove modifiers on the line they name
MODIFIER_FIXERS = ("modifier.therapy", "modifier.at", "modifier.unknown", "modifier.kx")


def _in_data(session: cptrules.Session) -> bool:
    return session.date_of_service >= ENGINE.catalog.data_start


@SETTINGS
@given(data=st.data(), payer=st.sampled_from(PAYERS))
def test_clean_sessions_stay_clean(data: st.DataObject, payer: str) -> None:
    session = data.draw(strategies.clean_sessions(payer=payer))
    errors = [f for f in ENGINE.check(session).findings if f.severity == "error"]
    assert errors == []


@SETTINGS
@given(session=strategies.sessions(), payer=st.sampled_from(PAYERS))
def test_findings_and_fixes_name_real_lines_and_known_modifiers(
    session: cptrules.Session, payer: str
) -> None:
    assume(_in_data(session))
    known = catalog().known_modifiers
    n = len(session.lines)
    for f in ENGINE.check(session, payer).findings:
        assert f.line is None or 0 <= f.line < n, f
        for fix in f.fixes:
            assert 0 <= fix.line < n, f
            if fix.action == "add_modifier":
                assert fix.value in known, f


@SETTINGS
@given(session=strategies.sessions(), payer=st.sampled_from(PAYERS), seed=st.randoms())
def test_verdict_does_not_depend_on_line_order(
    session: cptrules.Session, payer: str, seed: object
) -> None:
    assume(_in_data(session))
    order = list(range(len(session.lines)))
    seed.shuffle(order)  # type: ignore[attr-defined]  # a random.Random
    shuffled = attrs.evolve(session, lines=tuple(session.lines[i] for i in order))

    def verdict(s: cptrules.Session) -> Counter[tuple[str, str]]:
        return Counter(
            (f.rule, f.severity) for f in ENGINE.check(s, payer).findings if f.rule in ORDER_FREE
        )

    assert verdict(session) == verdict(shuffled)


@SETTINGS
@given(session=strategies.sessions(), rule=st.sampled_from(MODIFIER_FIXERS))
def test_a_modifier_rules_fixes_leave_it_nothing_to_fix_on_those_lines(
    session: cptrules.Session, rule: str
) -> None:
    assume(_in_data(session))
    report = ENGINE.check(session, "medicare")
    fixes = [x for f in report.findings if f.rule == rule for x in f.fixes]
    if not fixes:
        return
    fixed = cptrules.apply_fixes(session, fixes)
    lines = {x.line for x in fixes}
    again = [
        f
        for f in ENGINE.check(fixed, "medicare").findings
        if f.rule == rule and f.line in lines and f.fixes
    ]
    assert again == []
