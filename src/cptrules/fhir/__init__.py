"""Read FHIR R4 claims: Claim, ExplanationOfBenefit (CARIN Blue Button) and Bundles of them.

>>> from cptrules import fhir
>>> claim = {"resourceType": "Claim", "id": "c1",
...     "insurer": {"identifier": {"value": "PAYER-1"}},
...     "careTeam": [{"sequence": 1, "qualification": {"coding": [
...         {"system": "http://nucc.org/provider-taxonomy", "code": "225100000X"}]}}],
...     "item": [{"sequence": 1, "servicedDate": "2026-03-04", "careTeamSequence": [1],
...         "productOrService": {"coding": [
...             {"system": "http://www.ama-assn.org/go/cpt", "code": "97110"}]},
...         "modifier": [{"coding": [{"code": "GP"}]}],
...         "quantity": {"value": 2}}]}
>>> [visit] = fhir.read_fhir(claim, payer_map={"PAYER-1": "medicare"})
>>> visit.session.provider.discipline, visit.session.lines[0].units, visit.positions
('PT', 2, (1,))

:func:`read_fhir` yields one :class:`ClaimVisit` per claim and date of service,
or a :class:`FhirError` locating every problem by FHIR path. :func:`dump_claim`
writes a session as a FHIR Claim (the round-trip tests and strategies use it).
"""

from __future__ import annotations

from .._interop import ClaimReport, ClaimVisit, PayerMap, check_visit
from ._reader import CPT_SYSTEMS, FhirError, parse_day, read_fhir
from ._writer import dump_claim

__all__ = [
    "CPT_SYSTEMS",
    "ClaimReport",
    "ClaimVisit",
    "FhirError",
    "PayerMap",
    "check_visit",
    "dump_claim",
    "parse_day",
    "read_fhir",
    "sniff",
]


def sniff(doc: object) -> bool:
    """True when a parsed JSON value is a FHIR resource this package reads."""
    return isinstance(doc, dict) and doc.get("resourceType") in (
        "Claim",
        "ExplanationOfBenefit",
        "Bundle",
    )
