"""ncci.* and poc.*: the rules agree with a straightforward reading of them.

The rules settle the usual visit early, remember the tables' answers and their
prepared pairs, and build messages only for a finding. Here each rule is also
written the plain way (as it was before those shortcuts: every check in the
order the docstring gives, a generator, citations formatted per finding, edits
read straight from the table's windows), and Hypothesis checks that both give
the same findings -- ids, severities, lines, messages, citations, fixes and
order -- on drawn sessions, edit tables and plans of care, asked twice (the
second time from what was remembered). The edit tables are test inputs, not
CMS data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cptrules
from cptrules import strategies as cs
from cptrules._context import Context
from cptrules.models import PlanOfCare, Provider, ServiceLine, Session
from cptrules.ncci import EditTables, MemoryTables, MueEdit, PtpEdit, bundled_tables
from cptrules.report import Finding, Fix
from cptrules.rules import REGISTRY
from cptrules.rules._base import Rule

ENGINE = cptrules.default_engine()
BYPASS = frozenset(("59", "XE", "XS", "XP", "XU"))
MAI_TEXT = {
    1: "MAI 1, per claim line",
    2: "MAI 2, per date of service (policy)",
    3: "MAI 3, per date of service (clinical)",
}
THERAPISTS = frozenset(("PT", "OT", "SLP"))
DAYS = st.dates(dt.date(2019, 1, 1), dt.date(2027, 12, 31))


# ------------------------------------------------------------------ the plain rules


def _windows(tables: EditTables, codes: frozenset[str], day: dt.date) -> list[PtpEdit]:
    """The edits in force between ``codes``, from the table's windows (no remembering)."""
    if not isinstance(tables, MemoryTables):
        return list(tables.ptp(codes, day))
    return [
        e
        for e in tables.edits()
        if e.column1 in codes
        and e.column2 in codes
        and e.column1 != e.column2
        and e.indicator != 9
        and e.in_force(day)
    ]


def _order_uncertain(edit: PtpEdit) -> bool:
    return edit.confidence is not None and "column order [?]" in edit.rationale.lower()


def _edit_citation(edit: PtpEdit) -> str:
    parts = [
        f"NCCI PTP edit {edit.column1}/{edit.column2}, modifier indicator {edit.indicator}",
        edit.source,
    ]
    if edit.confidence is not None:
        parts.append(f"[{edit.confidence}]")
        if _order_uncertain(edit):
            parts.append("column order [?]")
    return "; ".join(parts)


def _in_force_edits(ctx: Context) -> list[PtpEdit]:
    assert ctx.tables is not None
    best: dict[tuple[str, str], PtpEdit] = {}
    for edit in _windows(ctx.tables, ctx.codes, ctx.dos):
        key = (edit.column1, edit.column2)
        if key not in best or edit.indicator < best[key].indicator:
            best[key] = edit
    return [best[k] for k in sorted(best)]


def _regions(ctx: Context, lines: Sequence[int]) -> frozenset[str]:
    return frozenset(r for i in lines for r in ctx.lines[i].regions)


def plain_ptp(ctx: Context, r: Rule) -> Iterator[Finding]:
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
        col1_mods = frozenset(m for i in col1_lines for m in ctx.mods[i] & BYPASS)
        either = _order_uncertain(edit)
        col1_regions = _regions(ctx, col1_lines)
        for i in col2_lines:
            if ctx.mods[i] & BYPASS or (either and col1_mods) or (i, c1) in denied:
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


def _units(ctx: Context, i: int) -> int:
    billed = ctx.billed[i]
    return 1 if billed is None else billed


def _total(ctx: Context, lines: Sequence[int]) -> int:
    return sum(_units(ctx, i) for i in lines)


def _reduce(ctx: Context, lines: Sequence[int], excess: int) -> tuple[Fix, ...]:
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


def plain_mue(ctx: Context, r: Rule) -> Iterator[Finding]:
    tables = ctx.tables
    if tables is None:
        return
    uncovered = False
    if tables.has_mue:
        quarter = getattr(tables, "mue_quarter", None)
        uncovered = callable(quarter) and quarter(ctx.dos) is None
    if not tables.has_mue or uncovered:
        if any(_total(ctx, lines) > 1 for lines in ctx.by_code.values()):
            why = (
                "the imported MUE tables start after this date of service"
                if uncovered
                else "no MUE table is loaded"
            )
            yield Finding(
                r.id,
                "info",
                None,
                f"Units were not checked against medically unlikely edits: {why}. Import "
                f"the CMS practitioner MUE table for the quarter (cptrules data import).",
                r.citation,
            )
        return
    totals = {code: _total(ctx, lines) for code, lines in ctx.by_code.items()}
    for code, edit in sorted(tables.mue(ctx.codes, ctx.dos).items()):
        lines = ctx.by_code.get(code, [])
        citation = (
            f"NCCI MUE {code}: {edit.value} units, {MAI_TEXT.get(edit.indicator, '')}; "
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


def _therapy_visit(ctx: Context) -> bool:
    if ctx.session.provider.discipline not in THERAPISTS:
        return False
    return any(info is not None and info.therapy != "never" for info in ctx.infos)


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def plain_missing(ctx: Context, r: Rule) -> Iterator[Finding]:
    if ctx.session.plan_of_care is not None or not _therapy_visit(ctx):
        return
    yield r.finding(
        None,
        "No plan of care on this Medicare therapy visit: therapy must be furnished under a "
        "plan of care certified by a physician/NPP; add plan_of_care (start, end, signed) "
        "or hold the claim until a plan is in place.",
    )


def plain_expired(ctx: Context, r: Rule) -> Iterator[Finding]:
    poc = ctx.session.plan_of_care
    if poc is None or not _therapy_visit(ctx):
        return
    dos = ctx.dos
    if dos < poc.start:
        yield r.finding(
            None,
            f"The date of service is {_days((poc.start - dos).days)} before the plan of care's "
            "first certified day: bill this visit under the plan in force that day, or "
            "correct plan_of_care start.",
        )
    elif dos > poc.end:
        yield r.finding(
            None,
            f"The date of service is {_days((dos - poc.end).days)} after the certified period "
            "ended: get a recertification signed by the physician/NPP that covers this date, "
            "and enter that plan of care, before billing.",
        )
    length = (poc.end - poc.start).days + 1
    if length > 90:
        yield r.finding(
            None,
            f"The certified period runs {length} calendar days (start day counted as day 1), "
            f"{length - 90} more than the 90 one certification may "
            f"cover: end it on day 90 at the latest and recertify for the rest.",
        )


def plain_unsigned(ctx: Context, r: Rule) -> Iterator[Finding]:
    poc = ctx.session.plan_of_care
    if poc is None or not _therapy_visit(ctx):
        return
    deadline = poc.start + dt.timedelta(days=30)
    order_note = (
        "; if a signed and dated order is on file with proof the plan was sent to the "
        "referring practitioner within 30 days, that also qualifies: re-grade "
        "this rule for such records"
        if ctx.dos >= dt.date(2025, 1, 1)
        else ""
    )
    if poc.signed is None:
        if ctx.dos > deadline:
            yield r.finding(
                None,
                "The plan of care is unsigned and the 30-day window for the "
                f"physician/NPP's certification closed {_days((ctx.dos - deadline).days)} "
                "before this date of service: get the dated signature (a late certification "
                "needs the reason for the delay in the record) and enter plan_of_care signed"
                + order_note
                + ".",
            )
        else:
            left = (deadline - ctx.dos).days
            yield r.finding(
                None,
                "The plan of care is not signed yet: the physician/NPP's dated signature is "
                "due within 30 days of the plan's start, "
                + ("today" if left == 0 else f"{_days(left)} after this date of service")
                + "; enter plan_of_care signed once it is back"
                + order_note
                + ".",
                severity="warning",
            )
    elif poc.signed > deadline:
        yield r.finding(
            None,
            f"The plan of care was signed {_days((poc.signed - deadline).days)} after the "
            "30-day window for certification closed (late certification): "
            "keep the reason for the delay in the record" + order_note + ".",
        )


def plain_progress(ctx: Context, r: Rule) -> Iterator[Finding]:
    day = ctx.session.treatment_day
    if day is None or day < 8 or ctx.session.progress_report:
        return
    if not _therapy_visit(ctx):
        return
    if day >= 10:
        late = day - 10
        overdue = f" ({late} treatment day{'s' if late != 1 else ''} overdue)" if late else ""
        yield r.finding(
            None,
            f"This is treatment day {day} since the last progress report or evaluation and no "
            f"progress report is recorded{overdue}: Medicare needs one at least every "
            "10 treatment days; the therapist writes it at this visit, "
            "then set progress_report to true.",
        )
    else:
        left = 10 - day
        yield r.finding(
            None,
            f"Treatment day {day} since the last progress report or evaluation: a progress "
            "report is due by treatment day 10, "
            f"{left} visit{'s' if left != 1 else ''} after this one; plan it now.",
            severity="info",
        )


PLAIN = {
    "ncci.ptp": plain_ptp,
    "ncci.mue": plain_mue,
    "poc.missing": plain_missing,
    "poc.expired": plain_expired,
    "poc.unsigned": plain_unsigned,
    "poc.progress-report": plain_progress,
}


# ------------------------------------------------------------------ drawn inputs


#: codes the bundled pairs and the payers' denied pairs name, often billed together
PAIRED = ("97140", "97530", "98941", "97012", "97110", "97161")


@st.composite
def tables_for(draw: st.DrawFn, codes: Sequence[str]) -> MemoryTables:
    """Edit tables over ``codes`` (and one code no claim bills): windows, indicators,
    bundled-style rows of [?] order, maybe the bundled pairs, and MUE values of every
    indicator, or none."""
    pool = st.sampled_from([*codes, "97999"])
    edits = []
    for _ in range(draw(st.integers(0, 12))):
        effective = draw(DAYS)
        confidence = draw(st.sampled_from((None, "C-2", "S")))
        edits.append(
            PtpEdit(
                draw(pool),
                draw(pool),
                draw(st.sampled_from((0, 1, 1, 9))),
                effective,
                draw(st.none() | st.dates(effective, dt.date(2028, 1, 1))),
                draw(st.sampled_from(("test rationale", "Order unsure. Column order [?]: x."))),
                "test table (not CMS data)",
                confidence,
            )
        )
    if draw(st.booleans()):  # the bundled pairs, which the payers' denied pairs overlap
        bundled = bundled_tables()
        assert isinstance(bundled, MemoryTables)
        edits.extend(bundled.edits())
    mue: Mapping[str, MueEdit] | None = None
    if draw(st.booleans()):
        mue = {
            c: MueEdit(c, draw(st.integers(0, 4)), draw(st.sampled_from((1, 2, 3))), "r", "m")
            for c in draw(st.lists(pool, unique=True))
        }
    return MemoryTables("test", edits, mue)


@st.composite
def plans(draw: st.DrawFn, dos: dt.date) -> PlanOfCare | None:
    """Plans of care around the date of service: the 30- and 90-day edges are likely."""
    if draw(st.integers(0, 9)) == 0:
        return None
    start = dos - dt.timedelta(days=draw(st.integers(-5, 100)))
    end = start + dt.timedelta(days=draw(st.sampled_from((0, 30, 88, 89, 90, 91, 120))))
    signed = draw(
        st.none()
        | st.sampled_from((29, 30, 31)).map(lambda n: start + dt.timedelta(days=n))
        | st.integers(-3, 40).map(lambda n: start + dt.timedelta(days=n))
    )
    return PlanOfCare(start, end, signed)


@st.composite
def paired_lines(draw: st.DrawFn) -> ServiceLine:
    """A line of a code some pair names, with or without a bypass modifier and regions."""
    return ServiceLine(
        code=draw(st.sampled_from(PAIRED)),
        minutes=draw(st.none() | st.integers(8, 40)),
        units=draw(st.none() | st.integers(0, 3)),
        modifiers=tuple(
            draw(st.lists(st.sampled_from(("GP", "59", "XS", "XU", "KX")), unique=True))
        ),
        regions=tuple(
            draw(st.lists(st.sampled_from(("lumbar", "cervical", "upper_extremity")), unique=True))
        ),
    )


@st.composite
def visits(draw: st.DrawFn) -> tuple[Session, MemoryTables]:
    """Any session with some paired codes added, mostly by a therapist, payers with
    denied pairs among the likely ones, a plan of care near its edges, and tables."""
    session = draw(cs.sessions(max_lines=5))
    lines = session.lines + tuple(draw(st.lists(paired_lines(), max_size=4)))
    if draw(st.booleans()):  # the same code on two lines
        lines = (*lines, attrs.evolve(lines[0], units=draw(st.integers(0, 3))))
    payer = draw(st.sampled_from((session.payer, "medicare", "aetna", "anthem", "bcbs-mn")))
    session = attrs.evolve(
        session,
        payer=payer,
        provider=Provider(draw(st.sampled_from(("PT", "PT", "OT", "SLP", "DC", "MD")))),
        lines=lines,
        plan_of_care=draw(plans(session.date_of_service)),
        treatment_day=draw(st.none() | st.integers(1, 14)),
        progress_report=draw(st.none() | st.booleans()),
    )
    return session, draw(tables_for(sorted({x.code for x in lines})))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(visit=visits())
def test_rules_agree_with_their_plain_reading(visit: tuple[Session, MemoryTables]) -> None:
    session, tables = visit
    profile = ENGINE.profile_for(session.payer, session)
    for with_tables in (tables, None):
        ctx = Context(session, profile, ENGINE.catalog, with_tables)
        for rule_id, plain in PLAIN.items():
            r = REGISTRY[rule_id]
            expected = list(plain(ctx, r))
            assert list(r.func(ctx, r)) == expected, rule_id
            assert list(r.func(ctx, r)) == expected, rule_id  # remembered answers
