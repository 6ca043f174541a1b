"""A rule's ``quiet`` guard only ever spares the engine rules that would find nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_triggers import ENGINE, silent_where_skipped

import cptrules
from cptrules import strategies as cst
from cptrules._context import Context
from cptrules.payers import PayerProfile
from cptrules.rules import REGISTRY, Rule

QUIET = sorted(r.id for r in REGISTRY.values() if r.quiet is not None)
PAYERS = ("medicare", "commercial", "aetna", "bcbs-nc", "ma-auto-pip")


def _quiet(rule: Rule, ctx: Context, profile: PayerProfile) -> bool:
    assert rule.quiet is not None
    return rule.quiet(ctx.shape, profile)


def _silent_where_quiet(session: cptrules.Session, payer: str) -> None:
    silent_where_skipped(session, payer, QUIET, _quiet)


def test_the_usual_guards_are_quiet_guards() -> None:
    assert {"code.unknown", "modifier.therapy", "coverage.bundled"} <= set(QUIET)


def _examples() -> list[tuple[Mapping[str, Any], str]]:
    out = []
    for r in REGISTRY.values():
        for ex in r.examples:
            for payer in ex.payers or ("medicare", "commercial"):
                out.append((ex.session, payer))
    return out


EXAMPLES = _examples()


def test_quiet_rules_are_silent_on_every_example() -> None:
    """The rule examples that fire include one per rule: a wrong guard shows here."""
    checked = 0
    for data, payer in EXAMPLES:
        try:
            session = cptrules.load_session(data)
            ENGINE.profile_for(payer, session)
        except cptrules.CptRulesError:
            continue
        _silent_where_quiet(session, payer)
        checked += 1
    assert checked > 100


@settings(max_examples=300, deadline=None)
@given(session=cst.sessions(), payer=st.sampled_from(PAYERS))
def test_quiet_rules_would_find_nothing(session: cptrules.Session, payer: str) -> None:
    _silent_where_quiet(session, payer)


@pytest.mark.parametrize("rid", QUIET)
def test_the_engine_does_not_call_a_quiet_rule(rid: str) -> None:
    """On a clean visit the quiet rules are left out of the rules run (what a guard is for)."""
    data = {
        "date_of_service": "2026-03-04",
        "payer": "medicare",
        "provider": {"discipline": "PT"},
        "lines": [{"code": "97110", "minutes": 30, "units": 2, "modifiers": ["GP"]}],
    }
    rule = REGISTRY[rid]
    assert rule.quiet is not None
    session = cptrules.load_session(data)
    ctx = Context(session, ENGINE.profile_for("medicare", session), ENGINE.catalog, None)
    assert rule.quiet(ctx.shape, ctx.profile), f"{rid} is not quiet on the usual visit"
    ENGINE.check(session)
    # the engine's rules for the shape, remembered per list of rules in force
    plan = ENGINE.plan(ctx.profile)
    memo = plan.runs(plan.in_force(session.date_of_service))
    runs = [run for shape, run in memo.values() if shape is ctx.shape]
    assert len(runs) == 1
    ran = {r.id for _, r in runs[0]}
    assert "units.total-time" in ran
    assert rid not in ran
