"""Rule triggers only ever skip rules that would have found nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from hypothesis import given, settings
from hypothesis import strategies as st

import cptrules
from cptrules import strategies as cst
from cptrules._context import Context
from cptrules.ncci import bundled_tables
from cptrules.payers import PayerProfile
from cptrules.rules import REGISTRY, Rule

ENGINE = cptrules.Engine(tables=bundled_tables())
TRIGGERED = sorted(r.id for r in REGISTRY.values() if r.triggers is not None)
PAYERS = ("medicare", "commercial", "aetna")


def test_some_rules_have_triggers() -> None:
    # coverage.bundled reads its codes from the payer profile, so it has no fixed trigger
    assert {"coverage.acupuncture", "code.cmt-regions", "modifier.at"} <= set(TRIGGERED)


def silent_where_skipped(
    session: cptrules.Session,
    payer: str,
    rules: Iterable[str],
    skipped: Callable[[Rule, Context, PayerProfile], bool],
) -> None:
    """Each of ``rules`` that ``skipped`` says the engine leaves out finds nothing."""
    profile = ENGINE.profile_for(payer, session)
    ctx = Context(session, profile, ENGINE.catalog, ENGINE.tables)
    for rid in rules:
        rule = REGISTRY[rid]
        if skipped(rule, ctx, profile):
            assert list(rule.func(ctx, rule)) == [], f"{rid} was skipped but would fire"


def _untriggered(rule: Rule, ctx: Context, profile: PayerProfile) -> bool:
    assert rule.triggers is not None
    return rule.triggers.isdisjoint(ctx.present)


@settings(max_examples=300, deadline=None)
@given(session=cst.sessions(), payer=st.sampled_from(PAYERS))
def test_skipped_rules_would_find_nothing(session: cptrules.Session, payer: str) -> None:
    silent_where_skipped(session, payer, TRIGGERED, _untriggered)


def test_trigger_runs_the_rule_when_present() -> None:
    data = {
        "date_of_service": "2026-03-04",
        "payer": "medicare",
        "provider": {"discipline": "PT"},
        "lines": [{"code": "97010", "units": 1, "modifiers": ["GP"]}],
    }
    assert "coverage.bundled" in ENGINE.check(data).rules()


def test_a_modifier_kind_triggers_its_rule() -> None:
    """modifier.distinct names the kind ``distinct`` (data/modifiers.toml) as its trigger."""
    data = {
        "date_of_service": "2026-03-04",
        "payer": "medicare",
        "provider": {"discipline": "PT"},
        "lines": [{"code": "97110", "minutes": 30, "units": 2, "modifiers": ["GP"]}],
    }
    session = cptrules.load_session(data)
    ctx = Context(session, ENGINE.profile_for("medicare", session), ENGINE.catalog, ENGINE.tables)
    assert "mod:therapy" in ctx.present
    assert "mod:distinct" not in ctx.present
    assert REGISTRY["modifier.distinct"].triggers == {"mod:distinct"}
    data["lines"][0]["modifiers"] = ["GP", "59"]  # type: ignore[index]  # a list of lines
    assert "modifier.distinct" in ENGINE.check(data).rules()
