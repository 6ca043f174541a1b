"""Invariants of the domain strategies: clean passes, faulty trips its rule, all round-trip."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import cptrules
from cptrules import strategies
from cptrules.catalog import catalog
from cptrules.report import apply_fixes
from cptrules.strategies import _data
from cptrules.strategies._build import env_of
from cptrules.strategies._faults import FAULTS

PAYERS = _data.payer_ids()

# deadline=None: a draw builds a whole session and the check runs every rule; CI
# machines vary, and a timing failure here would say nothing about the strategies.
SETTINGS = settings(max_examples=30, deadline=None)


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
    if rule in FAULTS and FAULTS[rule].available(env_of(None))
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


def _has(session: cptrules.Session, code: str, modifier: str | None = None) -> bool:
    return any(
        line.code == code and (modifier is None or modifier in line.modifiers)
        for line in session.lines
    )


def _family(session: cptrules.Session, family: str, *modifiers: str) -> bool:
    """A line of the catalog family carrying one of ``modifiers``."""
    codes = catalog().families[family]
    return any(
        line.code in codes and not set(modifiers).isdisjoint(line.modifiers)
        for line in session.lines
    )


REACHABLE = [
    ("medicare", "KX on therapy past the threshold", lambda s: _has(s, "97110", "KX")),
    ("medicare", "CQ for a PTA's share", lambda s: any("CQ" in ln.modifiers for ln in s.lines)),
    ("medicare", "CO for an OTA's share", lambda s: any("CO" in ln.modifiers for ln in s.lines)),
    ("medicare", "AT on chiropractic manipulation", lambda s: _has(s, "98941", "AT")),
    ("medicare", "an evaluation on the plan's first day", lambda s: _has(s, "97161")),
    ("medicare", "G0283, not 97014", lambda s: _has(s, "G0283")),
    ("medicare", "97140 with XU beside 97530", lambda s: _has(s, "97140") and _has(s, "97530")),
    ("commercial", "97140 with XS beside CMT", lambda s: _has(s, "97140", "XS")),
    ("commercial", "97014 for a commercial payer", lambda s: _has(s, "97014")),
    ("uhc-commercial", "clock times", lambda s: any(ln.start for ln in s.lines)),
    ("anthem", "four timed units, the cap", lambda s: sum(ln.units or 0 for ln in s.lines) >= 4),
    ("medicare", "strapping with GP/GO", lambda s: _family(s, "strapping", "GP", "GO")),
    ("medicare", "wound care with GP", lambda s: _family(s, "wound_care", "GP")),
    ("medicare", "remote therapeutic monitoring", lambda s: _family(s, "rtm", "GP", "GO")),
    ("commercial", "an E/M with 25 beside CMT", lambda s: _family(s, "em", "25")),
    ("medicare", "a chiropractor's E/M with GY", lambda s: _family(s, "em", "GY")),
]


class _Found(Exception):
    pass


@pytest.mark.parametrize(("payer", "what", "predicate"), REACHABLE, ids=[r[1] for r in REACHABLE])
def test_clean_sessions_reach_the_interesting_cases(payer: str, what: str, predicate: Any) -> None:
    """Built, not filtered, but still varied: each case turns up within a few hundred draws."""

    # generation only, stopping at the first hit (find() would shrink it: slow, not needed)
    @settings(max_examples=1500, database=None, deadline=None, phases=[Phase.generate])
    @given(strategies.clean_sessions(payer=payer))
    def look(session: cptrules.Session) -> None:
        if predicate(session):
            assert cptrules.check(session).ok
            raise _Found

    with pytest.raises(_Found):
        look()


@pytest.mark.parametrize("payer", ["aetna", "bcbs-mn", "bcbs-nc"])
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_denied_pairs_never_billed_together(payer: str, data: st.DataObject) -> None:
    """The payer's deny pairs in force are never billed together; others keep their modifier."""
    session = data.draw(strategies.clean_sessions(payer=payer, disciplines=["DC"]))
    profile = cptrules.default_engine().profiles.get(payer, session.date_of_service)
    assert profile is not None
    codes = {line.code for line in session.lines}
    for a in codes:
        for b in codes:
            quirk = profile.pair_quirk(a, b, session.date_of_service)
            assert quirk is None or quirk.action != "deny", (a, b)
            if quirk is not None and quirk.action == "require-modifier" and b in quirk.second:
                (line,) = [x for x in session.lines if x.code == b]
                assert quirk.modifiers & set(line.modifiers)


def _mue_engine() -> cptrules.Engine:
    """The bundled PTP pairs plus a SYNTHETIC MUE table (values made up for the test,
    not CMS data): the bundled tables carry no MUEs, so ncci.mue cannot fire on them."""
    from cptrules.ncci import MemoryTables, MueEdit, bundled_tables

    bundled = bundled_tables()
    assert isinstance(bundled, MemoryTables)
    mue = {"97110": MueEdit("97110", 2, 3, "synthetic", "test table, not CMS data")}
    return cptrules.Engine(tables=MemoryTables("test-mue", bundled.edits(), mue))


MUE_ENGINE = _mue_engine()


@pytest.mark.parametrize("payer", ["medicare", "commercial", "anthem"])
@settings(SETTINGS, max_examples=15)
@given(data=st.data())
def test_engine_with_mue_table(payer: str, data: st.DataObject) -> None:
    clean = data.draw(strategies.clean_sessions(payer=payer, engine=MUE_ENGINE))
    assert MUE_ENGINE.check(clean).ok, MUE_ENGINE.check(clean).findings
    faulty = data.draw(strategies.faulty_sessions(rule="ncci.mue", payer=payer, engine=MUE_ENGINE))
    report = MUE_ENGINE.check(faulty)
    assert "ncci.mue" in report.rules()
    allowed = {"ncci.mue"} | strategies.fault_implies("ncci.mue")
    assert {f.rule for f in _errors(report)} <= allowed, report.findings
