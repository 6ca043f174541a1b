"""The strategies' public face: argument checking, reprs, vocabularies, raw dicts, the hook."""

from __future__ import annotations

import copy
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import cptrules
from cptrules import strategies
from cptrules.catalog import catalog
from cptrules.strategies._build import env_of
from cptrules.strategies._dicts import CORRUPTIONS

FAST = settings(max_examples=40, deadline=None)


def test_import_cptrules_does_not_import_hypothesis() -> None:
    code = (
        "import sys, cptrules\n"
        "cptrules.check({'date_of_service': '2026-03-04', 'payer': 'medicare',"
        " 'provider': {'discipline': 'PT'},"
        " 'lines': [{'code': '97110', 'minutes': 30, 'modifiers': ['GP']}]})\n"
        "assert 'hypothesis' not in sys.modules, 'hypothesis imported'\n"
        "import cptrules.strategies\n"
        "assert 'hypothesis' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("strategy", "text"),
    [
        (lambda: strategies.clean_sessions(), "clean_sessions()"),
        (lambda: strategies.clean_sessions(payer="aetna"), "clean_sessions(payer='aetna')"),
        (
            lambda: strategies.faulty_sessions(rule="poc.missing"),
            "faulty_sessions(rule='poc.missing')",
        ),
        (lambda: strategies.sessions(payer="medicare"), "sessions(payer='medicare')"),
        (lambda: strategies.invalid_session_dicts(), "invalid_session_dicts()"),
        (lambda: strategies.npis(), "npis()"),
    ],
)
def test_repr_reads_like_the_call(strategy: Any, text: str) -> None:
    assert repr(strategy()) == text


@pytest.mark.parametrize(
    "make",
    [
        lambda: strategies.clean_sessions(payer="nobody"),
        lambda: strategies.clean_sessions(payer=None),  # type: ignore[arg-type]  # the point
        lambda: strategies.clean_sessions(disciplines=["RN"]),
        lambda: strategies.clean_sessions(disciplines="PT"),
        lambda: strategies.clean_sessions(min_date="2026-01-01"),  # type: ignore[arg-type]  # the point
        lambda: strategies.clean_sessions(
            min_date=cptrules.load_session(
                {
                    "date_of_service": "2026-03-04",
                    "payer": "medicare",
                    "provider": {"discipline": "PT"},
                    "lines": [{"code": "97110"}],
                }
            ).date_of_service,
            max_date=cptrules.load_session(
                {
                    "date_of_service": "2026-03-03",
                    "payer": "medicare",
                    "provider": {"discipline": "PT"},
                    "lines": [{"code": "97110"}],
                }
            ).date_of_service,
        ),
        lambda: strategies.codes(timed="yes"),  # type: ignore[arg-type]  # the point
        lambda: strategies.codes(payer="medicaid"),
        lambda: strategies.modifiers(kinds=["nonsense"]),
        lambda: strategies.modifiers(kinds=["therapy"], known=False),
        lambda: strategies.techniques(code="99999"),
        lambda: strategies.techniques(code="97035"),
        lambda: strategies.minutes(min_value=-1),
        lambda: strategies.minutes(min_value=30, max_value=10),
        lambda: strategies.minutes(max_value=True),
        lambda: strategies.sessions(min_lines=0),
        lambda: strategies.sessions(min_lines=5, max_lines=2),
        lambda: strategies.service_lines(code="9714"),
        lambda: strategies.service_lines(diagnoses=13),
        lambda: strategies.providers(disciplines=[]),
        lambda: strategies.faulty_sessions(rule="unknown.id"),
        lambda: strategies.faulty_sessions(rule=7),  # type: ignore[arg-type]  # the point
        lambda: strategies.faulty_sessions(rule="poc.missing", payer="nobody"),
        lambda: strategies.session_dicts(payer=3),  # type: ignore[arg-type]  # the point
        lambda: strategies.invalid_session_dicts(payer="x"),
        lambda: strategies.clean_sessions(engine="default"),  # type: ignore[arg-type]  # the point
        lambda: strategies.faulty_sessions(rule="poc.missing", engine=object()),  # type: ignore[arg-type]  # the point
        lambda: strategies.faulty_sessions(
            rule="poc.missing", engine=cptrules.Engine(disabled=["poc.missing"])
        ),
    ],
)
def test_bad_arguments_raise_invalid_argument(make: Any) -> None:
    with pytest.raises(InvalidArgument):
        make()


def test_rule_for_another_payer_names_the_payers_it_applies_to() -> None:
    with pytest.raises(InvalidArgument, match="applies to medicare"):
        strategies.faulty_sessions(rule="poc.missing", payer="aetna")
    with pytest.raises(InvalidArgument, match="aetna"):
        strategies.faulty_sessions(rule="units.per-code", payer="medicare")


def test_rules_without_a_fault_strategy() -> None:
    """Every contract rule has an injector; only data-bound ones may be unavailable."""
    from cptrules.strategies._faults import FAULTS

    assert set(strategies.CONTRACT_RULES) <= set(FAULTS)
    unavailable = {r for r, f in FAULTS.items() if not f.available(env_of(None))}
    assert unavailable <= {"ncci.mue"}
    for rule in unavailable:
        with pytest.raises(InvalidArgument, match="current data"):
            strategies.faulty_sessions(rule=rule)


@FAST
@given(strategies.codes(timed=True))
def test_timed_codes_are_timed(code: str) -> None:
    assert catalog().codes[code].timed


@FAST
@given(strategies.codes(payer="medicare"), strategies.codes(payer="commercial"))
def test_payer_codes_leave_out_what_the_payer_does_not_pay(medicare: str, other: str) -> None:
    assert medicare not in {"97010", "97014"}
    assert other != "G0283"


@FAST
@given(strategies.modifiers(known=False), strategies.modifiers(kinds=["therapy"]))
def test_modifiers(unknown: str, therapy: str) -> None:
    assert unknown not in catalog().modifiers
    assert len(unknown) == 2
    assert therapy in {"GP", "GO", "GN"}


@FAST
@given(strategies.regions(spinal=True), strategies.techniques(code="97140"))
def test_regions_and_techniques(region: str, technique: str) -> None:
    assert catalog().regions[region]
    assert catalog().techniques[technique] == "manual_therapy"


@FAST
@given(strategies.minutes(min_value=8, max_value=22))
def test_minutes_in_range(m: int) -> None:
    assert 8 <= m <= 22


@FAST
@given(strategies.session_dicts())
def test_session_dicts_load(data: dict[str, Any]) -> None:
    session = cptrules.load_session(data)
    assert cptrules.load_session(cptrules.dump_session(session)) == session


@FAST
@given(strategies.invalid_session_dicts())
def test_invalid_session_dicts_are_rejected(data: dict[str, Any]) -> None:
    with pytest.raises(cptrules.InvalidSessionError) as info:
        cptrules.load_session(data)
    assert info.value.errors


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=lambda c: c.__name__.strip("_"))
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_each_corruption_is_rejected(corruption: Any, data: st.DataObject) -> None:
    valid = cptrules.dump_session(data.draw(strategies.sessions()))
    broken = copy.deepcopy(valid)
    corruption(data.draw, broken)
    with pytest.raises(cptrules.InvalidSessionError):
        cptrules.load_session(broken)


def test_corruptions_are_varied() -> None:
    assert len(CORRUPTIONS) >= 20


@FAST
@given(
    st.from_type(cptrules.Session),
    st.from_type(cptrules.ServiceLine),
    st.from_type(cptrules.Provider),
    st.from_type(cptrules.PlanOfCare),
    st.from_type(cptrules.Documentation),
)
def test_hook_registers_type_strategies(
    session: cptrules.Session,
    line: cptrules.ServiceLine,
    provider: cptrules.Provider,
    plan: cptrules.PlanOfCare,
    doc: cptrules.Documentation,
) -> None:
    assert cptrules.load_session(cptrules.dump_session(session)) == session
    wrapped = cptrules.Session(
        date_of_service=session.date_of_service,
        payer=session.payer,
        provider=provider,
        lines=(line,),
        plan_of_care=plan,
    )
    assert cptrules.load_session(cptrules.dump_session(wrapped)) == wrapped
    assert plan.start <= plan.end
    assert isinstance(doc, cptrules.Documentation)
