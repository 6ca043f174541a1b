"""Rules of the plan_of_care family: Medicare outpatient therapy certification.

Medicare pays outpatient therapy only under a plan of care certified by a
physician/NPP (CMS Pub. 100-02, ch. 15, secs. 220.1.2,
220.1.3 and 220.3). These rules apply to Medicare profiles (``payers=
("medicare",)``, so a profile extending ``medicare`` inherits them) and only to
a *therapy visit*:

- the provider's discipline is PT, OT or SLP, and
- at least one line is a therapy code: "always therapy", or "sometimes
  therapy", which is always therapy when a therapist furnishes it (CMS annual
  therapy code list; Pub. 100-04, ch. 5, sec. 20).

Visits by MD/DO/NP/PA are left out on purpose: the sources describe the
certification of a therapist's plan by a physician/NPP, and says nothing
sourced about how a physician/NPP who personally furnishes therapy documents
their own plan; a rule for them needs that source first. A chiropractor (DC)
or other discipline billing therapy codes to Medicare is a coverage problem
(``coverage.chiropractor``), not a plan-of-care one.

Day arithmetic: every window here is a count of calendar days, which
:class:`datetime.timedelta` gives exactly (a day is always one day);
``dateutil.relativedelta`` is needed only for month or year steps, which
these rules do not take. Messages give counts of days, never dates: the
library keeps input data other than codes, modifiers, minutes and units out
of messages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from .._context import Context
from .._memo import Memo
from ..report import Finding
from ._base import Rule, rule

__all__ = [
    "CERT_MAX_DAYS",
    "PROGRESS_HEADS_UP_DAY",
    "PROGRESS_REPORT_DAYS",
    "SIGN_WITHIN_DAYS",
    "certified_days",
    "expired",
    "missing",
    "progress_report",
    "signature_deadline",
    "unsigned",
]

#: longest certification period, in calendar days, the start day counting as day 1
#: (three sources; Pub. 100-02, ch. 15, sec. 220.1.3)
CERT_MAX_DAYS = 90
#: the initial certification is timely when signed at most this many days after the
#: plan's start (three sources; Pub. 100-02, ch. 15, sec. 220.1.3)
SIGN_WITHIN_DAYS = 30
#: a progress report is due at least once every this many treatment days
#: (two sources; Pub. 100-02, ch. 15, sec. 220.3 D)
PROGRESS_REPORT_DAYS = 10
#: cptrules' own heads-up, two visits before the limit: not a payer rule
PROGRESS_HEADS_UP_DAY = 8

#: from this date of service a signed order plus proof the plan was sent within the
#: window also meets the signature requirement ("from 2025", three sources;
#: Noridian JE/JF: "dates of service on or after January 1, 2025")
_ORDER_ALTERNATIVE_FROM = dt.date(2025, 1, 1)
_SIGN_WINDOW = dt.timedelta(days=SIGN_WITHIN_DAYS)
_LAST_START = dt.date.max - _SIGN_WINDOW
_THERAPISTS = frozenset(("PT", "OT", "SLP"))


def certified_days(start: dt.date, end: dt.date) -> int:
    """Length of a certification period in calendar days, the start day being day 1.

    >>> certified_days(dt.date(2026, 2, 1), dt.date(2026, 2, 1))
    1
    >>> certified_days(dt.date(2026, 2, 1), dt.date(2026, 5, 1))
    90
    """
    return (end - start).days + 1


def signature_deadline(start: dt.date) -> dt.date:
    """Last day a timely initial certification may be signed: ``start`` + 30 days.

    The window is "the 30 days following the first day of treatment (including
    evaluation)" (Pub. 100-02, ch. 15, sec. 220.1.3 B): the start day is day 0
    and day 30 after it is still inside.

    >>> signature_deadline(dt.date(2026, 2, 1))
    datetime.date(2026, 3, 3)

    A start within 30 days of the last representable day (9999-12-31) has its
    deadline past every date: the last day stands for it.
    """
    if start > _LAST_START:
        return dt.date.max
    return start + _SIGN_WINDOW


def _therapy_visit(ctx: Context) -> bool:
    """True for a PT/OT/SLP visit with at least one always- or sometimes-therapy line
    (a sometimes-therapy code a therapist furnishes is therapy)."""
    if ctx.session.provider.discipline not in _THERAPISTS:
        return False
    # A plain loop: every rule here asks, and any() over a generator costs more.
    for info in ctx.infos:  # noqa: SIM110
        if info is not None and info.therapy != "never":
            return True
    return False


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


#: builds a finding of rule ``r`` from a count of days and whether the date of
#: service is in the order-alternative era: all its message depends on
_Make = Callable[[Rule, int, bool], Finding]

#: findings already built, by what they are made of. The same few counts come back
#: visit after visit (a plan signed 5 days late, treatment day 10), and building a
#: finding (its message and object) cost more than the rest of the rule; a finding
#: is immutable, so one object serves every report.
_MADE: Memo[tuple[_Make, str, str, str, int, bool], Finding] = Memo(
    "plan-of-care findings", size=2048
)


def _made(r: Rule, make: _Make, n: int, order: bool) -> Finding:
    """``make(r, n, order)``, built once per rule grade, citation and counts."""
    key = (make, r.id, r.severity, r.citation, n, order)
    found = _MADE.get(key)
    if found is None:
        found = _MADE.put(key, make(r, n, order))
    return found


# --------------------------------------------------------------------------- poc.missing


@rule("poc.missing")
def missing(ctx: Context, r: Rule) -> Sequence[Finding]:
    """A Medicare therapy visit needs a plan of care.

    Source (three sources agree): certification of the plan; Pub. 100-02,
    ch. 15, sec. 220.1.2. Session-wide **error**: without a certified plan the
    therapy lines are not payable. No fixes: cptrules cannot make a plan.
    """
    if ctx.session.plan_of_care is not None or not _therapy_visit(ctx):
        return ()
    return [
        r.finding(
            None,
            "No plan of care on this Medicare therapy visit: therapy must be furnished under a "
            "plan of care certified by a physician/NPP; add plan_of_care (start, end, signed) "
            "or hold the claim until a plan is in place.",
        )
    ]


# --------------------------------------------------------------------------- poc.expired


@rule("poc.expired")
def expired(ctx: Context, r: Rule) -> Sequence[Finding]:
    """The date of service must fall in the certified period; a period covers <= 90 days.

    Source (three sources agree): a certification covers at most 90 calendar
    days; recertify at least every 90 (Pub. 100-02, ch. 15, sec. 220.1.3).

    Precisely: the period runs from ``start`` to ``end`` inclusive and its
    length is ``end - start + 1`` days (the start day is day 1), which must be
    at most 90; so with a start of 2026-02-01 the latest ``end`` is 2026-05-01
    (day 90) and 2026-05-02 (day 91) is an **error**. The manual's "90 calendar
    days from the date of the initial treatment" could also be read as allowing
    ``start + 90``; cptrules takes the stricter reading, one day earlier, so a
    plan it passes passes either way.

    A date of service before ``start`` or after ``end`` is an **error**. Each
    problem is its own finding. No fixes.
    """
    poc = ctx.session.plan_of_care
    if poc is None:
        return ()
    dos = ctx.dos
    start, end = poc.start, poc.end
    # The usual visit: inside a period of at most 90 days. Settled before asking
    # whether this is a therapy visit, as it finds nothing either way.
    if start <= dos <= end and certified_days(start, end) <= CERT_MAX_DAYS:
        return ()
    if not _therapy_visit(ctx):
        return ()
    found: list[Finding] = []
    if dos < start:
        found.append(
            r.finding(
                None,
                f"The date of service is {_days((start - dos).days)} before the plan of care's "
                "first certified day: bill this visit under the plan in force that day, or "
                "correct plan_of_care start.",
            )
        )
    elif dos > end:
        found.append(
            r.finding(
                None,
                f"The date of service is {_days((dos - end).days)} after the certified period "
                "ended: get a recertification signed by the physician/NPP that covers this date, "
                "and enter that plan of care, before billing.",
            )
        )
    length = certified_days(start, end)
    if length > CERT_MAX_DAYS:
        found.append(
            r.finding(
                None,
                f"The certified period runs {length} calendar days (start day counted as day 1), "
                f"{length - CERT_MAX_DAYS} more than the {CERT_MAX_DAYS} one certification may "
                f"cover: end it on day {CERT_MAX_DAYS} at the latest and recertify for the rest.",
            )
        )
    return found


# --------------------------------------------------------------------------- poc.unsigned


@rule("poc.unsigned")
def unsigned(ctx: Context, r: Rule) -> Sequence[Finding]:
    """The physician/NPP signs the plan within 30 days of its start.

    Source (three sources agree): initial certification within 30 days of the
    first treatment (Pub. 100-02, ch. 15, sec. 220.1.3: "dated in the 30 days
    following the first day of treatment (including evaluation)"). ``start``
    is that first day (the evaluation); the deadline is ``start + 30`` days and
    day 30 itself is inside (2026-02-01 -> 2026-03-03 is timely, 2026-03-04 late).

    - ``signed`` is None and the date of service is past the deadline: **error**.
    - ``signed`` is None and the deadline has not passed: **warning**, the
      signature is due within the days left (counted from this date of service).
    - ``signed`` after the deadline: **error**, late certification.

    Not modelled, so re-grade or switch off this rule where they apply:

    - from 2025 (dates of service on or after 2025-01-01), a signed and dated
      order/referral on file plus proof the plan was sent to the referring
      practitioner within the 30 days also meets the requirement (three sources); the
      session has no field for either, so the messages say so instead;
    - a verbal order must be signed within 14 days (three sources): no field either;
    - the manual allows a *delayed* certification with the reason for the delay
      (sec. 220.1.3 D); whether a reviewer accepts it is outside cptrules;
    - a recertification is graded by the same 30-day window from its start,
      which is lenient (cptrules cannot tell an initial plan from a recert).
    """
    poc = ctx.session.plan_of_care
    if poc is None:
        return ()
    signed = poc.signed
    # The usual plan: signed in time. Settled before asking whether this is a
    # therapy visit, as it finds nothing either way; by subtraction, which cannot
    # overflow where the deadline (start + 30 days) could.
    if signed is not None and (signed - poc.start).days <= SIGN_WITHIN_DAYS:
        return ()
    if not _therapy_visit(ctx):
        return ()
    deadline = signature_deadline(poc.start)
    order = ctx.dos >= _ORDER_ALTERNATIVE_FROM
    if signed is None:
        if ctx.dos > deadline:
            return [_made(r, _unsigned_closed, (ctx.dos - deadline).days, order)]
        return [_made(r, _unsigned_due, (deadline - ctx.dos).days, order)]
    # Signed after the deadline (a timely signature returned above).
    return [_made(r, _signed_late, (signed - deadline).days, order)]


def _order_note(order: bool) -> str:
    """The from-2025 alternative to a timely signature, for dates of service it covers."""
    if not order:
        return ""
    return (
        "; if a signed and dated order is on file with proof the plan was sent to the "
        f"referring practitioner within {SIGN_WITHIN_DAYS} days, that also qualifies: re-grade "
        "this rule for such records"
    )


def _unsigned_closed(r: Rule, days: int, order: bool) -> Finding:
    """Unsigned, ``days`` after the signature window closed."""
    return r.finding(
        None,
        f"The plan of care is unsigned and the {SIGN_WITHIN_DAYS}-day window for the "
        f"physician/NPP's certification closed {_days(days)} "
        "before this date of service: get the dated signature (a late certification "
        "needs the reason for the delay in the record) and enter plan_of_care signed"
        + _order_note(order)
        + ".",
    )


def _unsigned_due(r: Rule, left: int, order: bool) -> Finding:
    """Unsigned, the window still open ``left`` more days."""
    return r.finding(
        None,
        "The plan of care is not signed yet: the physician/NPP's dated signature is "
        f"due within {SIGN_WITHIN_DAYS} days of the plan's start, "
        + ("today" if left == 0 else f"{_days(left)} after this date of service")
        + "; enter plan_of_care signed once it is back"
        + _order_note(order)
        + ".",
        severity="warning",
    )


def _signed_late(r: Rule, days: int, order: bool) -> Finding:
    """Signed ``days`` after the window closed."""
    return r.finding(
        None,
        f"The plan of care was signed {_days(days)} after the "
        f"{SIGN_WITHIN_DAYS}-day window for certification closed (late certification): "
        "keep the reason for the delay in the record" + _order_note(order) + ".",
    )


# --------------------------------------------------------------------------- poc.progress-report


@rule("poc.progress-report")
def progress_report(ctx: Context, r: Rule) -> Sequence[Finding]:
    """A progress report is due at least once every 10 treatment days.

    Source (two sources): Pub. 100-02, ch. 15, sec. 220.3 D.
    ``treatment_day`` counts treatment days since the last progress report or
    evaluation, this visit included. From day 10 on, a visit whose
    ``progress_report`` is not true is an **error**. On days 8 and 9 an
    **info** gives a heads-up (day 8 is cptrules' own choice, two visits ahead,
    not a payer rule). No ``treatment_day``: nothing is said. No fixes.
    """
    day = ctx.session.treatment_day
    if day is None or day < PROGRESS_HEADS_UP_DAY or ctx.session.progress_report:
        return ()
    if not _therapy_visit(ctx):
        return ()
    if day >= PROGRESS_REPORT_DAYS:
        return [_made(r, _progress_overdue, day, False)]
    return [_made(r, _progress_heads_up, day, False)]


def _progress_overdue(r: Rule, day: int, _unused: bool) -> Finding:
    """Treatment day ``day`` (10 or later) without a progress report."""
    late = day - PROGRESS_REPORT_DAYS
    overdue = f" ({late} treatment day{'s' if late != 1 else ''} overdue)" if late else ""
    return r.finding(
        None,
        f"This is treatment day {day} since the last progress report or evaluation and no "
        f"progress report is recorded{overdue}: Medicare needs one at least every "
        f"{PROGRESS_REPORT_DAYS} treatment days; the therapist writes it at this visit, "
        "then set progress_report to true.",
    )


def _progress_heads_up(r: Rule, day: int, _unused: bool) -> Finding:
    """Treatment day ``day`` (8 or 9): the report is due soon."""
    left = PROGRESS_REPORT_DAYS - day
    return r.finding(
        None,
        f"Treatment day {day} since the last progress report or evaluation: a progress "
        f"report is due by treatment day {PROGRESS_REPORT_DAYS}, "
        f"{left} visit{'s' if left != 1 else ''} after this one; plan it now.",
        severity="info",
    )
