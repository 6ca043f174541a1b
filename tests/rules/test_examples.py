"""Every rule's examples, run under every bundled profile the rule applies to.

A failing example must produce at least one finding of its rule, a passing one
none. Fixable failing examples must be cleared of that rule's findings by
``report.fixed()``. An episode rule's example (earlier visits in ``before``) runs
through ``check_episode`` by ``check_example``, with fee data (the fixture's
made-up RVUs, national locality) for the rules that need allowed amounts.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs
import pytest

import cptrules
from cptrules.episodes import check_example
from cptrules.fees import FeeSchedule
from cptrules.ncci import bundled_tables
from cptrules.payers import bundled_profiles
from cptrules.rules import REGISTRY, Example, Rule

ENGINE = cptrules.Engine(tables=bundled_tables())
PFS = Path(__file__).resolve().parents[1] / "fixtures" / "pfs"
EPISODE_ENGINE = cptrules.Engine(
    tables=bundled_tables(),
    fees=FeeSchedule.from_files([PFS / "PPRRVU24_JAN.csv", PFS / "GPCI2024.csv"]),
)


def _engine(rule: Rule) -> cptrules.Engine:
    return EPISODE_ENGINE if rule.episode else ENGINE


def _cases() -> list[tuple[Rule, int, Example, str]]:
    cases = []
    for rule in REGISTRY.values():
        for n, ex in enumerate(rule.examples):
            day = dt.date.fromisoformat(str(ex.session["date_of_service"]))
            for pid in bundled_profiles().ids():
                profile = bundled_profiles().get(pid, day)
                if profile is None or not rule.for_profile(profile) or not rule.in_force(day):
                    continue
                if ex.payers is not None and pid not in ex.payers:
                    continue
                cases.append((rule, n, ex, pid))
    return cases


CASES = _cases()


def test_every_rule_has_a_failing_and_a_passing_example() -> None:
    for rule in REGISTRY.values():
        kinds = {ex.fails for ex in rule.examples}
        assert kinds == {True, False}, f"{rule.id} needs examples that fail and pass"


def test_every_example_runs_somewhere() -> None:
    ran = {(rule.id, n) for rule, n, _, _ in CASES}
    for rule in REGISTRY.values():
        for n in range(len(rule.examples)):
            assert (rule.id, n) in ran, f"{rule.id} example {n} applies to no bundled profile"


@pytest.mark.parametrize(
    ("rule", "n", "example", "payer"),
    CASES,
    ids=[f"{r.id}-{n}-{'fail' if e.fails else 'pass'}-{p}" for r, n, e, p in CASES],
)
def test_example(rule: Rule, n: int, example: Example, payer: str) -> None:
    engine = _engine(rule)
    report = check_example(rule, example, engine=engine, payer=payer)
    mine = [f for f in report.findings if f.rule == rule.id]
    if example.fails:
        assert mine, f"{rule.id} example {n} should fail under {payer}: {example.note}"
        for f in mine:
            assert f.citation, "every finding cites its source"
            assert f.message
        if any(f.fixes for f in mine):
            fixed = attrs.evolve(example, session=cptrules.dump_session(report.fixed()))
            again = check_example(rule, fixed, engine=engine, payer=payer)
            left = [f for f in again.findings if f.rule == rule.id and f.fixes]
            assert not [f for f in left if f in mine], f"fixes of {rule.id} did not clear it"
    else:
        assert not mine, f"{rule.id} example {n} should pass under {payer}: {mine}"
