"""Findings, fixes and the report of one check.

A :class:`Report` is what :func:`cptrules.check` returns: findings in a stable
order (session-wide first, then by line, then rule id), per-line units, the
JSON form of CONTRACT section 3 (:meth:`Report.to_dict`), and
:meth:`Report.fixed`, which applies every finding's fixes to a new session.
:func:`encode_report` writes that JSON form as text directly, byte for byte
what :class:`json.JSONEncoder` makes of ``to_dict()``, a few times faster (the
batch renders every report with it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping
from json.encoder import encode_basestring_ascii as _quote
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
    #: which data answered, in words: ``codes``, ``ncci_ptp``, ``ncci_mue`` (empty when
    #: unknown); the same for every visit of a payer profile, so not a finding
    data: Mapping[str, str] = attrs.field(factory=dict)

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
            **({"data": dict(self.data)} if self.data else {}),
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


# --------------------------------------------------------------------------- JSON text
#
# A batch renders every report as JSON, and json.JSONEncoder(...).encode(to_dict())
# cost about as much as a quarter of the check itself: building the dicts, then
# walking them generically. The report's shape is fixed, so the encoder below
# writes it directly from the attrs objects, and the same few strings that recur
# in every report (rule ids, severities, citations, codes, payers, data versions)
# are quoted once. Its output is json.JSONEncoder's, byte for byte, for compact
# separators and for any indent (tests/test_report.py checks it property-wise);
# anything it does not expect (a value of another type in a field) is handed to
# the general encoder, so it can never write something different.

#: Most distinct strings whose JSON text is kept (codes come from the input).
_QUOTED_MAX = 4096


class _Quoted(dict[str, str]):
    """JSON text of a string, ``_quote(s)``, kept for the strings seen first."""

    def __missing__(self, key: str) -> str:
        text = _quote(key)  # a TypeError for a non-string: the caller falls back
        if len(self) < _QUOTED_MAX:
            self[key] = text
        return text


_QUOTED = _Quoted()
# Messages apart, so that varied messages cannot crowd the constants out. Most
# messages recur too (the same note on every visit, the same fault with the same
# code), and looking one up costs a fifth of quoting it.
_MESSAGES = _Quoted()
_ISO: dict[dt.date, str] = {}


class _Unusual(Exception):
    """A value the direct encoder does not write itself (use the general one)."""


def _scalar(value: object) -> str:
    """JSON text of a field that is not a plain int or str: None, else rare types."""
    if value is None:
        return "null"
    if isinstance(value, (str, int, float)):  # bool, int/str subclasses, float
        return _COMPACT.encode(value)  # a scalar's text does not depend on indent
    raise _Unusual


def _date(day: dt.date) -> str:
    text = _ISO.get(day) if type(day) is dt.date else None
    if text is None:
        text = _quote(day.isoformat())
        if type(day) is dt.date and len(_ISO) < _QUOTED_MAX:
            _ISO[day] = text
    return text


_COMPACT = json.JSONEncoder(separators=(",", ":"))


def _make_encoder(indent: int | None, margin: str) -> Callable[[Report], str]:
    """A function writing a report's JSON with this layout (see :func:`encode_report`).

    The fixed text between values (brackets, keys, separators, newlines and
    indentation) is built here once per layout; ``nK`` is what starts a line at
    nesting depth K ("" when compact).
    """
    if indent is None:
        n0 = n1 = n2 = n3 = n4 = n5 = ""
        colon = ":"
    else:
        n0, n1, n2, n3, n4, n5 = ("\n" + margin + " " * (indent * k) for k in range(6))
        colon = ": "

    def key(depth_nl: str, name: str, first: bool = False) -> str:
        return ("" if first else ",") + depth_nl + f'"{name}"' + colon

    fix_action, fix_line, fix_value, fix_end = (
        "{" + key(n5, "action", True),
        key(n5, "line"),
        key(n5, "value"),
        n4 + "}",
    )
    fixes_open, fixes_sep, fixes_close = "[" + n4, "," + n4, n3 + "]"
    f_rule, f_severity, f_line, f_message, f_citation, f_fixes, f_end = (
        "{" + key(n3, "rule", True),
        key(n3, "severity"),
        key(n3, "line"),
        key(n3, "message"),
        key(n3, "citation"),
        key(n3, "fixes"),
        n2 + "}",
    )
    u_line, u_code, u_billed, u_expected, u_end = (
        "{" + key(n3, "line", True),
        key(n3, "code"),
        key(n3, "billed"),
        key(n3, "expected"),
        n2 + "}",
    )
    list_open, list_sep, list_close = "[" + n2, "," + n2, n1 + "]"
    r_ok, r_payer, r_date, r_version, r_data, r_units, r_findings, r_end = (
        "{" + key(n1, "ok", True),
        key(n1, "payer"),
        key(n1, "date_of_service"),
        key(n1, "data_version"),
        key(n1, "data"),
        key(n1, "units"),
        key(n1, "findings"),
        n0 + "}",
    )
    data_texts: dict[int, tuple[Mapping[str, str], str]] = {}  # per layout: by mapping id

    def data_text(data: Mapping[str, str]) -> str:
        """The report's ``data`` object (one mapping per payer profile: kept by id)."""
        got = data_texts.get(id(data))
        if got is not None and got[0] is data:
            return got[1]
        items = [f"{key(n2, k, i == 0)}{q[v]}" for i, (k, v) in enumerate(data.items())]
        text = r_data + "{" + "".join(items) + n1 + "}"
        if len(data_texts) < _QUOTED_MAX:
            data_texts[id(data)] = (data, text)
        return text

    q, m = _QUOTED, _MESSAGES
    unit_texts: dict[tuple[object, ...], str] = {}  # per layout; see encode()

    def fix_text(x: Fix) -> str:
        line, value = x.line, x.value
        head = f"{fix_action}{q[x.action]}{fix_line}{line if type(line) is int else _scalar(line)}"
        if value is None:
            return head + fix_end
        if type(value) is str:
            return f"{head}{fix_value}{q[value]}{fix_end}"
        return f"{head}{fix_value}{value if type(value) is int else _scalar(value)}{fix_end}"

    def encode(report: Report) -> str:
        ok = True
        findings = []
        for f in report.findings:
            severity, line, fixes = f.severity, f.line, f.fixes
            if severity == "error":
                ok = False
            if fixes:
                fixes_text = fixes_open + fixes_sep.join([fix_text(x) for x in fixes]) + fixes_close
            else:
                fixes_text = "[]"
            findings.append(
                f"{f_rule}{q[f.rule]}{f_severity}{q[severity]}{f_line}"
                f"{'null' if line is None else line if type(line) is int else _scalar(line)}"
                f"{f_message}{m[f.message]}{f_citation}{q[f.citation]}"
                f"{f_fixes}{fixes_text}{f_end}"
            )
        units = []
        for u in report.units:
            line, code, billed, expected = u.line, u.code, u.billed, u.expected
            # The same few (line, code, billed, expected) recur across a batch: their
            # text is kept, for exact int/None/str values only, since 1 == True == 1.0
            # as dict keys but json writes them differently.
            plain = (
                type(line) is int
                and type(code) is str
                and (billed is None or type(billed) is int)
                and (expected is None or type(expected) is int)
            )
            key = (line, code, billed, expected)
            text = unit_texts.get(key) if plain else None
            if text is None:
                text = (
                    f"{u_line}{line if type(line) is int else _scalar(line)}{u_code}{q[code]}"
                    f"{u_billed}{billed if type(billed) is int else _scalar(billed)}"
                    f"{u_expected}{expected if type(expected) is int else _scalar(expected)}"
                    f"{u_end}"
                )
                if plain and len(unit_texts) < _QUOTED_MAX:
                    unit_texts[key] = text
            units.append(text)
        return (
            f"{r_ok}{'true' if ok else 'false'}{r_payer}{q[report.payer]}"
            f"{r_date}{_date(report.date_of_service)}{r_version}{q[report.data_version]}"
            f"{data_text(report.data) if report.data else ''}"
            f"{r_units}{list_open + list_sep.join(units) + list_close if units else '[]'}"
            f"{r_findings}"
            f"{list_open + list_sep.join(findings) + list_close if findings else '[]'}"
            f"{r_end}"
        )

    return encode


_ENCODERS: dict[tuple[int | None, str], Callable[[Report], str]] = {}


def encode_report(report: Report, indent: int | None = None, margin: str = "") -> str:
    """The JSON text of ``report.to_dict()``, written directly (several times faster).

    With ``indent=None`` it is ``json.dumps(report.to_dict(), separators=(",", ":"))``;
    with an indent, ``json.dumps(report.to_dict(), indent=indent)``; byte for byte,
    ASCII-escaped as ``json`` does. ``margin`` is put after every newline (the
    report nested in an indented array); the first line gets none.
    """
    encoder = _ENCODERS.get((indent, margin))
    if encoder is None:
        encoder = _ENCODERS[indent, margin] = _make_encoder(indent, margin)
    try:
        return encoder(report)
    except (_Unusual, TypeError, AttributeError):
        # A field of a type the direct path does not write (never from the engine):
        # the general encoder says what it makes of it, or raises as it always did.
        general = _COMPACT if indent is None else json.JSONEncoder(indent=indent)
        text = general.encode(report.to_dict())
        return text.replace("\n", "\n" + margin) if margin else text
