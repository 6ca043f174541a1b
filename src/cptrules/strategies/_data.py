"""Vocabularies and small domain helpers the strategies draw from.

Everything here is derived from the bundled catalog, the payer profiles and
the rule registry at first use (never at import), so new catalog entries and
newly registered rules flow into the strategies without code changes.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

from ..catalog import Catalog, catalog
from ..payers import PayerProfile, bundled_profiles

__all__: list[str] = []

#: Dates of service the domain strategies draw from by default. Starts in 2022:
#: the KX threshold amounts (CMS Pub. 100-04 ch. 5) and the CQ/CO payment rule are
#: sourced from 2022 on; before that we could not say what a clean claim is.
DEFAULT_MIN_DATE = dt.date(2022, 1, 1)
DEFAULT_MAX_DATE = dt.date(2026, 12, 31)

#: ICD-10-CM codes the strategies use (well-formed, common in outpatient therapy).
#: Back-pain codes are kept apart: the acupuncture coverage rule keys on them.
BACK_DIAGNOSES = ("M54.50", "M54.51", "M54.59", "M54.16", "M51.26")
OTHER_DIAGNOSES = (
    "M54.2",
    "M25.511",
    "M25.561",
    "M62.81",
    "R26.89",
    "M75.41",
    "S83.511A",
    "M17.11",
    "I69.351",
    "G81.91",
)
CHIRO_DIAGNOSES = ("M99.01", "M99.02", "M99.03", "M99.04", "M54.2", "M54.50")
#: Subluxation diagnoses (segmental dysfunction by spinal region): a Medicare CMT
#: line's primary diagnosis is one of them (coverage.subluxation).
SUBLUXATION_DIAGNOSES = ("M99.01", "M99.02", "M99.03", "M99.04", "M99.05")

#: Short, generic documentation phrases: not patient data, not AMA text.
DOC_RESPONSES = ("tolerated well", "reduced pain after treatment", "improved range of motion")
DOC_RATIONALES = (
    "skilled hands-on technique needed",
    "graded mobilization requires clinician judgement",
    "progression needs skilled assessment",
)
DOC_GOALS = ("restore function", "return to work duties", "independent home program")

#: Discipline -> its therapy modifier and its assistant modifier (CMS Pub. 100-04 ch. 5).
THERAPY_MODIFIER = {"PT": "GP", "OT": "GO", "SLP": "GN"}
ASSISTANT_MODIFIER = {"PT": "CQ", "OT": "CO"}

#: Codes Medicare does not pay as billed (CMS Pub. 100-04 ch. 5): 97010 bundled,
#: 97014 replaced by G0283. Non-Medicare payers get 97014 and never G0283.
MEDICARE_UNPAID = frozenset(("97010", "97014"))
MEDICARE_ONLY = frozenset(("G0283",))

#: Timed codes the clean builder bills for PT/OT (cognitive codes and the
#: acupuncture family are left to their own disciplines).
THERAPY_TIMED = (
    "97110",
    "97112",
    "97116",
    "97140",
    "97530",
    "97124",
    "97035",
    "97032",
    "97033",
    "97113",
    "97535",
    "97750",
    "97760",
    "97763",
    "97533",
    "97537",
    "97542",
    "97755",
    "97761",
    "97034",
    "97036",
)
#: The timed codes the clean builder favours (half its draws): therapeutic
#: exercise, neuromuscular re-education, manual therapy, therapeutic activities.
CORE_TIMED = ("97110", "97112", "97140", "97530")
#: Untimed modalities the clean builder may add (per payer: see MEDICARE_UNPAID).
THERAPY_UNTIMED = ("97012", "97016", "97018", "97022", "97024", "97026", "97028", "97014", "G0283")
#: Evaluations (first visit) and re-evaluations by discipline (CMS Pub. 100-04 ch. 5;
#: SLP evaluations billed only with GN, CMS CR 10176).
EVALUATIONS = {
    "PT": ("97161", "97162", "97163"),
    "OT": ("97165", "97166", "97167"),
    "SLP": ("92521", "92522", "92523", "92524"),
}
REEVALUATIONS: dict[str, tuple[str, ...]] = {"PT": ("97164",), "OT": ("97168",), "SLP": ()}
#: Speech-language pathology treatment codes the clean builder bills (untimed,
#: one a day each): speech/language treatment, swallowing treatment.
SLP_TREATMENT = ("92507", "92526")
#: ICD-10-CM codes of SLP visits: aphasia, oropharyngeal dysphagia, dysarthria,
#: phonological disorder, dysphonia.
SLP_DIAGNOSES = ("R47.01", "R13.12", "R47.1", "F80.0", "R49.0")
#: Codes whose regions must avoid the spinal regions CMT treated the same day,
#: and the pair that must not share a region (code.same-region).
REGION_SENSITIVE = frozenset(("97140", "97124", "97112"))
CMT_CODES = ("98940", "98941", "98942")


#: Families of "sometimes therapy" services a therapy clinic adds to a visit now
#: and then (CMS annual therapy code list): strapping and multi-layer compression
#: (PT/OT), active wound care (PT), remote therapeutic monitoring (PT/OT). Their
#: codes come from the catalog's families (primary codes only: an add-on's units
#: are not the engine's to compute).
EXTRA_FAMILIES: dict[str, tuple[str, ...]] = {
    "strapping": ("PT", "OT"),
    "wound_care": ("PT",),
    "rtm": ("PT", "OT"),
}


def family_codes(family: str, day: dt.date) -> tuple[str, ...]:
    """The catalog's primary (non add-on) codes of ``family`` valid on ``day``."""
    codes = cat().codes
    return tuple(
        c
        for c in cat().families.get(family, ())
        if not codes[c].addon_to and codes[c].valid_on(day)
    )


#: Payer profile ids the strategies know: the bundled ones.
def payer_ids() -> tuple[str, ...]:
    """Every bundled payer profile id, sorted."""
    return bundled_profiles().ids()


def profile(payer: str, day: dt.date) -> PayerProfile:
    """The bundled profile ``payer`` in force on ``day`` (it must exist)."""
    found = bundled_profiles().get(payer, day)
    if found is None:  # pragma: no cover - bundled profiles cover our whole date range
        raise LookupError(f"no version of {payer} in force on {day.isoformat()}")
    return found


def cat() -> Catalog:
    """The bundled catalog."""
    return catalog()


def rule_applies(
    rule_id: str, prof: PayerProfile, fallback: Callable[[PayerProfile], bool]
) -> bool:
    """Whether rule ``rule_id`` runs for ``prof``: the registry decides once the rule exists.

    Before a rule module lands, ``fallback`` (the contract's reading) answers.
    """
    from ..rules import REGISTRY

    r = REGISTRY.get(rule_id)
    if r is None:
        return fallback(prof)
    return r.for_profile(prof)


def is_medicare(prof: PayerProfile) -> bool:
    """True for the Medicare profile family."""
    return prof.is_a("medicare")


@functools.cache
def manual_techniques() -> tuple[str, ...]:
    """Techniques that belong to 97140 (the manual_therapy family), catalog order."""
    return tuple(t for t, fam in cat().techniques.items() if fam == "manual_therapy")


def techniques_for(code: str) -> tuple[str, ...]:
    """Techniques that belong to ``code``'s family (empty when none)."""
    info = cat().codes.get(code)
    if info is None:
        return ()
    return tuple(t for t, fam in cat().techniques.items() if fam == info.family)


def spinal_regions() -> tuple[str, ...]:
    """The spinal regions, catalog order."""
    return tuple(r for r, spinal in cat().regions.items() if spinal)


def all_regions() -> tuple[str, ...]:
    """Every region, catalog order."""
    return tuple(cat().regions)


def cmt_code_for(n_regions: int) -> str:
    """The CMT code whose region range holds ``n_regions`` (1-5)."""
    for code in CMT_CODES:
        info = cat().codes[code]
        assert info.regions_min is not None
        assert info.regions_max is not None
        if info.regions_min <= n_regions <= info.regions_max:
            return code
    raise ValueError(f"no CMT code for {n_regions} regions")


def npi_check_digit(first9: str) -> str:
    """The Luhn check digit of an NPI body (with the 80840 prefix)."""
    digits = [int(c) for c in "80840" + first9]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:  # doubled positions, counting from the digit before the check digit
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)
