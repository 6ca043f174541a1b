"""doc.manual-therapy and doc.timed-minutes: elements, severities, boundaries, privacy."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cptrules
import cptrules.ncci
from cptrules.report import Finding

ENGINE = cptrules.Engine(tables=cptrules.ncci.bundled_tables())

# Distinct sentinels: a message that contains one has leaked documentation text.
RESPONSE = "SENTINEL-RESPONSE tolerated grade III mobilization"
RATIONALE = "SENTINEL-RATIONALE graded mobilization needs skilled judgment"
GOALS = "SENTINEL-GOALS goal 2 sit 30 minutes"
SENTINELS = ("SENTINEL", "mobilization needs", "tolerated", "sit 30")


def manual_line(**overrides: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "code": "97140",
        "minutes": 23,
        "units": 2,
        "modifiers": ["GP"],
        "regions": ["lumbar"],
        "techniques": ["joint_mobilization"],
        "documentation": {"response": RESPONSE, "rationale": RATIONALE, "goals": GOALS},
    }
    line.update(overrides)
    return {k: v for k, v in line.items() if v is not None}


def session(*lines: dict[str, Any], payer: str = "medicare", **top: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "date_of_service": "2026-03-04",
        "payer": payer,
        "provider": {"discipline": "PT"},
        "plan_of_care": {"start": "2026-02-01", "end": "2026-04-30", "signed": "2026-02-10"},
        "total_treatment_minutes": 55,
        "lines": list(lines)
        or [
            {"code": "97110", "minutes": 30, "units": 2, "modifiers": ["GP"]},
            manual_line(),
        ],
    }
    s.update(top)
    return {k: v for k, v in s.items() if v is not None}


def found(s: dict[str, Any], rule: str) -> list[Finding]:
    return [f for f in ENGINE.check(s).findings if f.rule == rule]


def assert_no_leak(findings: list[Finding]) -> None:
    for f in findings:
        for sentinel in SENTINELS:
            assert sentinel not in f.message


# --------------------------------------------------------------------------- doc.manual-therapy

MT = "doc.manual-therapy"


def test_complete_97140_is_clean() -> None:
    assert found(session(), MT) == []


@pytest.mark.parametrize(
    ("change", "severity", "word"),
    [
        ({"techniques": None}, "error", "technique"),
        ({"techniques": []}, "error", "technique"),
        ({"regions": None}, "error", "region"),
        ({"documentation": {"rationale": RATIONALE, "goals": GOALS}}, "warning", "response"),
        ({"documentation": {"response": RESPONSE, "goals": GOALS}}, "warning", "rationale"),
        ({"documentation": {"response": RESPONSE, "rationale": RATIONALE}}, "info", "goal"),
    ],
)
def test_each_missing_element_is_one_finding(
    change: dict[str, Any], severity: str, word: str
) -> None:
    s = session({"code": "97110", "minutes": 30, "modifiers": ["GP"]}, manual_line(**change))
    got = found(s, MT)
    assert [(f.severity, f.line) for f in got] == [(severity, 1)]
    assert word in got[0].message
    assert "97140" in got[0].message
    assert got[0].fixes == ()
    assert_no_leak(got)


@pytest.mark.parametrize("blank", ["", " ", "\t\n  "])
def test_whitespace_only_text_is_missing(blank: str) -> None:
    doc = {"response": blank, "rationale": RATIONALE, "goals": GOALS}
    got = found(session(manual_line(documentation=doc)), MT)
    assert [f.severity for f in got] == ["warning"]
    assert "response" in got[0].message


def test_one_character_of_text_is_present() -> None:
    doc = {"response": " x ", "rationale": "y", "goals": "z"}
    assert found(session(manual_line(documentation=doc)), MT) == []


def test_no_documentation_and_nothing_recorded_gives_five_findings() -> None:
    s = session(manual_line(techniques=None, regions=None, documentation=None))
    got = found(s, MT)
    assert sorted(f.severity for f in got) == ["error", "error", "info", "warning", "warning"]
    assert {f.line for f in got} == {0}
    assert not ENGINE.check(s).ok


def test_findings_are_per_97140_line_only() -> None:
    s = session(
        {"code": "97110", "minutes": 30, "modifiers": ["GP"]},  # no technique: not 97140
        manual_line(regions=None),
        manual_line(minutes=None, units=None, techniques=None),
    )
    got = found(s, MT)
    assert sorted((f.line, f.severity) for f in got) == [(1, "error"), (2, "error")]


def test_any_recorded_technique_counts_here() -> None:
    # Whether massage belongs on 97140 is code.technique's business, not this rule's.
    assert found(session(manual_line(techniques=["massage"])), MT) == []


@pytest.mark.parametrize("payer", ["medicare", "commercial", "aetna", "uhc-commercial"])
def test_applies_to_every_payer_and_discipline(payer: str) -> None:
    s = session(manual_line(regions=None), payer=payer, provider={"discipline": "DC"})
    assert [f.severity for f in found(s, MT)] == ["error"]


def test_no_97140_no_findings() -> None:
    s = session({"code": "97110", "minutes": 30, "modifiers": ["GP"]})
    assert found(s, MT) == []


def test_messages_never_echo_documentation_text() -> None:
    # Every element missing in turn, the others carrying sentinel text.
    for field in ("response", "rationale", "goals"):
        doc = {"response": RESPONSE, "rationale": RATIONALE, "goals": GOALS}
        doc[field] = "   "
        got = found(session(manual_line(documentation=doc, regions=None)), MT)
        assert len(got) == 2
        assert_no_leak(got)
        for f in got:
            assert RESPONSE not in f.message
            assert RATIONALE not in f.message
            assert GOALS not in f.message


def test_severity_can_be_regraded_by_the_engine() -> None:
    eng = cptrules.Engine(tables=cptrules.ncci.bundled_tables(), severities={MT: "warning"})
    got = [f for f in eng.check(session(manual_line(regions=None))).findings if f.rule == MT]
    assert [f.severity for f in got] == ["warning"]


# --------------------------------------------------------------------------- doc.timed-minutes

TM = "doc.timed-minutes"


def timed_session(total: int | None, payer: str = "medicare", **top: Any) -> dict[str, Any]:
    """97110 30 + 97140 23 = 53 timed minutes."""
    return session(payer=payer, total_treatment_minutes=total, **top)


@pytest.mark.parametrize(("total", "fires"), [(53, False), (52, True), (54, False), (0, True)])
def test_timed_minutes_boundary(total: int, fires: bool) -> None:
    got = found(timed_session(total), TM)
    assert bool(got) is fires
    if fires:
        (f,) = got
        assert f.severity == "error"
        assert f.line is None
        assert "53 minutes" in f.message
        assert f"{total} minutes" in f.message
        assert f"({53 - total} over)" in f.message


@pytest.mark.parametrize("payer", ["commercial", "aetna", "bcbs-mn"])
def test_timed_minutes_over_total_for_every_payer(payer: str) -> None:
    assert [f.severity for f in found(timed_session(52, payer), TM)] == ["error"]


def test_minutes_of_one_code_on_several_lines_are_summed() -> None:
    s = session(
        {"code": "97110", "minutes": 20, "modifiers": ["GP"]},
        {"code": "97110", "minutes": 20, "modifiers": ["GP"]},
        total_treatment_minutes=39,
    )
    assert len(found(s, TM)) == 1
    s["total_treatment_minutes"] = 40
    assert found(s, TM) == []


def test_untimed_minutes_do_not_count() -> None:
    s = session(
        {"code": "97110", "minutes": 30, "modifiers": ["GP"]},
        {"code": "97012", "minutes": 15, "modifiers": ["GP"]},
        total_treatment_minutes=30,
    )
    assert found(s, TM) == []


def test_missing_total_on_medicare_is_info() -> None:
    got = found(timed_session(None), TM)
    assert [(f.severity, f.line) for f in got] == [("info", None)]
    assert "total_treatment_minutes" in got[0].message


@pytest.mark.parametrize("payer", ["commercial", "aetna", "uhc-commercial"])
def test_missing_total_elsewhere_says_nothing(payer: str) -> None:
    assert found(timed_session(None, payer), TM) == []


def test_missing_total_without_timed_minutes_says_nothing() -> None:
    s = session({"code": "97012", "modifiers": ["GP"]}, total_treatment_minutes=None)
    assert found(s, TM) == []
    s = session({"code": "97140", "modifiers": ["GP"]}, total_treatment_minutes=None)
    assert found(s, TM) == []  # minutes missing: units.missing-minutes' business


def test_examples_do_not_mutate() -> None:
    ex = session()
    before = copy.deepcopy(ex)
    ENGINE.check(ex)
    assert ex == before


@settings(max_examples=150, deadline=None)
@given(
    minutes=st.lists(st.integers(0, 120), min_size=1, max_size=4),
    total=st.integers(0, 400),
)
def test_fires_exactly_when_timed_sum_exceeds_total(minutes: list[int], total: int) -> None:
    codes = ["97110", "97112", "97116", "97530"]
    lines = [
        {"code": c, "minutes": m, "modifiers": ["GP"]} for c, m in zip(codes, minutes, strict=False)
    ]
    got = found(session(*lines, total_treatment_minutes=total), TM)
    assert bool(got) is (sum(minutes) > total)
    assert all(f.severity == "error" for f in got)
