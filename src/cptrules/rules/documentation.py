"""Rules of the documentation family: what the record must show for the lines billed.

These rules read *presence* only. Documentation text is never read into a
message: a field counts as present when it is a non-empty string after
stripping whitespace, and that is all a rule looks at.

- ``doc.manual-therapy``: a 97140 line without technique, body region, the
  patient's response, the skilled rationale or the link to goals
  (three sources agree).
- ``doc.timed-minutes``: the lines' timed minutes add up to more than the
  visit's total treatment time (Pub. 100-02, ch. 15, sec. 220.3; two sources).
"""

from __future__ import annotations

from collections.abc import Iterator

from .._context import Context
from ..models import Documentation, ServiceLine
from ..report import Finding, Severity
from ._base import Rule, rule

__all__ = ["manual_therapy", "timed_minutes"]

# --------------------------------------------------------------------------- helpers


def _present(text: str | None) -> bool:
    """True when a free-text field holds something other than whitespace."""
    return text is not None and bool(text.strip())


_NO_DOC = Documentation()

#: (field, severity, what to add) for the note elements, in message order
_NOTE_FIELDS: tuple[tuple[str, Severity, str], ...] = (
    (
        "response",
        "warning",
        "No patient response recorded for this 97140: add how the patient responded to "
        "the manual therapy (documentation.response) before the claim goes out; without it "
        "the service is unsupported on medical review.",
    ),
    (
        "rationale",
        "warning",
        "No skilled rationale recorded for this 97140: add why the manual therapy needed a "
        "therapist's skill (documentation.rationale); without it the service is unsupported "
        "on medical review.",
    ),
    (
        "goals",
        "info",
        "No link to plan-of-care goals recorded for this 97140: name the goal the manual "
        "therapy serves (documentation.goals).",
    ),
)


# --------------------------------------------------------------------------- doc.manual-therapy


@rule("doc.manual-therapy")
def manual_therapy(ctx: Context, r: Rule) -> list[Finding]:
    """Each 97140 line must show technique(s), body region, response, rationale and goals.

    Source (three sources agree): a 97140 note names the technique(s), the body
    region, the minutes, why a skilled clinician was needed, the patient's
    response and the link to goals; each note must let every intervention be
    matched to its code (Pub. 100-02, ch. 15, sec. 220.3). Minutes are
    ``units.missing-minutes``' business; whether a technique belongs to 97140 is
    ``code.technique``'s (any recorded technique counts as present here); the
    different region required beside same-day CMT is ``code.same-region``'s.

    One finding per missing element, in a fixed order (technique, region,
    response, rationale, goals), so a billing person gets one task per finding
    and each finding's severity fits its element:

    - no technique, no region: **error**. The claim may still pay on
      submission, but the line as recorded cannot be matched to its code, and
      without a region the different-region requirement beside CMT cannot be
      shown: on review an undocumented service is an unsupported one.
    - no patient response, no skilled rationale: **warning**. The service is
      identified, but its medical necessity is at risk on review.
    - no link to goals: **info**. The sources list it, but the goals
      themselves live in the plan of care (checked by ``poc.*``); it is graded
      a note so a record with response and rationale is not flagged as a risk
      twice.

    Presence only: a field counts when it is non-empty after stripping
    whitespace; text is never read into a message. No fixes: cptrules cannot
    write notes.
    """
    found: list[Finding] = []
    for i in ctx.by_family.get("manual_therapy", ()):
        line = ctx.lines[i]
        doc = line.documentation
        if (
            line.techniques
            and line.regions
            and doc is not None
            # _present(x) for each note field, inlined: non-empty and not only whitespace
            and (response := doc.response)
            and not response.isspace()
            and (rationale := doc.rationale)
            and not rationale.isspace()
            and (goals := doc.goals)
            and not goals.isspace()
        ):
            continue  # a complete note: the usual case
        found.extend(_missing_elements(r, i, line))
    return found


def _missing_elements(r: Rule, i: int, line: ServiceLine) -> Iterator[Finding]:
    """One finding per element missing from 97140 line ``i``, in the fixed order."""
    code = line.code
    if not line.techniques:
        yield r.finding(
            i,
            f"No technique recorded for this {code}: list the manual technique(s) performed "
            "(techniques, e.g. joint_mobilization, soft_tissue_mobilization) so the line "
            "can be matched to its code.",
            severity="error",
        )
    if not line.regions:
        yield r.finding(
            i,
            f"No body region recorded for this {code}: list the region(s) treated "
            "(regions, e.g. lumbar, lower_extremity); beside same-day CMT it must be a "
            "region other than the one manipulated.",
            severity="error",
        )
    doc = line.documentation or _NO_DOC
    for field, severity, message in _NOTE_FIELDS:
        if not _present(getattr(doc, field)):
            yield r.finding(i, message, severity=severity)


# --------------------------------------------------------------------------- doc.timed-minutes


@rule("doc.timed-minutes")
def timed_minutes(ctx: Context, r: Rule) -> list[Finding]:
    """Timed minutes billed must fit inside the visit's total treatment time.

    Source: Pub. 100-02, ch. 15, sec. 220.3 (two sources): notes show total
    timed minutes and total treatment time, and billing
    must agree with them. Timed minutes are summed over every line of a timed
    code that carries minutes (untimed codes' minutes are not counted: the
    rule is about timed minutes only); more than
    ``total_treatment_minutes`` is an **error**, session-wide.

    When ``total_treatment_minutes`` is absent on a Medicare visit with timed
    minutes, an **info** reminds that the note must show both totals (the same
    manual section). It is gated on the profile's lineage (``is_a("medicare")``),
    the same data ``payers=`` matches, because the source is a Medicare manual.
    No fixes: which figure is wrong is for the clinician to say.
    """
    found: list[Finding] = []
    timed = ctx.timed_minutes
    if not timed:
        return found
    total = ctx.session.total_treatment_minutes
    if total is None:
        if ctx.profile.is_a("medicare"):
            found.append(
                r.finding(
                    None,
                    "Total treatment minutes not given: the note must show the total timed minutes "
                    "and the total treatment time of the visit; add total_treatment_minutes so the "
                    "billed minutes can be checked against it.",
                    severity="info",
                )
            )
        return found
    timed_sum = sum(timed.values())
    if timed_sum > total:
        found.append(
            r.finding(
                None,
                f"The timed codes add up to {timed_sum} minutes, more than the visit's total "
                f"treatment time of {total} minutes ({timed_sum - total} over): correct the "
                "line minutes or total_treatment_minutes so the claim agrees with the note.",
            )
        )
    return found
