"""modifier.* rules: REFERENCE.md 2.1 and 3 facts, the boundaries named in issue 5, fixes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cptrules
from cptrules.catalog import CodeInfo, catalog
from cptrules.ncci import bundled_tables
from cptrules.report import Finding
from cptrules.rules import REGISTRY
from cptrules.rules.modifiers import assistant_policy, assistant_units, kx_thresholds

ENGINE = cptrules.Engine(tables=bundled_tables())
POC = {"start": "2026-02-01", "end": "2026-04-30", "signed": "2026-02-10"}
THERAPY_MOD = {"PT": "GP", "OT": "GO", "SLP": "GN"}


def line(
    code: str, minutes: int | None = None, units: int = 1, *mods: str, **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code, "units": units, "modifiers": list(mods)}
    if minutes is not None:
        out["minutes"] = minutes
    out.update(extra)
    return out


def visit(
    *lines: dict[str, Any],
    discipline: str = "PT",
    payer: str = "medicare",
    dos: str = "2026-03-04",
    poc: dict[str, str] | None = POC,
    **top: Any,
) -> dict[str, Any]:
    s: dict[str, Any] = {
        "date_of_service": dos,
        "payer": payer,
        "provider": {"discipline": discipline},
        "treatment_day": 4,
        "lines": list(lines),
    }
    if poc is not None:
        s["plan_of_care"] = poc
    s.update(top)
    return s


def found(s: dict[str, Any], rule: str, engine: cptrules.Engine = ENGINE) -> list[Finding]:
    return [f for f in engine.check(s).findings if f.rule == rule]


def fixes(f: Finding) -> list[tuple[str, int, object]]:
    return [(x.action, x.line, x.value) for x in f.fixes]


def cleared(s: dict[str, Any], rule: str, engine: cptrules.Engine = ENGINE) -> bool:
    """Applying the report's fixes leaves no finding of ``rule``."""
    report = engine.check(s)
    again = engine.check(report.fixed())
    return not [f for f in again.findings if f.rule == rule]


def test_registered_with_contract_ids() -> None:
    for rid in (
        "modifier.therapy",
        "modifier.assistant",
        "modifier.kx",
        "modifier.distinct",
        "modifier.at",
        "modifier.unknown",
    ):
        r = REGISTRY[rid]
        assert r.citation
        assert r.summary
        assert r.func.__doc__
    assert REGISTRY["modifier.unknown"].confidence == "S"
    assert "single source" in REGISTRY["modifier.unknown"].citation


# ------------------------------------------------------------------ modifier.therapy


@pytest.mark.parametrize(("discipline", "need"), list(THERAPY_MOD.items()))
def test_therapist_missing_modifier_gets_own(discipline: str, need: str) -> None:
    s = visit(line("97530", 30, 2), discipline=discipline)
    (f,) = found(s, "modifier.therapy")
    assert f.severity == "error"
    assert fixes(f) == [("add_modifier", 0, need)]
    assert cleared(s, "modifier.therapy")


@pytest.mark.parametrize(("discipline", "need"), list(THERAPY_MOD.items()))
def test_therapist_own_modifier_passes(discipline: str, need: str) -> None:
    assert not found(visit(line("97530", 30, 2, need), discipline=discipline), "modifier.therapy")


def test_wrong_discipline_modifier_is_replaced() -> None:
    s = visit(line("97535", 30, 2, "GP"), discipline="OT")
    (f,) = found(s, "modifier.therapy")
    assert fixes(f) == [("remove_modifier", 0, "GP"), ("add_modifier", 0, "GO")]
    assert "replace GP with GO" in f.message
    assert cleared(s, "modifier.therapy")


def test_extra_modifier_beside_the_right_one_is_removed() -> None:
    s = visit(line("97110", 30, 2, "GP", "GO"))
    (f,) = found(s, "modifier.therapy")
    assert fixes(f) == [("remove_modifier", 0, "GO")]
    assert cleared(s, "modifier.therapy")


@pytest.mark.parametrize("code", ["97161", "97162", "97163", "97164"])
def test_pt_evaluations_take_gp(code: str) -> None:
    assert not found(visit(line(code, None, 1, "GP")), "modifier.therapy")
    (f,) = found(visit(line(code, None, 1, "GO")), "modifier.therapy")
    assert fixes(f) == [("remove_modifier", 0, "GO"), ("add_modifier", 0, "GP")]
    # an OT billing a PT evaluation: the code is wrong, no modifier fix can mend it
    (f,) = found(visit(line(code, None, 1, "GO"), discipline="OT"), "modifier.therapy")
    assert f.severity == "error"
    assert not f.fixes
    assert "physical therapy evaluation code" in f.message


@pytest.mark.parametrize("code", ["97165", "97166", "97167", "97168"])
def test_ot_evaluations_take_go(code: str) -> None:
    assert not found(visit(line(code, None, 1, "GO"), discipline="OT"), "modifier.therapy")
    (f,) = found(visit(line(code, None, 1, "GO")), "modifier.therapy")
    assert f.severity == "error"
    assert not f.fixes
    assert "occupational therapy evaluation code" in f.message
    assert "PT's own evaluation" in f.message


def test_evaluation_by_physician_takes_the_code_discipline() -> None:
    s = visit(line("97165", None, 1), discipline="MD")
    (f,) = found(s, "modifier.therapy")
    assert fixes(f) == [("add_modifier", 0, "GO")]
    assert cleared(s, "modifier.therapy")


def test_physician_therapy_needs_some_modifier_but_we_do_not_guess() -> None:
    (f,) = found(visit(line("97110", 30, 2), discipline="MD"), "modifier.therapy")
    assert f.severity == "warning"
    assert not f.fixes
    assert "GP, GO or GN" in f.message
    for mod in ("GP", "GO", "GN"):
        assert not found(visit(line("97110", 30, 2, mod), discipline="NP"), "modifier.therapy")
    (f,) = found(visit(line("97110", 30, 2, "GP", "GO"), discipline="PA"), "modifier.therapy")
    assert f.severity == "error"
    assert not f.fixes


def test_chiropractor_lines_left_to_coverage_rule() -> None:
    s = visit(line("97140", 15, 1, regions=["lumbar"]), discipline="DC", poc=None)
    assert not found(s, "modifier.therapy")


def test_never_therapy_codes_are_not_checked() -> None:
    s = visit(line("98940", None, 1, "AT", regions=["lumbar"]), discipline="PT")
    assert not found(s, "modifier.therapy")


def test_not_applied_where_profile_needs_no_therapy_modifiers() -> None:
    assert not found(visit(line("97110", 30, 2), payer="commercial"), "modifier.therapy")
    assert not found(visit(line("97110", 30, 2), payer="uhc-commercial"), "modifier.therapy")


def _engine_with_sometimes_code() -> cptrules.Engine:
    """An engine whose catalog lists 97597 as a 'sometimes therapy' code."""
    cat = catalog()
    info = CodeInfo(
        code="97597",
        label="Wound care (test entry)",
        timed=False,
        basis="session",
        therapy="sometimes",
        family="wound_care",
        confidence="test",
        max_units=1,
    )
    engine = cptrules.Engine(tables=bundled_tables())
    engine.catalog = attrs.evolve(cat, codes={**cat.codes, "97597": info})
    return engine


def test_sometimes_therapy_is_therapy_when_a_therapist_furnishes_it() -> None:
    engine = _engine_with_sometimes_code()
    s = visit(line("97597"))  # a PT: the code is therapy and needs GP
    (f,) = found(s, "modifier.therapy", engine)
    assert fixes(f) == [("add_modifier", 0, "GP")]
    assert "when a therapist furnishes it" in f.message


def test_sometimes_therapy_checked_only_with_a_therapy_modifier() -> None:
    engine = _engine_with_sometimes_code()
    assert not found(visit(line("97597"), discipline="MD"), "modifier.therapy", engine)
    assert not found(visit(line("97597", None, 1, "GP")), "modifier.therapy", engine)
    s = visit(line("97597", None, 1, "GO"))
    (f,) = found(s, "modifier.therapy", engine)
    assert fixes(f) == [("remove_modifier", 0, "GO"), ("add_modifier", 0, "GP")]
    assert cleared(s, "modifier.therapy", engine)


# --------------------------------------------------------------- modifier.assistant


@pytest.mark.parametrize(
    ("minutes", "assistant", "units", "over"),
    [
        (40, 1, 3, False),  # the third unit: PT 9 + PTA 1 minutes, exactly 10%
        (40, 2, 3, True),  # PT 8 + PTA 2: 20% of the third unit
        (30, 3, 2, True),  # 3 of 30 minutes is 10%, but the second unit is 12 + 3
        (30, 1, 2, False),
        (15, 2, 1, True),
        (20, 2, 1, False),  # the one unit is the PT's own full 15 minutes
        (100, 11, 7, True),  # two units left: PT 14 and PTA 11 minutes, one each
        (1000, 101, 67, True),
        (30, 0, 2, False),
        (30, 30, 2, True),
    ],
)
def test_assistant_ten_percent_of_each_unit(
    minutes: int, assistant: int, units: int, over: bool
) -> None:
    """CMS tests the 10% per 15-minute unit, not over the line's minutes."""
    s = visit(line("97110", minutes, units, "GP", assistant_minutes=assistant))
    got = found(s, "modifier.assistant")
    if over:
        (f,) = got
        assert f.severity == "error"
        assert fixes(f) == [("add_modifier", 0, "CQ")]
        assert f"{assistant} of 97110's {minutes} minutes" in f.message
        assert cleared(s, "modifier.assistant")
    else:
        assert not got


@pytest.mark.parametrize(
    ("minutes", "assistant", "units", "expected"),
    [
        (40, 3, 3, 1),  # PT 37, PTA 3
        (40, 33, 3, 3),  # PTA 33, PT 7: two full units and 3 of the last 10 minutes
        (36, 23, 2, 2),  # CMS example: PTA 23, PT 13
        (45, 15, 3, 1),  # PT 30, PTA 15: one full unit each side
        (15, 10, 1, 1),  # PTA 10, PT 5
        (50, 25, 3, 2),  # PT 25, PTA 25: a full unit each, then 10 + 10 for the third
        (25, 12, 2, 1),  # two units left, PT 13 and PTA 12 minutes: one each
        (30, 0, 2, 0),
    ],
)
def test_assistant_units_follow_cms_steps(
    minutes: int, assistant: int, units: int, expected: int
) -> None:
    assert assistant_units(minutes, assistant, units) == expected


def test_a_mixed_line_names_the_split() -> None:
    s = visit(line("97110", 40, 3, "GP", assistant_minutes=3))
    (f,) = found(s, "modifier.assistant")
    assert "1 of the 3 units" in f.message
    assert "second 97110 line with CQ" in f.message


def test_the_therapist_and_assistant_lines_of_one_code_pass_both_rules() -> None:
    s = visit(
        line("97110", 30, 2, "GP"),
        line("97110", 15, 1, "GP", "CQ", assistant_minutes=15),
    )
    report = ENGINE.check(s)
    assert [f.rule for f in report.findings if f.severity != "info"] == []


def test_ota_needs_co() -> None:
    s = visit(line("97535", 30, 2, "GO", assistant_minutes=8), discipline="OT")
    (f,) = found(s, "modifier.assistant")
    assert fixes(f) == [("add_modifier", 0, "CO")]
    assert not found(
        visit(line("97535", 30, 2, "GO", "CO", assistant_minutes=8), discipline="OT"),
        "modifier.assistant",
    )


@pytest.mark.parametrize("assistant", [None, 0])
@pytest.mark.parametrize(("discipline", "mods"), [("PT", ("GP", "CQ")), ("OT", ("GO", "CO"))])
def test_assistant_modifier_without_assistant_minutes(
    assistant: int | None, discipline: str, mods: tuple[str, ...]
) -> None:
    extra = {} if assistant is None else {"assistant_minutes": assistant}
    s = visit(line("97110", 30, 2, *mods, **extra), discipline=discipline)
    (f,) = found(s, "modifier.assistant")
    assert f.severity == "error"
    assert fixes(f) == [("remove_modifier", 0, mods[1])]
    assert cleared(s, "modifier.assistant")


def test_assistant_modifier_at_ten_percent_or_less_is_a_warning() -> None:
    s = visit(line("97110", 30, 2, "GP", "CQ", assistant_minutes=1))
    (f,) = found(s, "modifier.assistant")
    assert f.severity == "warning"
    assert fixes(f) == [("remove_modifier", 0, "CQ")]
    assert cleared(s, "modifier.assistant")


def test_cq_with_go_by_an_ot_becomes_co() -> None:
    s = visit(line("97535", 30, 2, "GO", "CQ", assistant_minutes=20), discipline="OT")
    (f,) = found(s, "modifier.assistant")
    assert f.severity == "error"
    assert fixes(f) == [("remove_modifier", 0, "CQ"), ("add_modifier", 0, "CO")]
    assert cleared(s, "modifier.assistant")


def test_co_with_gp_by_a_pt_becomes_cq() -> None:
    s = visit(line("97110", 30, 2, "GP", "CO", assistant_minutes=20))
    (f,) = found(s, "modifier.assistant")
    assert fixes(f) == [("remove_modifier", 0, "CO"), ("add_modifier", 0, "CQ")]
    assert cleared(s, "modifier.assistant")


def test_cq_with_go_by_a_pt_fixes_the_therapy_modifier_like_modifier_therapy() -> None:
    s = visit(line("97110", 30, 2, "GO", "CQ", assistant_minutes=20))
    (a,) = found(s, "modifier.assistant")
    (t,) = found(s, "modifier.therapy")
    assert fixes(a) == [("remove_modifier", 0, "GO"), ("add_modifier", 0, "GP")]
    assert fixes(a) == fixes(t)
    assert cleared(s, "modifier.assistant")
    assert cleared(s, "modifier.therapy")


def test_cq_with_go_by_a_physician_follows_go() -> None:
    s = visit(line("97110", 30, 2, "GO", "CQ", assistant_minutes=20), discipline="MD")
    (f,) = found(s, "modifier.assistant")
    assert fixes(f) == [("remove_modifier", 0, "CQ"), ("add_modifier", 0, "CO")]


def test_speech_therapy_has_no_assistant_modifier() -> None:
    (f,) = found(
        visit(line("97130", 30, 2, "GN", assistant_minutes=20), discipline="SLP"),
        "modifier.assistant",
    )
    assert f.severity == "warning"
    assert not f.fixes
    s = visit(line("97130", 30, 2, "GN", "CQ", assistant_minutes=20), discipline="SLP")
    got = found(s, "modifier.assistant")
    assert [fixes(f) for f in got if f.fixes] == [[("remove_modifier", 0, "CQ")]]


def test_assistant_modifier_on_a_non_therapy_code_is_removed() -> None:
    s = visit(line("98940", None, 1, "AT", "CQ", regions=["lumbar"]), discipline="DC", poc=None)
    (f,) = found(s, "modifier.assistant")
    assert fixes(f) == [("remove_modifier", 0, "CQ")]


def test_payment_differential_named_from_2022() -> None:
    poc_2021 = {"start": "2021-12-01", "end": "2022-02-15", "signed": "2021-12-05"}
    before = visit(line("97110", 30, 2, "GP", assistant_minutes=20), dos="2021-12-31", poc=poc_2021)
    after = visit(line("97110", 30, 2, "GP", assistant_minutes=20), dos="2022-01-01", poc=poc_2021)
    (f_before,) = found(before, "modifier.assistant")
    (f_after,) = found(after, "modifier.assistant")
    assert "85%" not in f_before.message
    assert "85%" in f_after.message
    assert assistant_policy().payment_from == dt.date(2022, 1, 1)


def test_assistant_rule_is_medicare_only() -> None:
    s = visit(line("97110", 30, 2, assistant_minutes=20), payer="commercial")
    assert not found(s, "modifier.assistant")


@settings(max_examples=150, deadline=None)
@given(
    minutes=st.integers(8, 1440),
    share=st.floats(0, 1),
    cq=st.booleans(),
)
def test_assistant_property(minutes: int, share: float, cq: bool) -> None:
    """CQ is asked for exactly when some billed unit is the assistant's; fixes clear the rule."""
    assistant = min(minutes, int(minutes * share))
    units = cptrules.units.total_time({"97110": minutes})["97110"]
    mods = ("GP", "CQ") if cq else ("GP",)
    s = visit(line("97110", minutes, units, *mods, assistant_minutes=assistant))
    got = found(s, "modifier.assistant")
    assert bool(got) == ((assistant_units(minutes, assistant, units) > 0) != cq)
    assert cleared(s, "modifier.assistant")


@settings(max_examples=300, deadline=None)
@given(minutes=st.integers(8, 600), a=st.integers(0, 600), b=st.integers(0, 600))
def test_assistant_units_invariants(minutes: int, a: int, b: int) -> None:
    """Within the units; none without assistant minutes, all when the assistant did all;
    more assistant minutes of the same service never fewer assistant units."""
    units = cptrules.units.total_time({"97110": minutes})["97110"]
    lo, hi = sorted((min(a, minutes), min(b, minutes)))
    assert 0 <= assistant_units(minutes, lo, units) <= assistant_units(minutes, hi, units) <= units
    assert assistant_units(minutes, 0, units) == 0
    assert assistant_units(minutes, minutes, units) == units


# ---------------------------------------------------------------------- modifier.kx


def _num(amount: object) -> object:
    """JSON has numbers, not decimal strings: "2480.01" -> 2480.01 (parsed back exactly)."""
    return float(amount) if isinstance(amount, str) else amount


def kx_visit(pt_slp: object = None, ot: object = None, **kw: Any) -> dict[str, Any]:
    discipline = kw.pop("discipline", "PT")
    mod = THERAPY_MOD[discipline]
    mods = kw.pop("mods", (mod,))
    return visit(
        line("97110", 30, 2, *mods),
        line("97530", 15, 1, *mods),
        discipline=discipline,
        therapy_ytd_allowed={"pt_slp": _num(pt_slp), "ot": _num(ot)},
        **kw,
    )


def test_thresholds_are_the_sourced_amounts() -> None:
    amounts = {y: t.kx for y, t in kx_thresholds().items()}
    assert amounts == {
        2020: Decimal("2080"),
        2021: Decimal("2110"),
        2022: Decimal("2150"),
        2023: Decimal("2230"),
        2024: Decimal("2330"),
        2025: Decimal("2410"),
        2026: Decimal("2480"),
    }
    assert {t.review for t in kx_thresholds().values()} == {Decimal("3000")}


@pytest.mark.parametrize(
    ("year", "threshold"),
    [(2022, "2150"), (2023, "2230"), (2024, "2330"), (2025, "2410"), (2026, "2480")],
)
def test_threshold_versus_one_cent_below(year: int, threshold: str) -> None:
    """KX is required from the threshold itself on: at it, every dollar of the visit is above."""
    poc = {"start": f"{year}-02-01", "end": f"{year}-04-30", "signed": f"{year}-02-10"}
    below = kx_visit(str(Decimal(threshold) - Decimal("0.01")), dos=f"{year}-03-04", poc=poc)
    at = kx_visit(threshold, dos=f"{year}-03-04", poc=poc)
    assert not [f for f in found(below, "modifier.kx") if f.severity == "error"]
    got = found(at, "modifier.kx")
    assert [(f.line, f.severity) for f in got] == [(0, "error"), (1, "error")]
    assert all(fixes(f) == [("add_modifier", f.line, "KX")] for f in got)
    assert f"${Decimal(threshold):,.2f}" in got[0].message
    assert cleared(at, "modifier.kx")


def test_calendar_year_boundary_chooses_the_threshold() -> None:
    poc = {"start": "2025-12-01", "end": "2026-02-15", "signed": "2025-12-05"}
    # 2450 is past 2025's 2410 but below 2026's 2480 (and within 10% of it)
    dec31 = found(kx_visit("2450", dos="2025-12-31", poc=poc), "modifier.kx")
    jan1 = found(kx_visit("2450", dos="2026-01-01", poc=poc), "modifier.kx")
    assert {f.severity for f in dec31} == {"error"}
    assert [(f.line, f.severity) for f in jan1] == [(None, "warning")]


@pytest.mark.parametrize(
    ("ytd", "warned"),
    [("2231.99", False), ("2232.00", True), ("2479.99", True)],
)
def test_warning_within_ten_percent_below(ytd: str, warned: bool) -> None:
    got = found(kx_visit(ytd), "modifier.kx")
    if warned:
        (f,) = got
        assert (f.line, f.severity) == (None, "warning")
        assert "$2,480.00" in f.message
        assert ytd not in f.message
    else:
        assert not got


def test_no_warning_when_kx_already_on_the_lines() -> None:
    assert not found(kx_visit("2300", mods=("GP", "KX")), "modifier.kx")


@pytest.mark.parametrize(("ytd", "noted"), [("3000.00", False), ("3000.01", True)])
def test_review_threshold(ytd: str, noted: bool) -> None:
    got = found(kx_visit(ytd, mods=("GP", "KX")), "modifier.kx")
    assert [(f.line, f.severity) for f in got] == ([(None, "info")] if noted else [])
    if noted:
        assert "$3,000.00" in got[0].message
        assert ytd not in got[0].message


def test_buckets_pt_slp_and_ot_are_apart() -> None:
    # OT amount past the threshold: PT lines need nothing, OT lines need KX
    assert not found(kx_visit("100", "2500"), "modifier.kx")
    ot = found(kx_visit("2500", "100", discipline="OT"), "modifier.kx")
    assert not ot
    ot = found(kx_visit("100", "2500", discipline="OT"), "modifier.kx")
    assert [f.severity for f in ot] == ["error", "error"]
    # SLP shares the PT bucket
    slp = found(kx_visit("2500", "100", discipline="SLP"), "modifier.kx")
    assert [f.severity for f in slp] == ["error", "error"]


def test_missing_bucket_amount_is_not_checked() -> None:
    assert not found(kx_visit(None, "100"), "modifier.kx")
    s = visit(line("97110", 30, 2, "GP"))
    assert not found(s, "modifier.kx")


@pytest.mark.parametrize(("year", "amount"), [(2020, "2080"), (2021, "2110")])
def test_kx_2020_and_2021_thresholds(year: int, amount: str) -> None:
    poc = {"start": f"{year}-02-01", "end": f"{year}-04-30", "signed": f"{year}-02-10"}
    below = found(kx_visit(f"{int(amount) - 1}.99", dos=f"{year}-03-04", poc=poc), "modifier.kx")
    at = found(kx_visit(amount, dos=f"{year}-03-04", poc=poc), "modifier.kx")
    assert {f.severity for f in below} == {"warning"}
    assert {f.severity for f in at} == {"error"}


def test_kx_well_below_threshold_is_an_info_without_fix() -> None:
    got = found(kx_visit("1000", mods=("GP", "KX")), "modifier.kx")
    assert [(f.line, f.severity, f.fixes) for f in got] == [(0, "info", ()), (1, "info", ())]


@pytest.mark.parametrize("year", [2027])
def test_years_without_a_sourced_threshold_say_so_once(year: int) -> None:
    poc = {"start": f"{year}-02-01", "end": f"{year}-04-30", "signed": f"{year}-02-10"}
    got = found(kx_visit("9999", dos=f"{year}-03-04", poc=poc), "modifier.kx")
    (f,) = got
    assert (f.line, f.severity, f.fixes) == (None, "info", ())
    assert f"no KX threshold for {year}" in f.message


def test_kx_fixes_go_on_the_lines_that_also_get_gp() -> None:
    s = visit(
        line("97110", 30, 2), line("97530", 15, 1, "GP"), therapy_ytd_allowed={"pt_slp": 2600}
    )
    assert [f.line for f in found(s, "modifier.kx")] == [0, 1]
    assert cleared(s, "modifier.kx")
    assert cleared(s, "modifier.therapy")


def test_kx_rule_is_medicare_only() -> None:
    assert not found(kx_visit("2600", payer="commercial"), "modifier.kx")


# ---------------------------------------------------------------- modifier.distinct


@pytest.mark.parametrize("x", ["XE", "XS", "XP", "XU"])
def test_59_with_an_x_modifier(x: str) -> None:
    s = visit(line("97150", None, 1, "GP"), line("97140", 15, 1, "GP", "59", x))
    (f,) = found(s, "modifier.distinct")
    assert (f.line, f.severity) == (1, "error")
    assert fixes(f) == [("remove_modifier", 1, "59")]
    assert cleared(s, "modifier.distinct")


@pytest.mark.parametrize(
    ("code", "dos", "em"),
    [
        ("99201", "2020-06-01", True),
        ("99202", "2026-03-04", True),
        ("99213", "2026-03-04", True),
        ("99499", "2026-03-04", True),
        ("99500", "2026-03-04", False),
    ],
)
def test_59_on_em_codes(code: str, dos: str, em: bool) -> None:
    s = {
        "date_of_service": dos,
        "payer": "commercial",
        "provider": {"discipline": "DO"},
        "lines": [line(code, None, 1, "59", "XE")],
    }
    got = found(s, "modifier.distinct")
    if em:
        (f,) = got
        assert f.severity == "error"
        assert "E/M" in f.message
        assert fixes(f) == [("remove_modifier", 0, "59"), ("remove_modifier", 0, "XE")]
        assert cleared(s, "modifier.distinct")
    else:
        assert "E/M" not in " ".join(f.message for f in got)


def test_59_where_no_edit_needs_it() -> None:
    s = visit(line("97110", 30, 2, "GP", "59"), line("97112", 15, 1, "GP"))
    (f,) = found(s, "modifier.distinct")
    assert (f.line, f.severity) == (0, "warning")
    assert "audits" in f.message
    assert fixes(f) == [("remove_modifier", 0, "59")]
    assert cleared(s, "modifier.distinct")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("97150", "97140"),  # modifier on 97140, column 2 of the bundled row
        ("97140", "97150"),  # modifier on 97150, column 1: either column counts
        ("98940", "97140"),  # modifier on 97140, column 2
        ("97140", "98940"),  # modifier on the CMT, column 1: either column counts
        ("97012", "97140"),
    ],
)
def test_59_where_an_edit_pairs_the_code(first: str, second: str) -> None:
    s = visit(line(first, 30, 2), line(second, 15, 1, "XS"), payer="commercial")
    assert not found(s, "modifier.distinct")


def test_edit_must_be_in_force_on_the_date_of_service() -> None:
    class Later:
        """Bundled pairs, all taking effect only in 2027."""

        version = "test"
        has_mue = False

        def ptp(self, codes: frozenset[str], day: dt.date) -> tuple[Any, ...]:
            if day < dt.date(2027, 1, 1):
                return ()
            return bundled_tables().ptp(codes, day)

        def mue(self, codes: frozenset[str], day: dt.date) -> dict[str, Any]:
            return {}

    engine = cptrules.Engine(tables=Later())  # duck-typed: EditTables is a Protocol
    s = visit(line("97150", None, 1, "GP"), line("97140", 15, 1, "GP", "59"))
    assert [f.severity for f in found(s, "modifier.distinct", engine)] == ["warning"]


def test_no_edit_tables_no_overuse_warning(tmp_path: Path) -> None:
    profile = tmp_path / "no-ncci.toml"
    profile.write_text(
        'id = "no-ncci"\nname = "Test payer without NCCI"\neffective = 2020-01-01\n'
        'source = "test"\nunit_method = "per-code"\ntherapy_modifiers = false\n'
        "ncci = false\ncmt_at_modifier = false\n",
        encoding="utf-8",
    )
    engine = cptrules.Engine(profiles=[profile], tables=bundled_tables())
    alone = visit(line("97110", 30, 2, "59"), payer="no-ncci")
    assert not found(alone, "modifier.distinct", engine)
    both = visit(line("97110", 30, 2, "59", "XU"), payer="no-ncci")
    assert [f.severity for f in found(both, "modifier.distinct", engine)] == ["error"]


# ---------------------------------------------------------------------- modifier.at


def cmt(*mods: str, code: str = "98940", payer: str = "medicare") -> dict[str, Any]:
    regions = {"98940": ["lumbar"], "98941": ["cervical", "thoracic", "lumbar"]}.get(
        code, ["cervical", "thoracic", "lumbar", "sacral", "pelvic"]
    )
    return visit(
        line(code, None, 1, *mods, regions=regions), discipline="DC", poc=None, payer=payer
    )


@pytest.mark.parametrize("code", ["98940", "98941", "98942"])
def test_cmt_without_at(code: str) -> None:
    s = cmt(code=code)
    (f,) = found(s, "modifier.at")
    assert f.severity == "error"
    assert fixes(f) == [("add_modifier", 0, "AT")]
    assert "maintenance" in f.message
    assert "GA" in f.message
    assert cleared(s, "modifier.at")
    assert not found(cmt("AT", code=code), "modifier.at")


@pytest.mark.parametrize("liability", ["GA", "GX", "GY", "GZ"])
def test_at_with_a_liability_modifier(liability: str) -> None:
    s = cmt("AT", liability)
    (f,) = found(s, "modifier.at")
    assert fixes(f) == [("remove_modifier", 0, "AT")]
    assert cleared(s, "modifier.at")
    assert not found(cmt(liability), "modifier.at")


def test_at_rule_follows_the_profile_setting() -> None:
    assert not found(cmt(payer="commercial"), "modifier.at")
    assert not found(cmt(payer="aetna"), "modifier.at")


# ----------------------------------------------------------------- modifier.unknown


def test_four_modifiers_fit_five_do_not() -> None:
    four = visit(line("97110", 30, 2, "GP", "KX", "RT", "59"))
    five = visit(line("97110", 30, 2, "GP", "KX", "RT", "59", "CQ", assistant_minutes=20))
    assert not found(four, "modifier.unknown")
    (f,) = found(five, "modifier.unknown")
    assert (f.severity, f.fixes) == ("error", ())
    assert "5 modifiers" in f.message


def test_unknown_modifier_is_a_warning() -> None:
    (f,) = found(visit(line("97110", 30, 2, "GP", "ZZ")), "modifier.unknown")
    assert (f.severity, f.fixes) == ("warning", ())
    assert "ZZ" in f.message
    assert "catalog" in f.message


def test_every_modifier_the_rules_add_is_known() -> None:
    known = catalog().modifiers
    for m in (
        "GP",
        "GO",
        "GN",
        "CQ",
        "CO",
        "KX",
        "AT",
        "GA",
        "GX",
        "GY",
        "GZ",
        "59",
        "XE",
        "XS",
        "XP",
        "XU",
        "25",
    ):
        assert m in known


@pytest.mark.parametrize(
    "payer", ["medicare", "commercial", "aetna", "anthem", "bcbs-mn", "uhc-commercial"]
)
def test_unknown_rule_runs_for_every_payer(payer: str) -> None:
    assert found(visit(line("97110", 30, 2, "ZZ"), payer=payer), "modifier.unknown")


# ---------------------------------------------------------------------- privacy


def test_messages_never_echo_the_accrued_amount() -> None:
    s = kx_visit("2987.65", "2876.54", mods=("GP",))
    for f in ENGINE.check(s).findings:
        assert "2987" not in f.message
        assert "2876" not in f.message
        assert "2,987" not in f.message
        assert "2,876" not in f.message


@settings(max_examples=120, deadline=None)
@given(
    discipline=st.sampled_from(["PT", "OT", "SLP", "MD", "NP", "DC"]),
    code=st.sampled_from(["97110", "97530", "97535", "97140", "97161", "97166", "97012"]),
    mods=st.sets(st.sampled_from(["GP", "GO", "GN", "CQ", "CO", "KX"]), max_size=3),
    assistant=st.integers(0, 30),
)
def test_modifier_fixes_never_leave_their_own_finding(
    discipline: str, code: str, mods: set[str], assistant: int
) -> None:
    """Whatever the modifiers, applying the fixes clears every fixable modifier.* finding."""
    info = catalog().codes[code]
    minutes = 30 if info.timed else None
    extra = {"assistant_minutes": assistant} if minutes else {}
    s = visit(
        line(code, minutes, 2 if minutes else 1, *sorted(mods), **extra),
        discipline=discipline,
        therapy_ytd_allowed={"pt_slp": 2600, "ot": 2600},
    )
    report = ENGINE.check(s)
    again = ENGINE.check(report.fixed())
    mine = {f for f in report.findings if f.rule.startswith("modifier.") and f.fixes}
    left = {f for f in again.findings if f.rule.startswith("modifier.") and f.fixes}
    assert not mine & left
    # nor do they uncover a new fixable error of these rules
    assert not [f for f in left if f.severity == "error"]
    # the fixes agree: they never ask for two therapy or two assistant modifiers
    fixed_mods = set(report.fixed().lines[0].modifiers)
    # (not where no modifier fix can help: a non-therapist's plan or another discipline's code)
    wrong_code = (
        info.discipline is not None and discipline in THERAPY_MOD and info.discipline != discipline
    )
    if discipline in THERAPY_MOD and not wrong_code:
        assert len(fixed_mods & {"GP", "GO", "GN"}) == 1
        assert len(fixed_mods & {"CQ", "CO"}) <= 1


def test_a_pt_billing_an_slp_evaluation_is_not_told_of_complexity_levels() -> None:
    (f,) = found(visit(line("92607", None, 1, "GP")), "modifier.therapy")
    assert "speech-language pathology evaluation code" in f.message
    assert "only a speech-language pathologist bills it, with GN" in f.message
    assert "complexity" not in f.message
    (f,) = found(visit(line("97161", None, 1, "GN"), discipline="SLP"), "modifier.therapy")
    assert "cannot be billed by an SLP" in f.message
    assert "complexity" not in f.message


def test_messages_name_the_profiles_payer_not_medicare(tmp_path: Path) -> None:
    """A commercial profile that asks for GP/GO/GN and AT gets its own name in messages."""
    profile = tmp_path / "acme.toml"
    profile.write_text(
        'id = "acme"\nname = "Acme Health"\nextends = "commercial"\neffective = 2020-01-01\n'
        'source = "Acme provider manual"\ntherapy_modifiers = true\ncmt_at_modifier = true\n'
        "[sources]\n"
        'therapy_modifiers = "Acme provider manual"\ncmt_at_modifier = "Acme provider manual"\n',
        encoding="utf-8",
    )
    engine = cptrules.Engine(profiles=[profile])
    therapy = engine.check(visit(line("97110", 30, 2)), payer="acme")
    dc = visit(line("98940", None, 1, regions=["lumbar"]), discipline="DC", poc=None)
    at = engine.check(dc, payer="acme")
    rules = ("modifier.therapy", "modifier.at")
    got = [f.message for f in (*therapy.findings, *at.findings) if f.rule in rules]
    assert got
    assert all("Medicare" not in m for m in got), got
    assert any("Acme Health" in m for m in got)
