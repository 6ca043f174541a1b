"""The FHIR R4 reader: Claim, ExplanationOfBenefit, Bundle; dates; the shared CARIN example."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

import cptrules
from cptrules import CptRulesError, fhir
from cptrules.fhir import ClaimVisit, FhirError
from cptrules.fhir.strategies import PAYER_MAP, claims, junk_fhir

ROOT = Path(__file__).resolve().parents[2]
CARIN = (
    ROOT.parent / "shared" / "real" / "fhir" / "carin-bb-v2.0.0__EOBProfessional1__inferno-kit.json"
)

CPT = "http://www.ama-assn.org/go/cpt"
NUCC = "http://nucc.org/provider-taxonomy"


def claim(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "resourceType": "Claim",
        "id": "claim-42",
        "insurer": {"identifier": {"value": "P-1"}},
        "careTeam": [
            {
                "sequence": 1,
                "provider": {
                    "identifier": {
                        "system": "http://hl7.org/fhir/sid/us-npi",
                        "value": "1234567893",
                    }
                },
                "qualification": {"coding": [{"system": NUCC, "code": "2251X0800X"}]},
            }
        ],
        "diagnosis": [
            {
                "sequence": 2,
                "diagnosisCodeableConcept": {
                    "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "M54.50"}]
                },
            }
        ],
        "item": [
            {
                "sequence": 1,
                "careTeamSequence": [1],
                "diagnosisSequence": [2],
                "productOrService": {"coding": [{"system": CPT, "code": "97110"}]},
                "modifier": [{"coding": [{"code": "GP"}]}],
                "quantity": {"value": 2},
                "servicedDate": "2026-03-04",
            },
            {
                "sequence": 2,
                "careTeamSequence": [1],
                "productOrService": {"coding": [{"system": CPT, "code": "97140"}]},
                "modifier": [{"coding": [{"code": "GP"}]}],
                "quantity": {"value": 8, "system": "http://unitsofmeasure.org", "code": "min"},
                "servicedPeriod": {
                    "start": "2026-03-04T23:10:00-05:00",
                    "end": "2026-03-04T23:18:00-05:00",
                },
            },
        ],
    }
    base.update(changes)
    return base


def read(doc: Any, **kw: Any) -> list[ClaimVisit | FhirError]:
    return list(fhir.read_fhir(doc, payer_map={"P-1": "medicare"}, **kw))


def test_a_claim_becomes_a_session() -> None:
    [visit] = read(claim())
    assert isinstance(visit, ClaimVisit)
    s = visit.session
    assert (s.date_of_service, s.payer, s.provider) == (
        dt.date(2026, 3, 4),
        "medicare",
        cptrules.Provider("PT", "1234567893"),
    )
    assert s.diagnoses == ("M54.50",)
    assert [(ln.code, ln.units, ln.minutes, ln.diagnosis_pointers) for ln in s.lines] == [
        ("97110", 2, None, (1,)),
        ("97140", None, 8, ()),
    ]
    # a date-time keeps its own day (23:10 at -05:00 is not moved to the next UTC day)
    assert (s.lines[1].start, s.lines[1].end) == (dt.time(23, 10), dt.time(23, 18))
    out = fhir.check_visit(visit).to_dict()
    assert out["claim"] == "claim-42"
    assert {f["claim_line"] for f in out["findings"] if f["line"] is not None} <= {1, 2}


@pytest.mark.parametrize("value", ["2026", "2026-03", "2026-02-30", 20260304, "2026-03-04T10:00"])
def test_partial_and_bad_dates_are_located(value: object) -> None:
    doc = claim()
    doc["item"][0]["servicedDate"] = value
    [err] = read(doc)
    assert isinstance(err, FhirError)
    assert [p for p, _ in err.errors] == ["item[0].servicedDate"]


def test_a_period_of_several_days_is_not_one_visit() -> None:
    doc = claim()
    doc["item"][1]["servicedPeriod"]["end"] = "2026-03-05T00:10:00-05:00"
    [err] = read(doc)
    assert isinstance(err, FhirError)
    assert "several days" in str(err)


def test_items_of_two_days_give_two_visits_with_item_sequences() -> None:
    doc = claim()
    doc["item"][1]["servicedPeriod"] = {"start": "2026-03-06", "end": "2026-03-06"}
    got = read(doc)
    assert [
        (v.session.date_of_service.day, v.positions) for v in got if isinstance(v, ClaimVisit)
    ] == [
        (4, (1,)),
        (6, (2,)),
    ]


def test_eob_in_a_bundle_with_coverage_payor_and_practitioner() -> None:
    eob = claim(resourceType="ExplanationOfBenefit", insurer={"reference": "Organization/x"})
    eob["insurance"] = [{"focal": True, "coverage": {"reference": "Coverage/c1"}}]
    team = eob["careTeam"][0]
    del team["qualification"]
    team["provider"] = {"reference": "Practitioner/p1"}
    bundle = {
        "resourceType": "Bundle",
        "entry": [
            {"resource": eob},
            {
                "resource": {
                    "resourceType": "Coverage",
                    "id": "c1",
                    "payor": [{"reference": "Organization/o1"}],
                }
            },
            {
                "resource": {
                    "resourceType": "Organization",
                    "id": "o1",
                    "identifier": [{"value": "P-1"}],
                }
            },
            {
                "resource": {
                    "resourceType": "Practitioner",
                    "id": "p1",
                    "qualification": [
                        {"code": {"coding": [{"system": NUCC, "code": "225X00000X"}]}}
                    ],
                }
            },
        ],
    }
    [visit] = read(json.dumps(bundle))
    assert isinstance(visit, ClaimVisit)
    assert (visit.session.payer, visit.session.provider.discipline) == ("medicare", "OT")


def test_missing_payer_discipline_and_icd9_are_all_named() -> None:
    doc = claim(insurer={"identifier": {"value": "NOT-MAPPED"}}, careTeam=[])
    doc["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["system"] = (
        "http://hl7.org/fhir/sid/icd-9-cm"
    )
    [err] = read(doc)
    assert isinstance(err, FhirError)
    paths = [p for p, _ in err.errors]
    assert "insurance" in paths
    assert "diagnosis[0]" in paths
    assert "item[0].careTeamSequence" in paths
    assert "claim-42" not in str(err)
    assert "claim-42" not in repr(err)


def test_session_problems_are_located_at_their_item() -> None:
    doc = claim()
    doc["item"][1]["modifier"] = [{"coding": [{"code": "G"}]}]
    [err] = read(doc)
    assert isinstance(err, FhirError)
    assert [p for p, _ in err.errors] == ["item[1].modifier"]


@pytest.mark.parametrize(
    "doc",
    [
        {"resourceType": ["Claim"]},
        {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": ["Claim"], "id": "x"}}]},
        claim(item=[{"productOrService": {"coding": [{"system": [CPT], "code": "97110"}]}}]),
        "[1, 2",
        b"\xff",
        42,
    ],
)
def test_unhashable_and_odd_values_get_located_errors(doc: Any) -> None:
    [err] = read(doc)
    assert isinstance(err, FhirError)


@pytest.mark.skipif(not CARIN.is_file(), reason="shared/real is not beside the checkout")
def test_the_shared_carin_eob() -> None:
    text = CARIN.read_text()
    [err] = fhir.read_fhir(text)
    assert isinstance(err, FhirError)
    # no payer identifier to map and no care team: both named, nothing guessed
    assert [p for p, _ in err.errors] == ["insurance", "item[0].careTeamSequence"]
    [visit] = fhir.read_fhir(text, payer="commercial", discipline="PT")
    assert isinstance(visit, ClaimVisit)
    assert visit.session.date_of_service == dt.date(2019, 7, 2)
    assert [(ln.code, ln.units) for ln in visit.session.lines] == [("97110", None)]
    assert visit.session.diagnoses == ("S06.0X1A",)
    assert visit.place_of_service == "11"  # item.locationCodeableConcept, CMS POS code set
    # 2019 is before the rule data: the library's own, clear error
    with pytest.raises(cptrules.NoRuleDataError):
        fhir.check_visit(visit)


SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(claims())
def test_claims_round_trip(case: tuple[dict[str, Any], cptrules.Session]) -> None:
    doc, session = case
    got = list(fhir.read_fhir(copy.deepcopy(doc), payer_map=PAYER_MAP))
    assert [v.session for v in got if isinstance(v, ClaimVisit)] == [session]
    assert next(iter(fhir.read_fhir(json.dumps(doc), payer_map=PAYER_MAP))) == got[0]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junk_fhir())
def test_junk_never_escapes_the_error_tree(doc: Any) -> None:
    try:
        for result in fhir.read_fhir(doc, payer_map=PAYER_MAP):
            assert isinstance(result, (ClaimVisit, FhirError))
    except CptRulesError:
        pass


def test_sniff_knows_the_resource_types() -> None:
    assert fhir.sniff({"resourceType": "Bundle"})
    assert fhir.sniff(claim())
    assert not fhir.sniff({"resourceType": "Patient"})
    assert not fhir.sniff([claim()])
