"""Writing a session as a FHIR R4 Claim (for round-trip tests and strategies)."""

from __future__ import annotations

from typing import Any

from .._interop import PayerMap, bundled_payer_map, taxonomy_map
from ..models import Session
from ._reader import NPI_SYSTEM, NUCC

__all__ = ["dump_claim"]

_CPT = "http://www.ama-assn.org/go/cpt"
_ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"


def dump_claim(
    session: Session,
    claim_id: str = "claim-1",
    *,
    payer_id: str | None = None,
    payer_map: PayerMap | None = None,
) -> dict[str, Any]:
    """A FHIR R4 Claim carrying ``session``: what :func:`read_fhir` reads back.

    The insurer is identified by ``payer_id``, or by a payer id ``payer_map``
    (default: the bundled map) maps to the session's payer; the care team
    member's qualification is the discipline's primary NUCC taxonomy code.
    Lines with units carry them as ``quantity``; lines with minutes and no units
    carry minutes (UCUM ``min``).
    """
    pmap = bundled_payer_map() if payer_map is None else payer_map
    pid = payer_id if payer_id is not None else pmap.keys_for(session.payer)[0]
    member: dict[str, Any] = {"sequence": 1, "role": {"coding": [{"code": "primary"}]}}
    taxonomy = taxonomy_map().primary.get(session.provider.discipline)
    if taxonomy is not None:
        member["qualification"] = {"coding": [{"system": NUCC, "code": taxonomy}]}
    if session.provider.npi:
        member["provider"] = {"identifier": {"system": NPI_SYSTEM, "value": session.provider.npi}}
    items = []
    for n, line in enumerate(session.lines, start=1):
        item: dict[str, Any] = {
            "sequence": n,
            "careTeamSequence": [1],
            "productOrService": {"coding": [{"system": _CPT, "code": line.code}]},
            "servicedDate": session.date_of_service.isoformat(),
        }
        if line.modifiers:
            item["modifier"] = [{"coding": [{"code": m}]} for m in line.modifiers]
        if line.units is not None:
            item["quantity"] = {"value": line.units}
        elif line.minutes is not None:
            item["quantity"] = {
                "value": line.minutes,
                "unit": "min",
                "system": "http://unitsofmeasure.org",
                "code": "min",
            }
        if line.diagnosis_pointers:
            item["diagnosisSequence"] = list(line.diagnosis_pointers)
        items.append(item)
    claim: dict[str, Any] = {
        "resourceType": "Claim",
        "id": claim_id,
        "status": "active",
        "use": "claim",
        "insurer": {"identifier": {"value": pid}} if pid else {"display": "payer"},
        "careTeam": [member],
        "item": items,
    }
    if session.diagnoses:
        claim["diagnosis"] = [
            {"sequence": k, "diagnosisCodeableConcept": {"coding": [{"system": _ICD10, "code": d}]}}
            for k, d in enumerate(session.diagnoses, start=1)
        ]
    return claim
