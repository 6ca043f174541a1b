"""Claim mode: an 837P carries no minutes, clock times or documentation.

Rules that need them are not run and one ``claim.not-checked`` info names them;
rules on codes, units, modifiers, diagnoses, discipline and payer run in full;
minutes passed beside the claim let the timed-unit rules run.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

import cptrules
from cptrules import x12
from cptrules.rules import REGISTRY
from cptrules.x12 import ClaimReport, ClaimVisit, X12Error

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "real" / "x12"

#: the rules that read minutes, clock times or documentation
MINUTE_RULES = {r.id for r in REGISTRY.values() if "minutes" in r.needs}


def claim(*lines: dict[str, Any], discipline: str = "PT", dx: tuple[str, ...] = ()) -> str:
    """A one-claim 837P (claim id C1) of ``lines`` for Medicare on 2026-03-04."""
    data: dict[str, Any] = {
        "date_of_service": "2026-03-04",
        "payer": "medicare",
        "provider": {"discipline": discipline},
        "lines": list(lines),
    }
    if dx:
        data["diagnoses"] = list(dx)
    return x12.dump_837([cptrules.load_session(data)])


def line(code: str, units: int, *mods: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "units": units, "modifiers": list(mods), **extra}


def check(text: str, **kw: Any) -> ClaimReport:
    [visit] = x12.read_837(text, **kw)
    assert isinstance(visit, ClaimVisit), visit
    return x12.check_visit(visit)


def rules_of(report: ClaimReport) -> set[str]:
    return {f.rule for f in report.report.findings}


THERAPY = claim(line("97110", 2, "GP"), line("97140", 1, "GP"))


def test_a_therapy_claim_has_no_minute_errors_and_one_not_checked_info() -> None:
    report = check(THERAPY)
    assert report.visit.carries == frozenset()
    assert report.ok
    assert not rules_of(report) & MINUTE_RULES
    [info] = [f for f in report.report.findings if f.rule == "claim.not-checked"]
    assert (info.severity, info.line) == ("info", None)
    for rid in ("units.total-time", "units.missing-minutes", "doc.timed-minutes", "poc.missing"):
        assert rid in info.message
    assert "Medicare Part B" in info.message
    assert "minutes per line" in info.message
    # billed units of timed codes are taken as given
    assert [(u.billed, u.expected) for u in report.report.units] == [(2, 2), (1, 1)]
    out = report.to_dict()
    assert out["ok"]
    assert any(f["rule"] == "claim.not-checked" for f in out["findings"])


def test_the_same_visit_as_a_session_still_reports_missing_minutes() -> None:
    [visit] = x12.read_837(THERAPY)
    assert isinstance(visit, ClaimVisit)
    report = cptrules.check(visit.session)
    assert "units.missing-minutes" in {f.rule for f in report.findings}
    assert "claim.not-checked" not in {f.rule for f in report.findings}


def test_code_rules_still_run_on_a_claim() -> None:
    no_gp = check(claim(line("97110", 2, "GP"), line("97140", 1)))
    assert "modifier.therapy" in rules_of(no_gp)
    # 97530 (column 1) / 97542 (column 2): an active indicator-1 CMS edit; the finding
    # is on the column-2 line (97140/97530 was deleted on 2019-12-31)
    pair = check(claim(line("97530", 2, "GP"), line("97542", 1, "GP")))
    assert [f.line for f in pair.report.findings if f.rule == "ncci.ptp"] == [1]
    bypass = check(claim(line("97530", 2, "GP"), line("97542", 1, "GP", "59")))
    assert "ncci.ptp" not in rules_of(bypass)


def test_cmt_without_at_is_caught_and_regions_are_not_checked() -> None:
    report = check(claim(line("98940", 1), discipline="DC", dx=("M99.01",)))
    assert "modifier.at" in rules_of(report)
    [info] = [f for f in report.report.findings if f.rule == "claim.not-checked"]
    assert "code.cmt-regions" in info.message


@pytest.mark.skipif("coverage.subluxation" not in REGISTRY, reason="rule not in this tree")
def test_cmt_with_a_non_subluxation_diagnosis_is_caught() -> None:  # pragma: no cover
    report = check(claim(line("98940", 1, "AT"), discipline="DC", dx=("M54.50",)))
    assert "coverage.subluxation" in rules_of(report)


def test_minutes_beside_the_claim_run_the_timed_unit_rules() -> None:
    minutes = {("C1", 1): 10, ("C1", 2): 15}
    report = check(THERAPY, minutes=minutes)
    assert report.visit.carries == frozenset({"minutes"})
    assert [ln.minutes for ln in report.visit.session.lines] == [10, 15]
    found = rules_of(report)
    assert found & {"units.total-time", "units.per-code"}
    [info] = [f for f in report.report.findings if f.rule == "claim.not-checked"]
    assert "units." not in info.message
    assert "poc.missing" in info.message
    right = check(THERAPY, minutes={("C1", 1): 30, ("C1", 2): 15})
    assert not rules_of(right) & {"units.total-time", "units.per-code", "units.missing-minutes"}


def test_minutes_for_part_of_the_timed_lines_still_check_nothing_by_minutes() -> None:
    report = check(THERAPY, minutes={("C1", 1): 30, ("C2", 2): 15})
    assert report.visit.carries == frozenset()
    assert not rules_of(report) & MINUTE_RULES


def test_bad_minutes_beside_the_claim_are_a_located_error() -> None:
    [err] = x12.read_837(THERAPY, minutes={("C1", 1): -5})
    assert isinstance(err, X12Error)
    assert err.claim == "C1"
    assert err.problems[0].segment_id == "CLM"
    assert "minutes" in err.problems[0].message


def test_fix_837_keeps_claim_mode() -> None:
    out = io.StringIO()
    outcome = x12.fix_837(THERAPY, out)
    # without claim mode, the missing minutes would drop 97110's and 97140's units
    assert (outcome.visits, outcome.changed, outcome.unsettled) == (1, 0, 0)
    assert out.getvalue() == THERAPY


def test_a_fixed_claim_report_rechecks_in_claim_mode() -> None:
    report = check(claim(line("97110", 2, "GP"), line("97140", 1)))
    settled = report.report.settle()
    assert settled.report.ok
    assert settled.session.lines[1].modifiers == ("GP",)
    assert "claim.not-checked" in {f.rule for f in settled.report.findings}


def test_needs_must_be_known() -> None:
    from cptrules.errors import DataError
    from cptrules.rules._base import declare

    table = {
        "severity": "info",
        "citation": "c",
        "summary": "s",
        "payers": ["*"],
        "confidence": "C-1",
        "needs": ["notes"],
    }
    with pytest.raises(DataError, match="needs"):
        declare("x.y", table, lambda ctx, r: (), source="rules/x.toml")


@pytest.mark.skipif(not REAL.is_dir(), reason="shared/real is not beside the checkout")
def test_the_real_chiropractic_claim_is_checked_in_claim_mode() -> None:
    raw = (REAL / "badx12__X222-chiropractic.edi").read_text()
    text = raw.replace("HI*BK:7215", "HI*ABK:M9903").replace("XX*1234567890", "XX*1234567893")
    text = text.replace("DTP*472*D8*20050215", "DTP*472*D8*20260304")  # inside our data
    report = check(text, discipline="DC")
    assert "modifier.at" in rules_of(report)  # 98940 without AT
    assert "claim.not-checked" in rules_of(report)
    assert not rules_of(report) & MINUTE_RULES


def test_load_minutes_reads_json_and_csv(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('{"C1": {"1": 30, "2": 15}}')
    (tmp_path / "m.csv").write_text("claim,line,minutes\nC1,1,30\nC1,2,15\n")
    want = {("C1", 1): 30, ("C1", 2): 15}
    assert x12.load_minutes(tmp_path / "m.json") == want
    assert x12.load_minutes(tmp_path / "m.csv") == want


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("a.json", "[1]", "must map"),
        ("a.json", '{"SECRET-ID": {"1": "x"}}', "claim 1"),
        ("a.csv", "claim,lx\n", "header"),
        ("a.csv", "claim,line,minutes\nSECRET-ID,0,5\n", "row 2"),
        ("a.csv", "claim,line,minutes\nSECRET-ID,1,2000\n", "row 2"),
    ],
)
def test_bad_minutes_files_are_named_without_the_claim_id(
    tmp_path: Path, name: str, text: str, where: str
) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(cptrules.CptRulesError, match=where) as info:
        x12.load_minutes(tmp_path / name)
    assert "SECRET-ID" not in str(info.value)


def test_cli_minutes_beside_a_claim_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cptrules.cli import main

    (tmp_path / "c.837").write_text(THERAPY)
    assert main(["check", str(tmp_path / "c.837"), "--format", "json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert "claim.not-checked" in {f["rule"] for f in plain["findings"]}
    (tmp_path / "m.csv").write_text("claim,line,minutes\nC1,1,10\nC1,2,15\n")
    args = ["check", str(tmp_path / "c.837"), "--format", "json", "--minutes"]
    assert main([*args, str(tmp_path / "m.csv")]) == 1
    out = json.loads(capsys.readouterr().out)
    assert "units.total-time" in {f["rule"] for f in out["findings"]}
    (tmp_path / "bad.csv").write_text("nope\n")
    assert main([*args, str(tmp_path / "bad.csv")]) == 2
    assert "header" in capsys.readouterr().err
