"""Findings, fixes and the report of one check.

A :class:`Report` is what :func:`cptrules.check` returns: findings in a stable
order (session-wide first, then by line, then rule id), per-line units, the
JSON form of CONTRACT section 3 (:meth:`Report.to_dict`), and
:meth:`Report.fixed`, which applies every finding's fixes to a new session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal

import attrs

from .models import ServiceLine, Session

__all__ = [
    "FIX_ACTIONS",
    "Finding",
    "Fix",
    "FixAction",
    "LineUnits",
    "Report",
    "Severity",
    "apply_fixes",
]

Severity = Literal["error", "warning", "info"]
FixAction = Literal["set_units", "add_modifier", "remove_modifier", "replace_code", "remove_line"]
FIX_ACTIONS: tuple[str, ...] = (
    "set_units",
    "add_modifier",
    "remove_modifier",
    "replace_code",
    "remove_line",
)
SEVERITIES: tuple[str, ...] = ("error", "warning", "info")


@attrs.frozen
class Fix:
    """A machine-applicable change: ``action`` on ``line`` with ``value``."""

    action: FixAction
    line: int
    value: int | str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``{"action", "line"}`` plus ``"value"`` where it takes one."""
        out: dict[str, Any] = {"action": self.action, "line": self.line}
        if self.value is not None:
            out["value"] = self.value
        return out


@attrs.frozen
class Finding:
    """One thing wrong (or worth knowing) about a session.

    ``line`` is the 0-based index into ``session.lines``, or None for the whole
    session. ``citation`` names the source a billing person can look up.
    """

    rule: str
    severity: Severity
    line: int | None
    message: str
    citation: str
    fixes: tuple[Fix, ...] = ()

    def sort_key(self) -> tuple[int, str, str]:
        """Stable order: session-wide findings first, then by line, rule id, message."""
        return (-1 if self.line is None else self.line, self.rule, self.message)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of CONTRACT section 3."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "line": self.line,
            "message": self.message,
            "citation": self.citation,
            "fixes": [f.to_dict() for f in self.fixes],
        }


@attrs.frozen
class LineUnits:
    """Billed and expected units of one line.

    ``billed`` is the units on the line, or the engine's expectation where the
    line left units out; ``expected`` is the engine's deterministic choice, or
    None where nothing can be said (a timed code without minutes, a code the
    catalog does not know).
    """

    line: int
    code: str
    billed: int | None
    expected: int | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of CONTRACT section 3."""
        return {
            "line": self.line,
            "code": self.code,
            "billed": self.billed,
            "expected": self.expected,
        }


@attrs.frozen
class Report:
    """The result of checking one session."""

    session: Session
    payer: str
    date_of_service: dt.date
    data_version: str
    findings: tuple[Finding, ...]
    units: tuple[LineUnits, ...]

    @property
    def ok(self) -> bool:
        """True when no finding has severity ``error``."""
        return not any(f.severity == "error" for f in self.findings)

    def rules(self) -> frozenset[str]:
        """The ids of every rule that produced a finding."""
        return frozenset(f.rule for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report of CONTRACT section 3."""
        return {
            "ok": self.ok,
            "payer": self.payer,
            "date_of_service": self.date_of_service.isoformat(),
            "data_version": self.data_version,
            "units": [u.to_dict() for u in self.units],
            "findings": [f.to_dict() for f in self.findings],
        }

    def fixed(self) -> Session:
        """A new session with the fixes of every finding applied (see :func:`apply_fixes`)."""
        return apply_fixes(self.session, (fix for f in self.findings for fix in f.fixes))


def apply_fixes(session: Session, fixes: Iterable[Fix]) -> Session:
    """Apply fixes in order; line removals last, so every fix's index stays valid.

    ``set_units`` and ``replace_code`` overwrite; ``add_modifier`` is skipped when
    the modifier is there already, ``remove_modifier`` when it is not. A fix
    naming a line that does not exist raises ``IndexError`` (a bug in the rule
    that made it); fixes that would remove every line raise ``ValueError``.
    """
    lines: list[ServiceLine] = list(session.lines)
    removed: set[int] = set()
    for fix in fixes:
        if not 0 <= fix.line < len(lines):
            raise IndexError(f"fix {fix.action} names line {fix.line}, which does not exist")
        line = lines[fix.line]
        if fix.action == "set_units":
            if not isinstance(fix.value, int):
                raise TypeError("set_units needs a whole number")
            lines[fix.line] = attrs.evolve(line, units=fix.value)
        elif fix.action == "add_modifier":
            if fix.value not in line.modifiers:
                lines[fix.line] = attrs.evolve(line, modifiers=(*line.modifiers, str(fix.value)))
        elif fix.action == "remove_modifier":
            mods = tuple(m for m in line.modifiers if m != fix.value)
            lines[fix.line] = attrs.evolve(line, modifiers=mods)
        elif fix.action == "replace_code":
            lines[fix.line] = attrs.evolve(line, code=str(fix.value))
        elif fix.action == "remove_line":
            removed.add(fix.line)
        else:  # pragma: no cover - the Literal type makes this unreachable
            raise ValueError(f"unknown fix action {fix.action}")
    kept = tuple(line for i, line in enumerate(lines) if i not in removed)
    if not kept:
        raise ValueError("the fixes remove every line: nothing is left to bill")
    return attrs.evolve(session, lines=kept)
