"""Claim mode on FHIR claims: minutes the claim lacks are named, or passed beside it."""

from __future__ import annotations

from cptrules import fhir
from cptrules.fhir import ClaimVisit

from .test_reader import claim, read


def test_a_fhir_claim_without_every_minute_is_checked_in_claim_mode() -> None:
    [visit] = read(claim())
    assert isinstance(visit, ClaimVisit)
    assert visit.carries == frozenset()  # item 1 is billed in units
    report = fhir.check_visit(visit)
    rules = {f.rule for f in report.report.findings}
    assert "units.missing-minutes" not in rules
    assert "claim.not-checked" in rules


def test_minutes_beside_a_fhir_claim_by_item_sequence() -> None:
    [visit] = read(claim(), minutes={("claim-42", 1): 10})
    assert isinstance(visit, ClaimVisit)
    assert [ln.minutes for ln in visit.session.lines] == [10, 8]
    assert visit.carries == frozenset({"minutes"})  # item 1 has no clock time
    report = fhir.check_visit(visit)
    [info] = [f for f in report.report.findings if f.rule == "claim.not-checked"]
    assert "time.overlap" in info.message
    assert "units.total-time" not in info.message
    assert "units.total-time" in {f.rule for f in report.report.findings}  # 2 units for 18 min


def test_bad_minutes_beside_a_fhir_claim_are_an_error() -> None:
    [err] = read(claim(), minutes={("claim-42", 1): 99999})
    assert isinstance(err, fhir.FhirError)
    assert err.claim == "claim-42"
    assert err.errors[0][0] == "item"
