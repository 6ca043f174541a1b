"""Rules of the coding family: is the code the right one for what was done?

- ``code.technique``: a documented technique belongs to another code's family
  (dry needling, massage strokes or mechanical traction on 97140; manual
  traction on 97012; ...).
- ``code.same-region``: 97140/97124/97112 on a spinal region that same-day CMT
  manipulated; 97124 and 97140 on one region.
- ``code.cmt-regions``: CMT 98940-98942 (spinal regions), OMT 98925-98929 (body
  regions) and dry needling 20560/20561 (muscles) not matching what the line
  documents.

All three apply to every payer (``payers=("*",)``): they are CPT coding
conventions, not one payer's policy. Technique -> family comes from the catalog
(``vocab.toml``); code ranges (``regions_min``/``regions_max``) from
``codes.toml``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from .._context import Context
from ..catalog import CodeInfo
from ..report import Finding, Fix, Severity
from ..units import timed_expectations
from ._base import Rule, rule

__all__ = [
    "CMT_SECONDARY",
    "cmt_regions",
    "same_region",
    "technique",
]

#: Line families that may carry any technique: an evaluation includes some
#: treatment, a group session (97150) can be any activity done in a group, an
#: office E/M visit is not a treatment code, and an unlisted code names no
#: technique of its own.
_ANY_TECHNIQUE = frozenset(
    ("evaluation", "reevaluation", "at_evaluation", "group", "em", "unlisted")
)

#: Techniques that also belong to a manipulation family other than their own:
#: joint manipulation is what CMT (spinal) and 98943 (extraspinal) are; OMT is
#: performed with the manual-therapy techniques and spinal manipulation.
_ALSO_FITS: Mapping[str, frozenset[str]] = {
    "cmt": frozenset(("joint_manipulation",)),
    "cmt_extraspinal": frozenset(("joint_manipulation",)),
    "omt": frozenset(
        (
            "joint_mobilization",
            "joint_manipulation",
            "soft_tissue_mobilization",
            "myofascial_release",
            "manual_lymphatic_drainage",
            "manual_traction",
            "instrument_assisted_soft_tissue_mobilization",
            "muscle_energy_technique",
            "spinal_manipulation",
        )
    ),
}

#: Codes NCCI pairs with CMT 98940-98942 (indicator 1, different region only),
#: with how sure we are of each pair, in words (CMS NCCI practitioner PTP edits,
#: quarter beginning 2024-07-01; payer and association notices for 97140).
CMT_SECONDARY: Mapping[str, str] = {
    "97140": "four sources agree",
    "97112": "two sources agree",
    "97124": "two sources agree",
}

#: massage and manual therapy: one region treated twice (``code.same-region``), unless
#: the payer's edit table pairs the two codes (then it is ``ncci.ptp``'s finding)
_MASSAGE_MANUAL = frozenset(("97124", "97140"))

_MUSCLE_BREAK = 3  # 20560: 1-2 muscles; 20561: 3 or more (CPT 2020 code descriptors)
_DRY_NEEDLING = ("20560", "20561")


def _label(technique: str) -> str:
    return technique.replace("_", " ")


def _codes_text(codes: tuple[str, ...]) -> str:
    if len(codes) <= 2:
        return " or ".join(codes)
    return f"{codes[0]}-{codes[-1]}"


def _range_code(ctx: Context, family: str, count: int) -> str | None:
    """The code of ``family`` whose region range holds ``count`` (CMT, OMT)."""
    for code in ctx.catalog.families.get(family, ()):
        info = ctx.catalog.codes[code]
        lo, hi = info.regions_min, info.regions_max
        if lo is not None and hi is not None and lo <= count <= hi and info.valid_on(ctx.dos):
            return code
    return None


def _muscle_code(muscles: int) -> str:
    return _DRY_NEEDLING[0] if muscles < _MUSCLE_BREAK else _DRY_NEEDLING[1]


def _target(ctx: Context, i: int, family: str) -> str | None:
    """The one code of ``family`` line i's documentation points to, or None if ambiguous."""
    codes = ctx.catalog.families.get(family, ())
    line = ctx.lines[i]
    if family == "dry_needling":
        return None if line.muscles is None else _muscle_code(line.muscles)
    if family == "cmt":
        spinal = len(ctx.spinal(i))
        return _range_code(ctx, family, spinal) if spinal else None
    if len(codes) == 1 and ctx.catalog.codes[codes[0]].valid_on(ctx.dos):
        return codes[0]
    return None


def _new_units(ctx: Context, i: int, target: CodeInfo) -> int | None:
    """Units line i should carry once recoded to ``target`` (None = cannot say)."""
    line = ctx.lines[i]
    if not target.timed:
        return target.max_units
    if line.minutes is None:
        return None
    timed = dict(ctx.timed_minutes)
    old = ctx.infos[i]
    if old is not None and old.timed:
        left = timed.get(line.code, 0) - line.minutes
        if left > 0:
            timed[line.code] = left
        else:
            timed.pop(line.code, None)
    timed[target.code] = timed.get(target.code, 0) + line.minutes
    try:
        expected, _ = timed_expectations(timed, ctx.profile.unit_method)
    except ValueError:  # pragma: no cover - minutes were validated on load
        return None
    return expected.get(target.code)


def _technique_finding(
    ctx: Context, r: Rule, i: int, family: str, foreign: list[str], mixed: bool | None
) -> Finding:
    """One finding: techniques of ``family`` documented on line i, with a fix if unambiguous.

    ``mixed`` is None when ``foreign`` are the line's only techniques, True when
    the line also documents techniques of its own code, False when it documents
    only other codes' techniques, of several families.
    """
    line = ctx.lines[i]
    code = line.code
    codes = ctx.catalog.families.get(family, ())
    names = " and ".join(_label(t) for t in foreign)
    name = names[0].upper() + names[1:]
    belongs = f"{name} is billed with {_codes_text(codes)}, not {code}"
    if family == "dry_needling":
        belongs = (
            f"{name} is billed with 20560 (1-2 muscles) or 20561 (3 or more muscles), not {code}"
        )
    if mixed is not None:
        keep = (
            f"keep on {code} only the minutes of the techniques that belong to {code}"
            if mixed
            else f"recode or remove this {code} line, since none of its techniques is {code}"
        )
        return r.finding(
            i,
            f"{belongs}, and this line documents other techniques too: split the service -- "
            f"bill the {names} on its own {_codes_text(codes)} line and {keep}.",
        )
    target = _target(ctx, i, family)
    if target is None:
        how = {
            "dry_needling": "record how many muscles were needled, then change the code",
            "cmt": "record the spinal regions manipulated, then change the code",
        }.get(family, "change the code")
        return r.finding(i, f"{belongs}: {how} to the matching one.")
    info = ctx.catalog.codes[target]
    if any(j != i for j in ctx.by_code.get(target, ())):
        return r.finding(
            i,
            f"{belongs}, and {target} is already billed on another line: move this service "
            f"to that line (its minutes and units) and remove this one.",
        )
    if info.timed and line.minutes is None:
        return r.finding(
            i,
            f"{belongs}: change the code to {target} and record its minutes "
            f"({target} is billed by time).",
        )
    fixes = [Fix("replace_code", i, target)]
    units = _new_units(ctx, i, info)
    tail = ""
    if line.units is not None and units is not None and units != line.units:
        fixes.append(Fix("set_units", i, units))
        tail = f" and bill {units} unit{'s' if units != 1 else ''}"
    old = ctx.infos[i]
    if (info.timed or (old is not None and old.timed)) and any(
        other is not None and other.timed for j, other in enumerate(ctx.infos) if j != i
    ):
        # Moving minutes into or out of the timed total can shift the other lines' units.
        tail += ", then re-check the units of the visit's other timed lines"
    return r.finding(
        i,
        f"{belongs}: change the code to {target}{tail}.",
        fixes=tuple(fixes),
    )


@rule("code.technique")
def technique(ctx: Context, r: Rule) -> list[Finding]:
    """A documented technique that belongs to another code family than the line's code.

    Source: CPT code descriptors and MAC and APTA coding guidance -- dry
    needling is not 97140, use 20560/20561 (three sources agree); massage
    strokes are 97124, not 97140 (three sources agree); mechanical traction is
    97012, manual traction 97140 (two sources agree). Technique -> family is catalog data
    (``vocab.toml``), so every technique/code pair is checked the same way.

    The fix replaces the code only when it is unambiguous: every technique on
    the line belongs to one other family, that family gives one code (dry
    needling by muscles: 1-2 -> 20560, 3+ -> 20561; CMT by spinal regions),
    the code is not already billed on another line, and a timed target has
    minutes. Billed units are reset to what the new code takes. Where the line
    mixes its own techniques with another code's, the message says to split the
    minutes onto two lines. Evaluation and group lines may carry any technique;
    joint manipulation fits CMT and 98943, and manual techniques fit OMT.
    """
    family_of = ctx.catalog.techniques.get
    infos = ctx.infos
    found: list[Finding] = []
    for i, line in enumerate(ctx.lines):
        if not line.techniques:
            continue
        info = infos[i]
        if info is None or info.family in _ANY_TECHNIQUE:
            continue
        family = info.family
        also = _ALSO_FITS.get(family, _NOTHING)
        for t in line.techniques:
            fam = family_of(t)
            if fam is not None and fam != family and t not in also:
                break  # a technique of another family: sort them out below
        else:
            continue  # every technique fits the code: the usual case
        native: list[str] = []
        foreign: dict[str, list[str]] = {}
        for t in dict.fromkeys(line.techniques):
            fam = family_of(t)
            if fam is None or fam == family or t in also:
                native.append(t)
            else:
                foreign.setdefault(fam, []).append(t)
        mixed = True if native else (False if len(foreign) > 1 else None)
        for fam, ts in foreign.items():
            found.append(_technique_finding(ctx, r, i, fam, ts, mixed))
    return found


_NOTHING: frozenset[str] = frozenset()


def _regions_text(regions: frozenset[str]) -> str:
    return ", ".join(sorted(regions))


# Payers where 97140 beside CMT is payable at all for a different region:
# Medicare does not pay a DC for 97140 (coverage.chiropractor), and Aetna and
# BCBS Minnesota deny the pair outright (profile denied_pairs).


@rule("code.same-region")
def same_region(ctx: Context, r: Rule) -> Iterator[Finding]:
    """97140/97124/97112 on a spinal region same-day CMT treated; 97124 and 97140 on one region.

    Source: CMS NCCI practitioner PTP edits (quarter beginning 2024-07-01) --
    CMT 98940-98942 (column 1) with 97140 (indicator 1): payable only for a
    different region than the manipulated one, with 59/XS (four sources agree);
    CMT with 97112 and 97124 alike (two sources agree). On the same
    region no modifier makes the line payable, so the finding is an error on
    the 97140/97124/97112 line whatever its modifiers. Regions are compared
    only where both lines document them (doc.manual-therapy flags a 97140
    without a region).

    97124 and 97140 on one region the same day: a warning on the 97124 line,
    only where the payer's edit tables hold no pair of the two codes in force
    (a profile that applies no NCCI edits, a date or an imported table without
    the pair). The CMS table pairs 97140 (column 1) with 97124 at indicator 0
    (quarter beginning 2024-07-01), so wherever that edit is loaded the payer
    denies 97124 beside 97140 whatever the region and ``ncci.ptp`` reports it:
    one fact, one finding.

    No automatic fix: a region cannot be moved, and whether to drop the line
    or correct its documented region is the clinician's call.
    """
    cmt_lines = ctx.family_lines("cmt")
    if cmt_lines:
        manipulated: frozenset[str] = frozenset().union(*(ctx.spinal(c) for c in cmt_lines))
        for code, confidence in CMT_SECONDARY.items():
            for j in ctx.by_code.get(code, ()):
                both = ctx.spinal(j) & manipulated
                if not both:
                    continue
                where = _regions_text(both)
                yield r.finding(
                    j,
                    f"{code} is on the {where} region{'s' if len(both) > 1 else ''} that the "
                    f"same-day spinal manipulation (CMT) treated: with CMT, {code} is payable "
                    f"only for a different region, and 59 or XS does not change that. Correct "
                    f"the region if {code} treated another one, or remove the {code} line.",
                    citation=(
                        f"NCCI PTP edit CMT 98940-98942 / {code}, modifier indicator 1: "
                        f"payable only for a different region ({confidence})"
                    ),
                )
    massage = ctx.by_code.get("97124", ())
    manual = ctx.by_code.get("97140", ())
    if not massage or not manual:
        return
    tables = ctx.tables
    if tables is not None:
        for e in tables.ptp(_MASSAGE_MANUAL, ctx.dos):
            if {e.column1, e.column2} == _MASSAGE_MANUAL:
                return  # the payer's edit table pairs them: ncci.ptp reports it, once
    manual_regions = frozenset(reg for m in manual for reg in ctx.lines[m].regions)
    for j in massage:
        both = frozenset(ctx.lines[j].regions) & manual_regions
        if not both:
            continue
        where = _regions_text(both)
        yield r.finding(
            j,
            f"97124 and 97140 both treat the {where} region{'s' if len(both) > 1 else ''} "
            f"today; payers may pay massage and manual therapy on one region as one service. "
            f"Bill one of them for that region, or correct the regions if each treated a "
            f"different one.",
            severity="warning",
            citation=(
                "CMS NCCI practitioner PTP edit 97140/97124, modifier indicator 0 (quarter "
                "beginning 2024-07-01): massage and manual therapy are not paid together"
            ),
        )


def _mismatch(r: Rule, i: int, code: str, target: str | None, what: str, over: bool) -> Finding:
    """A count-based code (CMT, OMT, dry needling) that does not match the line's count."""
    if over:
        severity: Severity = "error"
        why = "the code bills more than the line documents"
    else:
        severity = "warning"
        why = "the code bills less than the line documents (money left behind)"
    return r.finding(
        i,
        f"{code} does not match the {what} documented on this line: {why}. "
        f"Change the code to {target}.",
        severity=severity,
        fixes=(Fix("replace_code", i, str(target)),),
    )


@rule("code.cmt-regions")
def cmt_regions(ctx: Context, r: Rule) -> Iterator[Finding]:
    """CMT/OMT codes not matching the regions on the line; dry needling not matching muscles.

    Source: CPT code descriptors and CMS Pub. 100-04 ch. 12 sec. 220 (three sources
    agree) -- CMT 98940/98941/98942 by 1-2 / 3-4 / 5 spinal
    regions; OMT 98925-98929 by body regions (every region counts: 1-2, 3-4,
    5-6, 7-8, 9-10); 20560/20561 by 1-2 / 3 or more muscles. The ranges are
    catalog data (``regions_min``/``regions_max`` in codes.toml). CMS Pub.
    100-02 ch. 15 sec. 240.1.4: the level of subluxation must be specified, so
    a CMT line without a spinal region is an error with no fix.

    Grading follows units.total-time: a code above what the line documents is
    an error (it bills more than was done); a code below it is a warning (money
    left behind). Both carry a replace_code fix. A dry needling line without
    ``muscles`` is a warning: the code cannot be confirmed.
    """
    for family, what in (("cmt", "spinal"), ("omt", "body")):
        for i in ctx.family_lines(family):
            yield from _count_code(ctx, r, i, family, what)
    for i in ctx.family_lines("dry_needling"):
        line = ctx.lines[i]
        if line.muscles is None:
            yield r.finding(
                i,
                f"{line.code} is chosen by the number of muscles needled (20560: 1-2, "
                f"20561: 3 or more), and the line does not say how many: record the muscles.",
                severity="warning",
            )
            continue
        target = _muscle_code(line.muscles)
        if target != line.code:
            noun = "muscle" if line.muscles == 1 else "muscles"
            yield _mismatch(
                r,
                i,
                line.code,
                target,
                f"{line.muscles} {noun} needled",
                over=line.code == _DRY_NEEDLING[1],
            )


def _count_code(ctx: Context, r: Rule, i: int, family: str, what: str) -> Iterator[Finding]:
    """CMT (spinal regions) or OMT (every body region) line i against its code's range."""
    line = ctx.lines[i]
    info = ctx.infos[i]
    if info is None or info.regions_min is None:  # pragma: no cover - catalog data
        return
    n = len(ctx.spinal(i)) if family == "cmt" else len(frozenset(line.regions))
    if n == 0:
        if family == "cmt":
            extra = " Manipulation of extraspinal regions only is 98943." if line.regions else ""
            todo = "the spinal regions manipulated (cervical, thoracic, lumbar, sacral, pelvic)"
        else:
            extra, todo = "", "the body regions treated"
        yield r.finding(
            i,
            f"{line.code} is billed with no {what} region documented on the line: record "
            f"{todo}; the code is chosen by their number.{extra}",
        )
        return
    target = _range_code(ctx, family, n)
    if target is None or target == line.code:
        return
    noun = "region" if n == 1 else "regions"
    yield _mismatch(r, i, line.code, target, f"{n} {what} {noun}", over=n < info.regions_min)
