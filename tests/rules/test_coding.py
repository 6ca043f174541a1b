"""code.*: technique vs code, same-region with CMT, CMT/OMT/dry-needling counts."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cptrules
import cptrules.ncci
from cptrules.catalog import catalog
from cptrules.ncci.tables import MemoryTables
from cptrules.report import Finding, Fix
from cptrules.rules import REGISTRY

ENGINE = cptrules.Engine(tables=cptrules.ncci.bundled_tables())
RULES = ("code.technique", "code.same-region", "code.cmt-regions")
PAYERS = ("medicare", "commercial", "aetna", "anthem", "uhc-commercial", "bcbs-mn")
SPINAL = ("cervical", "thoracic", "lumbar", "sacral", "pelvic")
BODY = (
    "head",
    "cervical",
    "thoracic",
    "lumbar",
    "sacral",
    "pelvic",
    "upper_extremity",
    "lower_extremity",
    "rib_cage",
    "abdomen",
)
DOC = {"response": "Improved", "rationale": "Skilled technique", "goals": "Goal 1"}


def visit(
    *lines: dict[str, Any], payer: str = "commercial", discipline: str = "PT"
) -> dict[str, Any]:
    """A visit on 2026-03-04 with a plan of care in force."""
    return {
        "date_of_service": "2026-03-04",
        "payer": payer,
        "provider": {"discipline": discipline},
        "diagnoses": ["M54.50"],
        "plan_of_care": {"start": "2026-02-01", "end": "2026-04-30", "signed": "2026-02-10"},
        "total_treatment_minutes": 60,
        "lines": list(lines),
    }


def line(code: str, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code}
    out.update(kw)
    return out


def manual(
    techniques: list[str], minutes: int = 23, units: int | None = 2, **kw: Any
) -> dict[str, Any]:
    out = line(
        "97140", minutes=minutes, regions=["lumbar"], techniques=techniques, documentation=DOC
    )
    if units is not None:
        out["units"] = units
    out.update(kw)
    return out


def cmt(code: str, regions: list[str] | tuple[str, ...]) -> dict[str, Any]:
    return line(code, units=1, regions=list(regions), techniques=["spinal_manipulation"])


def found(s: dict[str, Any] | cptrules.Session, rule: str) -> list[Finding]:
    return [f for f in ENGINE.check(s).findings if f.rule == rule]


def refixed(s: dict[str, Any], rule: str) -> list[Finding]:
    """The rule's findings after applying every fix of the first check."""
    return [f for f in ENGINE.check(ENGINE.check(s).fixed()).findings if f.rule == rule]


def fixed_codes(s: dict[str, Any]) -> list[str]:
    return [ln.code for ln in ENGINE.check(s).fixed().lines]


# --- the rules' own examples ------------------------------------------------------


@pytest.mark.parametrize("rid", RULES)
@pytest.mark.parametrize("payer", PAYERS)
def test_examples_fire_as_declared_and_fixes_clear(rid: str, payer: str) -> None:
    r = REGISTRY[rid]
    assert r.payers == ("*",)
    assert any(e.fails for e in r.examples)
    assert any(not e.fails for e in r.examples)
    for ex in r.examples:
        if ex.payers is not None and payer not in ex.payers:
            continue
        s = dict(ex.session)
        s["payer"] = payer
        hits = found(s, rid)
        assert bool(hits) == ex.fails, ex.note
        if any(f.fixes for f in hits):
            assert refixed(s, rid) == [], ex.note


# --- code.technique -------------------------------------------------------------


def test_massage_alone_on_97140_becomes_97124() -> None:
    s = visit(manual(["massage"]))
    (f,) = found(s, "code.technique")
    assert f.severity == "error"
    assert f.fixes == (Fix("replace_code", 0, "97124"),)
    assert "re-check" not in f.message  # no other timed line whose units could shift
    assert fixed_codes(s) == ["97124"]
    assert refixed(s, "code.technique") == []


def test_massage_mixed_with_manual_techniques_says_split_and_has_no_fix() -> None:
    (f,) = found(visit(manual(["massage", "soft_tissue_mobilization"])), "code.technique")
    assert f.fixes == ()
    assert "split" in f.message
    assert "97124" in f.message


@pytest.mark.parametrize(
    ("muscles", "code"), [(1, "20560"), (2, "20560"), (3, "20561"), (9, "20561")]
)
def test_dry_needling_on_97140_by_muscles(muscles: int, code: str) -> None:
    s = visit(manual(["dry_needling"], minutes=12, units=1, muscles=muscles))
    (f,) = found(s, "code.technique")
    assert Fix("replace_code", 0, code) in f.fixes
    assert fixed_codes(s) == [code]
    assert refixed(s, "code.technique") == []
    assert found(ENGINE.check(s).fixed(), "code.cmt-regions") == []


def test_dry_needling_without_muscles_names_both_codes_and_has_no_fix() -> None:
    (f,) = found(visit(manual(["dry_needling"], minutes=12, units=1)), "code.technique")
    assert f.fixes == ()
    assert "20560" in f.message
    assert "20561" in f.message
    assert "muscles" in f.message


def test_mechanical_traction_on_97140_becomes_97012_with_one_unit() -> None:
    s = visit(manual(["mechanical_traction"], minutes=25, units=2))
    (f,) = found(s, "code.technique")
    assert set(f.fixes) == {Fix("replace_code", 0, "97012"), Fix("set_units", 0, 1)}
    fixed = ENGINE.check(s).fixed()
    assert (fixed.lines[0].code, fixed.lines[0].units) == ("97012", 1)
    assert refixed(s, "code.technique") == []
    assert found(fixed, "units.untimed") == []


def test_manual_traction_on_97012_becomes_97140() -> None:
    s = visit(
        line("97012", minutes=20, units=1, regions=["lumbar"], techniques=["manual_traction"])
    )
    (f,) = found(s, "code.technique")
    assert Fix("replace_code", 0, "97140") in f.fixes
    assert fixed_codes(s) == ["97140"]
    assert refixed(s, "code.technique") == []


def test_manual_traction_on_97012_without_minutes_asks_for_minutes() -> None:
    (f,) = found(visit(line("97012", units=1, techniques=["manual_traction"])), "code.technique")
    assert f.fixes == ()
    assert "minutes" in f.message


def test_recoding_a_timed_line_recomputes_units_under_total_time() -> None:
    # 97110 30 min + 97140 (massage) 10 min = 40 min -> 3 units; 97124 gets 1.
    s = visit(
        line("97110", minutes=30, units=2, modifiers=["GP"]),
        manual(["massage"], minutes=10, units=1, modifiers=["GP"]),
        payer="medicare",
    )
    (f,) = found(s, "code.technique")
    assert f.fixes == (Fix("replace_code", 1, "97124"),)
    assert "re-check the units" in f.message
    # Billed 3 units for 23 minutes of massage alone: the fix resets them.
    s = visit(manual(["massage"], minutes=23, units=3))
    (f,) = found(s, "code.technique")
    assert set(f.fixes) == {Fix("replace_code", 0, "97124"), Fix("set_units", 0, 2)}


def test_target_already_billed_means_merge_not_replace() -> None:
    s = visit(line("97124", minutes=10, units=1, regions=["thoracic"]), manual(["massage"]))
    (f,) = found(s, "code.technique")
    assert f.line == 1
    assert f.fixes == ()
    assert "already billed" in f.message


def test_spinal_manipulation_on_97140_goes_to_cmt_by_regions() -> None:
    s = visit(manual(["spinal_manipulation"], regions=["cervical", "thoracic", "lumbar"]))
    (f,) = found(s, "code.technique")
    assert Fix("replace_code", 0, "98941") in f.fixes


def test_two_foreign_families_get_two_findings_without_fixes() -> None:
    hits = found(visit(manual(["massage", "dry_needling"], muscles=2)), "code.technique")
    assert len(hits) == 2
    assert all(f.fixes == () for f in hits)


@pytest.mark.parametrize(
    ("code", "techniques"),
    [
        ("98940", ["spinal_manipulation", "joint_manipulation"]),
        ("98943", ["joint_manipulation"]),
        ("98926", ["myofascial_release", "muscle_energy_technique", "spinal_manipulation"]),
        ("97161", ["joint_mobilization", "therapeutic_exercise"]),
        ("97150", ["therapeutic_exercise"]),
        ("99213", ["massage"]),
        ("97110", ["therapeutic_exercise"]),
    ],
)
def test_techniques_that_fit_are_silent(code: str, techniques: list[str]) -> None:
    regions = ["cervical", "thoracic"] if code.startswith("989") else []
    s = visit(line(code, units=1, minutes=15, regions=regions, techniques=techniques))
    assert found(s, "code.technique") == []


def test_exercise_documented_on_97530_points_to_97110() -> None:
    (f,) = found(
        visit(line("97530", minutes=23, units=2, techniques=["therapeutic_exercise"])),
        "code.technique",
    )
    assert f.fixes == (Fix("replace_code", 0, "97110"),)


TECHNIQUES = sorted(catalog().techniques)
CODES = ["97140", "97124", "97012", "97110", "97112", "97530", "97116", "20560", "98941", "97810"]


@settings(max_examples=150, deadline=None)
@given(
    code=st.sampled_from(CODES),
    techniques=st.lists(st.sampled_from(TECHNIQUES), min_size=1, max_size=3, unique=True),
    minutes=st.one_of(st.none(), st.integers(8, 60)),
    units=st.one_of(st.none(), st.integers(1, 4)),
    muscles=st.one_of(st.none(), st.integers(1, 6)),
    regions=st.lists(st.sampled_from(SPINAL), max_size=5, unique=True),
    payer=st.sampled_from(("medicare", "commercial")),
)
def test_technique_fixes_always_clear_their_finding(
    code: str,
    techniques: list[str],
    minutes: int | None,
    units: int | None,
    muscles: int | None,
    regions: list[str],
    payer: str,
) -> None:
    ln = line(code, techniques=techniques, regions=regions)
    for key, value in (("minutes", minutes), ("units", units), ("muscles", muscles)):
        if value is not None:
            ln[key] = value
    s = visit(ln, payer=payer)
    hits = found(s, "code.technique")
    for f in hits:
        assert f.severity == "error"
        assert f.line == 0
        assert f.message.endswith(".")
    if any(f.fixes for f in hits):
        assert len(hits) == 1
        assert refixed(s, "code.technique") == []


# --- code.same-region -----------------------------------------------------------


def chiro(*lines: dict[str, Any]) -> dict[str, Any]:
    return visit(*lines, discipline="DC")


@pytest.mark.parametrize(
    ("code", "conf"),
    [
        ("97140", "four sources agree"),
        ("97112", "two sources agree"),
        ("97124", "two sources agree"),
    ],
)
def test_cmt_region_treated_again_is_an_error_even_with_xs(code: str, conf: str) -> None:
    s = chiro(
        cmt("98940", ["cervical", "thoracic"]),
        line(code, minutes=10, units=1, modifiers=["XS"], regions=["thoracic"]),
    )
    (f,) = found(s, "code.same-region")
    assert (f.severity, f.line, f.fixes) == ("error", 1, ())
    assert "thoracic" in f.message
    assert f"({conf})" in f.citation


def test_different_region_from_cmt_is_fine() -> None:
    s = chiro(
        cmt("98940", ["cervical"]),
        line("97140", minutes=10, units=1, modifiers=["XS"], regions=["sacral", "upper_extremity"]),
    )
    assert found(s, "code.same-region") == []


def test_regions_of_several_cmt_lines_add_up() -> None:
    s = chiro(
        cmt("98940", ["cervical"]),
        cmt("98940", ["pelvic"]),
        line("97112", minutes=10, units=1, regions=["pelvic"]),
    )
    assert len(found(s, "code.same-region")) == 1


def test_unlisted_region_cannot_be_judged() -> None:
    s = chiro(cmt("98941", SPINAL[:3]), line("97140", minutes=10, units=1))
    assert found(s, "code.same-region") == []


def test_without_cmt_nothing_is_compared_with_it() -> None:
    s = visit(
        line("97112", minutes=10, units=1, regions=["lumbar"]), manual(["joint_mobilization"])
    )
    assert found(s, "code.same-region") == []


@pytest.mark.parametrize("payer", PAYERS)
def test_97124_and_97140_where_the_edit_table_pairs_them_is_ncci_only(payer: str) -> None:
    """One fact, one finding: the CMS indicator-0 pair 97140/97124 is ncci.ptp's."""
    s = visit(
        manual(["joint_mobilization"], regions=["lumbar", "upper_extremity"]),
        line("97124", minutes=10, units=1, regions=["upper_extremity"]),
        payer=payer,
    )
    report = ENGINE.check(s)
    assert [f for f in report.findings if f.rule == "code.same-region"] == []
    ptp = [f for f in report.findings if f.rule == "ncci.ptp" and f.line == 1]
    assert len(ptp) == 1
    assert ptp[0].severity == "error"


def test_97124_and_97140_on_one_region_without_the_pair_is_a_warning_citing_it() -> None:
    s = visit(
        manual(["joint_mobilization"], regions=["lumbar", "upper_extremity"]),
        line("97124", minutes=10, units=1, regions=["upper_extremity"]),
    )
    bundled = cptrules.ncci.bundled_tables()
    others = [e for e in bundled.edits() if {e.column1, e.column2} != {"97124", "97140"}]
    engine = cptrules.Engine(tables=MemoryTables("without-97140-97124", others))
    (f,) = [x for x in engine.check(s).findings if x.rule == "code.same-region"]
    assert (f.severity, f.line, f.fixes) == ("warning", 1, ())
    assert "97140/97124, modifier indicator 0" in f.citation
    assert "upper_extremity" in f.message


def test_97124_and_97140_on_different_regions_is_fine() -> None:
    s = visit(
        manual(["joint_mobilization"]), line("97124", minutes=10, units=1, regions=["cervical"])
    )
    assert found(s, "code.same-region") == []


# --- code.cmt-regions -----------------------------------------------------------


def cmt_expected(n: int) -> str:
    return "98940" if n <= 2 else "98941" if n <= 4 else "98942"


@pytest.mark.parametrize("billed", ["98940", "98941", "98942"])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_cmt_code_by_spinal_region_count(billed: str, n: int) -> None:
    s = chiro(cmt(billed, SPINAL[:n]))
    hits = found(s, "code.cmt-regions")
    right = cmt_expected(n)
    if billed == right:
        assert hits == []
        return
    (f,) = hits
    assert f.fixes == (Fix("replace_code", 0, right),)
    # Billing a higher code than documented is an error; a lower one, money left behind.
    assert f.severity == ("error" if billed > right else "warning")
    assert fixed_codes(s) == [right]
    assert refixed(s, "code.cmt-regions") == []


@pytest.mark.parametrize(
    ("billed", "n", "right"),
    [("98940", 2, None), ("98940", 3, "98941"), ("98941", 4, None), ("98941", 5, "98942")],
)
def test_cmt_boundaries_2_3_and_4_5(billed: str, n: int, right: str | None) -> None:
    hits = found(chiro(cmt(billed, SPINAL[:n])), "code.cmt-regions")
    assert [f.fixes for f in hits] == ([] if right is None else [(Fix("replace_code", 0, right),)])


def test_only_spinal_regions_count_for_cmt() -> None:
    s = chiro(cmt("98941", ["cervical", "thoracic", "upper_extremity", "rib_cage"]))
    (f,) = found(s, "code.cmt-regions")
    assert f.fixes == (Fix("replace_code", 0, "98940"),)


def test_spinal_region_subsets_all_map_to_one_code() -> None:
    for n in range(1, 6):
        for regions in combinations(SPINAL, n):
            assert found(chiro(cmt(cmt_expected(n), regions)), "code.cmt-regions") == []


def test_cmt_without_regions_is_an_error_without_fix() -> None:
    (f,) = found(chiro(cmt("98940", [])), "code.cmt-regions")
    assert (f.severity, f.fixes) == ("error", ())
    assert "spinal region" in f.message
    assert "98943" not in f.message


def test_cmt_on_extraspinal_regions_only_points_to_98943() -> None:
    (f,) = found(chiro(cmt("98940", ["upper_extremity"])), "code.cmt-regions")
    assert f.fixes == ()
    assert "98943" in f.message


OMT = ("98925", "98926", "98927", "98928", "98929")


@pytest.mark.parametrize("billed", OMT)
@pytest.mark.parametrize("n", range(1, 11))
def test_omt_code_by_body_region_count(billed: str, n: int) -> None:
    s = visit(line(billed, units=1, regions=list(BODY[:n])), discipline="DO")
    hits = found(s, "code.cmt-regions")
    right = OMT[(n - 1) // 2]
    if billed == right:
        assert hits == []
        return
    (f,) = hits
    assert f.fixes == (Fix("replace_code", 0, right),)
    assert f.severity == ("error" if billed > right else "warning")
    assert refixed(s, "code.cmt-regions") == []


def test_omt_without_regions_is_an_error() -> None:
    (f,) = found(visit(line("98925", units=1), discipline="DO"), "code.cmt-regions")
    assert (f.severity, f.fixes) == ("error", ())


@pytest.mark.parametrize(
    ("billed", "muscles", "right", "severity"),
    [
        ("20560", 1, None, None),
        ("20560", 2, None, None),
        ("20560", 3, "20561", "warning"),
        ("20561", 2, "20560", "error"),
        ("20561", 3, None, None),
        ("20561", 12, None, None),
    ],
)
def test_dry_needling_code_by_muscles(
    billed: str, muscles: int, right: str | None, severity: str | None
) -> None:
    s = visit(line(billed, units=1, muscles=muscles))
    hits = found(s, "code.cmt-regions")
    if right is None:
        assert hits == []
        return
    (f,) = hits
    assert (f.severity, f.fixes) == (severity, (Fix("replace_code", 0, right),))
    assert refixed(s, "code.cmt-regions") == []


def test_dry_needling_without_muscles_is_a_warning() -> None:
    (f,) = found(visit(line("20561", units=1)), "code.cmt-regions")
    assert (f.severity, f.fixes) == ("warning", ())
    assert "muscles" in f.message
