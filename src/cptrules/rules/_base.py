"""The rule model and registry.  API READY: rule modules build on this.

A rule is a small pure function from a prepared :class:`~cptrules._context.Context`
to findings, registered with :func:`rule` under its contract id::

    @rule("doc.timed-minutes")
    def timed_minutes(ctx: Context, r: Rule) -> Iterator[Finding]:
        if ...:
            yield r.finding(None, "message for a billing person", fixes=())

Everything else about a rule is data, declared once in
``data/rules/<module>.toml`` (the module that holds the function), in a table
named by the rule id::

    ["doc.timed-minutes"]
    severity = "error"
    citation = "CMS Pub. 100-02, ch. 15, sec. 220.3"
    summary = "Timed minutes exceed the whole visit's minutes."
    payers = ["*"]
    confidence = "C-2"
    needs = ["minutes"]

    [["doc.timed-minutes".examples]]
    fails = true
    note = "what the example shows"
    session.base = "pt-visit"
    session.lines = [{ code = "97110", units = 2, modifiers = ["GP"], minutes = 30 }]

The tables are read once, when the rule modules are imported; a rule without
its table, a table without its rule, an unknown key or a bad value is a
:class:`~cptrules.errors.DataError` at import. Example sessions are expanded
by :func:`cptrules.rules._examples.expand` from named base sessions.

``payers`` names profile families (``"medicare"``, ``"commercial"``) matched
against a profile's lineage, or ``"*"`` for every profile. ``applies`` narrows
by profile settings, as data: ``applies = { unit_method = "total-time" }``
(the setting equals the value) or ``applies = { unit_caps = true }`` (the
setting is set), so payer differences stay data. A profile's
``rules.on``/``rules.off`` override both. A rule emitting several severities
passes ``severity=`` to :meth:`Rule.finding`. ``triggers`` (codes, code
families, ``@DISCIPLINE``, or ``mod:KIND`` naming a modifier kind of
``data/modifiers.toml`` such as ``mod:distinct``) lets the engine skip a rule on
a session where none of them is present; give it only where the rule provably
finds nothing without one. Triggers held by a Python constant the rule also
reads go to the decorator instead (``@rule(id, triggers=CMT_CODES)``), so the
codes are typed once. ``effective`` (a TOML date) defaults to the first date of
service of the bundled data (``data_start`` in ``codes.toml``); ``until`` is
the last. ``needs`` names what of :data:`NEEDS` the rule reads beyond codes,
units, modifiers, diagnoses, discipline and payer: on input that does not carry
it (a claim: see :func:`cptrules.x12.check_visit`) the engine does not run the
rule and names it in one ``claim.not-checked`` info instead.
``quiet`` (decorator only, ``@rule(id, quiet=...)``) is a rule's guard on what
the visit's :class:`~cptrules._context.Shape` (discipline, codes, modifiers and
their catalog entries) and the payer profile alone decide: True proves the rule
finds nothing on any visit of that shape, so the engine, which works the rules
to run out once per route and shape, never calls the rule on such visits. It
is the rule's guard, moved out of the function, not a copy: the function keeps
only its general loop (which finds nothing there too, so a direct call stays
right), and ``tests/rules/test_quiet.py`` holds every guard to that.
Rules whose facts come from a single source, or whose sources disagree, say so
in words in the citation. ``episode=True`` marks a rule that needs a series of
visits (:func:`cptrules.check_episode`, ``cptrules check --episodes``): it is
listed and documented like every rule, but :meth:`Engine.check
<cptrules.Engine.check>` never runs it on one visit; its examples give the
earlier visits of the patient in ``Example.before``.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any

import attrs

from ..catalog import catalog
from ..errors import DataError
from ..report import Finding, Fix, Severity, _build_finding

if TYPE_CHECKING:
    from .._context import Context, Shape
    from ..payers import PayerProfile

__all__ = ["NEEDS", "REGISTRY", "Example", "Rule", "RuleFunc", "check_declared", "declare", "rule"]

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
    profile the rule applies to. ``carries`` checks the session as a claim
    carrying only these of :data:`NEEDS` (``Engine.check(..., carries=...)``);
    None checks it as a session, which carries everything. ``before`` (an
    episode rule's example) gives the patient's earlier visits: the example is
    checked with :func:`cptrules.check_episode` over ``before`` and ``session``,
    and judged on the report of ``session``.
    """

    session: Mapping[str, Any]
    fails: bool
    note: str = ""
    payers: tuple[str, ...] | None = None
    carries: tuple[str, ...] | None = None
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
    #: the rule's guard on what the visit's shape and the payer profile alone decide:
    #: True proves the rule silent on every visit of the shape, and the engine does not
    #: call it there (see the module docstring)
    quiet: Callable[[Shape, PayerProfile], bool] | None = attrs.field(default=None, repr=False)

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
        return _build_finding(  # built directly: the attrs __init__ costs several times more
            self.id,
            self.severity if severity is None else severity,
            line,
            message,
            self.citation if citation is None else citation,
            fixes,
            None,
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


_SEVERITIES: frozenset[str] = frozenset(("error", "warning", "info"))
#: a fact's confidence: agreed by n sources, a single source, or sources disagree
_CONFIDENCE = re.compile(r"C-[1-9]|S|\?")
_REQUIRED = ("severity", "citation", "summary", "payers", "confidence")
_OPTIONAL = ("effective", "until", "needs", "triggers", "applies", "episode", "examples")
_EXAMPLE_KEYS = frozenset(("fails", "note", "payers", "carries", "before", "session"))


@attrs.frozen
class _Setting:
    """``applies`` as data: the profile setting ``name`` equals ``value`` (True: is set)."""

    name: str
    value: object

    def __call__(self, profile: PayerProfile) -> bool:
        got = getattr(profile, self.name)
        return bool(got) if self.value is True else bool(got == self.value)


def _applies(raw: object, where: str, source: str) -> Callable[[PayerProfile], bool]:
    from ..payers import PayerProfile  # here: payers is not needed to import the model

    known = {f.name for f in attrs.fields(PayerProfile)}
    if not isinstance(raw, dict) or len(raw) != 1:
        raise DataError(f"{where}.applies: one profile setting and its value", source=source)
    ((name, value),) = raw.items()
    if name not in known or not isinstance(value, bool | str | int) or value is False:
        raise DataError(f"{where}.applies: unknown setting or bad value {name}", source=source)
    return _Setting(name, value)


def _strings(raw: object, where: str, source: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise DataError(f"{where}: a list of strings", source=source)
    return tuple(raw)


def _text(table: Mapping[str, Any], key: str, where: str, source: str) -> str:
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{where}.{key}: a non-empty string", source=source)
    return value


def _date(table: Mapping[str, Any], key: str, where: str, source: str) -> dt.date | None:
    value = table.get(key)
    if value is not None and type(value) is not dt.date:
        raise DataError(f"{where}.{key}: a date (YYYY-MM-DD)", source=source)
    return value


def _example(raw: object, where: str, source: str) -> Example:
    from ._examples import expand  # here: _examples reads data/rules/ too

    if not isinstance(raw, dict) or not raw.keys() <= _EXAMPLE_KEYS or "session" not in raw:
        raise DataError(
            f"{where}: session, fails, note, payers, carries and before only", source=source
        )
    fails, note = raw.get("fails"), raw.get("note", "")
    if not isinstance(fails, bool) or not isinstance(note, str):
        raise DataError(f"{where}: fails must be true or false, note a string", source=source)
    payers, carries, before = raw.get("payers"), raw.get("carries"), raw.get("before", [])
    if not isinstance(before, list):
        raise DataError(f"{where}.before: an array of sessions", source=source)
    return Example(
        expand(raw["session"], where, source),
        fails,
        note,
        None if payers is None else _strings(payers, f"{where}.payers", source),
        None if carries is None else _strings(carries, f"{where}.carries", source),
        tuple(expand(b, f"{where}.before[{n}]", source) for n, b in enumerate(before)),
    )


def declare(
    rule_id: str,
    table: Mapping[str, Any],
    func: RuleFunc,
    *,
    source: str,
    applies: Callable[[PayerProfile], bool] | None = None,
    triggers: Iterable[str] | None = None,
    quiet: Callable[[Shape, PayerProfile], bool] | None = None,
) -> Rule:
    """The :class:`Rule` ``rule_id`` declared by ``table`` (one rule's TOML table).

    ``applies`` and ``triggers`` come from the decorator where they are Python
    values; a rule gives each in one place only (``quiet`` comes from the decorator
    only). Raises :class:`DataError` naming ``source`` and the key for a missing,
    unknown or malformed entry.
    """
    missing = [k for k in _REQUIRED if k not in table]
    unknown = sorted(set(table) - set(_REQUIRED) - set(_OPTIONAL))
    if missing or unknown:
        raise DataError(
            f"{rule_id}: missing {', '.join(missing) or 'nothing'}; "
            f"unknown {', '.join(unknown) or 'nothing'}",
            source=source,
        )
    severity = table["severity"]
    if severity not in _SEVERITIES:
        raise DataError(f"{rule_id}.severity: one of error, warning, info", source=source)
    confidence = table["confidence"]
    if not isinstance(confidence, str) or not _CONFIDENCE.fullmatch(confidence):
        raise DataError(f"{rule_id}.confidence: C-1 to C-9, S or ?", source=source)
    needs = frozenset(_strings(table.get("needs", []), f"{rule_id}.needs", source))
    if not needs <= NEEDS.keys():
        raise DataError(f"{rule_id}.needs: must be among {', '.join(NEEDS)}", source=source)
    if ("triggers" in table and triggers is not None) or ("applies" in table and applies):
        raise DataError(f"{rule_id}: triggers or applies given twice", source=source)
    if "triggers" in table:
        triggers = _strings(table["triggers"], f"{rule_id}.triggers", source)
    if "applies" in table:
        applies = _applies(table["applies"], rule_id, source)
    starts = _date(table, "effective", rule_id, source)
    until = _date(table, "until", rule_id, source)
    if starts is not None and until is not None and until < starts:
        raise DataError(f"{rule_id}.until: before effective", source=source)
    examples = table.get("examples", [])
    if not isinstance(examples, list):
        raise DataError(f"{rule_id}.examples: an array of tables", source=source)
    episode = table.get("episode", False)
    if not isinstance(episode, bool):
        raise DataError(f"{rule_id}.episode: true or false", source=source)
    return Rule(
        id=rule_id,
        severity=severity,
        citation=_text(table, "citation", rule_id, source),
        summary=_text(table, "summary", rule_id, source),
        payers=_strings(table["payers"], f"{rule_id}.payers", source),
        confidence=confidence,
        func=func,
        examples=tuple(
            _example(e, f"{rule_id}.examples[{n}]", source) for n, e in enumerate(examples)
        ),
        starts=starts,
        until=until,
        applies=applies,
        family=rule_id.split(".", 1)[0],
        triggers=None if triggers is None else frozenset(triggers),
        needs=needs,
        episode=episode,
        quiet=quiet,
    )


#: data file name -> its tables, each file read once
_DECLARED: dict[str, dict[str, Any]] = {}


def _folder() -> Traversable:
    """``data/rules/``: its ``<module>.toml`` declares the rules of ``rules/<module>.py``."""
    return resources.files("cptrules.data").joinpath("rules")


def _data_files() -> list[str]:
    """The rule data files: one ``<module>.toml`` per rule module (``_*`` are not rules)."""
    files = _folder().iterdir()
    return sorted(f.name for f in files if f.name.endswith(".toml") and f.name[0] != "_")


def declared(name: str) -> dict[str, Any]:
    """The tables of ``data/rules/<name>`` (read once)."""
    tables = _DECLARED.get(name)
    if tables is None:
        try:
            text = _folder().joinpath(name).read_text(encoding="utf-8")
            tables = _DECLARED[name] = tomllib.loads(text)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise DataError(f"cannot read rule data: {exc}", source=f"rules/{name}") from exc
    return tables


def rule(
    rule_id: str,
    *,
    applies: Callable[[PayerProfile], bool] | None = None,
    triggers: Iterable[str] | None = None,
    quiet: Callable[[Shape, PayerProfile], bool] | None = None,
) -> Callable[[RuleFunc], RuleFunc]:
    """Register the decorated function as rule ``rule_id`` (ids are unique).

    The rule's metadata and examples are the table ``rule_id`` of
    ``data/rules/<module>.toml``, ``<module>`` being the function's module:
    see the module docstring. ``applies`` and ``triggers`` are for values that
    must be Python (a callable, a code constant the rule also reads); ``quiet``
    is the rule's guard on the visit's shape (see the module docstring).
    """

    def register(func: RuleFunc) -> RuleFunc:
        name = func.__module__.rsplit(".", 1)[-1] + ".toml"
        table = declared(name).get(rule_id)
        if table is None:
            raise DataError(f"rule {rule_id} has no table in rules/{name}", source=f"rules/{name}")
        if rule_id in REGISTRY:
            raise DataError(f"rule {rule_id} registered twice", source=f"rules/{name}")
        REGISTRY[rule_id] = declare(
            rule_id,
            table,
            func,
            source=f"rules/{name}",
            applies=applies,
            triggers=triggers,
            quiet=quiet,
        )
        return func

    return register


def check_declared(registry: Mapping[str, Rule] = REGISTRY) -> None:
    """Raise :class:`DataError` when a rule data file declares a rule no module registers."""
    for name in _data_files():
        stray = sorted(set(declared(name)) - set(registry))
        if stray:
            raise DataError(f"no rule registers {', '.join(stray)}", source=f"rules/{name}")
