"""Rules of the coverage family: Medicare benefit and coverage limits.

Every rule here is Medicare-only (``payers=("medicare",)``): a profile that
extends ``medicare`` inherits them; a commercial profile never runs them.

- ``coverage.chiropractor``: Medicare pays a chiropractor only for spinal
  manipulation 98940-98942; anything else a DC bills is not a Medicare benefit
  and must carry GY.
- ``coverage.replaced-code``: a code Medicare does not recognize where a
  Medicare code replaces it (97014 -> G0283).
- ``coverage.bundled``: a code Medicare never pays separately (97010).
- ``coverage.acupuncture``: acupuncture and dry needling only for chronic low
  back pain (NCD 30.3.3, from 2020-01-21).

The code tables below are small, sourced and Medicare-only, so they live here
as module constants (read once at import), each with its source.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from .._context import Context
from ..report import Finding, Fix
from ._base import Example, Rule, rule
from ._examples import pt_visit

__all__ = [
    "ACUPUNCTURE_CODES",
    "CMT_CODES",
    "NCD_30_3_3_START",
    "acupuncture",
    "bundled",
    "chiropractor",
    "replaced_code",
]

#: The only codes Medicare pays a chiropractor for: CMT of the spine
#: (Pub. 100-02 ch. 15 sec. 240.1.1; REFERENCE 3) [C-3].
CMT_CODES: frozenset[str] = frozenset(("98940", "98941", "98942"))

# The codes Medicare bundles (97010) or replaces (97014 -> G0283) and the low back
# pain diagnoses of NCD 30.3.3 are payer data: ``bundled_codes``,
# ``replaced_codes`` and ``low_back_pain_prefixes`` in the medicare profile
# (data/payers/medicare.toml), read here from the profile in force.

#: Codes NCD 30.3.3 governs: acupuncture 97810-97814 and dry needling 20560/20561
#: (REFERENCE 3) [C-2].
ACUPUNCTURE_CODES: frozenset[str] = frozenset(
    ("97810", "97811", "97813", "97814", "20560", "20561")
)

#: First date of service NCD 30.3.3 covers: "effective for services performed on
#: or after January 21, 2020" (CMS Medicare Coverage Database, NCD 30.3.3 version 1;
#: decision memo CAG-00452N dated 2020-01-21). Before it, Medicare covered
#: acupuncture for no condition (NCD 30.3).
NCD_30_3_3_START = dt.date(2020, 1, 21)

_GY = "GY"
_AT = "AT"

# Shared parts of the examples: a Medicare outpatient PT visit, clean otherwise.
_EX_97110 = {"code": "97110", "minutes": 23, "units": 2, "modifiers": ["GP"]}


def _pt(lines: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A Medicare PT visit on 2026-03-04 with a plan of care in force."""
    return pt_visit(lines, **{"total_treatment_minutes": 40, **extra})


def _dc(extraspinal_modifiers: list[str]) -> dict[str, Any]:
    """A Medicare chiropractic visit: 98941 on three spinal regions, plus 98943."""
    return {
        "date_of_service": "2026-03-04",
        "payer": "medicare",
        "provider": {"discipline": "DC"},
        "diagnoses": ["M99.01", "M99.02", "M99.03", "M99.07"],
        "lines": [
            {
                "code": "98941",
                "units": 1,
                "modifiers": ["AT"],
                "regions": ["cervical", "thoracic", "lumbar"],
                "techniques": ["spinal_manipulation"],
                "diagnosis_pointers": [1, 2, 3],
            },
            {
                "code": "98943",
                "units": 1,
                "modifiers": extraspinal_modifiers,
                "regions": ["upper_extremity"],
                "diagnosis_pointers": [4],
            },
        ],
    }


@rule(
    "coverage.chiropractor",
    triggers=("@DC",),
    severity="error",
    citation=(
        "CMS Pub. 100-02, ch. 15, sec. 240.1.1 (chiropractic coverage limited to manual "
        "manipulation of the spine); GY for services that are not a Medicare benefit"
    ),
    summary="Medicare pays a chiropractor only for CMT 98940-98942; anything else needs GY.",
    payers=("medicare",),
    confidence="C-3",
    examples=(
        Example(_dc([]), fails=True, note="98943 (extraspinal) by a DC without GY"),
        Example(_dc(["GY"]), fails=False, note="98943 by a DC, billed with GY"),
    ),
)
def chiropractor(ctx: Context, r: Rule) -> Iterator[Finding]:
    """Medicare: a chiropractor billing anything but CMT 98940-98942 without GY.

    Source: CMS Pub. 100-02 ch. 15 sec. 240.1.1 -- coverage of chiropractic
    service is limited to manual manipulation of the spine; no other diagnostic
    or therapeutic service a chiropractor furnishes is covered. REFERENCE 3:
    97140 and other therapy by a DC is not a Medicare benefit (GY) [C-3]. That
    includes 98943 (extraspinal manipulation), E/M visits, x-rays and therapy.

    With GY on the line the claim is correct: Medicare denies the line as not a
    benefit and the patient is liable, so the rule stays silent. The fix adds
    GY, and removes AT where present (AT is for covered CMT only, and never sits
    beside GY).
    """
    if ctx.session.provider.discipline != "DC":
        return
    for i, line in enumerate(ctx.lines):
        if line.code in CMT_CODES or _GY in ctx.mods[i]:
            continue
        what = "98943 (extraspinal manipulation)" if line.code == "98943" else line.code
        fixes = [Fix("add_modifier", i, _GY)]
        extra = ""
        if _AT in ctx.mods[i]:
            fixes.append(Fix("remove_modifier", i, _AT))
            extra = " and remove AT (AT is only for covered spinal manipulation)"
        yield r.finding(
            i,
            f"Medicare pays a chiropractor only for spinal manipulation 98940-98942; "
            f"{what} by a chiropractor is not a Medicare benefit and will deny. Add GY{extra} "
            f"so it denies as excluded and the patient can be billed, or remove the line.",
            fixes=tuple(fixes),
        )


@rule(
    "coverage.replaced-code",
    severity="error",
    citation=(
        "CMS Medicare Physician Fee Schedule: 97014 is not valid for Medicare (status I), "
        "report G0283 instead"
    ),
    summary="Medicare does not recognize 97014; it requires G0283.",
    payers=("medicare",),
    confidence="C-3",
    examples=(
        Example(
            _pt([_EX_97110, {"code": "97014", "units": 1, "modifiers": ["GP"]}]),
            fails=True,
            note="97014 billed to Medicare",
        ),
        Example(
            _pt([_EX_97110, {"code": "G0283", "units": 1, "modifiers": ["GP"]}]),
            fails=False,
            note="G0283 for unattended electrical stimulation",
        ),
    ),
)
def replaced_code(ctx: Context, r: Rule) -> Iterator[Finding]:
    """Medicare: a code Medicare does not recognize where another code is required.

    Source: REFERENCE 3 -- 97014 is not recognized by Medicare, G0283 is used
    [C-3] (Medicare Physician Fee Schedule status I for 97014). The fix replaces
    the code; modifiers, units and pointers stay as billed.
    """
    replaced = ctx.profile.replaced_codes
    if ctx.codes.isdisjoint(replaced):  # the usual visit
        return
    for code, replacement in replaced.items():
        for i in ctx.by_code.get(code, ()):
            yield r.finding(
                i,
                f"Medicare does not accept {code}; bill the same service as {replacement}. "
                f"Change the code to {replacement}.",
                fixes=(Fix("replace_code", i, replacement),),
            )


@rule(
    "coverage.bundled",
    severity="error",
    citation=(
        "CMS Medicare Physician Fee Schedule status B (always bundled): 97010 is never paid "
        "separately and the patient cannot be billed for it (Palmetto GBA, 2018)"
    ),
    summary="Medicare never pays 97010 separately; leave it off the claim.",
    payers=("medicare",),
    confidence="C-3",
    examples=(
        Example(
            _pt([_EX_97110, {"code": "97010", "units": 1, "modifiers": ["GP"]}]),
            fails=True,
            note="hot/cold packs billed with exercise",
        ),
        Example(_pt([_EX_97110]), fails=False, note="exercise only; packs not billed"),
    ),
)
def bundled(ctx: Context, r: Rule) -> Iterator[Finding]:
    """Medicare: a code Medicare never pays separately (97010, hot or cold packs).

    Source: REFERENCE 3 -- 97010 is never paid separately by Medicare [C-3]
    (MPFS status B: payment is always included in other services, alone or
    not, and the patient cannot be charged). The fix removes the line, offered
    only while another billable line remains: a claim of bundled codes alone
    has nothing to fix into, so that finding carries no fix.
    """
    bundled_codes = ctx.profile.bundled_codes
    if ctx.codes.isdisjoint(bundled_codes):  # the usual visit
        return
    hits = [i for code in bundled_codes for i in ctx.by_code.get(code, ())]
    if not hits:
        return
    others = len(ctx.lines) > len(hits)
    for i in sorted(hits):
        code = ctx.lines[i].code
        if others:
            yield r.finding(
                i,
                f"Medicare never pays {code} separately: it is bundled into the visit's other "
                f"services and the patient cannot be charged for it. Remove the {code} line.",
                fixes=(Fix("remove_line", i),),
            )
        else:
            yield r.finding(
                i,
                f"Medicare never pays {code} separately, and nothing else on this visit is "
                f"billed: there is nothing to pay and the patient cannot be charged for it. "
                f"Do not send this claim.",
            )


def _has_low_back_pain(ctx: Context, i: int) -> bool:
    """True when a diagnosis of line i (its pointers, else the session's) is low back pain."""
    diagnoses = ctx.session.diagnoses
    pointers = ctx.lines[i].diagnosis_pointers
    chosen = [diagnoses[p - 1] for p in pointers if 0 < p <= len(diagnoses)] if pointers else None
    prefixes = ctx.profile.low_back_pain_prefixes
    for code in diagnoses if chosen is None else chosen:
        if code.replace(".", "").upper().startswith(prefixes):
            return True
    return False


def _acupuncture_session(day: str, diagnosis: str) -> dict[str, Any]:
    """A Medicare acupuncture visit by a physician: 97813 plus one 97814."""
    return {
        "date_of_service": day,
        "payer": "medicare",
        "provider": {"discipline": "MD"},
        "diagnoses": [diagnosis],
        "lines": [
            {"code": "97813", "units": 1, "diagnosis_pointers": [1]},
            {"code": "97814", "units": 1, "diagnosis_pointers": [1]},
        ],
    }


@rule(
    "coverage.acupuncture",
    triggers=ACUPUNCTURE_CODES,
    severity="error",
    citation=(
        "CMS NCD 30.3.3 (Pub. 100-03), acupuncture for chronic low back pain, effective "
        "2020-01-21 [C-2]; which ICD-10 codes count as low back pain (M54.5x) is our "
        "single-source reading [S]: switch off or re-grade if your contractor accepts others"
    ),
    summary="Medicare covers acupuncture and dry needling only for chronic low back pain.",
    payers=("medicare",),
    confidence="C-2",
    examples=(
        Example(
            _acupuncture_session("2026-03-04", "M25.561"),
            fails=True,
            note="acupuncture pointed at a knee diagnosis",
        ),
        Example(
            _acupuncture_session("2020-01-20", "M54.5"),
            fails=True,
            note="the day before NCD 30.3.3 took effect",
        ),
        Example(
            _acupuncture_session("2026-03-04", "M54.50"),
            fails=False,
            note="acupuncture for low back pain",
        ),
    ),
)
def acupuncture(ctx: Context, r: Rule) -> Iterator[Finding]:
    """Medicare: acupuncture or dry needling without a chronic low back pain diagnosis.

    Source: CMS NCD 30.3.3 (Medicare Coverage Database; "effective for services
    performed on or after January 21, 2020"): Medicare covers acupuncture,
    dry needling included (20560/20561), only for chronic low back pain
    [C-2, REFERENCE 3]. Before that day no condition was covered (NCD 30.3), so
    the rule flags every such line on earlier dates of service.

    The NCD defines chronic low back pain in words (12 weeks or longer,
    nonspecific, not from surgery or pregnancy) and lists no codes; we accept
    the ICD-10-CM prefixes of the profile's ``low_back_pain_prefixes`` (M54.5, and
    M54.50/M54.51/M54.59 that replaced it on 2021-10-01) [S]. A line's own
    diagnosis pointers are read; a line without pointers is read against all of
    the session's diagnoses. The 12-week duration cannot be seen in one visit.

    Not checked here (documentation only): the visit limits (12 in 90 days,
    8 more with improvement, at most 20 a year) need the patient's history,
    and the NCD lets only physicians, and PAs/NPs/CNSs or auxiliary personnel
    with acupuncture training and licensure, furnish it -- a physical therapist
    billing 20560/20561 under their own number may not meet that.
    """
    hits = [i for code in ACUPUNCTURE_CODES for i in ctx.by_code.get(code, ())]
    if not hits:
        return
    before = ctx.dos < NCD_30_3_3_START
    for i in sorted(hits):
        code = ctx.lines[i].code
        if before:
            yield r.finding(
                i,
                f"Medicare covered {code} (acupuncture or dry needling) for no condition before "
                f"{NCD_30_3_3_START.isoformat()}, when NCD 30.3.3 took effect; on this date of "
                f"service it will deny.",
                citation=(
                    "CMS NCD 30.3 (acupuncture not covered); NCD 30.3.3 covers chronic low back "
                    "pain only from 2020-01-21"
                ),
            )
        elif not _has_low_back_pain(ctx, i):
            where = (
                "none of the diagnoses this line points to"
                if ctx.lines[i].diagnosis_pointers
                else "no diagnosis on the visit"
            )
            yield r.finding(
                i,
                f"Medicare covers {code} only for chronic low back pain (NCD 30.3.3), and "
                f"{where} is a low back pain code (ICD-10-CM M54.5x). Point the line to the "
                f"chronic low back pain diagnosis; if the visit did not treat it, Medicare "
                f"will deny the line.",
            )
