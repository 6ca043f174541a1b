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

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..report import Finding
from ._base import Rule, rule

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


@rule("episode.kx-crossed")
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


@rule("episode.acupuncture-visits")
def acupuncture_visits(ctx: Context, r: Rule) -> Iterator[Finding]:
    """Medicare: more acupuncture or dry needling visits than NCD 30.3.3 covers.

    Counts the days with acupuncture (97810-97814) or dry needling (20560,
    20561) from the day NCD 30.3.3 took effect: the 13th to 20th in 90 days is a
    warning (8 more are covered only when improvement is documented, which
    cptrules does not check), the 21st in a calendar year an error. Limits in
    ``data/episodes.toml``.
    """
    return iter(())


@rule("episode.given-value")
def given_value(ctx: Context, r: Rule) -> Iterator[Finding]:
    """A treatment day or year's allowed amount given on a session differs from the derived one.

    The caller's value is used for the visit and carried forward; the finding
    only says the two disagree (a visit missing from the episode, or a count
    kept elsewhere).
    """
    return iter(())


@rule("episode.not-checked")
def not_checked(ctx: Context, r: Rule) -> Iterator[Finding]:
    """A value the episode could not derive, so the rule needing it was not checked.

    The treatment day needs an evaluation, re-evaluation or progress report
    earlier in the episode (or a value given); the year's allowed amount needs a
    starting amount and fee data for every earlier visit of the year.
    """
    return iter(())
