"""coverage.payer-provider: a code the payer does not pay to the provider's discipline.

The limits are payer data: ``[[provider_limits]]`` in the payer profile (codes, the
disciplines not paid for them or the only ones paid, dates, source, confidence;
docs/profiles.md). A commercial plan that does not credential massage therapists
for 97124/97140, or pays manipulation to chiropractors only, is a profile entry.
Medicare's own limits on who may bill therapy are ``coverage.provider``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._context import Context, Shape
from ..report import Finding
from ._base import Rule, rule

if TYPE_CHECKING:
    from ..payers import PayerProfile

__all__ = ["not_checked", "payer_provider"]


@rule("coverage.payer-provider")
def payer_provider(ctx: Context, r: Rule) -> Sequence[Finding]:
    """A line whose code the profile's ``[[provider_limits]]`` say the payer does not pay
    to the session's provider discipline, on the date of service.

    - an entry with ``not_paid`` refuses those disciplines; one with ``only`` refuses
      every discipline but those;
    - each line of a refused code is a finding (the entry's ``severity``, else
      error) that names the payer and cites the entry's source and confidence; no
      fix: the service must be billed by a provider the payer pays, or not at all.
    """
    discipline = ctx.session.provider.discipline
    day = ctx.dos
    refusing = [x for x in ctx.profile.provider_limits if x.in_force(day) and x.refuses(discipline)]
    if not refusing:  # the usual visit: this provider is paid for everything limited
        return ()
    found: list[Finding] = []
    name = ctx.profile.name
    for i, ln in enumerate(ctx.lines):
        for limit in refusing:
            if ln.code not in limit.codes:
                continue
            whom = (
                f"only to {', '.join(sorted(limit.only))}"
                if limit.only
                else f"not to {', '.join(sorted(limit.not_paid))}"
            )
            found.append(
                r.finding(
                    i,
                    f"{name} pays {ln.code} {whom}; this visit's provider is {discipline}. "
                    f"Expect the line to deny unless a provider {name} pays for it bills it.",
                    citation=f"{name} (payer profile {ctx.profile.id}): {limit.source}; "
                    f"{limit.confidence}",
                    severity=limit.severity,
                )
            )
            break
    return found


def _nothing_declared(shape: Shape, profile: PayerProfile) -> bool:
    """coverage.not-checked's guard: the usual payer declares nothing it cannot check."""
    return not profile.not_checked


@rule("coverage.not-checked", quiet=_nothing_declared)
def not_checked(ctx: Context, r: Rule) -> Sequence[Finding]:
    """Payer terms the profile's ``[[not_checked]]`` entries say cptrules cannot check
    (Massachusetts PIP's coordination with health insurance needs the episode's amounts
    paid, which a visit does not carry): one info finding per entry in force, so
    ``ok`` never means the library looked at them.
    """
    entries = ctx.profile.not_checked
    day = ctx.dos
    name = ctx.profile.name
    return [
        r.finding(
            None,
            f"Not checked for {name}: {entry.what}.",
            citation=f"{name} (payer profile {ctx.profile.id}): {entry.source}; {entry.confidence}",
        )
        for entry in entries
        if entry.in_force(day)
    ]
