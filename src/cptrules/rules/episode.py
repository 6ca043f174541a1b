"""Episode rules: what only a series of one patient's visits can show.

These rules are registered like every rule (stable ids, citation, payers,
dates, confidence, examples) with ``episode=True``: :meth:`Engine.check
<cptrules.Engine.check>` never runs them on one visit, and
:func:`cptrules.check_episode` (``cptrules check --episodes``) words their
findings while it walks a patient's visits in date order (see
:mod:`cptrules.episodes`). Their functions here find nothing: they carry the
rule's documentation. Each example gives the patient's earlier visits in
``Example.before``.

- ``episode.kx-crossed``: the year's therapy threshold crossed inside a visit
  (the exact line), from the allowed amounts the engine's fee data estimates.
- ``episode.acupuncture-visits``: more acupuncture or dry needling visits than
  NCD 30.3.3 covers.
- ``episode.given-value``: the caller's treatment day or allowed amount so far
  differs from the derived one (the caller's is used).
- ``episode.not-checked``: a value the episode could not derive, so the rule
  needing it was not checked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..report import Finding
from ._base import Example, Rule, rule
from ._examples import POC, line
from .coverage import NCD_30_3_3_START

if TYPE_CHECKING:
    from .._context import Context

__all__ = ["EPISODE_RULE_IDS"]

#: the ids this module registers, in the order they are documented
EPISODE_RULE_IDS = (
    "episode.kx-crossed",
    "episode.acupuncture-visits",
    "episode.given-value",
    "episode.not-checked",
)


def _therapy_visit(day: str, *lines: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A Medicare PT visit of one patient on ``day`` with a plan of care in force;
    ``top`` adds or overrides top-level keys, and a key set to None is left out."""
    session: dict[str, Any] = {
        "patient": "example-patient",
        "date_of_service": day,
        "payer": "medicare",
        "provider": {"discipline": "PT"},
        "diagnoses": ["M54.50"],
        "plan_of_care": POC,
        "lines": list(lines),
    }
    session.update(top)
    return {k: v for k, v in session.items() if v is not None}


def _kx_visit(day: str, *mods: str, treatment_day: int | None = None, **top: Any) -> dict[str, Any]:
    """A 2024 visit with therapeutic exercise 30 minutes (2 units)."""
    plan = {"start": "2024-05-01", "end": "2024-07-29", "signed": "2024-05-03"}
    return _therapy_visit(
        day,
        line("97110", 30, 2, "GP", *mods),
        plan_of_care=plan,
        total_treatment_minutes=30,
        treatment_day=treatment_day,
        **top,
    )


# The year's allowed amount before the first visit: $2,250 of the 2024 threshold
# of $2,330. Each visit adds what the engine's fee data allows for 97110 x 2.
_KX_START = {"pt_slp": 2250, "ot": 0}
_KX_BEFORE = (_kx_visit("2024-06-03", treatment_day=3, therapy_ytd_allowed=_KX_START),)


@rule(
    "episode.kx-crossed",
    severity="error",
    citation=(
        "CMS Pub. 100-04, ch. 5, sec. 10.3; the yearly KX threshold per the CMS PFS final "
        "rule (two to four sources per year)"
    ),
    summary=(
        "The year's therapy threshold is crossed inside this visit and the line that "
        "crosses it (or a later one of its bucket) lacks KX."
    ),
    payers=("medicare",),
    confidence="C-2",
    episode=True,
    examples=(
        Example(
            _kx_visit("2024-06-10"),
            fails=True,
            before=_KX_BEFORE,
            note=(
                "the first visit starts the year at $2,250.00 and adds its allowed amount; "
                "the second crosses $2,330.00 without KX (priced by an engine given fee data)"
            ),
        ),
        Example(
            _kx_visit("2024-06-10", "KX"),
            fails=False,
            before=_KX_BEFORE,
            note="the same visits with KX on the line that crosses the threshold",
        ),
    ),
)
def kx_crossed(ctx: Context, r: Rule) -> Iterator[Finding]:
    """Medicare: the therapy threshold is crossed inside the visit without KX.

    The episode adds each visit's allowed amounts (the estimate of the engine's
    fee data, per line in line order) to the year's amount so far, starting from
    the first visit's ``therapy_ytd_allowed`` (or ``start=``), and at zero on a
    visit of a later calendar year. The line whose amount passes the year's
    threshold, and every later line of the same bucket (PT and SLP, or OT), needs
    KX. Without fee data no amount is derived: ``episode.not-checked`` says so.
    One visit alone (``check()``) cannot see a threshold crossed within it:
    ``modifier.kx`` checks the amount before the visit.
    """
    return iter(())


def _acupuncture_visit(day: dt.date) -> dict[str, Any]:
    """A Medicare acupuncture visit by a physician for chronic low back pain."""
    return {
        "patient": "example-patient",
        "date_of_service": day.isoformat(),
        "payer": "medicare",
        "provider": {"discipline": "MD"},
        "diagnoses": ["M54.50"],
        "lines": [{"code": "97813", "units": 1, "diagnosis_pointers": [1]}],
    }


_ACU_DAYS = tuple(dt.date(2026, 1, 5) + dt.timedelta(days=7 * k) for k in range(12))
_ACU_THIRTEENTH = _acupuncture_visit(dt.date(2026, 3, 25))


@rule(
    "episode.acupuncture-visits",
    severity="error",
    citation=(
        "NCD 30.3.3, Acupuncture for Chronic Low Back Pain (CMS, effective 2020-01-21): "
        "12 visits in 90 days, 8 more with documented improvement, at most 20 a year"
    ),
    summary="More acupuncture or dry needling visits than NCD 30.3.3 covers.",
    payers=("medicare",),
    confidence="C-2",
    effective=NCD_30_3_3_START,
    episode=True,
    examples=(
        Example(
            _ACU_THIRTEENTH,
            fails=True,
            before=tuple(_acupuncture_visit(d) for d in _ACU_DAYS),
            note="the 13th acupuncture visit in 90 days (a warning: 8 more may be covered)",
        ),
        Example(
            _ACU_THIRTEENTH,
            fails=False,
            before=tuple(_acupuncture_visit(d) for d in _ACU_DAYS[1:]),
            note="the 12th acupuncture visit in 90 days",
        ),
    ),
)
def acupuncture_visits(ctx: Context, r: Rule) -> Iterator[Finding]:
    """Medicare: more acupuncture or dry needling visits than NCD 30.3.3 covers.

    Counts the days with acupuncture (97810-97814) or dry needling (20560,
    20561) from the day NCD 30.3.3 took effect: the 13th to 20th in 90 days is a
    warning (8 more are covered only when improvement is documented, which
    cptrules does not check), the 21st in a calendar year an error. Limits in
    ``data/episodes.toml``.
    """
    return iter(())


def _evaluation(**top: Any) -> dict[str, Any]:
    """The evaluation visit that starts the treatment day count (day 1)."""
    return _therapy_visit(
        "2026-03-02",
        line("97161", None, 1, "GP"),
        line("97110", 15, 1, "GP"),
        total_treatment_minutes=45,
        **top,
    )


_EVALUATION = _evaluation()


def _day_two(treatment_day: int | None) -> dict[str, Any]:
    return _therapy_visit(
        "2026-03-04",
        line("97110", 30, 2, "GP"),
        treatment_day=treatment_day,
        total_treatment_minutes=30,
    )


@rule(
    "episode.given-value",
    severity="info",
    citation=(
        "CMS Pub. 100-02, ch. 15, sec. 220.3 D (treatment days); CMS Pub. 100-04, ch. 5, "
        "sec. 10.3 (allowed amount this year)"
    ),
    summary="A value the caller gave differs from the one the episode derives; the caller's wins.",
    payers=("*",),
    confidence="C-2",
    episode=True,
    examples=(
        Example(
            _day_two(5),
            fails=True,
            before=(_EVALUATION,),
            note="the session says treatment day 5; the visit after the evaluation is day 2",
        ),
        Example(
            _day_two(2),
            fails=False,
            before=(_EVALUATION,),
            note="the session's treatment day agrees with the episode's count",
        ),
    ),
)
def given_value(ctx: Context, r: Rule) -> Iterator[Finding]:
    """A treatment day or year's allowed amount given on a session differs from the derived one.

    The caller's value is used for the visit and carried forward; the finding
    only says the two disagree (a visit missing from the episode, or a count
    kept elsewhere).
    """
    return iter(())


@rule(
    "episode.not-checked",
    severity="info",
    citation="CMS Pub. 100-04, ch. 5, sec. 10.3; CMS Pub. 100-02, ch. 15, sec. 220.3 D",
    summary="A value the episode could not derive, so the rule that needs it was not checked.",
    payers=("*",),
    confidence="C-2",
    episode=True,
    examples=(
        Example(
            _day_two(None),
            fails=True,
            note="no evaluation or progress report earlier in the episode, and no treatment day",
        ),
        Example(
            _evaluation(therapy_ytd_allowed={"pt_slp": 0, "ot": 0}),
            fails=False,
            note="an evaluation starts the count; the allowed amount starts from the caller's",
        ),
    ),
)
def not_checked(ctx: Context, r: Rule) -> Iterator[Finding]:
    """A value the episode could not derive, so the rule needing it was not checked.

    The treatment day needs an evaluation, re-evaluation or progress report
    earlier in the episode (or a value given); the year's allowed amount needs a
    starting amount and fee data for every earlier visit of the year.
    """
    return iter(())
