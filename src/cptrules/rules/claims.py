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
from ._base import Example, Rule, rule

__all__ = ["not_checked"]

#: a Medicare PT visit: timed minutes, a 97140 with its technique, region and notes
_VISIT = {
    "date_of_service": "2026-03-04",
    "payer": "medicare",
    "provider": {"discipline": "PT", "npi": "1234567893"},
    "diagnoses": ["M54.50"],
    "plan_of_care": {"start": "2026-02-02", "end": "2026-04-30", "signed": "2026-02-09"},
    "lines": [
        {"code": "97110", "minutes": 25, "units": 2, "modifiers": ["GP"]},
        {
            "code": "97140",
            "minutes": 15,
            "units": 1,
            "modifiers": ["GP"],
            "regions": ["lumbar"],
            "techniques": ["joint_mobilization"],
            "documentation": {
                "response": "tolerated well",
                "rationale": "skilled joint mobilization",
                "goals": "goal 2: sitting tolerance",
            },
        },
    ],
}


@rule(
    "claim.not-checked",
    severity="info",
    citation=(
        "ASC X12 837P 005010X222A1 and HL7 FHIR R4 Claim: a claim carries codes, units, "
        "modifiers, diagnoses, the rendering provider and the payer, not the visit's minutes, "
        "clock times or notes; CMS Pub. 100-02, ch. 15, sec. 220.3 (timed minutes are "
        "documented in the medical record)"
    ),
    summary=(
        "A claim (837P, FHIR) does not carry what some rules need (minutes, clock times, "
        "documentation): those rules did not run, and this info names them."
    ),
    payers=("*",),
    confidence="C-2",
    # Never run per session: the engine makes this finding itself where it leaves
    # rules out because the input lacks what they need (Engine.check, ``carries``).
    triggers=(),
    examples=(
        Example(
            _VISIT,
            fails=True,
            note="the visit read from an 837P, which carries no minutes, clock times or notes",
            carries=(),
        ),
        Example(
            _VISIT,
            fails=False,
            note="the same claim with the visit's minutes, clock times and notes given beside it",
            carries=("minutes", "clock", "documentation"),
        ),
    ),
)
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
