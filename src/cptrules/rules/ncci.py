"""Rules of the ncci family: procedure-to-procedure pairs and medically unlikely edits.

Both read the edit tables the engine was given (:mod:`cptrules.ncci`: the bundled
therapy pairs, or the official CMS files imported into the local store); a payer
profile with ``ncci = false`` gets no tables and neither rule runs. Sources:
REFERENCE.md 2.1 and 2.2 (CMS NCCI policy manual, ch. 1; MUE adjudication
indicators [C-3]). What the modifier and the regions decide is in docs/ncci.md.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any

from .._context import Context
from ..ncci import PtpEdit
from ..report import Finding, Fix
from ._base import Example, Rule, rule
from ._examples import DOC as _DOC
from ._examples import line, pt_visit

__all__ = ["mue_edit", "ptp_edit"]

#: the modifiers that bypass an indicator-1 edit, on the column-2 line
_BYPASS = frozenset(("59", "XE", "XS", "XP", "XU"))
_MAI_TEXT = {
    1: "MAI 1, per claim line",
    2: "MAI 2, per date of service (policy)",
    3: "MAI 3, per date of service (clinical)",
}


# ------------------------------------------------------------------- examples


def _pt(*lines: dict[str, Any]) -> dict[str, Any]:
    """A Medicare PT visit on 2026-03-04 with a plan of care in force."""
    timed = sum(int(line.get("minutes", 0)) for line in lines)
    return pt_visit(lines, total_treatment_minutes=timed + 30)


def _line(code: str, minutes: int | None, units: int, *mods: str, **kw: Any) -> dict[str, Any]:
    return line(code, minutes, units, "GP", *mods, **kw)


def _manual(minutes: int, units: int, *mods: str, region: str = "lumbar") -> dict[str, Any]:
    return _line(
        "97140",
        minutes,
        units,
        *mods,
        regions=[region],
        techniques=["joint_mobilization"],
        documentation=_DOC,
    )


# ------------------------------------------------------------------ ncci.ptp


_CHIRO_WITH_97140: dict[str, Any] = {
    "date_of_service": "2026-03-04",
    "payer": "aetna",
    "provider": {"discipline": "DC"},
    "diagnoses": ["M99.03", "M62.830"],
    "total_treatment_minutes": 35,
    "lines": [
        {
            "code": "98940",
            "units": 1,
            "regions": ["lumbar"],
            "techniques": ["spinal_manipulation"],
            "diagnosis_pointers": [1],
        },
        {
            "code": "97140",
            "minutes": 15,
            "units": 1,
            "modifiers": ["XS"],
            "regions": ["upper_extremity"],
            "techniques": ["soft_tissue_mobilization"],
            "diagnosis_pointers": [2],
            "documentation": _DOC,
        },
    ],
}


def _order_uncertain(edit: PtpEdit) -> bool:
    """A bundled row whose column order is [?] (its note says so)."""
    return edit.confidence is not None and "column order [?]" in edit.rationale.lower()


def _edit_citation(edit: PtpEdit) -> str:
    parts = [
        f"NCCI PTP edit {edit.column1}/{edit.column2}, modifier indicator {edit.indicator}",
        edit.source,
    ]
    if edit.confidence is not None:  # a bundled row: say how sure we are
        parts.append(f"[{edit.confidence}]")
        if _order_uncertain(edit):
            parts.append("column order [?]")
    return "; ".join(parts)


def _in_force_edits(ctx: Context) -> list[PtpEdit]:
    """The tables' edits for this claim: one per ordered pair, indicator 0 before 1."""
    assert ctx.tables is not None
    best: dict[tuple[str, str], PtpEdit] = {}
    for edit in ctx.tables.ptp(ctx.codes, ctx.dos):
        key = (edit.column1, edit.column2)
        if key not in best or edit.indicator < best[key].indicator:
            best[key] = edit
    return [best[k] for k in sorted(best)]


def _regions(ctx: Context, lines: Sequence[int]) -> frozenset[str]:
    return frozenset(r for i in lines for r in ctx.lines[i].regions)


@rule(
    "ncci.ptp",
    severity="error",
    citation=(
        "CMS NCCI procedure-to-procedure edits (practitioner); NCCI Policy Manual ch. 1: "
        "the bypass modifier goes on the column-2 code [C-2]"
    ),
    summary=(
        "An NCCI pair billed together: indicator 0 never; indicator 1 only with "
        "59/XE/XS/XP/XU on the column-2 line."
    ),
    payers=("*",),
    confidence="C-2",
    examples=(
        Example(
            _pt(_line("97161", None, 1), _manual(15, 1)),
            fails=True,
            note="PT evaluation with 97140 and no modifier on 97140 (indicator 1 since 2020)",
        ),
        Example(
            _pt(_line("97530", 30, 2), _manual(15, 1)),
            fails=True,
            note="97140 with 97530, neither line carrying 59 or an X modifier",
        ),
        Example(
            _pt(_line("97161", None, 1), _manual(15, 1, "59")),
            fails=False,
            note="evaluation and manual therapy as distinct services, 59 on 97140",
        ),
        Example(
            _pt(_line("97530", 30, 2), _manual(15, 1, "59")),
            fails=False,
            note="97140 with 97530 in distinct 15-minute blocks (MLN SE1418); Anthem denies it",
            payers=("medicare", "commercial", "uhc-commercial", "aetna", "bcbs-mn"),
        ),
        Example(
            _pt(_line("97110", 30, 2), _manual(15, 1)),
            fails=False,
            note="no NCCI pair among the codes",
        ),
        Example(
            _CHIRO_WITH_97140,
            fails=True,
            note="Aetna and BCBS MN deny 97140 with same-day CMT even with XS on another region",
            payers=("aetna", "bcbs-mn"),
        ),
        Example(
            _CHIRO_WITH_97140,
            fails=False,
            note="with XS on another region the NCCI edit is bypassed",
            payers=("commercial", "uhc-commercial", "anthem"),
        ),
    ),
)
def ptp_edit(ctx: Context, r: Rule) -> Iterator[Finding]:
    """NCCI procedure-to-procedure pairs billed on one date of service.

    For every edit in force on the date of service between two codes of the claim
    (the tables leave out indicator 9, which never fires):

    - indicator 0 -> error on each column-2 line, with or without a modifier;
      fix ``remove_line`` (the column-2 code is not payable with column 1);
    - indicator 1 -> error on each column-2 line that carries none of 59, XE,
      XS, XP, XU. The modifier claims a distinct service, so it is suggested as
      a fix only where the visit shows one: the column-2 line documents regions
      and none of them is a region of the column-1 lines -> ``add_modifier XS``.
      When the modifier sits on the column-1 line instead, the fix moves it to
      the column-2 line.

    Bundled pairs whose column order is [?] (docs/ncci.md) accept the modifier
    on either line, since we do not know which line is column 2. Whether 59/XS
    is valid for CMT with 97140 in the same region is ``code.same-region``'s
    question; 59 together with an X modifier is ``modifier.distinct``'s.

    Payer profiles may also deny a pair even with a modifier (``denied_pairs``:
    Aetna, Anthem, BCBS Minnesota): each line of the ``second`` codes billed with
    a ``first`` code is an error citing the profile's source line, whatever its
    modifiers; the NCCI finding for the same line and pair is then left out.
    """
    denied: set[tuple[int, str]] = set()
    for pair in ctx.profile.denied_pairs:
        if not pair.in_force(ctx.dos):
            continue
        firsts = sorted(c for c in pair.first if c in ctx.by_code)
        if not firsts:
            continue
        for c2 in sorted(pair.second & ctx.codes):
            for i in ctx.by_code[c2]:
                denied.update((i, c1) for c1 in firsts)
                others = len(ctx.lines) > 1
                yield r.finding(
                    i,
                    f"This payer does not pay {c2} with {', '.join(firsts)} on the same day, "
                    f"even with 59 or an X modifier. Remove the {c2} line or expect it to deny.",
                    fixes=(Fix("remove_line", i),) if others else (),
                    citation=f"Payer profile {ctx.profile.id}: {pair.source}",
                )
    if ctx.tables is None:
        return
    removing: set[str] = set()
    for edit in _in_force_edits(ctx):
        c1, c2 = edit.column1, edit.column2
        col1_lines = ctx.by_code.get(c1, [])
        col2_lines = ctx.by_code.get(c2, [])
        citation = _edit_citation(edit)
        if edit.indicator == 0:
            keep_col1 = c1 not in removing
            if keep_col1:
                removing.add(c2)
            for i in col2_lines:
                yield r.finding(
                    i,
                    f"{c2} is not payable with {c1} on the same day (NCCI edit, modifier "
                    f"indicator 0): no modifier bypasses it. Remove the {c2} line, or bill "
                    f"only the service you performed.",
                    fixes=(Fix("remove_line", i),) if keep_col1 else (),
                    citation=citation,
                )
            continue
        col1_mods = frozenset(m for i in col1_lines for m in ctx.mods[i] & _BYPASS)
        either = _order_uncertain(edit)
        col1_regions = _regions(ctx, col1_lines)
        for i in col2_lines:
            if ctx.mods[i] & _BYPASS or (either and col1_mods) or (i, c1) in denied:
                continue
            regions = ctx.lines[i].regions
            fixes: tuple[Fix, ...] = ()
            if col1_mods and not either:
                moved = sorted(col1_mods)
                advice = (
                    f"The {c1} line carries {' and '.join(moved)}, but the modifier belongs "
                    f"on the column-2 line ({c2})."
                )
                fixes = tuple(Fix("add_modifier", i, m) for m in moved)
            elif regions and col1_regions and not set(regions) & col1_regions:
                advice = (
                    f"This {c2} line treats other regions than the {c1} line: if that is "
                    f"right, add XS (separate structure) to it."
                )
                fixes = (Fix("add_modifier", i, "XS"),)
            else:
                advice = (
                    f"Bill both only if {c2} was a distinct service - another region (XS), "
                    f"another session (XE), another practitioner (XP), a non-overlapping "
                    f"service (XU), or 59 when no X modifier fits - with the modifier on "
                    f"the {c2} line; otherwise remove the {c2} line."
                )
            order = " (the column order of this bundled pair is [?])" if either else ""
            yield r.finding(
                i,
                f"{c2} with {c1} is an NCCI pair (modifier indicator 1): {c2} is denied "
                f"without 59 or an X modifier{order}. {advice}",
                fixes=fixes,
                citation=citation,
            )


# ------------------------------------------------------------------ ncci.mue


def _units(ctx: Context, i: int) -> int:
    """Billed units of line ``i`` (a claim line without a count is one unit)."""
    billed = ctx.billed[i]
    return 1 if billed is None else billed


def _total(ctx: Context, lines: Sequence[int]) -> int:
    """Billed units of a code over its lines on the date of service."""
    return sum(_units(ctx, i) for i in lines) if len(lines) > 1 else _units(ctx, lines[0])


@functools.lru_cache(maxsize=16)
def _not_checked(rule_id: str, citation: str, uncovered: bool) -> Finding:
    """The once-per-visit note that MUEs were not checked (the same object every time)."""
    why = (
        "the imported MUE tables start after this date of service"
        if uncovered
        else "no MUE table is loaded"
    )
    return Finding(
        rule_id,
        "info",
        None,
        f"Units were not checked against medically unlikely edits: {why}. Import "
        f"the CMS practitioner MUE table for the quarter (cptrules data import).",
        citation,
    )


def _reduce(ctx: Context, lines: Sequence[int], excess: int) -> tuple[Fix, ...]:
    """Fixes taking ``excess`` units off ``lines``, from the last line back."""
    fixes: list[Fix] = []
    for i in reversed(lines):
        if excess <= 0:
            break
        units = _units(ctx, i)
        take = min(units, excess)
        excess -= take
        if take == units:
            fixes.append(Fix("remove_line", i))
        else:
            fixes.append(Fix("set_units", i, units - take))
    return tuple(reversed(fixes))


@rule(
    "ncci.mue",
    severity="error",
    citation=(
        "CMS NCCI medically unlikely edits (practitioner MUE table): MAI 1 per claim line; "
        "MAI 2/3 units summed per code and date of service [C-3]"
    ),
    summary="Units above the medically unlikely edit, by its adjudication indicator.",
    payers=("*",),
    confidence="C-3",
    examples=(
        Example(
            _pt(_line("97110", 45, 3)),
            fails=True,
            note=(
                "with the bundled data (no MUE values) the rule says, once, that it did not "
                "check these 3 units; with an imported MUE table it checks them"
            ),
        ),
        Example(
            _pt(_line("97110", 15, 1), _manual(15, 1, "59"), _line("97530", 15, 1)),
            fails=False,
            note="one unit of each code: nothing an MUE table could be needed for",
        ),
    ),
)
def mue_edit(ctx: Context, r: Rule) -> Iterator[Finding]:
    """Units of a code above its medically unlikely edit (MUE) on the date of service.

    - MAI 1: each line's units against the value -> error on that line, fix
      ``set_units`` to the value;
    - MAI 2 (policy) and 3 (clinical): the code's units summed over its lines of
      the date of service -> error on its first line; over the value all its
      units deny; fixes take the excess off the last lines (``set_units``, or
      ``remove_line`` for a line left with none).

    No MUE values are bundled (none were verified). Without an MUE table, or
    when the imported quarters all start after the date of service, the rule
    reports once (info) that it did not check -- only when the claim bills more
    than one unit of some code: a single unit can exceed only an MUE of 0.
    """
    tables = ctx.tables
    if tables is None:
        return
    uncovered = False
    if tables.has_mue:
        quarter = getattr(tables, "mue_quarter", None)
        uncovered = callable(quarter) and quarter(ctx.dos) is None
    if not tables.has_mue or uncovered:
        if any(_total(ctx, lines) > 1 for lines in ctx.by_code.values()):
            yield _not_checked(r.id, r.citation, uncovered)
        return
    totals = {code: _total(ctx, lines) for code, lines in ctx.by_code.items()}
    for code, edit in sorted(tables.mue(ctx.codes, ctx.dos).items()):
        lines = ctx.by_code.get(code, [])
        citation = (
            f"NCCI MUE {code}: {edit.value} units, {_MAI_TEXT.get(edit.indicator, '')}; "
            f"{edit.source}"
        )
        if edit.indicator == 1:
            for i in lines:
                units = _units(ctx, i)
                if units > edit.value:
                    yield r.finding(
                        i,
                        f"{units} units of {code} on one line exceed its MUE of {edit.value} "
                        f"per claim line: the line denies. Bill at most {edit.value}.",
                        fixes=(Fix("set_units", i, edit.value),) if edit.value > 0 else (),
                        citation=citation,
                    )
            continue
        total = totals.get(code, 0)
        if total > edit.value and lines:
            spread = f" over {len(lines)} lines" if len(lines) > 1 else ""
            yield r.finding(
                lines[0],
                f"{total} units of {code}{spread} on this date of service exceed its MUE of "
                f"{edit.value}: over the MUE, all {total} units deny. Bill at most "
                f"{edit.value}.",
                fixes=_reduce(ctx, lines, total - edit.value) if edit.value > 0 else (),
                citation=citation,
            )
