"""Rules of the claim family: what a check of a claim could not look at.

- ``claim.not-checked``: an X12 837P or FHIR Claim carries codes, units,
  modifiers, diagnoses, the rendering provider and the payer, not the visit's
  minutes (unless given), clock times or notes. The rules that need them do not
  run on such input; one info finding names them, so ``ok`` never means the
  library looked at what it could not see.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._context import Context
from ..report import Finding
from ._base import Rule, rule

__all__ = ["not_checked"]


@rule("claim.not-checked")
def not_checked(ctx: Context, r: Rule) -> Sequence[Finding]:
    """The rules a check of a claim could not run, named in one info finding.

    An X12 837P or a FHIR Claim carries codes, units, modifiers, diagnoses, the
    rendering provider and the payer. It does not carry each line's minutes (an
    837P's ``MJ`` units and a FHIR quantity in minutes excepted, or minutes
    passed beside the claim), the services' clock times, or the visit's
    documentation (techniques, regions, notes, plan of care). Rules that need
    what the claim lacks do not run on it (each rule declares what it needs);
    this finding lists them, and billed units of timed codes are taken as given
    when minutes are lacking. The engine makes the finding as it leaves those
    rules out (``Engine.check(..., carries=...)``, which :func:`cptrules.x12.check_visit`
    and :func:`cptrules.fhir.check_visit` call); a session, which carries everything,
    never gets it. Switching the rule off (``disabled``, a profile's ``rules.off``)
    drops the finding, not the reason: the rules still cannot run.
    """
    return ()
