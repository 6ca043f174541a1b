"""Rules of the ncci family: procedure-to-procedure pairs and medically unlikely edits.

Both read the edit tables the engine was given (:mod:`cptrules.ncci`: the bundled
therapy pairs, or the official CMS files imported into the local store); a payer
profile with ``ncci = false`` gets no tables and neither rule runs. Sources:
the CMS NCCI Policy Manual, ch. 1 (bypass modifiers on the column-2 code) and
the MUE adjudication indicators (confirmed by three sources). What the modifier
and the regions decide is in docs/ncci.md; what a payer profile's ``[[pairs]]``
decide is in docs/profiles.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import NamedTuple

from .._context import Context, Shape
from .._memo import Memo
from ..ncci import MueEdit, PtpEdit
from ..payers import PairQuirk, ncci_bypass_modifiers
from ..report import Finding, Fix, _units_fix
from ._base import Rule, rule

__all__ = ["mue_edit", "ptp_edit"]

_NOTHING_SETTLED: frozenset[tuple[int, str]] = frozenset()
_MAI_TEXT = {
    1: "MAI 1, per claim line",
    2: "MAI 2, per date of service (policy)",
    3: "MAI 3, per date of service (clinical)",
}


# ------------------------------------------------------------------ ncci.ptp


def _order_uncertain(edit: PtpEdit) -> bool:
    """A table row whose column order is uncertain: its note says "column order [?]"."""
    return edit.confidence is not None and "column order [?]" in edit.rationale.lower()


_NUMBERS = {"2": "two", "3": "three", "4": "four", "5": "five"}


def _confidence_words(tag: str) -> str:
    """A confidence tag of the bundled data in words: ``C-4`` -> "confirmed by four sources"."""
    if tag == "S":
        return "single source"
    if tag == "?":
        return "sources disagree"
    if tag.startswith("C-"):
        n = tag[2:]
        return "single source" if n == "1" else f"confirmed by {_NUMBERS.get(n, n)} sources"
    return tag


def _edit_citation(edit: PtpEdit) -> str:
    parts = [
        f"NCCI PTP edit {edit.column1}/{edit.column2}, modifier indicator {edit.indicator}",
        edit.source,
    ]
    if edit.confidence is not None:  # a bundled row: say how sure we are
        parts.append(_confidence_words(edit.confidence))
        if _order_uncertain(edit):
            parts.append("sources disagree on the column order")
    return "; ".join(parts)


class _Pair(NamedTuple):
    """The edit in force for one ordered pair of a claim's codes, ready for findings."""

    column1: str
    column2: str
    indicator: int
    citation: str
    #: a pair of uncertain column order: the modifier is accepted on either line
    either: bool


#: the tables' answer (edits in force between a claim's codes) -> its pairs. Claims
#: repeat the same few code sets, so the same answers come back visit after visit:
#: choosing one edit per pair, sorting and formatting citations (lowercasing long
#: rationales) is done once per answer instead of once per visit. The tables hand
#: out one tuple per answer, so it is found by identity (hashing the edits by
#: value took a Python call per edit): keyed by its id, the tuple kept beside its
#: pairs so the id cannot be reused while remembered; bounded (oldest dropped first).
_PAIRS: Memo[int, tuple[tuple[PtpEdit, ...], tuple[_Pair, ...]]] = Memo("ncci.ptp pairs", size=4096)


def _pairs(edits: Sequence[PtpEdit]) -> tuple[_Pair, ...]:
    """The edits for a claim: one per ordered pair, indicator 0 before 1, pair order."""
    key = edits if type(edits) is tuple else tuple(edits)
    seen = _PAIRS.get(id(key))
    got = seen[1] if seen is not None and seen[0] is key else None
    if got is None:
        best: dict[tuple[str, str], PtpEdit] = {}
        for edit in key:
            pair = (edit.column1, edit.column2)
            if pair not in best or edit.indicator < best[pair].indicator:
                best[pair] = edit
        got = tuple(
            _Pair(e.column1, e.column2, e.indicator, _edit_citation(e), _order_uncertain(e))
            for e in (best[k] for k in sorted(best))
        )
        _PAIRS.put(id(key), (key, got))
    return got


#: (rule, line, pair and everything the words and fixes depend on) -> the finding.
#: Visits repeat the same few pairs on the same lines, and a finding is immutable,
#: so each is worded once (a 12-line visit words five on average); bounded.
_FOUND: Memo[tuple[object, ...], Finding] = Memo("ncci.ptp findings", size=4096)


def _bypass_mods(ctx: Context, lines: Sequence[int]) -> frozenset[str]:
    """The bypass modifiers (59, X{EPSU}) carried by any of ``lines``."""
    mods = ctx.mods
    bypass = ncci_bypass_modifiers()
    if len(lines) == 1:  # the usual column-1 code, on one line: no generator
        return mods[lines[0]] & bypass
    return frozenset(m for i in lines for m in mods[i] & bypass)


def _carries_bypass(ctx: Context, lines: Sequence[int], bypass: frozenset[str]) -> bool:
    """True when one of ``lines`` carries a bypass modifier (no set built)."""
    mods = ctx.mods
    for i in lines:  # noqa: SIM110 - a loop: cheaper than any() over a generator
        if not mods[i].isdisjoint(bypass):
            return True
    return False


def _regions(ctx: Context, lines: Sequence[int]) -> frozenset[str]:
    if len(lines) == 1:  # one line: no generator
        return frozenset(ctx.lines[lines[0]].regions)
    return frozenset(r for i in lines for r in ctx.lines[i].regions)


@rule("ncci.ptp")
def ptp_edit(ctx: Context, r: Rule) -> Sequence[Finding]:
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

    Table rows whose column order is uncertain (docs/ncci.md) accept the modifier
    on either line, since we do not know which line is column 2. Whether 59/XS
    is valid for CMT with 97140 in the same region is ``code.same-region``'s
    question; 59 together with an X modifier is ``modifier.distinct``'s.

    A payer profile's ``[[pairs]]`` speak first (docs/profiles.md), each
    citing its own source line, whatever NCCI says about the pair:

    - ``deny``: each line of the ``second`` codes billed with a ``first`` code
      is a finding whatever its modifiers (Aetna, Anthem, BCBS Minnesota);
    - ``require-modifier``: such a line must carry one of the entry's
      modifiers and, with ``regions = "different"``, treat none of the
      ``first`` lines' regions (BCBS North Carolina);
    - ``allow``: the payer pays the pair as billed.

    The indicator-1 NCCI finding for a line and pair a payer entry settled is
    left out (an indicator-0 edit still stands unless the payer allows the pair).
    """
    found: list[Finding] = []
    settled: AbstractSet[tuple[int, str]] = _NOTHING_SETTLED
    allowed: AbstractSet[tuple[int, str]] = _NOTHING_SETTLED
    if not ctx.codes.isdisjoint(ctx.profile.pair_codes):  # most visits: no payer pair
        settled, allowed = _payer_pairs(ctx, r, found)
    tables = ctx.tables
    if tables is None:
        return found
    edits = tables.ptp(ctx.codes, ctx.dos)
    if not edits:  # the usual claim: no edit between any two of its codes
        return found
    pairs = _pairs(edits)
    if settled:  # a payer pair spoke: worded for this visit
        return _pair_findings(ctx, r, pairs, found, allowed, settled)
    # Otherwise the findings follow from the pairs, the visit's shape (codes and
    # modifiers by line) and its lines' regions, which visits repeat: looked up.
    shape = ctx.shape
    regions = tuple([line.regions for line in ctx.lines])
    key = (id(pairs), id(shape), regions, r.id, r.severity)
    hit = _VISITS.get(key)
    if hit is not None and hit[0] is pairs and hit[1] is shape:
        return hit[2]
    got = tuple(_pair_findings(ctx, r, pairs, found, allowed, settled))
    _VISITS.put(key, (pairs, shape, got))
    return got


#: (pairs, shape and regions of a visit without payer pairs, rule id and severity) ->
#: its findings. Keyed by the ids of the pairs' tuple and of the shape, both kept
#: beside the findings so that a reused id is told apart; bounded.
_VISITS: Memo[
    tuple[int, int, tuple[tuple[str, ...], ...], str, str],
    tuple[tuple[_Pair, ...], Shape, tuple[Finding, ...]],
] = Memo("ncci.ptp visits", size=4096)


def _pair_findings(
    ctx: Context,
    r: Rule,
    pairs: tuple[_Pair, ...],
    found: list[Finding],
    allowed: AbstractSet[tuple[int, str]],
    settled: AbstractSet[tuple[int, str]],
) -> list[Finding]:
    """``found`` with the findings of the NCCI ``pairs`` on the visit (see :func:`ptp_edit`)."""
    by_code = ctx.by_code
    mods = ctx.mods
    bypass = ncci_bypass_modifiers()
    removing: set[str] | None = None  # column-2 codes an indicator-0 fix removes
    for c1, c2, indicator, citation, either in pairs:
        col2_lines: Sequence[int] = by_code.get(c2, ())
        if allowed:
            col2_lines = tuple(i for i in col2_lines if (i, c1) not in allowed)
        if indicator == 0:
            if removing is None:
                removing = set()
            keep_col1 = c1 not in removing
            if keep_col1:
                removing.add(c2)
            for i in col2_lines:
                key = (r.id, r.severity, 0, i, c1, c2, citation, keep_col1)
                got = _FOUND.get(key)
                if got is None:
                    got = _FOUND.put(
                        key,
                        r.finding(
                            i,
                            f"{c2} is not payable with {c1} on the same day (NCCI edit, "
                            f"modifier indicator 0): no modifier bypasses it. Remove the {c2} "
                            f"line, or bill only the service you performed.",
                            fixes=(_units_fix("remove_line", i),) if keep_col1 else (),
                            citation=citation,
                        ),
                    )
                found.append(got)
            continue
        col1_lines = by_code.get(c1, ())
        for i in col2_lines:
            # Most column-2 lines carry their bypass modifier, or the column-1 line
            # does on a pair of uncertain order: settle those without building anything.
            if not mods[i].isdisjoint(bypass):
                continue
            if either and _carries_bypass(ctx, col1_lines, bypass):
                continue
            if settled and (i, c1) in settled:  # (no pair built where no payer pair is)
                continue
            found.append(_indicator_1(ctx, r, i, c1, c2, citation, either, col1_lines))
    return found


def _payer_pairs(
    ctx: Context, r: Rule, found: list[Finding]
) -> tuple[set[tuple[int, str]], set[tuple[int, str]]]:
    """Add the findings of the profile's ``[[pairs]]`` in force to ``found``.

    Returns the (line, first code) pairs a payer entry settled, for which ncci.ptp
    says nothing more about indicator 1, and those the payer allows outright.
    """
    settled: set[tuple[int, str]] = set()
    allowed: set[tuple[int, str]] = set()
    codes = ctx.codes
    by_code = ctx.by_code
    for pair in ctx.profile.pairs:
        if not pair.in_force(ctx.dos):
            continue
        firsts = sorted(pair.first & codes)
        if not firsts:
            continue
        for c2 in sorted(pair.second & codes):
            for i in by_code[c2]:
                keys = [(i, c1) for c1 in firsts]
                settled.update(keys)
                if pair.action == "allow":
                    allowed.update(keys)
                    continue
                finding = (
                    _payer_denies(ctx, r, pair, i, c2, firsts)
                    if pair.action == "deny"
                    else _payer_requires(ctx, r, pair, i, c2, firsts)
                )
                if finding is not None:
                    found.append(finding)
    return settled, allowed


def _payer_citation(ctx: Context, pair: PairQuirk) -> str:
    return f"{ctx.profile.name} (payer profile {ctx.profile.id}): {pair.source}; {pair.confidence}"


def _payer_denies(
    ctx: Context, r: Rule, pair: PairQuirk, i: int, c2: str, firsts: Sequence[str]
) -> Finding:
    others = len(ctx.lines) > 1
    return r.finding(
        i,
        f"{ctx.profile.name} does not pay {c2} with {', '.join(firsts)} on the same "
        f"day, even with 59 or an X modifier. Remove the {c2} line or expect "
        f"it to deny.",
        fixes=(_units_fix("remove_line", i),) if others else (),
        citation=_payer_citation(ctx, pair),
        severity=pair.severity,
    )


def _payer_requires(
    ctx: Context, r: Rule, pair: PairQuirk, i: int, c2: str, firsts: Sequence[str]
) -> Finding | None:
    """The finding for a ``require-modifier`` entry on line ``i``, or None when it is met."""
    carried = ctx.mods[i] & pair.modifiers
    wanted = " or ".join(sorted(pair.modifiers))
    with_codes = ", ".join(firsts)
    if not carried:
        problem = f"it needs {wanted} on the {c2} line"
        fixes: tuple[Fix, ...] = ()
        if len(pair.modifiers) == 1:
            # the payer's modifier in place of the bypass modifiers it does not take
            # (59 beside an X modifier on one line is itself a finding)
            others = sorted(ctx.mods[i] & ncci_bypass_modifiers())
            fixes = (
                *(Fix("remove_modifier", i, m) for m in others),
                Fix("add_modifier", i, next(iter(pair.modifiers))),
            )
    elif pair.different_regions:
        regions = set(ctx.lines[i].regions)
        first_regions = _regions(ctx, [j for c1 in firsts for j in ctx.by_code[c1]])
        if regions and not regions & first_regions:
            return None
        fixes = ()
        problem = (
            f"the {c2} line names no region, and it must treat another region than {with_codes}"
            if not regions
            else f"the {c2} line treats a region {with_codes} also treats"
        )
    else:
        return None
    where = " for a different region" if pair.different_regions else ""
    return r.finding(
        i,
        f"{ctx.profile.name} pays {c2} with {with_codes} on the same day only with "
        f"{wanted}{where}: {problem}.",
        fixes=fixes,
        citation=_payer_citation(ctx, pair),
        severity=pair.severity,
    )


def _indicator_1(
    ctx: Context,
    r: Rule,
    i: int,
    c1: str,
    c2: str,
    citation: str,
    either: bool,
    col1_lines: Sequence[int],
) -> Finding:
    """The finding on column-2 line ``i`` of an indicator-1 pair billed without a bypass.

    Remembered by what its words and fixes depend on (see :data:`_FOUND`).
    """
    col1_mods = _bypass_mods(ctx, col1_lines)
    regions = ctx.lines[i].regions
    moving = bool(col1_mods) and not either
    col1_regions = _regions(ctx, col1_lines) if regions and not moving else None
    key = (r.id, r.severity, 1, i, c1, c2, citation, either, col1_mods, regions, col1_regions)
    got = _FOUND.get(key)
    if got is not None:
        return got
    fixes: tuple[Fix, ...] = ()
    if moving:
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
    order = " (sources disagree on the column order of this bundled pair)" if either else ""
    return _FOUND.put(
        key,
        r.finding(
            i,
            f"{c2} with {c1} is an NCCI pair (modifier indicator 1): {c2} is denied "
            f"without 59 or an X modifier{order}. {advice}",
            fixes=fixes,
            citation=citation,
        ),
    )


# ------------------------------------------------------------------ ncci.mue


def _units(ctx: Context, i: int) -> int:
    """Billed units of line ``i`` (a claim line without a count is one unit)."""
    billed = ctx.billed[i]
    return 1 if billed is None else billed


def _total(ctx: Context, lines: Sequence[int]) -> int:
    """Billed units of a code over its lines on the date of service."""
    return sum(_units(ctx, i) for i in lines) if len(lines) > 1 else _units(ctx, lines[0])


def _over_one_unit(ctx: Context) -> bool:
    """True when some code bills more than one unit in total on the date of service."""
    billed = ctx.billed
    if len(ctx.by_code) == len(billed):
        # Every code on one line (the usual claim): its total is that line's units,
        # and a line without a count is one unit -- no sums to build. A plain loop:
        # any() over a generator costs more than the rest of this check.
        for units in billed:  # noqa: SIM110
            if units is not None and units > 1:
                return True
        return False
    return any(_total(ctx, lines) > 1 for lines in ctx.by_code.values())


def _mue_citation(code: str, edit: MueEdit) -> str:
    return (
        f"NCCI MUE {code}: {edit.value} units, {_MAI_TEXT.get(edit.indicator, '')}; {edit.source}"
    )


#: (rule id, citation, uncovered) -> the note: the same object visit after visit
_NOT_CHECKED: Memo[tuple[str, str, bool], Finding] = Memo("ncci.mue not checked", size=16)


def _not_checked(rule_id: str, citation: str, uncovered: bool) -> Finding:
    """The once-per-visit note that MUEs were not checked (the same object every time)."""
    key = (rule_id, citation, uncovered)
    got = _NOT_CHECKED.get(key)
    if got is not None:
        return got
    why = (
        "the imported MUE tables start after this date of service"
        if uncovered
        else "no MUE table is loaded"
    )
    return _NOT_CHECKED.put(
        key,
        Finding(
            rule_id,
            "info",
            None,
            f"Units were not checked against medically unlikely edits: {why}. Import "
            f"the CMS practitioner MUE table for the quarter (cptrules data import).",
            citation,
        ),
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
            fixes.append(_units_fix("remove_line", i))
        else:
            fixes.append(_units_fix("set_units", i, units - take))
    return tuple(reversed(fixes))


@rule("ncci.mue")
def mue_edit(ctx: Context, r: Rule) -> Sequence[Finding]:
    """Units of a code above its medically unlikely edit (MUE) on the date of service.

    - MAI 1: each line's units against the value -> error on that line, fix
      ``set_units`` to the value;
    - MAI 2 (policy) and 3 (clinical): the code's units summed over its lines of
      the date of service -> error on its first line; over the value all its
      units deny; fixes take the excess off the last lines (``set_units``, or
      ``remove_line`` for a line left with none).

    The bundled values are the CMS table's of the quarter beginning 2024-07-01
    for the therapy codes of the catalog. Without an MUE table, or
    when the imported quarters all start after the date of service, the rule
    reports once (info) that it did not check -- only when the claim bills more
    than one unit of some code: a single unit can exceed only an MUE of 0.
    """
    tables = ctx.tables
    if tables is None:
        return ()
    has_mue = tables.has_mue
    uncovered = False
    if has_mue:
        quarter = getattr(tables, "mue_quarter", None)
        uncovered = callable(quarter) and quarter(ctx.dos) is None
    if not has_mue or uncovered:
        if _over_one_unit(ctx):
            return [_not_checked(r.id, r.citation, uncovered)]
        return ()
    mues = tables.mue(ctx.codes, ctx.dos)
    if not mues:
        return ()
    by_code = ctx.by_code
    billed = ctx.billed
    if len(by_code) == len(billed):
        # Guard: every code on one line (the usual claim), so a code's units are its
        # line's (a line without a count is one unit), per line and summed alike.
        for code, edit in mues.items():
            units = billed[by_code[code][0]]
            if (1 if units is None else units) > edit.value:
                break
        else:
            return ()
    found: list[Finding] = []
    for code, edit in sorted(mues.items()):
        lines = by_code.get(code)
        if not lines:
            continue
        value = edit.value
        if edit.indicator == 1:
            for i in lines:
                units = _units(ctx, i)
                if units > value:
                    found.append(
                        r.finding(
                            i,
                            f"{units} units of {code} on one line exceed its MUE of {value} "
                            f"per claim line: the line denies. Bill at most {value}.",
                            fixes=(_units_fix("set_units", i, value),) if value > 0 else (),
                            citation=_mue_citation(code, edit),
                        )
                    )
            continue
        total = _total(ctx, lines)
        if total > value:
            spread = f" over {len(lines)} lines" if len(lines) > 1 else ""
            found.append(
                r.finding(
                    lines[0],
                    f"{total} units of {code}{spread} on this date of service exceed its MUE "
                    f"of {value}: over the MUE, all {total} units deny. Bill at most {value}.",
                    fixes=_reduce(ctx, lines, total - value) if value > 0 else (),
                    citation=_mue_citation(code, edit),
                )
            )
    return found
