"""The rule model and registry.  API READY: rule modules build on this.

A rule is a small pure function from a prepared :class:`~cptrules._context.Context`
to findings, registered with :func:`rule`, which declares its contract id,
default severity, citation, the payer families and dates it applies to, its
confidence, and examples that must pass and must fail::

    @rule(
        "doc.timed-minutes",
        severity="error",
        citation="CMS Pub. 100-02, ch. 15, sec. 220.3",
        summary="Timed minutes exceed the whole visit's minutes.",
        payers=("*",),
        confidence="C-2",
        examples=(Example(FAILING_SESSION_DICT, fails=True), Example(PASSING, fails=False)),
    )
    def timed_minutes(ctx: Context, r: Rule) -> Iterator[Finding]:
        if ...:
            yield r.finding(None, "message for a billing person", fixes=())

``payers`` names profile families (``"medicare"``, ``"commercial"``) matched
against a profile's lineage, or ``"*"`` for every profile. ``applies`` narrows
by a profile setting (``lambda p: p.unit_method == "total-time"``) so payer
differences stay data. A profile's ``rules.on``/``rules.off`` override both.
A rule emitting several severities passes ``severity=`` to :meth:`Rule.finding`.
``triggers`` (codes, code families, ``@DISCIPLINE``, or ``mod:KIND`` naming a
modifier kind of ``data/modifiers.toml`` such as ``mod:distinct``) lets the
engine skip a rule on a session where none of them is present; give it only
where the rule provably finds nothing without one. ``effective`` defaults to
the first date of service of the bundled data (``data_start`` in ``codes.toml``).
``needs`` names what of :data:`NEEDS` the rule reads beyond codes, units,
modifiers, diagnoses, discipline and payer: on input that does not carry it
(a claim: see :func:`cptrules.x12.check_visit`) the engine does not run the
rule and names it in one ``claim.not-checked`` info instead.
Rules whose facts come from a single source, or whose sources disagree, say so
in words in the citation. ``episode=True`` marks a rule that needs a series of
visits (:func:`cptrules.check_episode`, ``cptrules check --episodes``): it is
listed and documented like every rule, but :meth:`Engine.check
<cptrules.Engine.check>` never runs it on one visit; its examples give the
earlier visits of the patient in ``Example.before``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..catalog import catalog
from ..report import Finding, Fix, Severity

if TYPE_CHECKING:
    from .._context import Context
    from ..payers import PayerProfile

__all__ = ["NEEDS", "REGISTRY", "Example", "Rule", "RuleFunc", "rule"]

#: What a rule may need beyond codes, units, modifiers, diagnoses, discipline and
#: payer, with the words a report uses for it. A claim (837P, FHIR Claim) carries
#: none of them unless its reader was given them: minutes per line, clock times
#: per line, and the visit's documentation (techniques, regions, notes, plan of care).
NEEDS: Mapping[str, str] = {
    "minutes": "minutes per line",
    "clock": "start and end times",
    "documentation": "the visit's documentation (techniques, regions, notes, plan of care)",
}

RuleFunc = Callable[["Context", "Rule"], Iterable[Finding]]


def __getattr__(name: str) -> Any:
    """``DATA_START``, kept for callers: the first date of service of the bundled data,
    declared once as ``data_start`` in ``data/codes.toml``."""
    if name == "DATA_START":
        return catalog().data_start
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@attrs.frozen
class Example:
    """A session (JSON-shaped dict) on which the rule must fire (``fails``) or stay silent.

    ``payers`` limits the profiles the example holds for; None means every
    profile the rule applies to. ``before`` (an episode rule's example) gives
    the patient's earlier visits: the example is checked with
    :func:`cptrules.check_episode` over ``before`` and ``session``, and judged
    on the report of ``session``.
    """

    session: Mapping[str, Any]
    fails: bool
    note: str = ""
    payers: tuple[str, ...] | None = None
    before: tuple[Mapping[str, Any], ...] = ()


@attrs.frozen
class Rule:
    """One registered rule: identity, grading, provenance and the function."""

    id: str
    severity: Severity
    citation: str
    summary: str
    payers: tuple[str, ...]
    confidence: str
    func: RuleFunc = attrs.field(repr=False)
    examples: tuple[Example, ...] = ()
    #: first date of service in force; None: from the first day of the bundled data
    starts: dt.date | None = None
    until: dt.date | None = None
    applies: Callable[[PayerProfile], bool] | None = attrs.field(default=None, repr=False)
    family: str = ""
    #: codes, code families, ``@DISCIPLINE`` or ``mod:KIND`` (a modifier kind of
    #: ``data/modifiers.toml``): the rule runs only when one is present
    triggers: frozenset[str] | None = None
    #: what of :data:`NEEDS` the rule reads; the engine skips it on input without it
    needs: frozenset[str] = frozenset()
    #: needs a series of visits: only :func:`cptrules.check_episode` runs it, never check()
    episode: bool = False

    @property
    def effective(self) -> dt.date:
        """The first date of service the rule is in force (the data's first day by default)."""
        if self.starts is not None:
            return self.starts
        return catalog().data_start

    def finding(
        self,
        line: int | None,
        message: str,
        *,
        severity: Severity | None = None,
        fixes: tuple[Fix, ...] = (),
        citation: str | None = None,
    ) -> Finding:
        """A finding of this rule, with its default severity and citation unless given."""
        return Finding(
            self.id,
            self.severity if severity is None else severity,
            line,
            message,
            self.citation if citation is None else citation,
            fixes,
        )

    def to_dict(self) -> dict[str, object]:
        """The rule's catalog row (``cptrules rules --format json``, ``GET /v1/rules``)."""
        return {
            "id": self.id,
            "severity": self.severity,
            "payers": list(self.payers),
            "confidence": self.confidence,
            "effective": self.effective.isoformat(),
            "until": None if self.until is None else self.until.isoformat(),
            "citation": self.citation,
            "summary": self.summary,
            "episode": self.episode,
        }

    def in_force(self, day: dt.date) -> bool:
        """True when the rule applies to a date of service (``until`` is its last day)."""
        starts = self.starts
        return (starts is None or starts <= day) and (self.until is None or day <= self.until)

    def for_profile(self, profile: PayerProfile) -> bool:
        """True when the rule applies to ``profile`` (before dates are considered)."""
        if self.id in profile.rules_off:
            return False
        if self.id in profile.rules_on:
            return True
        if "*" not in self.payers and not any(profile.is_a(p) for p in self.payers):
            return False
        return self.applies is None or self.applies(profile)


#: rule id -> rule, filled by the rule modules as they are imported
REGISTRY: dict[str, Rule] = {}


def rule(
    rule_id: str,
    *,
    severity: Severity,
    citation: str,
    summary: str,
    payers: tuple[str, ...],
    confidence: str,
    examples: tuple[Example, ...] = (),
    effective: dt.date | None = None,
    until: dt.date | None = None,
    applies: Callable[[PayerProfile], bool] | None = None,
    triggers: Iterable[str] | None = None,
    needs: Iterable[str] = (),
    episode: bool = False,
) -> Callable[[RuleFunc], RuleFunc]:
    """Register the decorated function as rule ``rule_id`` (ids are unique)."""
    wanted = frozenset(needs)
    if not wanted <= NEEDS.keys():
        raise ValueError(f"rule {rule_id}: needs must be among {', '.join(NEEDS)}")

    def register(func: RuleFunc) -> RuleFunc:
        if rule_id in REGISTRY:
            raise ValueError(f"rule {rule_id} registered twice")
        REGISTRY[rule_id] = Rule(
            id=rule_id,
            severity=severity,
            citation=citation,
            summary=summary,
            payers=payers,
            confidence=confidence,
            func=func,
            examples=examples,
            starts=effective,
            until=until,
            applies=applies,
            family=rule_id.split(".", 1)[0],
            triggers=None if triggers is None else frozenset(triggers),
            needs=wanted,
            episode=episode,
        )
        return func

    return register
