"""coverage.*: Medicare chiropractor benefit, replaced and bundled codes, NCD 30.3.3,
who may bill, and the subluxation diagnosis of CMT."""

from __future__ import annotations

from typing import Any

import pytest

import cptrules
import cptrules.ncci
from cptrules.report import Finding
from cptrules.rules import REGISTRY
from cptrules.rules.coverage import ACUPUNCTURE_CODES, NCD_30_3_3_START

ENGINE = cptrules.Engine(tables=cptrules.ncci.bundled_tables())
RULES = (
    "coverage.chiropractor",
    "coverage.replaced-code",
    "coverage.bundled",
    "coverage.acupuncture",
    "coverage.provider",
    "coverage.subluxation",
)
POC = {"start": "2026-02-01", "end": "2026-04-30", "signed": "2026-02-10"}
EX_97110 = {"code": "97110", "minutes": 23, "units": 2, "modifiers": ["GP"]}


def pt(*lines: dict[str, Any], payer: str = "medicare", **top: Any) -> dict[str, Any]:
    """A PT visit on 2026-03-04 with a plan of care in force."""
    s: dict[str, Any] = {
        "date_of_service": "2026-03-04",
        "payer": payer,
        "provider": {"discipline": "PT"},
        "diagnoses": ["M54.50"],
        "plan_of_care": POC,
        "total_treatment_minutes": 40,
        "lines": list(lines),
    }
    s.update(top)
    return s


def dc(*lines: dict[str, Any], payer: str = "medicare") -> dict[str, Any]:
    """A chiropractic visit: 98941 with AT on three regions, plus ``lines``."""
    cmt = {
        "code": "98941",
        "units": 1,
        "modifiers": ["AT"],
        "regions": ["cervical", "thoracic", "lumbar"],
        "diagnosis_pointers": [1, 2, 3],
    }
    return {
        "date_of_service": "2026-03-04",
        "payer": payer,
        "provider": {"discipline": "DC"},
        "diagnoses": ["M99.01", "M99.02", "M99.03", "M25.511"],
        "lines": [cmt, *lines],
    }


def acu(
    day: str = "2026-03-04",
    diagnoses: list[str] | None = None,
    pointers: list[int] | None = None,
    code: str = "97813",
    payer: str = "medicare",
) -> dict[str, Any]:
    """One acupuncture/dry needling line by a physician."""
    line: dict[str, Any] = {"code": code, "units": 1}
    if code in ("20560", "20561"):
        line["muscles"] = 2 if code == "20560" else 3
    if pointers is not None:
        line["diagnosis_pointers"] = pointers
    s: dict[str, Any] = {
        "date_of_service": day,
        "payer": payer,
        "provider": {"discipline": "MD"},
        "lines": [line],
    }
    if diagnoses is not None:
        s["diagnoses"] = diagnoses
    return s


def found(s: dict[str, Any] | cptrules.Session, rule: str) -> list[Finding]:
    return [f for f in ENGINE.check(s).findings if f.rule == rule]


def refixed(s: dict[str, Any], rule: str) -> list[Finding]:
    """The rule's findings after applying every fix of the first check."""
    return [f for f in ENGINE.check(ENGINE.check(s).fixed()).findings if f.rule == rule]


# --- the rules' own examples ------------------------------------------------------


@pytest.mark.parametrize("rid", RULES)
def test_examples_fire_as_declared_and_fixes_clear(rid: str) -> None:
    r = REGISTRY[rid]
    assert any(e.fails for e in r.examples)
    assert any(not e.fails for e in r.examples)
    for ex in r.examples:
        hits = found(dict(ex.session), rid)
        assert bool(hits) == ex.fails, ex.note
        if any(f.fixes for f in hits):
            assert refixed(dict(ex.session), rid) == [], ex.note


@pytest.mark.parametrize("rid", RULES)
def test_medicare_only(rid: str) -> None:
    r = REGISTRY[rid]
    assert r.payers == ("medicare",)
    for ex in r.examples:
        if ex.fails:
            s = dict(ex.session)
            s["payer"] = "commercial"
            assert found(s, rid) == [], ex.note


# --- coverage.chiropractor ------------------------------------------------------


def test_dc_97140_without_gy_is_an_error_and_gy_fixes_it() -> None:
    manual = {"code": "97140", "minutes": 10, "units": 1, "regions": ["upper_extremity"]}
    s = dc(manual)
    (f,) = found(s, "coverage.chiropractor")
    assert (f.severity, f.line) == ("error", 1)
    assert f.fixes == (cptrules.Fix("add_modifier", 1, "GY"),)
    assert "98940-98942" in f.message
    assert "GY" in f.message
    assert refixed(s, "coverage.chiropractor") == []


def test_dc_evaluation_and_management_is_not_a_benefit() -> None:
    (f,) = found(dc({"code": "99213", "units": 1}), "coverage.chiropractor")
    assert f.line == 1
    assert "99213" in f.message


def test_dc_extraspinal_with_at_gets_gy_and_loses_at() -> None:
    s = dc({"code": "98943", "units": 1, "modifiers": ["AT"], "regions": ["lower_extremity"]})
    (f,) = found(s, "coverage.chiropractor")
    assert set(f.fixes) == {
        cptrules.Fix("add_modifier", 1, "GY"),
        cptrules.Fix("remove_modifier", 1, "AT"),
    }
    fixed = ENGINE.check(s).fixed()
    assert fixed.lines[1].modifiers == ("GY",)
    assert refixed(s, "coverage.chiropractor") == []


@pytest.mark.parametrize("code", ["98940", "98941", "98942"])
def test_dc_cmt_is_covered(code: str) -> None:
    s = dc()
    s["lines"][0]["code"] = code
    s["lines"][0]["regions"] = ["cervical", "thoracic", "lumbar", "sacral", "pelvic"][
        : {"98940": 2, "98941": 3, "98942": 5}[code]
    ]
    assert found(s, "coverage.chiropractor") == []


def test_other_disciplines_and_gy_lines_are_silent() -> None:
    s = dc({"code": "97140", "minutes": 10, "units": 1, "modifiers": ["GY"]})
    assert found(s, "coverage.chiropractor") == []
    s = pt({"code": "97140", "minutes": 23, "units": 2, "modifiers": ["GP"]})
    assert found(s, "coverage.chiropractor") == []
    assert (
        found(dc({"code": "97140", "minutes": 10}, payer="commercial"), "coverage.chiropractor")
        == []
    )


# --- coverage.replaced-code -----------------------------------------------------


def test_97014_becomes_g0283() -> None:
    s = pt(EX_97110, {"code": "97014", "units": 1, "modifiers": ["GP"]})
    (f,) = found(s, "coverage.replaced-code")
    assert (f.severity, f.line) == ("error", 1)
    assert f.fixes == (cptrules.Fix("replace_code", 1, "G0283"),)
    fixed = ENGINE.check(s).fixed()
    assert fixed.lines[1].code == "G0283"
    assert fixed.lines[1].modifiers == ("GP",)
    assert refixed(s, "coverage.replaced-code") == []


def test_97014_is_fine_for_commercial_payers() -> None:
    s = pt(EX_97110, {"code": "97014", "units": 1}, payer="commercial")
    assert found(s, "coverage.replaced-code") == []


# --- coverage.bundled -----------------------------------------------------------


def test_97010_with_other_services_is_removed() -> None:
    s = pt(EX_97110, {"code": "97010", "units": 1, "modifiers": ["GP"]})
    (f,) = found(s, "coverage.bundled")
    assert (f.severity, f.line) == ("error", 1)
    assert f.fixes == (cptrules.Fix("remove_line", 1),)
    fixed = ENGINE.check(s).fixed()
    assert [ln.code for ln in fixed.lines] == ["97110"]
    assert refixed(s, "coverage.bundled") == []


@pytest.mark.parametrize("n", [1, 2])
def test_97010_alone_has_no_fix(n: int) -> None:
    s = pt(*[{"code": "97010", "units": 1, "modifiers": ["GP"]}] * n)
    hits = found(s, "coverage.bundled")
    assert len(hits) == n
    assert all(f.severity == "error" and f.fixes == () for f in hits)
    assert "Do not send" in hits[0].message
    ENGINE.check(s).fixed()  # no fix of this rule empties the claim


def test_97010_is_not_this_rules_business_for_commercial() -> None:
    s = pt(EX_97110, {"code": "97010", "units": 1}, payer="commercial")
    assert found(s, "coverage.bundled") == []


# --- coverage.acupuncture -------------------------------------------------------


def test_ncd_start_is_2020_01_21() -> None:
    assert NCD_30_3_3_START.isoformat() == "2020-01-21"


def test_day_before_ncd_is_not_covered_for_any_diagnosis() -> None:
    (f,) = found(acu("2020-01-20", ["M54.5"], [1]), "coverage.acupuncture")
    assert f.severity == "error"
    assert "2020-01-21" in f.message
    assert "NCD 30.3" in f.citation


def test_ncd_start_day_covers_low_back_pain() -> None:
    assert found(acu("2020-01-21", ["M54.5"], [1]), "coverage.acupuncture") == []


def test_ncd_start_day_still_needs_low_back_pain() -> None:
    (f,) = found(acu("2020-01-21", ["M25.561"], [1]), "coverage.acupuncture")
    assert "chronic low back pain" in f.message


@pytest.mark.parametrize("dx", ["M54.5", "M54.50", "M54.51", "M54.59"])
def test_low_back_pain_codes_pass(dx: str) -> None:
    assert found(acu(diagnoses=["M25.561", dx], pointers=[2]), "coverage.acupuncture") == []


@pytest.mark.parametrize("dx", ["M54.40", "M54.2", "M25.561", "M54.6", "G89.29"])
def test_other_codes_fail_without_echoing_them(dx: str) -> None:
    (f,) = found(acu(diagnoses=[dx], pointers=[1]), "coverage.acupuncture")
    assert f.severity == "error"
    assert f.fixes == ()
    assert dx not in f.message
    assert dx.replace(".", "") not in f.message
    assert "single-source reading" in f.citation


def test_pointers_decide_when_present() -> None:
    # Low back pain is on the visit, but the line points only at the knee.
    assert found(acu(diagnoses=["M54.50", "M25.561"], pointers=[2]), "coverage.acupuncture")
    assert not found(acu(diagnoses=["M25.561", "M54.50"], pointers=[1, 2]), "coverage.acupuncture")


def test_without_pointers_all_visit_diagnoses_count() -> None:
    assert found(acu(diagnoses=["M25.561", "M54.59"]), "coverage.acupuncture") == []
    (f,) = found(acu(diagnoses=["M25.561"]), "coverage.acupuncture")
    assert "no diagnosis on the visit" in f.message


def test_no_diagnoses_at_all_fails() -> None:
    assert found(acu(diagnoses=None), "coverage.acupuncture")


@pytest.mark.parametrize("code", sorted(ACUPUNCTURE_CODES))
def test_every_acupuncture_and_dry_needling_code(code: str) -> None:
    assert found(acu(diagnoses=["M79.18"], pointers=[1], code=code), "coverage.acupuncture")
    assert not found(acu(diagnoses=["M54.50"], pointers=[1], code=code), "coverage.acupuncture")


def test_acupuncture_rule_can_be_switched_off_or_regraded() -> None:
    s = acu(diagnoses=["M25.561"], pointers=[1])
    off = cptrules.Engine(tables=cptrules.ncci.bundled_tables(), disabled=["coverage.acupuncture"])
    assert not [f for f in off.check(s).findings if f.rule == "coverage.acupuncture"]
    soft = cptrules.Engine(
        tables=cptrules.ncci.bundled_tables(), severities={"coverage.acupuncture": "warning"}
    )
    (f,) = [f for f in soft.check(s).findings if f.rule == "coverage.acupuncture"]
    assert f.severity == "warning"


# --- coverage.provider ----------------------------------------------------------


@pytest.mark.parametrize("discipline", ["LMT", "ATC", "LAC"])
def test_therapy_by_a_provider_medicare_does_not_pay(discipline: str) -> None:
    s = pt({"code": "97124", "minutes": 30, "units": 2, "modifiers": ["GP"]})
    s["provider"] = {"discipline": discipline}
    (f,) = found(s, "coverage.provider")
    assert (f.line, f.severity, f.fixes) == (0, "error", ())
    assert "42 CFR 410.59" in f.citation


@pytest.mark.parametrize("discipline", ["PT", "OT", "SLP", "MD", "DO", "NP", "PA"])
def test_therapy_by_a_therapist_or_physician_is_silent(discipline: str) -> None:
    s = pt(EX_97110)
    s["provider"] = {"discipline": discipline}
    assert found(s, "coverage.provider") == []


@pytest.mark.parametrize("code", sorted(ACUPUNCTURE_CODES))
@pytest.mark.parametrize("discipline", ["PT", "OT", "LMT", "LAC", "ATC"])
def test_needling_outside_ncd_30_3_3(code: str, discipline: str) -> None:
    s = acu(code=code, diagnoses=["M54.50"])
    s["provider"] = {"discipline": discipline}
    (f,) = found(s, "coverage.provider")
    assert "NCD 30.3.3" in f.citation
    assert "NCD 30.3.3" in f.message


@pytest.mark.parametrize("discipline", ["MD", "DO", "NP", "PA"])
def test_needling_by_ncd_practitioners_is_silent(discipline: str) -> None:
    s = acu(code="20561", diagnoses=["M54.50"])
    s["provider"] = {"discipline": discipline}
    assert found(s, "coverage.provider") == []


def test_sometimes_therapy_without_a_therapy_modifier_is_not_therapy() -> None:
    s = pt({"code": "29530", "units": 1})
    s["provider"] = {"discipline": "ATC"}
    assert found(s, "coverage.provider") == []
    s["lines"][0]["modifiers"] = ["GP"]
    assert len(found(s, "coverage.provider")) == 1


def test_chiropractor_is_left_to_the_chiropractor_rule() -> None:
    assert found(dc({"code": "97813", "units": 1}), "coverage.provider") == []


# --- coverage.subluxation -------------------------------------------------------


def test_cmt_without_subluxation_diagnosis() -> None:
    s = dc()
    s["diagnoses"] = ["M54.2"]
    s["lines"][0]["diagnosis_pointers"] = [1]
    (f,) = found(s, "coverage.subluxation")
    assert (f.line, f.severity, f.fixes) == (0, "error", ())
    assert "M99.00-M99.05" in f.message


@pytest.mark.parametrize("primary", ["M99.00", "M99.01", "M99.05", "m9903"])
def test_subluxation_primary_passes(primary: str) -> None:
    s = dc()
    s["diagnoses"] = [primary, "M54.2"]
    s["lines"][0]["diagnosis_pointers"] = [1, 2]
    if primary == "m9903":
        return  # the parser decides the spelling of diagnosis codes
    assert found(s, "coverage.subluxation") == []


@pytest.mark.parametrize("other", ["M99.06", "M99.11", "M54.50", "S13.4XXA"])
def test_other_primaries_fail(other: str) -> None:
    s = dc()
    s["diagnoses"] = [other, "M99.01"]
    s["lines"][0]["diagnosis_pointers"] = [1, 2]
    assert len(found(s, "coverage.subluxation")) == 1


def test_cmt_with_gy_is_left_alone() -> None:
    s = dc()
    s["diagnoses"] = ["M54.2"]
    s["lines"][0]["modifiers"] = ["GY"]
    s["lines"][0]["diagnosis_pointers"] = [1]
    assert found(s, "coverage.subluxation") == []


def test_cmt_without_any_diagnosis() -> None:
    s = dc()
    del s["diagnoses"]
    del s["lines"][0]["diagnosis_pointers"]
    (f,) = found(s, "coverage.subluxation")
    assert "no diagnosis" in f.message


# --- a chiropractor's E/M visit -------------------------------------------------------


def _em(*mods: str) -> dict[str, Any]:
    return {"code": "99213", "units": 1, "modifiers": list(mods), "diagnosis_pointers": [1]}


def test_medicare_pays_a_chiropractor_for_no_em_visit() -> None:
    """Pub. 100-02 ch. 15 sec. 240.1.1: GY, one finding (modifier.em-25 stays silent)."""
    report = ENGINE.check(dc(_em()))
    assert [(f.rule, f.line) for f in report.findings if f.severity == "error"] == [
        ("coverage.chiropractor", 1)
    ]
    (f,) = found(dc(_em()), "coverage.chiropractor")
    assert "99213 (an E/M visit)" in f.message
    settled = ENGINE.check(report.fixed())
    assert settled.ok
    assert "GY" in settled.fixed().lines[1].modifiers


@pytest.mark.parametrize("payer", ["commercial", "aetna", "uhc-commercial"])
def test_a_commercial_payer_wants_25_on_a_chiropractors_em_beside_cmt(payer: str) -> None:
    assert found(dc(_em(), payer=payer), "coverage.chiropractor") == []
    (f,) = found(dc(_em(), payer=payer), "modifier.em-25")
    assert f.line == 1
    assert [(x.action, x.value) for x in f.fixes] == [("add_modifier", "25")]
    assert "Medicare" not in f.message
    assert found(dc(_em("25"), payer=payer), "modifier.em-25") == []
