"""The FHIR R4 reader: a Claim, an ExplanationOfBenefit (as CARIN Blue Button sends
it) or a Bundle of them in, one :class:`ClaimVisit` per claim and date of service out.

Read: ``item.productOrService`` (a CPT or HCPCS coding), ``item.modifier``,
``item.quantity`` (units; minutes where its code is the UCUM ``min``),
``item.servicedDate`` or a one-day ``item.servicedPeriod``, ``diagnosis`` by
``sequence`` and ``item.diagnosisSequence``, the care team member an item names
(``careTeamSequence``) or the claim's rendering/primary member with a NUCC
taxonomy or an HL7 v2 degree qualification, and the payer from the insurer's or
the focal coverage's payor identifier through the payer map.

Dates: a partial date (``2019`` or ``2019-07``) is not a day of service and is an
error; a date-time keeps the calendar day written in its own offset
(``2019-07-02T23:30:00-05:00`` is July 2), parsed with ``dateutil.parser.isoparse``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from dateutil.parser import isoparse

from .._interop import (
    ClaimVisit,
    Minutes,
    PayerMap,
    payer_map_of,
    taxonomy_map,
    visit_data,
    with_minutes,
)
from ..errors import CptRulesError, InvalidSessionError
from ..parsing import load_session

__all__ = ["CPT_SYSTEMS", "FhirError", "read_fhir"]

#: Coding systems read as CPT/HCPCS codes.
CPT_SYSTEMS = frozenset(
    (
        "http://www.ama-assn.org/go/cpt",
        "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
        "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    )
)
ICD10_SYSTEMS = frozenset(("http://hl7.org/fhir/sid/icd-10-cm", "http://hl7.org/fhir/sid/icd-10"))
ICD9_SYSTEMS = frozenset(("http://hl7.org/fhir/sid/icd-9-cm",))
NUCC = "http://nucc.org/provider-taxonomy"
POS_SYSTEMS = frozenset(
    (
        "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set",
        "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set.html",
    )
)
V2_DEGREE = "http://terminology.hl7.org/CodeSystem/v2-0360"
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
_RESOURCES = frozenset(("Claim", "ExplanationOfBenefit"))
#: Largest input read, in characters or bytes of JSON.
MAX_JSON = 10_000_000
#: Most items one claim may carry.
MAX_ITEMS = 200

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_PARTIAL = re.compile(r"\d{4}(-\d{2})?", re.ASCII)
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})", re.ASCII
)
_LINE_PATH = re.compile(r"lines\[(\d+)\](?:\.(\w+))?(.*)")
_FIELDS = {
    "code": "productOrService",
    "modifiers": "modifier",
    "units": "quantity",
    "minutes": "quantity",
    "diagnosis_pointers": "diagnosisSequence",
    "start": "servicedPeriod",
    "end": "servicedPeriod",
}


class FhirError(CptRulesError, ValueError):
    """A FHIR resource (or one claim in it) that cannot be read.

    ``errors`` holds every problem as ``(path, message)``, the path in FHIR
    terms (``item[2].servicedDate``). ``claim`` is the resource id where known,
    kept out of the message text.
    """

    errors: tuple[tuple[str, str], ...]
    claim: str | None

    def __init__(
        self, errors: list[tuple[str, str]] | tuple[tuple[str, str], ...], claim: str | None = None
    ):
        self.errors = tuple(errors)
        self.claim = claim
        count = len(self.errors)
        head = "; ".join(f"{p}: {m}" for p, m in self.errors[:5])
        more = f" (and {count - 5} more)" if count > 5 else ""
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"FHIR claim not read, {count} {noun}: {head}{more}")

    def __repr__(self) -> str:
        return f"FhirError({len(self.errors)} problems)"


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _codings(concept: Any) -> list[dict[str, Any]]:
    return [c for c in _list(_obj(concept).get("coding")) if isinstance(c, dict)]


def _code_in(concept: Any, systems: frozenset[str] | set[str]) -> str | None:
    for c in _codings(concept):
        system = c.get("system")
        if isinstance(system, str) and system in systems and isinstance(c.get("code"), str):
            return str(c["code"])
    return None


def parse_day(value: Any) -> tuple[dt.date | None, dt.time | None, str | None]:
    """A FHIR date or dateTime as (day, clock time or None, problem or None).

    >>> parse_day("2019-07-02T23:30:00-05:00")
    (datetime.date(2019, 7, 2), datetime.time(23, 30), None)
    >>> parse_day("2019-07")[2]
    'a partial date is not a day of service'
    """
    if not isinstance(value, str):
        return None, None, "must be a FHIR date"
    if _DAY.fullmatch(value):
        try:
            return dt.date.fromisoformat(value), None, None
        except ValueError:
            return None, None, "not a calendar date"
    if _PARTIAL.fullmatch(value):
        return None, None, "a partial date is not a day of service"
    if _DATETIME.fullmatch(value):
        try:
            moment = isoparse(value)
        except (ValueError, OverflowError):
            return None, None, "not a date-time"
        # The day as written in its own offset: the visit's local day.
        return moment.date(), moment.time().replace(second=0, microsecond=0), None
    return None, None, "must be a FHIR date or date-time"


class _Resolver:
    """Looks up references in a Bundle's entries and a resource's contained list."""

    def __init__(self, bundle: Mapping[str, dict[str, Any]]):
        self.bundle = bundle

    def get(self, ref: Any, resource: dict[str, Any]) -> dict[str, Any]:
        text = _obj(ref).get("reference")
        if not isinstance(text, str):
            return {}
        if text.startswith("#"):
            for item in _list(resource.get("contained")):
                if isinstance(item, dict) and item.get("id") == text[1:]:
                    return item
            return {}
        return self.bundle.get(text, {})


def _identifier_values(resource: dict[str, Any], ref: Any) -> list[str]:
    out = []
    ident = _obj(_obj(ref).get("identifier"))
    if isinstance(ident.get("value"), str):
        out.append(ident["value"])
    for item in _list(resource.get("identifier")):
        if isinstance(item, dict) and isinstance(item.get("value"), str):
            out.append(item["value"])
    return out


class _Claim:
    def __init__(
        self,
        resource: dict[str, Any],
        resolver: _Resolver,
        payer_map: PayerMap,
        payer: str | None,
        discipline: str | None,
    ) -> None:
        self.r = resource
        self.resolver = resolver
        self.payer_map = payer_map
        self.payer = payer
        self.discipline = discipline
        self.errs: list[tuple[str, str]] = []
        raw_id = resource.get("id")
        self.id = raw_id if isinstance(raw_id, str) and len(raw_id) <= 64 else None

    def _payer(self) -> str | None:
        if self.payer is not None:
            return self.payer
        r = self.r
        keys: list[str] = []
        insurer = r.get("insurer")
        keys += _identifier_values(self.resolver.get(insurer, r), insurer)
        for ins in _list(r.get("insurance")):
            ins = _obj(ins)
            if ins.get("focal") is False:
                continue
            coverage = self.resolver.get(ins.get("coverage"), r)
            for payor in _list(coverage.get("payor")):
                keys += _identifier_values(self.resolver.get(payor, r), payor)
        for key in keys:
            hit = self.payer_map.profile(key, None)
            if hit is not None:
                return hit
        self.errs.append(
            ("insurance", "no payer identifier is in the payer map; pass a payer map or the payer")
        )
        return None

    def _team(self) -> dict[int, tuple[str | None, str | None, str]]:
        """careTeam sequence -> (discipline, npi, role code)."""
        tax = taxonomy_map()
        out: dict[int, tuple[str | None, str | None, str]] = {}
        for k, member in enumerate(_list(self.r.get("careTeam"))):
            member = _obj(member)
            seq = member.get("sequence")
            if type(seq) is not int:
                continue
            provider = member.get("provider")
            practitioner = self.resolver.get(provider, self.r)
            discipline = None
            concepts = [member.get("qualification")]
            concepts += [_obj(q).get("code") for q in _list(practitioner.get("qualification"))]
            for concept in concepts:
                code = _code_in(concept, {NUCC})
                if code is not None:
                    discipline = tax.discipline(code)
                    if discipline is None:
                        self.errs.append(
                            (f"careTeam[{k}].qualification", "taxonomy not mapped to a discipline")
                        )
                    break
                code = _code_in(concept, {V2_DEGREE})
                if code is not None and code in tax.fhir_qualification:
                    discipline = tax.fhir_qualification[code]
                    break
            npi = None
            for ident in [
                _obj(_obj(provider).get("identifier")),
                *map(_obj, _list(practitioner.get("identifier"))),
            ]:
                if ident.get("system") == NPI_SYSTEM and isinstance(ident.get("value"), str):
                    npi = ident["value"]
                    break
            role = next((str(c.get("code")) for c in _codings(member.get("role"))), "")
            out[seq] = (discipline, npi, role)
        return out

    def visits(self) -> Iterator[ClaimVisit | FhirError]:
        r = self.r
        payer = self._payer()
        diagnoses: list[str] = []
        seq_to_index: dict[int, int] = {}
        for k, diag in enumerate(_list(r.get("diagnosis"))):
            diag = _obj(diag)
            concept = diag.get("diagnosisCodeableConcept")
            code = _code_in(concept, ICD10_SYSTEMS)
            if code is None:
                if _code_in(concept, ICD9_SYSTEMS) is not None:
                    self.errs.append(
                        (f"diagnosis[{k}]", "an ICD-9-CM diagnosis: only ICD-10-CM is read")
                    )
                else:
                    self.errs.append((f"diagnosis[{k}]", "no ICD-10-CM coding"))
                continue
            seq = diag.get("sequence")
            if type(seq) is int:
                seq_to_index[seq] = len(diagnoses) + 1
            diagnoses.append(code)
        team = self._team()
        claim_member = next(
            (v for v in team.values() if v[2] in ("rendering", "primary", "performing")),
            next(iter(team.values()), None),
        )
        groups: dict[tuple[dt.date, str | None, str], list[tuple[int, int, dict[str, Any]]]] = {}
        items = _list(r.get("item"))
        if not items:
            self.errs.append(("item", "the claim has no items"))
        if len(items) > MAX_ITEMS:
            self.errs.append(("item", f"more than {MAX_ITEMS} items"))
            items = items[:MAX_ITEMS]
        for k, item in enumerate(items):
            got = self._item(k, _obj(item), seq_to_index, team, claim_member)
            if got is not None:
                key, position, line = got
                groups.setdefault(key, []).append((position, k, line))
        if payer is None or self.errs:
            yield FhirError(self.errs, claim=self.id)
            return
        for (day, npi, discipline), lines in groups.items():
            # FHIR may send ICD-10-CM codes without their dot: put it back
            dotted = [d if "." in d or len(d) <= 3 else f"{d[:3]}.{d[3:]}" for d in diagnoses]
            data = visit_data(day, payer, npi, discipline, [ln for _, _, ln in lines], dotted)
            try:
                session = load_session(data)
            except InvalidSessionError as exc:
                yield FhirError([self._locate(p, m, lines) for p, m in exc.errors], claim=self.id)
                continue
            yield ClaimVisit(
                claim=self.id or "",
                session=session,
                positions=tuple(pos for pos, _, _ in lines),
                format="fhir",
                place_of_service=self._place(items, lines),
            )

    @staticmethod
    def _place(items: list[Any], lines: list[tuple[int, int, dict[str, Any]]]) -> str | None:
        """The place of service of the group's first item that names one (CMS POS code)."""
        for _, k, _ in lines:
            code = _code_in(_obj(items[k]).get("locationCodeableConcept"), POS_SYSTEMS)
            if code is not None:
                return code
        return None

    def _locate(
        self, path: str, message: str, lines: list[tuple[int, int, dict[str, Any]]]
    ) -> tuple[str, str]:
        m = _LINE_PATH.match(path)
        if m and int(m.group(1)) < len(lines):
            item = lines[int(m.group(1))][1]
            field = _FIELDS.get(m.group(2) or "", "")
            return (f"item[{item}].{field}".rstrip("."), message)
        if path.startswith("diagnoses"):
            return ("diagnosis", message)
        if path.startswith("provider"):
            return ("careTeam", f"{path}: {message}")
        return ("", f"{path}: {message}")

    def _item(
        self,
        k: int,
        item: dict[str, Any],
        seq_to_index: Mapping[int, int],
        team: Mapping[int, tuple[str | None, str | None, str]],
        claim_member: tuple[str | None, str | None, str] | None,
    ) -> tuple[tuple[dt.date, str | None, str], int, dict[str, Any]] | None:
        at = f"item[{k}]"
        errs = self.errs
        before = len(errs)
        seq = item.get("sequence")
        position = seq if type(seq) is int else k + 1
        code = _code_in(item.get("productOrService"), CPT_SYSTEMS)
        if code is None:
            errs.append((f"{at}.productOrService", "no CPT or HCPCS coding"))
        line: dict[str, Any] = {"code": code}
        mods = []
        for concept in _list(item.get("modifier")):
            for c in _codings(concept)[:1]:
                if isinstance(c.get("code"), str):
                    mods.append(c["code"])
        if mods:
            line["modifiers"] = mods
        qty = item.get("quantity")
        if qty is not None:
            qty = _obj(qty)
            value = qty.get("value")
            if type(value) is float and value.is_integer():
                value = int(value)
            if type(value) is not int:
                errs.append((f"{at}.quantity", "must be a whole number"))
            elif qty.get("code") == "min" or qty.get("unit") in ("min", "minutes"):
                line["minutes"] = value
            else:
                line["units"] = value
        pointers = []
        for n, ref in enumerate(_list(item.get("diagnosisSequence"))):
            if type(ref) is int and ref in seq_to_index:
                pointers.append(seq_to_index[ref])
            else:
                errs.append((f"{at}.diagnosisSequence[{n}]", "names no diagnosis"))
        if pointers:
            line["diagnosis_pointers"] = pointers
        day: dt.date | None = None
        if "servicedDate" in item:
            day, _, problem = parse_day(item["servicedDate"])
            if problem:
                errs.append((f"{at}.servicedDate", problem))
        elif "servicedPeriod" in item:
            period = _obj(item["servicedPeriod"])
            day, start, problem = parse_day(period.get("start"))
            last, end, problem2 = parse_day(period.get("end", period.get("start")))
            if problem or problem2:
                errs.append((f"{at}.servicedPeriod", problem or problem2 or ""))
            elif last != day:
                errs.append((f"{at}.servicedPeriod", "a period of several days is not one visit"))
            elif start is not None and end is not None:
                line["start"], line["end"] = start.strftime("%H:%M"), end.strftime("%H:%M")
        else:
            billable = _obj(self.r.get("billablePeriod"))
            day, _, problem = parse_day(billable.get("start"))
            last, _, _ = parse_day(billable.get("end", billable.get("start")))
            if problem or last != day:
                errs.append((f"{at}.servicedDate", "no day of service"))
        member = None
        for ref in _list(item.get("careTeamSequence")):
            if type(ref) is int and ref in team:
                member = team[ref]
                break
        member = member or claim_member
        discipline = (member[0] if member else None) or self.discipline
        npi = member[1] if member else None
        if discipline is None:
            errs.append(
                (
                    f"{at}.careTeamSequence",
                    "no care team qualification tells the discipline; pass the discipline",
                )
            )
        if len(errs) > before or day is None or discipline is None:
            return None
        return (day, npi, discipline), position, line


def _load(source: Any) -> Any:
    if isinstance(source, (bytes, bytearray, str)):
        if len(source) > MAX_JSON:
            raise FhirError([("", f"larger than {MAX_JSON} characters")])
        try:
            return json.loads(source)
        except (ValueError, RecursionError):
            raise FhirError([("", "not JSON")]) from None
    return source


def read_fhir(
    source: Any,
    *,
    payer: str | None = None,
    payer_map: PayerMap | Mapping[str, str] | None = None,
    discipline: str | None = None,
    minutes: Minutes | None = None,
) -> Iterator[ClaimVisit | FhirError]:
    """Read a FHIR R4 Claim, ExplanationOfBenefit or Bundle: one result per claim and day.

    ``source`` is a parsed JSON object or its text (str or bytes). Each result is
    a :class:`~cptrules.fhir.ClaimVisit` or a :class:`FhirError` locating every
    problem by FHIR path. ``payer``, ``payer_map`` and ``discipline`` work as in
    :func:`cptrules.x12.read_837`. ``minutes`` maps (claim id, item sequence) to
    the item's minutes, for items whose quantity is in units.
    """
    for result in _read(source, payer, payer_map, discipline):
        if minutes and isinstance(result, ClaimVisit):
            try:
                result = with_minutes(result, minutes)
            except InvalidSessionError as exc:
                result = FhirError(
                    [("item", f"minutes given: {p}: {m}") for p, m in exc.errors],
                    claim=result.claim,
                )
        yield result


def _read(
    source: Any,
    payer: str | None,
    payer_map: PayerMap | Mapping[str, str] | None,
    discipline: str | None,
) -> Iterator[ClaimVisit | FhirError]:
    pmap = payer_map_of(payer_map)
    try:
        doc = _load(source)
    except FhirError as exc:
        yield exc
        return
    if not isinstance(doc, dict):
        yield FhirError([("", "not a FHIR resource (a JSON object)")])
        return
    kind = doc.get("resourceType")
    resources: list[tuple[str, dict[str, Any]]] = []
    index: dict[str, dict[str, Any]] = {}
    if kind == "Bundle":
        for k, entry in enumerate(_list(doc.get("entry"))):
            res = _obj(_obj(entry).get("resource"))
            rtype, rid = res.get("resourceType"), res.get("id")
            if isinstance(rtype, str) and isinstance(rid, str):
                index[f"{rtype}/{rid}"] = res
            full = _obj(entry).get("fullUrl")
            if isinstance(full, str):
                index[full] = res
            if isinstance(rtype, str) and rtype in _RESOURCES:
                resources.append((f"entry[{k}].resource", res))
        if not resources:
            yield FhirError([("entry", "no Claim or ExplanationOfBenefit in the Bundle")])
            return
    elif isinstance(kind, str) and kind in _RESOURCES:
        resources.append(("", doc))
    else:
        yield FhirError([("resourceType", "must be Claim, ExplanationOfBenefit or Bundle")])
        return
    resolver = _Resolver(index)
    for prefix, res in resources:
        try:
            for result in _Claim(res, resolver, pmap, payer, discipline).visits():
                if isinstance(result, FhirError) and prefix:
                    result = FhirError(
                        [(f"{prefix}.{p}".rstrip("."), m) for p, m in result.errors], result.claim
                    )
                yield result
        except RecursionError:  # pragma: no cover - absurdly nested input
            yield FhirError([(prefix, "nested too deeply")])
