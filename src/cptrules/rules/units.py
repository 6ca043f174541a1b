"""Unit rules: timed codes by the payer's method, untimed codes by their basis.

Timed codes are summed across their lines first (a session is one provider, so
one discipline). Billed units that match *any* legal CMS allocation are not an
error; over-billing is an error, under-billing a warning (money left behind).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from .._context import Context
from ..report import Finding, Fix
from ..units import _chart, chart_row
from ._base import Example, Rule, rule
from ._examples import pt_visit

__all__: list[str] = []


def _pt(lines: list[dict[str, Any]], payer: str = "medicare", **extra: Any) -> dict[str, Any]:
    """A Medicare-clean PT visit around ``lines`` (plan of care in force, GP on lines)."""
    return pt_visit(
        lines, **{"payer": payer, "treatment_day": 3, "total_treatment_minutes": 75, **extra}
    )


def _timed(ctx: Context, r: Rule, method_note: str) -> list[Finding]:
    """Shared by units.total-time and units.per-code: compare billed to legal units."""
    minutes = ctx.timed_minutes
    if not minutes:
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
    if not bad and billed_sum == chart:
        return []
    return list(_timed_findings(ctx, r, method_note, billed, bad, chart))


def _timed_findings(
    ctx: Context,
    r: Rule,
    method_note: str,
    billed: dict[str, int],
    bad: list[str],
    chart: int,
) -> Iterator[Finding]:
    """The findings of :func:`_timed` once something is off (the rare branch)."""
    minutes = ctx.timed_minutes
    legal = ctx.legal
    total_minutes = sum(minutes.values())
    billed_sum = sum(billed.values())
    pooled = ""
    if not bad:
        # Three or more tied codes: each count may be legal alone but not together.
        bad = [c for c in minutes if billed[c] != _expected_total(ctx, c)]
        pooled = (
            f" Together the timed codes are billed {billed_sum} units, the chart gives {chart}."
        )
    for code in bad:
        expected = _expected_total(ctx, code)
        over = billed[code] > expected if pooled else billed[code] > max(legal[code])
        lines = [i for i in ctx.by_code[code] if ctx.lines[i].minutes is not None]
        fixes = tuple(
            Fix("set_units", i, expected if n == 0 else 0)
            for n, i in enumerate(lines)
            if ctx.billed[i] != (expected if n == 0 else 0)
        )
        allowed = " or ".join(str(u) for u in sorted(legal[code]))
        if ctx.profile.unit_method == "total-time":
            chart_total = _chart(total_minutes)
            lo, hi = _CHART_ROWS[chart_total] if chart_total < 100 else chart_row(chart_total)
            why = (
                f"{total_minutes} timed minutes in all give {chart_total} "
                f"unit(s) (chart row {lo}-{hi} minutes); {code} has {minutes[code]} of them"
            )
        else:
            why = f"{code} has {minutes[code]} minutes of its own"
        verdict = "over-billed" if over else "under-billed (money left behind)"
        yield r.finding(
            lines[0],
            f"{code} billed {billed[code]} unit(s) but {method_note} allows {allowed}: {why}."
            f"{pooled} This is {verdict}; bill {expected}.",
            severity="error" if over else "warning",
            fixes=fixes,
        )


#: chart_row(u) for every count of units a parsed visit can reach (1,440 minutes: 96)
_CHART_ROWS = tuple(chart_row(u) for u in range(100))


def _expected_total(ctx: Context, code: str) -> int:
    return sum(ctx.expected[i] or 0 for i in ctx.by_code[code])


@rule(
    "units.total-time",
    severity="error",
    citation="CMS Pub. 100-04, ch. 5, sec. 20.2",
    summary="Timed units must match a legal allocation of the day's total timed minutes.",
    payers=("*",),
    confidence="C-5",
    applies=lambda p: p.unit_method == "total-time",
    examples=(
        Example(
            _pt(
                [
                    {"code": "97110", "minutes": 33, "units": 3, "modifiers": ["GP"]},
                    {"code": "97112", "minutes": 7, "units": 0, "modifiers": ["GP"]},
                ]
            ),
            fails=True,
            note="33 + 7 = 40 minutes: 3 units, but 97110 x2 and 97112 x1 (leftover 3 vs 7)",
        ),
        Example(
            _pt(
                [
                    {"code": "97112", "minutes": 20, "units": 2, "modifiers": ["GP"]},
                    {"code": "97110", "minutes": 20, "units": 1, "modifiers": ["GP"]},
                ]
            ),
            fails=False,
            note="a tie: 2 + 1 either way is legal",
        ),
    ),
)
def total_time(ctx: Context, r: Rule) -> list[Finding]:
    """Medicare total-time ("8-minute") method, CMS Pub. 100-04 ch. 5 sec. 20.2 [C-5].

    The day's timed minutes give the total units; each code gets one unit per
    full 15 minutes, the rest go to the largest leftovers. Where leftovers tie,
    every allocation is legal; ``expected`` is the engine's deterministic pick.
    """
    return _timed(ctx, r, "the CMS total-time method")


@rule(
    "units.per-code",
    severity="error",
    citation="AMA CPT time rule: a unit is attained when the midpoint is passed, per code",
    summary="Timed units must match each code's own minutes by the AMA midpoint rule.",
    payers=("*",),
    confidence="C-4",
    applies=lambda p: p.unit_method == "per-code",
    examples=(
        Example(
            _pt(
                [
                    {"code": "97110", "minutes": 7, "units": 1},
                    {"code": "97116", "minutes": 7, "units": 0},
                ],
                payer="commercial",
            ),
            fails=True,
            note="7 minutes of one code is no unit under the midpoint rule",
        ),
        Example(
            _pt(
                [
                    {"code": "97110", "minutes": 10, "units": 1},
                    {"code": "97116", "minutes": 10, "units": 1},
                ],
                payer="commercial",
            ),
            fails=False,
        ),
    ),
)
def per_code(ctx: Context, r: Rule) -> list[Finding]:
    """AMA midpoint method per code (most commercial payers) [C-4].

    Each code's own minutes through the 8/23/38... ladder; leftovers of
    different codes are never pooled.
    """
    return _timed(ctx, r, "the AMA midpoint rule")


@rule(
    "units.untimed",
    severity="error",
    citation="CMS Pub. 100-04, ch. 5, sec. 20.2 (service-based codes)",
    summary="An untimed code billed with more units than its basis allows.",
    payers=("*",),
    confidence="C-3",
    examples=(
        Example(
            _pt([{"code": "97012", "units": 2, "modifiers": ["GP"]}]),
            fails=True,
            note="mechanical traction is one unit per session",
        ),
        Example(_pt([{"code": "97012", "units": 1, "modifiers": ["GP"]}]), fails=False),
    ),
)
def untimed(ctx: Context, r: Rule) -> list[Finding]:
    """Service-based codes: one unit per session (evaluations, supervised modalities,
    97150 per patient, CMT/OMT by regions, 20560/20561 by muscles) [C-3].

    Add-on codes without their primary (97811/97814 without 97810/97813) and two
    codes of one once-a-day group (97810 with 97813) are ``code.add-on``'s.
    """
    # Fast path: the usual untimed line is the only line of its code, within its
    # units. Anything else goes to the general path, which alone words findings.
    lines = ctx.lines
    by_code = ctx.by_code
    expected = ctx.expected  # an untimed line's expected units are its code's max_units
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
    return _untimed_findings(ctx, r)


def _untimed_findings(ctx: Context, r: Rule) -> list[Finding]:
    """The general path of :func:`untimed`: every finding, worded."""
    found: list[Finding] = []
    infos = ctx.infos
    lines = ctx.lines
    for code, idxs in ctx.by_code.items():
        info = infos[idxs[0]]
        if info is None or info.timed:
            continue
        max_units = info.max_units
        if max_units is not None:
            if len(idxs) == 1:  # the common case: one line, checked without a loop
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
                            fixes=(Fix("remove_line", i),),
                        )
                    )
                elif units is not None and units > max_units:
                    found.append(
                        r.finding(
                            i,
                            f"{code} is billed {units} units but allows {max_units} per "
                            f"session. Bill {max_units}.",
                            fixes=(Fix("set_units", i, max_units),),
                        )
                    )
    return found


@rule(
    "units.single-line",
    severity="warning",
    citation="CMS MAC guidance (First Coast), timed codes on a single line per date of service",
    summary="The same timed code on several lines of one date of service.",
    payers=("medicare",),
    confidence="C-2",
    effective=dt.date(2021, 4, 1),
    examples=(
        Example(
            _pt(
                [
                    {"code": "97110", "minutes": 15, "units": 1, "modifiers": ["GP"]},
                    {"code": "97110", "minutes": 15, "units": 1, "modifiers": ["GP"]},
                ]
            ),
            fails=True,
        ),
        Example(
            _pt([{"code": "97110", "minutes": 30, "units": 2, "modifiers": ["GP"]}]), fails=False
        ),
    ),
)
def single_line(ctx: Context, r: Rule) -> Iterator[Finding]:
    """Since April 2021 some MACs reject a timed code split over several lines
    of one date of service [C-2]. A warning: not every MAC does."""
    if len(ctx.by_code) == len(ctx.lines):  # no code on two lines
        return
    for code in ctx.timed_minutes:
        idxs = ctx.by_code[code]
        if len(idxs) > 1:
            yield r.finding(
                idxs[1],
                f"{code} is on {len(idxs)} lines; put it on one line with the summed minutes "
                "and units (some Medicare contractors reject split timed codes).",
            )


@rule(
    "units.missing-minutes",
    severity="error",
    citation="CMS Pub. 100-02, ch. 15, sec. 220.3 (timed minutes must be documented)",
    summary="A timed code without minutes: its units cannot be supported.",
    payers=("*",),
    confidence="C-3",
    examples=(
        Example(_pt([{"code": "97110", "units": 2, "modifiers": ["GP"]}]), fails=True),
        Example(
            _pt([{"code": "97110", "minutes": 30, "units": 2, "modifiers": ["GP"]}]), fails=False
        ),
    ),
)
def missing_minutes(ctx: Context, r: Rule) -> list[Finding]:
    """Timed codes are billed by documented direct one-on-one minutes [C-3]."""
    return [
        r.finding(
            i,
            f"{ctx.lines[i].code} is a timed code but the line has no minutes; "
            "record the direct one-on-one minutes so the units can be checked.",
        )
        for i in ctx.unminuted
    ]


_THERAPY_MODS = ("GP", "GO", "GN")


@rule(
    "units.daily-cap",
    severity="error",
    citation="Payer profile unit cap (see the profile's source line)",
    summary="More units of capped timed codes in a day than the payer allows.",
    payers=("*",),
    confidence="S",
    applies=lambda p: bool(p.unit_caps),
    examples=(
        Example(
            _pt(
                [
                    {"code": "97110", "minutes": 45, "units": 3, "modifiers": ["GP"]},
                    {"code": "97112", "minutes": 30, "units": 2, "modifiers": ["GP"]},
                ],
                payer="anthem",
            ),
            fails=True,
            note="5 units of timed codes; Anthem allows 4 a day per therapy type [S]",
        ),
        Example(
            _pt(
                [
                    {"code": "97110", "minutes": 30, "units": 2, "modifiers": ["GP"]},
                    {"code": "97112", "minutes": 30, "units": 2, "modifiers": ["GP"]},
                ],
                payer="anthem",
            ),
            fails=False,
        ),
    ),
)
def daily_cap(ctx: Context, r: Rule) -> Iterator[Finding]:
    """Daily unit caps from the payer profile, per therapy type (GP/GO/GN) [S].

    The cap, its codes, dates and source are data in the profile; the finding
    cites the profile's source line.
    """
    for cap in ctx.profile.unit_caps:
        if not cap.in_force(ctx.dos):
            continue
        per_type: dict[str, tuple[int, int]] = {}
        for i, line in enumerate(ctx.lines):
            if line.code in cap.codes:
                kind = next((m for m in _THERAPY_MODS if m in ctx.mods[i]), "")
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
