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
- ``coverage.provider``: therapy billed by a provider Medicare does not pay for
  it (massage therapist, athletic trainer, acupuncturist), and acupuncture or
  dry needling billed by anyone NCD 30.3.3 does not let bill it.
- ``coverage.subluxation``: CMT without a primary subluxation diagnosis.

Who may bill what, and the subluxation diagnoses, are data
(``data/medicare_coverage.toml``, each table with its sources), read on first use.

The codes Medicare bundles or replaces and the low back pain diagnoses are
payer data (the medicare profile, ``data/payers/medicare.toml``); the fixed
code sets below are small, sourced and Medicare-only, so they live here as
module constants (read once at import), each with its source.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import TYPE_CHECKING

import attrs

from .._context import Context, Shape
from .._memo import Memo
from ..errors import DataError
from ..report import Finding, Fix
from ._base import Rule, rule

if TYPE_CHECKING:
    from ..payers import PayerProfile

__all__ = [
    "ACUPUNCTURE_CODES",
    "CMT_CODES",
    "NCD_30_3_3_START",
    "MedicareCoverage",
    "acupuncture",
    "bundled",
    "chiropractor",
    "medicare_coverage",
    "provider_type",
    "replaced_code",
    "subluxation",
]

#: The only codes Medicare pays a chiropractor for: CMT of the spine
#: (Pub. 100-02 ch. 15 sec. 240.1.1; three sources agree).
CMT_CODES: frozenset[str] = frozenset(("98940", "98941", "98942"))

# The codes Medicare bundles (97010) or replaces (97014 -> G0283) and the low back
# pain diagnoses of NCD 30.3.3 are payer data: ``bundled_codes``,
# ``replaced_codes`` and ``low_back_pain_prefixes`` in the medicare profile
# (data/payers/medicare.toml), read here from the profile in force.

#: Codes NCD 30.3.3 governs: acupuncture 97810-97814 and dry needling 20560/20561
#: (NCD 30.3.3; two sources agree).
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


@rule("coverage.chiropractor")
def chiropractor(ctx: Context, r: Rule) -> Iterator[Finding]:
    """Medicare: a chiropractor billing anything but CMT 98940-98942 without GY.

    Source: CMS Pub. 100-02 ch. 15 sec. 240.1.1 -- coverage of chiropractic
    service is limited to manual manipulation of the spine; no other diagnostic
    or therapeutic service a chiropractor furnishes is covered: 97140 and other
    therapy by a DC is not a Medicare benefit (GY; three sources agree). That
    includes 98943 (extraspinal manipulation), E/M visits, x-rays and therapy.

    With GY on the line the claim is correct: Medicare denies the line as not a
    benefit and the patient is liable, so the rule stays silent. The fix adds
    GY, and removes AT where present (AT is for covered CMT only, and never sits
    beside GY).
    """
    if ctx.session.provider.discipline != "DC":
        return
    em_codes = ctx.catalog.families.get("em", ())
    for i, line in enumerate(ctx.lines):
        if line.code in CMT_CODES or _GY in ctx.mods[i]:
            continue
        if line.code == "98943":
            what = "98943 (extraspinal manipulation)"
        elif line.code in em_codes:
            what = f"{line.code} (an E/M visit)"
        else:
            what = line.code
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


def _none_replaced(shape: Shape, profile: PayerProfile) -> bool:
    """coverage.replaced-code's guard: the usual visit bills no code the payer replaces."""
    return shape.codes.isdisjoint(profile.replaced_codes)


@rule("coverage.replaced-code", quiet=_none_replaced)
def replaced_code(ctx: Context, r: Rule) -> list[Finding]:
    """Medicare: a code Medicare does not recognize where another code is required.

    Source: Medicare Physician Fee Schedule status I for 97014 -- 97014 is not
    recognized by Medicare, G0283 is used (three sources agree). The fix replaces
    the code; modifiers, units and pointers stay as billed.
    """
    found: list[Finding] = []
    replaced = ctx.profile.replaced_codes
    for code, replacement in replaced.items():
        say = (
            f"Medicare does not accept {code}; bill the same service as {replacement}. "
            f"Change the code to {replacement}."
        )
        for i in ctx.by_code.get(code, ()):
            found.append(r.finding(i, say, fixes=(Fix("replace_code", i, replacement),)))
    return found


def _none_bundled(shape: Shape, profile: PayerProfile) -> bool:
    """coverage.bundled's guard: the usual visit bills no code the payer never pays."""
    return shape.codes.isdisjoint(profile.bundled_codes)


@rule("coverage.bundled", quiet=_none_bundled)
def bundled(ctx: Context, r: Rule) -> list[Finding]:
    """Medicare: a code Medicare never pays separately (97010, hot or cold packs).

    Source: MPFS status B -- 97010 is never paid separately by Medicare (three
    sources agree)
    (MPFS status B: payment is always included in other services, alone or
    not, and the patient cannot be charged). The fix removes the line, offered
    only while another billable line remains: a claim of bundled codes alone
    has nothing to fix into, so that finding carries no fix.
    """
    found: list[Finding] = []
    bundled_codes = ctx.profile.bundled_codes
    hits = [i for code in bundled_codes for i in ctx.by_code.get(code, ())]
    if not hits:
        return found
    others = len(ctx.lines) > len(hits)
    for i in sorted(hits):
        code = ctx.lines[i].code
        if not others:
            say = (
                f"Medicare never pays {code} separately, and nothing else on this visit is "
                f"billed: there is nothing to pay and the patient cannot be charged for it. "
                f"Do not send this claim."
            )
            found.append(r.finding(i, say))
            continue
        say = (
            f"Medicare never pays {code} separately: it is bundled into the visit's other "
            f"services and the patient cannot be charged for it. Remove the {code} line."
        )
        found.append(r.finding(i, say, fixes=(Fix("remove_line", i),)))
    return found


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


@rule("coverage.acupuncture", triggers=ACUPUNCTURE_CODES)
def acupuncture(ctx: Context, r: Rule) -> Iterator[Finding]:
    """Medicare: acupuncture or dry needling without a chronic low back pain diagnosis.

    Source: CMS NCD 30.3.3 (Medicare Coverage Database; "effective for services
    performed on or after January 21, 2020"): Medicare covers acupuncture,
    dry needling included (20560/20561), only for chronic low back pain
    (two sources agree). Before that day no condition was covered (NCD 30.3), so
    the rule flags every such line on earlier dates of service.

    The NCD defines chronic low back pain in words (12 weeks or longer,
    nonspecific, not from surgery or pregnancy) and lists no codes; we accept
    the ICD-10-CM prefixes of the profile's ``low_back_pain_prefixes`` (M54.5, and
    M54.50/M54.51/M54.59 that replaced it on 2021-10-01, single source). A line's own
    diagnosis pointers are read; a line without pointers is read against all of
    the session's diagnoses. The 12-week duration cannot be seen in one visit.

    Not checked here (documentation only): the visit limits (12 in 90 days,
    8 more with improvement, at most 20 a year) need the patient's history,
    and who may bill it (NCD 30.3.3: physicians, and PAs/NPs/CNSs or
    supervised auxiliary personnel with an acupuncture licence) is
    ``coverage.provider``'s business.
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


# ------------------------------------------------------------ who may bill what

_COVERAGE_FILE = "medicare_coverage.toml"


@attrs.frozen
class MedicareCoverage:
    """The facts of ``data/medicare_coverage.toml``, prepared for lookups."""

    #: disciplines Medicare pays for therapy billed under their own number
    therapy_billers: frozenset[str]
    therapy_source: str
    #: acupuncture and dry needling codes, and who may bill them (NCD 30.3.3)
    needling_codes: frozenset[str]
    needling_billers: frozenset[str]
    needling_source: str
    #: CMT codes that need a primary subluxation diagnosis, and those diagnoses
    #: (ICD-10-CM without the dot, upper case)
    subluxation_codes: frozenset[str]
    subluxation_primary: frozenset[str]
    subluxation_source: str


_LOADED: Memo[str, MedicareCoverage] = Memo("medicare coverage data", size=1)


def medicare_coverage() -> MedicareCoverage:
    """The bundled Medicare coverage facts, read on first use."""
    got = _LOADED.get(_COVERAGE_FILE)
    if got is not None:
        return got
    try:
        text = resources.files("cptrules.data").joinpath(_COVERAGE_FILE).read_text("utf-8")
        raw = tomllib.loads(text)
        therapy, needling, sublux = raw["therapy"], raw["needling"], raw["subluxation"]
        data = MedicareCoverage(
            therapy_billers=frozenset(therapy["may_bill"]),
            therapy_source=str(therapy["source"]),
            needling_codes=frozenset(needling["codes"]),
            needling_billers=frozenset(needling["may_bill"]),
            needling_source=str(needling["source"]),
            subluxation_codes=frozenset(sublux["codes"]),
            subluxation_primary=frozenset(c.replace(".", "").upper() for c in sublux["primary"]),
            subluxation_source=str(sublux["source"]),
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"cannot read bundled data: {exc}", source=_COVERAGE_FILE) from exc
    return _LOADED.put(_COVERAGE_FILE, data)


#: provider disciplines named in words in messages
_WHO: Mapping[str, str] = {
    "LMT": "a massage therapist",
    "ATC": "an athletic trainer",
    "LAC": "an acupuncturist",
    "PT": "a physical therapist",
    "OT": "an occupational therapist",
    "SLP": "a speech-language pathologist",
    "MD": "a physician",
    "DO": "a physician",
    "NP": "a nurse practitioner",
    "PA": "a physician assistant",
}
_THERAPY_MODS = frozenset(("GP", "GO", "GN"))


@rule("coverage.provider")
def provider_type(ctx: Context, r: Rule) -> Iterator[Finding]:
    """Medicare: a service billed by a provider type Medicare does not pay for it.

    Sources (``data/medicare_coverage.toml``):

    - Therapy (always-therapy codes, and sometimes-therapy codes billed with
      GP/GO/GN): Medicare pays it only from PTs, OTs and SLPs, or physicians and
      NPPs (and qualified staff incident to them): 42 CFR 410.59/410.60/410.62;
      Pub. 100-02 ch. 15 sec. 230 and 230.5 -- massage therapists, athletic
      trainers and acupuncturists are not qualified therapists (three sources
      agree).
    - Acupuncture 97810-97814 and dry needling 20560/20561: NCD 30.3.3 lets
      physicians furnish it, and PAs/NPs/CNSs and auxiliary personnel with an
      acupuncture degree and licence, the latter only under supervision, billed
      by the supervising physician or NPP. So a PT, OT, SLP, LMT, ATC or
      acupuncturist billing these codes under their own number is not paid
      (two sources agree). Whether a PA/NP holds the licence is not on the claim: not checked.

    A chiropractor is left to ``coverage.chiropractor`` (Medicare pays a DC only
    for CMT), so one problem gets one finding. No fix: the claim must be billed
    by a provider Medicare pays, which is not a change to a line.
    """
    discipline = ctx.session.provider.discipline
    if discipline == "DC":
        return
    data = medicare_coverage()
    therapist_ok = discipline in data.therapy_billers
    needling_ok = discipline in data.needling_billers
    if therapist_ok and (needling_ok or ctx.codes.isdisjoint(data.needling_codes)):
        return  # the usual visit: a therapist's therapy, or a physician's
    who = _WHO.get(discipline, f"a provider of type {discipline}")
    for i, info in enumerate(ctx.infos):
        code = ctx.lines[i].code
        if code in data.needling_codes:
            if needling_ok:
                continue
            yield r.finding(
                i,
                f"Medicare pays {code} (acupuncture or dry needling) only to physicians, and to "
                f"PAs, NPs or clinical nurse specialists licensed in acupuncture; a licensed "
                f"acupuncturist may furnish it only under their supervision, billed by them "
                f"(NCD 30.3.3). Billed by {who} under their own number it will deny.",
                citation=data.needling_source,
            )
        elif not therapist_ok and info is not None:
            therapy = info.therapy == "always" or (
                info.therapy == "sometimes" and not ctx.mods[i].isdisjoint(_THERAPY_MODS)
            )
            if therapy:
                yield r.finding(
                    i,
                    f"{code} is a therapy service, and Medicare pays therapy only from a "
                    f"physical or occupational therapist, a speech-language pathologist, or a "
                    f"physician or NPP (and qualified staff incident to them). Billed by {who} "
                    f"it is not covered.",
                    citation=data.therapy_source,
                )


@rule("coverage.subluxation", triggers=CMT_CODES)
def subluxation(ctx: Context, r: Rule) -> Iterator[Finding]:
    """Medicare: CMT 98940-98942 whose primary diagnosis is not a subluxation.

    Source (``data/medicare_coverage.toml``): Pub. 100-04 ch. 12 sec. 220 --
    the primary diagnosis on a Medicare CMT claim must be subluxation; the MAC
    billing and coding articles for chiropractic services list the primary
    diagnoses as ICD-10-CM M99.00-M99.05 (segmental and somatic dysfunction,
    head to pelvic region; three sources agree). Secondary diagnoses (the condition the
    subluxation causes) follow it; they are not checked here.

    The primary diagnosis is the line's first diagnosis pointer, or the claim's
    first diagnosis when the line points to none. A line carrying GY or GZ
    (billed as excluded or expected to deny) is left alone. Whether the M99.0x
    region matches a region manipulated is not checked (single source). No fix:
    only the chiropractor can say what the diagnosis is.
    """
    data = medicare_coverage()
    primary_ok = data.subluxation_primary
    diagnoses = ctx.session.diagnoses
    for code in data.subluxation_codes:
        for i in ctx.by_code.get(code, ()):
            mods = ctx.mods[i]
            if _GY in mods or "GZ" in mods:
                continue
            pointers = ctx.lines[i].diagnosis_pointers
            first = pointers[0] if pointers else 1
            primary = diagnoses[first - 1] if 0 < first <= len(diagnoses) else None
            if primary is not None and primary.replace(".", "").upper() in primary_ok:
                continue
            what = (
                "no diagnosis"
                if primary is None
                else "a primary diagnosis that is not a subluxation"
            )
            yield r.finding(
                i,
                f"Medicare pays {code} (spinal manipulation) only to treat a subluxation, and "
                f"the line has {what}. Put the subluxation (segmental dysfunction, ICD-10-CM "
                f"M99.00-M99.05, of the region manipulated) first, then the condition it causes.",
            )
