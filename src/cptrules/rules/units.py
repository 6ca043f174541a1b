"""Unit rules: timed codes by the payer's method, untimed codes by their basis.

Timed codes are summed across their lines first (a session is one provider, so
one discipline). Billed units that match *any* legal CMS allocation are not an
error; over-billing is an error, under-billing a warning (money left behind).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from .._context import Context
from ..ncci import MueEdit
from ..report import Finding, Fix, _units_fix
from ..units import _chart, chart_row
from ._base import Rule, rule

__all__: list[str] = []


def _timed(ctx: Context, r: Rule, method_note: str) -> list[Finding]:
    """Shared by units.total-time and units.per-code: compare billed to legal units."""
    minutes = ctx.timed_minutes
    firsts = ctx.catalog.first_unit_of
    # Guard: every line billed as the engine expects (units left out count so) is a
    # legal allocation adding up to the chart; only a first-unit code needs a look.
    if not minutes or (ctx.billed == ctx.expected and ctx.codes.isdisjoint(firsts)):
        return []
    by_code = ctx.by_code
    lines_ = ctx.lines
    billed_units = ctx.billed
    legal = ctx.legal
    expected = ctx.expected
    billed: dict[str, int] = {}
    bad: list[str] = []
    chart = 0  # the chart's units, which the engine put on each code's lines with minutes
    billed_sum = 0
    for code in minutes:
        idxs = by_code[code]
        if len(idxs) == 1:  # the common case: the code's only line carries its minutes
            total = billed_units[idxs[0]] or 0
            chart += expected[idxs[0]] or 0
        else:
            total = 0
            for i in idxs:
                chart += expected[i] or 0
                if lines_[i].minutes is not None:
                    total += billed_units[i] or 0
        billed[code] = total
        billed_sum += total
        if total not in legal[code]:
            bad.append(code)
    split = [] if ctx.codes.isdisjoint(firsts) else _first_unit_findings(ctx, r, billed)
    if not bad and billed_sum == chart:
        return split
    return [*_timed_findings(ctx, r, method_note, billed, bad, chart), *split]


#: what a first-unit finding cites (our own words for the code pair)
_FIRST_UNIT_CITATION = (
    "CPT code set: 97129 covers the first 15 minutes of cognitive function intervention, "
    "97130 each further 15 minutes; CMS Pub. 100-04, ch. 5, sec. 20.2 (units by time)"
)


def _first_unit_findings(ctx: Context, r: Rule, billed: dict[str, int]) -> list[Finding]:
    """A code that stands for the first 15 minutes only (97129) billed, or timed, for
    more than one unit: the further units belong to its add-on code (97130)."""
    found = []
    for code, addon in ctx.catalog.first_unit_of.items():
        if code not in ctx.timed_minutes:
            continue
        units = billed[code]
        due = _expected_total(ctx, code)
        if max(units, due) <= 1:
            continue
        lines = [i for i in ctx.by_code[code] if ctx.lines[i].minutes is not None]
        more = max(due, 1) - 1
        found.append(
            r.finding(
                lines[0],
                f"{code} is billed {units} unit(s) for {ctx.timed_minutes[code]} minutes, but it "
                f"covers the first 15 minutes only; each further 15 minutes is {addon}. Bill "
                f"{code} x1 and {addon} x{more} (with the minutes after the first 15 on the "
                f"{addon} line).",
                severity="error" if units > 1 else "warning",
                citation=_FIRST_UNIT_CITATION,
            )
        )
    return found


def _timed_findings(
    ctx: Context,
    r: Rule,
    method_note: str,
    billed: dict[str, int],
    bad: list[str],
    chart: int,
) -> Iterator[Finding]:
    """The findings of :func:`_timed` once something is off (the rare branch).

    The billed counts are held to the legal allocation closest to them (the one
    that covers most of what was billed; the engine's own pick first on a tie):
    a code billed above it is over-billed (an error), below it under-billed (a
    warning). So on a three-way tie billed 2/2/0, where each 2 is legal alone,
    the code that took the third code's unit is over-billed, not only the 0
    under-billed: no legal allocation gives both of them 2.
    """
    minutes = ctx.timed_minutes
    legal = ctx.legal
    best = _closest_allocation(ctx, billed)
    pooled = ""
    if not bad:
        # Three or more tied codes: each count may be legal alone but not together.
        pooled = (
            f" Together the timed codes are billed {sum(billed.values())} units, the chart "
            f"gives {chart}."
        )
    firsts = ctx.catalog.first_unit_of
    mues: Mapping[str, MueEdit] | None = None  # read once some code is billed off its allocation
    why_all = ""  # the day's minutes and chart row (total-time), worded once
    for code in minutes:
        expected = best[code]
        if billed[code] == expected:
            continue  # as allocated (past the MUE too: that is ncci.mue's finding)
        if mues is None:
            mues = _mues(ctx)
        cap = _mue_cap(ctx, mues, code)
        mue_note = ""
        if cap is not None and expected > cap:
            # Over the MUE every unit of the day denies (MAI 2/3): the clinic bills the
            # MUE and the chart's further units go unbilled. Billing past the MUE but within
            # the chart is ncci.mue's finding, not this rule's: those counts pass here.
            if cap <= billed[code] <= expected:
                continue  # the MUE, or past it within the chart: ncci.mue's finding
            mue_note = (
                f" (the chart gives {expected}, but {code}'s medically unlikely edit allows "
                f"{cap} a day and over it every unit denies)"
            )
            expected = cap
        if billed[code] == expected or (code in firsts and max(billed[code], expected) > 1):
            continue  # (a first-unit code billed past one unit: _first_unit_findings words it)
        over = billed[code] > expected
        idxs = ctx.by_code[code]
        if len(idxs) == 1:  # the usual code: one line, which carries the minutes
            lines = idxs
            fixes: tuple[Fix, ...] = (_units_fix("set_units", idxs[0], expected),)
        else:
            # the units go on the first line with minutes, none on the others
            lines = [i for i in idxs if ctx.lines[i].minutes is not None]
            fixes = tuple(
                _units_fix("set_units", i, expected if n == 0 else 0)
                for n, i in enumerate(lines)
                if ctx.billed[i] != (expected if n == 0 else 0)
            )
        allowed = " or ".join(map(str, sorted(legal[code])))
        if ctx.profile.unit_method == "total-time":
            if not why_all:
                total_minutes = sum(minutes.values())
                chart_total = _chart(total_minutes)
                lo, hi = _CHART_ROWS[chart_total] if chart_total < 100 else chart_row(chart_total)
                why_all = (
                    f"{total_minutes} timed minutes in all give {chart_total} "
                    f"unit(s) (chart row {lo}-{hi} minutes)"
                )
            why = f"{why_all}; {code} has {minutes[code]} of them"
        else:
            why = f"{code} has {minutes[code]} minutes of its own"
        together = pooled
        if not pooled and billed[code] in legal[code]:
            # legal alone, but not beside what the other codes are billed
            together = (
                f" No legal allocation gives it {billed[code]} beside the other codes' "
                f"units: the chart's {chart} unit(s) go "
                + ", ".join(f"{c} x{u}" for c, u in best.items())
                + "."
            )
        verdict = "over-billed" if over else "under-billed (money left behind)"
        yield r.finding(
            lines[0],
            f"{code} billed {billed[code]} unit(s) but {method_note} allows {allowed}: {why}."
            f"{together} This is {verdict}; bill {expected}{mue_note}.",
            severity="error" if over else "warning",
            fixes=fixes,
        )


def _mues(ctx: Context) -> Mapping[str, MueEdit]:
    """The loaded MUEs of the claim's codes on the date of service (ncci.mue's answer,
    remembered by the tables); empty where the profile applies no NCCI edits or no MUE
    is loaded. Read on the rare branch only (a visit whose units are off)."""
    tables = ctx.tables
    if tables is None or not tables.has_mue:
        return _NO_MUES
    return tables.mue(ctx.codes, ctx.dos)


def _mue_cap(ctx: Context, mues: Mapping[str, MueEdit], code: str) -> int | None:
    """The most units of timed ``code`` the loaded MUEs let a clinic bill on the day.

    A date-of-service MUE (MAI 2 or 3) caps the code's units summed over the day;
    a per-line MUE (MAI 1) caps each line, so the code's lines with minutes
    together. None where no MUE of the code is loaded.
    """
    edit = mues.get(code)
    if edit is None:
        return None
    if edit.indicator == 1:
        lines = sum(1 for i in ctx.by_code[code] if ctx.lines[i].minutes is not None)
        return edit.value * max(lines, 1)
    return edit.value


_NO_MUES: Mapping[str, MueEdit] = {}


def _closest_allocation(ctx: Context, billed: dict[str, int]) -> dict[str, int]:
    """The legal allocation of the timed minutes that covers most of the billed units.

    Legal allocations differ only in which codes tied on leftover minutes take
    the last units (each tied code may have ``f`` or ``f + 1``, the chart fixing
    how many take ``f + 1``). The extra units go first to tied codes billed at
    least ``f + 1``, then to the others, the engine's own pick first each time.
    """
    minutes = ctx.timed_minutes
    best: dict[str, int] = {}
    tied: list[str] = []
    for c, units in ctx.legal.items():  # (the timed codes, in their order)
        if len(units) == 1:
            (best[c],) = units
        else:
            best[c] = min(units)
            tied.append(c)
    if not tied:  # one legal allocation: the engine's (always so per code)
        return best
    slots = _chart(sum(minutes.values())) - sum(best.values())
    picked = {c for c in tied if _expected_total(ctx, c) > best[c]}
    # billed past its floor first, then the engine's picks, in its tie order
    order = sorted(tied, key=lambda c: (billed[c] <= best[c], c not in picked, -minutes[c], c))
    for c in order[:slots]:
        best[c] += 1
    return best


#: chart_row(u) for every count of units a parsed visit can reach (1,440 minutes: 96)
_CHART_ROWS = tuple(chart_row(u) for u in range(100))


def _expected_total(ctx: Context, code: str) -> int:
    return sum(ctx.expected[i] or 0 for i in ctx.by_code[code])


@rule("units.total-time")
def total_time(ctx: Context, r: Rule) -> list[Finding]:
    """Medicare total-time ("8-minute") method, CMS Pub. 100-04 ch. 5 sec. 20.2.

    Five sources agree.

    The day's timed minutes give the total units; each code gets one unit per
    full 15 minutes (sec. 20.2 C: a service of at least 15 minutes is billed at
    least one unit), the rest go to the largest leftovers. Where leftovers tie,
    every allocation is legal; ``expected`` is the engine's deterministic pick.
    Billed units are held to the closest legal allocation: a code billed above
    it is over-billed (error) even when the day's total matches the chart.

    The day's MUE caps what a clinic should bill (CMS NCCI MUE; MAI 2 and 3
    are date-of-service edits: past the value every unit of the code that day
    denies, so the chart's further units go unbilled). Where the loaded MUE of
    a code is below its allocation, billing the MUE is not under-billing and
    the fix of an over-billed code is the MUE; billing past the MUE but within
    the chart is left to ``ncci.mue``. The fixes of the two rules agree, so ``Report.settle()``
    ends on the MUE (97110 for 105 minutes: chart 7, MUE 6 -> bill 6).
    """
    return _timed(ctx, r, "the CMS total-time method")


@rule("units.per-code")
def per_code(ctx: Context, r: Rule) -> list[Finding]:
    """AMA midpoint method per code (most commercial payers; four sources agree).

    Each code's own minutes through the 8/23/38... ladder; leftovers of
    different codes are never pooled. A loaded date-of-service MUE caps what to
    bill, as for ``units.total-time``.
    """
    return _timed(ctx, r, "the AMA midpoint rule")


@rule("units.untimed")
def untimed(ctx: Context, r: Rule) -> list[Finding]:
    """Service-based codes: one unit per session (evaluations, supervised modalities,
    97150 per patient, CMT/OMT by regions, 20560/20561 by muscles; three sources agree).

    Add-on codes without their primary (97811/97814 without 97810/97813) and two
    codes of one once-a-day group (97810 with 97813) are ``code.add-on``'s.
    """
    lines = ctx.lines
    by_code = ctx.by_code
    expected = ctx.expected  # an untimed line's expected units are its code's max_units
    # Guard: the usual untimed line is the only line of its code, within its units.
    for i in ctx.untimed:
        line = lines[i]
        units = line.units
        most = expected[i]
        if most is None:
            continue  # no per-session count (add-ons: code.add-on)
        if len(by_code[line.code]) > 1 or (units is not None and units > most):
            break
    else:
        return []
    found: list[Finding] = []
    infos = ctx.infos
    for code, idxs in by_code.items():
        info = infos[idxs[0]]
        if info is None or info.timed:
            continue
        max_units = info.max_units
        if max_units is not None:
            if len(idxs) == 1:  # the common case: one line, within its units
                units = lines[idxs[0]].units
                if units is None or units <= max_units:
                    continue
            for n, i in enumerate(idxs):
                units = lines[i].units
                if n > 0:
                    found.append(
                        r.finding(
                            i,
                            f"{code} is billed on more than one line; it is one service a day "
                            f"({max_units} unit). Remove this line.",
                            fixes=(_units_fix("remove_line", i),),
                        )
                    )
                elif units is not None and units > max_units:
                    found.append(
                        r.finding(
                            i,
                            f"{code} is billed {units} units but allows {max_units} per "
                            f"session. Bill {max_units}.",
                            fixes=(_units_fix("set_units", i, max_units),),
                        )
                    )
    return found


@rule("units.single-line")
def single_line(ctx: Context, r: Rule) -> list[Finding]:
    """Since April 2021 some MACs reject a timed code split over several lines
    of one date of service (two sources). A warning: not every MAC does.

    One split is how CMS itself bills a code furnished partly by a therapist and
    partly by an assistant: a therapist line without CQ/CO and an assistant line
    with it (CMS, "Billing Examples Using CQ/CO Modifiers for Services Furnished
    In Whole or In Part by PTAs and OTAs"). A code on exactly two lines, one
    with an assistant modifier and one without, is therefore not reported.
    """
    found: list[Finding] = []
    if len(ctx.by_code) == len(ctx.lines):  # no code on two lines
        return found
    assistant = ctx.catalog.mods.assistant
    for code in ctx.timed_minutes:
        idxs = ctx.by_code[code]
        if len(idxs) == 1:
            continue
        if len(idxs) == 2:
            first, second = (ctx.mods[i].isdisjoint(assistant) for i in idxs)
            if first is not second:
                continue  # the therapist line and the assistant line of CMS's examples
        found.append(
            r.finding(
                idxs[1],
                f"{code} is on {len(idxs)} lines; put it on one line with the summed minutes "
                "and units (some Medicare contractors reject split timed codes).",
            )
        )
    return found


@rule("units.missing-minutes")
def missing_minutes(ctx: Context, r: Rule) -> list[Finding]:
    """Timed codes are billed by documented direct one-on-one minutes (three sources agree)."""
    if not ctx.unminuted:
        return []
    return [
        r.finding(
            i,
            f"{ctx.lines[i].code} is a timed code but the line has no minutes; "
            "record the direct one-on-one minutes so the units can be checked.",
        )
        for i in ctx.unminuted
    ]


@rule("units.daily-cap")
def daily_cap(ctx: Context, r: Rule) -> Iterator[Finding]:
    """Daily unit caps from the payer profile, per therapy type (GP/GO/GN); a single source each.

    The cap, its codes, dates and source are data in the profile; the finding
    cites the profile's source line.
    """
    therapy = ctx.catalog.mods.therapy_of.values()  # GP, GO, GN in catalog order
    for cap in ctx.profile.unit_caps:
        if not cap.in_force(ctx.dos):
            continue
        per_type: dict[str, tuple[int, int]] = {}
        for i, line in enumerate(ctx.lines):
            if line.code in cap.codes:
                kind = next((m for m in therapy if m in ctx.mods[i]), "")
                units = ctx.billed[i] or 0
                total, last = per_type.get(kind, (0, i))
                per_type[kind] = (total + units, i)
        for kind, (total, last) in per_type.items():
            if total > cap.units:
                label = f" under {kind}" if kind else ""
                yield r.finding(
                    last,
                    f"{total} units of capped timed codes{label} today; this payer allows "
                    f"{cap.units} a day. Reduce the units or expect the excess to deny.",
                    citation=cap.source,
                )
