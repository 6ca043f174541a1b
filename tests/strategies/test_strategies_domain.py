"""Invariants of the domain strategies: clean passes, faulty trips its rule, all round-trip."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cptrules
from cptrules import strategies
from cptrules.report import apply_fixes
from cptrules.strategies import _data
from cptrules.strategies._faults import FAULTS

PAYERS = _data.payer_ids()

# Building a session runs a whole constructive pipeline per draw, and faulty draws
# build a clean base first: a draw is slow by Hypothesis's standards (too_slow),
# not by ours; deadline=None for the same reason (CI machines vary).
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _errors(report: cptrules.Report) -> list[cptrules.Finding]:
    return [f for f in report.findings if f.severity == "error"]


def _roundtrip(session: cptrules.Session) -> None:
    assert cptrules.load_session(cptrules.dump_session(session)) == session


@pytest.mark.parametrize("payer", PAYERS)
@SETTINGS
@given(data=st.data())
def test_clean_sessions_pass_check(payer: str, data: st.DataObject) -> None:
    session = data.draw(strategies.clean_sessions(payer=payer))
    _roundtrip(session)
    report = cptrules.check(session)
    assert report.ok, [(f.rule, f.line, f.message) for f in _errors(report)]
    assert report.payer == payer


FAULT_CASES = [
    (rule, payer)
    for rule in sorted(set(strategies.CONTRACT_RULES) | set(FAULTS))
    if rule in FAULTS and FAULTS[rule].available()
    for payer in strategies._rule_payers(rule)
]


@pytest.mark.parametrize(("rule", "payer"), FAULT_CASES)
@settings(SETTINGS, max_examples=12)
@given(data=st.data())
def test_faulty_sessions_trip_their_rule(rule: str, payer: str, data: st.DataObject) -> None:
    session = data.draw(strategies.faulty_sessions(rule=rule, payer=payer))
    _roundtrip(session)
    report = cptrules.check(session)
    assert rule in report.rules(), report.findings
    allowed = {rule} | strategies.fault_implies(rule)
    extra = [(f.rule, f.line, f.message) for f in _errors(report) if f.rule not in allowed]
    assert not extra, extra
    fixable = [f for f in report.findings if f.rule == rule and f.fixes]
    if fixable:
        fixes = [fix for f in fixable for fix in f.fixes]
        fixed = cptrules.check(apply_fixes(session, fixes))
        if any(fix.action == "remove_line" for fix in fixes):  # line numbers shift
            assert rule not in fixed.rules(), fixed.findings
        else:  # a finding that offered fixes is gone; others of the rule may stay
            left = {(f.line, f.severity) for f in fixed.findings if f.rule == rule}
            back = [f for f in fixable if (f.line, f.severity) in left]
            assert not back, (back, fixed.findings)


@SETTINGS
@given(strategies.sessions())
def test_sessions_round_trip_and_check(session: cptrules.Session) -> None:
    _roundtrip(session)
    report = cptrules.check(session)  # any well-formed session can be checked
    assert report.date_of_service == session.date_of_service


def test_every_fault_names_a_known_rule() -> None:
    from cptrules.rules import REGISTRY

    assert set(FAULTS) <= set(strategies.CONTRACT_RULES) | set(REGISTRY)
