"""claim.not-checked: a registered rule, listed and documented like every other."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import cptrules
from cptrules import x12
from cptrules.batch import check_claims
from cptrules.cli import main
from cptrules.rules import REGISTRY

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "x12"

CLAIM = {
    "date_of_service": "2026-03-04",
    "payer": "medicare",
    "provider": {"discipline": "PT", "npi": "1234567893"},
    "lines": [{"code": "97110", "units": 2, "modifiers": ["GP"]}],
}


def _visit() -> x12.ClaimVisit:
    [visit] = x12.read_837(x12.dump_837([("C-1", cptrules.load_session(CLAIM))]))
    assert isinstance(visit, x12.ClaimVisit)
    return visit


def test_listed_by_cptrules_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--format", "json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    row = rows["claim.not-checked"]
    assert row["severity"] == "info"
    assert "220.3" in row["citation"]


def test_the_engine_gives_the_registered_rule() -> None:
    finding = next(
        f for f in x12.check_visit(_visit()).report.findings if f.rule == "claim.not-checked"
    )
    rule = REGISTRY["claim.not-checked"]
    assert (finding.severity, finding.citation) == (rule.severity, rule.citation)
    assert "units.total-time" in finding.message


def test_switched_off_or_regraded_like_any_rule() -> None:
    visit = _visit()
    off = cptrules.Engine(disabled={"claim.not-checked"})
    rules = x12.check_visit(visit, engine=off).report.rules()
    assert "claim.not-checked" not in rules
    assert "units.total-time" not in rules  # still not run: the claim has no minutes
    loud = cptrules.Engine(severities={"claim.not-checked": "warning"})
    [f] = [
        f
        for f in x12.check_visit(visit, engine=loud).report.findings
        if f.rule == "claim.not-checked"
    ]
    assert f.severity == "warning"


def test_every_id_a_claim_report_carries_is_a_listed_rule() -> None:
    seen: set[str] = set()
    for path in sorted(FIXTURES.glob("*.837")):
        out = io.StringIO()
        with path.open("rb") as fh:
            check_claims("x12", fh, out, format="jsonl")
        for line in out.getvalue().splitlines():
            seen |= {f["rule"] for f in json.loads(line).get("findings", [])}
    assert "claim.not-checked" in seen
    assert seen <= set(REGISTRY), sorted(seen - set(REGISTRY))


def test_a_session_never_gets_it() -> None:
    assert "claim.not-checked" not in cptrules.check(CLAIM).rules()
