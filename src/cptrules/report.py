"""Findings, fixes and the report of one check.

A :class:`Report` is what :func:`cptrules.check` returns: findings in a stable
order (session-wide first, then by line, then rule id), per-line units, the
JSON report format (:meth:`Report.to_dict`, described in the CLI docs), and
:meth:`Report.fixed`, which applies every finding's fixes to a new session.
:func:`render_text` writes a report for people (:func:`render_invalid_text` and
:func:`invalid_report` a record that could not be checked), and
:func:`encode_report` writes the JSON form as text directly, byte for byte
what :class:`json.JSONEncoder` makes of ``to_dict()``, a few times faster (the
batch renders every report with it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _quote
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs

from . import _schema
from ._memo import Memo
from .errors import InvalidFixError, InvalidSessionError
from .models import ServiceLine, Session, _builder
from .parsing import dump_session, load_session

if TYPE_CHECKING:
    from .fees import Estimate

__all__ = [
    "FIX_ACTIONS",
    "MAX_FIX_ROUNDS",
    "Finding",
    "Fix",
    "FixAction",
    "LineUnits",
    "Report",
    "Settled",
    "Severity",
    "apply_fixes",
    "encode_report",
    "invalid_report",
    "render_invalid_text",
    "render_text",
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
#: Most units a :class:`Fix` may carry (far above any day's minutes allow).
MAX_FIX_UNITS = 99_999
#: Most rounds of fixes and checks :meth:`Report.settle` makes.
MAX_FIX_ROUNDS = 8


def _fix_value(
    _fix: Fix, _attribute: attrs.Attribute[int | str | None], value: int | str | None
) -> None:
    """A fix's value is bounded: units, a modifier or a code.

    Units may pass the session format's bound (a rule may work out more units
    than a line can carry): :func:`apply_fixes` refuses such a result and
    :meth:`Report.settle` leaves that fix out and says so.
    """
    if value is None or (type(value) is int and 0 <= value <= MAX_FIX_UNITS):
        return
    if type(value) is str and (_schema.MODIFIER.fullmatch(value) or _schema.CODE.fullmatch(value)):
        return
    raise InvalidFixError(
        f"a fix's value must be units from 0 to {MAX_FIX_UNITS}, a modifier or a code"
    )


@attrs.frozen
class Fix:
    """A machine-applicable change: ``action`` on ``line`` with ``value``.

    The value is checked on construction: units from 0 to 999, a two-character
    modifier, a well-formed code, or None; anything else raises
    :class:`~cptrules.errors.InvalidFixError`.
    """

    action: FixAction
    line: int
    value: int | str | None = attrs.field(default=None, validator=_fix_value)

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
    #: money at stake, when the engine has fee data (docs/money.md): what an
    #: under-billed line leaves behind, or what a line in error would lose
    amount: Decimal | None = attrs.field(default=None, kw_only=True)

    def sort_key(self) -> tuple[int, str, str]:
        """Stable order: session-wide findings first, then by line, rule id, message."""
        return (-1 if self.line is None else self.line, self.rule, self.message)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used in a report (see :meth:`Report.to_dict`)."""
        return {
            "rule": self.rule,
            "severity": self.severity,
            "line": self.line,
            "message": self.message,
            "citation": self.citation,
            "fixes": [f.to_dict() for f in self.fixes],
        } | ({} if self.amount is None else {"amount": str(self.amount)})


#: a Finding from all its fields, in order (``amount`` too), without the attrs
#: ``__init__``'s frozen stores, which cost several times more (see ``models._builder``)
_build_finding: Callable[..., Finding] = _builder(Finding)
_build_fix: Callable[..., Fix] = _builder(Fix)


def _units_fix(action: FixAction, line: int, value: int | None = None) -> Fix:
    """``Fix(action, line, value)`` for a value of units or none, as rules make them by
    the hundred: the validator's test for such a value inline, then built directly
    (a quarter of the attrs ``__init__``'s cost). Any other value goes through ``Fix``."""
    if value is None or (type(value) is int and 0 <= value <= MAX_FIX_UNITS):
        return _build_fix(action, line, value)
    return Fix(action, line, value)  # refused there as ever (InvalidFixError)


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
        """The JSON form used in a report (see :meth:`Report.to_dict`)."""
        return {
            "line": self.line,
            "code": self.code,
            "billed": self.billed,
            "expected": self.expected,
        }


class _Checker(Protocol):
    """Anything with an engine's ``check(session, payer)``."""

    def check(self, session: Session, payer: str | None = None) -> Report: ...


class _Recheck:
    """An engine's ``check``, kept by a report for :meth:`Report.settle`; pickled as None
    (an engine does not travel between processes, and need not)."""

    __slots__ = ("_check",)

    def __init__(self, check: Callable[[Session, str | None], Report]) -> None:
        self._check = check

    def __call__(self, session: Session, payer: str | None) -> Report:
        return self._check(session, payer)

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (type(None), ())


def _wrap_recheck(
    check: Callable[[Session, str | None], Report] | None,
) -> Callable[[Session, str | None], Report] | None:
    if check is None or isinstance(check, _Recheck):
        return check
    return _Recheck(check)


@attrs.frozen
class Report:
    """The result of checking one session."""

    session: Session
    payer: str
    date_of_service: dt.date
    data_version: str
    findings: tuple[Finding, ...]
    units: tuple[LineUnits, ...]
    #: what the visit pays, when the engine has fee data for the payer (docs/money.md)
    estimate: Estimate | None = None
    #: which data answered, in words: ``codes``, ``ncci_ptp``, ``ncci_mue`` (empty when
    #: unknown); the same for every visit of a payer profile, so not a finding
    data: Mapping[str, str] = attrs.field(factory=dict)
    #: how the engine that made this report checks a session again (for :meth:`settle`);
    #: not pickled (a report sent from a worker process arrives without it)
    recheck: Callable[[Session, str | None], Report] | None = attrs.field(
        default=None, eq=False, repr=False, kw_only=True, converter=_wrap_recheck
    )

    @property
    def ok(self) -> bool:
        """True when no finding has severity ``error``."""
        return not any(f.severity == "error" for f in self.findings)

    def rules(self) -> frozenset[str]:
        """The ids of every rule that produced a finding."""
        return frozenset(f.rule for f in self.findings)

    def to_dict(self, *, record: int | None = None, file: str | None = None) -> dict[str, Any]:
        """The JSON report: ok, payer, date of service, data version, units and findings.

        The caller's ``id`` of the session follows ``ok`` when it has one. A batch
        adds ``file`` (the input's name, when it read several) and
        ``record`` (the 1-based input line the session came from) after ``ok``.
        """
        out: dict[str, Any] = {"ok": self.ok}
        if self.session.id is not None:
            out["id"] = self.session.id  # the caller's own id: here only, never in a message
        if file is not None:
            out["file"] = file
        if record is not None:
            out["record"] = record
        out.update(self._body())
        return out

    def _body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "payer": self.payer,
            "date_of_service": self.date_of_service.isoformat(),
            "data_version": self.data_version,
            **({"data": dict(self.data)} if self.data else {}),
            "units": [u.to_dict() for u in self.units],
            "findings": [f.to_dict() for f in self.findings],
        }
        if self.estimate is not None:
            out["estimate"] = self.estimate.to_dict()
        return out

    def fixed(self, *, rounds: int = MAX_FIX_ROUNDS, engine: _Checker | None = None) -> Session:
        """A new session with the findings' fixes applied until they settle.

        The same as ``report.settle(rounds=rounds, engine=engine).session``: see
        :meth:`settle`.
        """
        return self.settle(rounds=rounds, engine=engine).session

    def settle(self, *, rounds: int = MAX_FIX_ROUNDS, engine: _Checker | None = None) -> Settled:
        """Apply the findings' fixes, check again, and repeat until nothing changes.

        Fixes are worked out independently by each rule (set 97110 to 2 units,
        replace 97140 with 20561); applied together they may call for other
        fixes, so the changed session is checked again by the same engine and
        its fixes applied in turn, at most ``rounds`` times, stopping when a
        check asks for no change or a session comes back. A fix that would give
        a session :func:`~cptrules.load_session` rejects (units past the bound,
        every line removed) is left out. ``unsettled`` lists the findings of the
        last check that still carry fixes, or that are errors: what the fixes
        could not settle. Never raises for a rule's fix.

        The re-checks use ``engine`` when given, else the engine that made the
        report. A report that came from another process (``check_many`` with
        ``jobs``) has none: without ``engine`` its fixes are applied once, unchecked.
        """
        recheck = engine.check if engine is not None else self.recheck
        session = self.session
        report = self
        seen = {session}
        done = 0
        skipped: list[Fix] = []
        origins = tuple(range(len(session.lines)))
        while done < rounds:
            fixes = [fix for f in report.findings for fix in f.fixes]
            if not fixes:
                break
            changed, left_out = _apply_valid(session, fixes)
            skipped += left_out
            if len(changed.lines) != len(origins):  # the removals were applied, together
                gone = {f.line for f in fixes if f.action == "remove_line"}
                origins = tuple(o for i, o in enumerate(origins) if i not in gone)
            if changed in seen or recheck is None:
                session = changed
                if recheck is not None and changed is not report.session:
                    report = recheck(changed, self.payer)
                done += 1
                break
            session = changed
            seen.add(session)
            report = recheck(session, self.payer)
            done += 1
        unsettled = tuple(f for f in report.findings if f.fixes or f.severity == "error")
        return Settled(
            session, report, unsettled, done, tuple(dict.fromkeys(skipped)), origins=origins
        )


@attrs.frozen
class Settled:
    """What :meth:`Report.settle` did: the fixed session and what it could not settle.

    ``report`` is the last check (of ``session`` when there was an engine to
    check it with, else the original report); ``unsettled`` its findings that
    still call for a change or are errors; ``rounds`` the rounds of fixes made;
    ``skipped`` the fixes left out because they would give an invalid session;
    ``origins[i]`` the index in the original session of ``session.lines[i]``
    (lines removed by fixes are missing from it), so a claim's own lines can
    be found again.
    """

    session: Session
    report: Report
    unsettled: tuple[Finding, ...]
    rounds: int
    skipped: tuple[Fix, ...] = ()
    origins: tuple[int, ...] = attrs.field(default=(), kw_only=True)


def _apply_valid(session: Session, fixes: list[Fix]) -> tuple[Session, list[Fix]]:
    """``fixes`` applied one by one, each kept only if the session stays valid; removals
    last (together, so the indexes hold)."""
    skipped: list[Fix] = []
    removals = [f for f in fixes if f.action == "remove_line"]
    for fix in fixes:
        if fix.action == "remove_line":
            continue
        try:
            session = apply_fixes(session, (fix,))
        except InvalidSessionError:
            skipped.append(fix)
    if removals:
        try:
            session = apply_fixes(session, removals)
        except InvalidSessionError:
            skipped += removals
    return session, skipped


def apply_fixes(session: Session, fixes: Iterable[Fix]) -> Session:
    """Apply fixes in order; line removals last, so every fix's index stays valid.

    ``set_units`` and ``replace_code`` overwrite; ``add_modifier`` is skipped when
    the modifier is there already, ``remove_modifier`` when it is not. The result
    is checked as :func:`~cptrules.load_session` checks input: a fix naming a line
    that does not exist, a value of the wrong kind, or a result it would reject
    (negative units, no line left) raises
    :class:`~cptrules.InvalidSessionError` with every problem and its path
    (:class:`~cptrules.errors.InvalidFixError`, also an ``IndexError``, where the
    fixes themselves are wrong).

    >>> import cptrules
    >>> s = cptrules.load_session({"date_of_service": "2026-03-04", "payer": "medicare",
    ...     "provider": {"discipline": "PT"}, "lines": [{"code": "97110", "minutes": 20}]})
    >>> try:
    ...     apply_fixes(s, [Fix("set_units", 3, 1)])
    ... except cptrules.InvalidSessionError as exc:
    ...     print(exc.errors)
    (('fixes[0]', 'names a line that does not exist'),)
    """
    lines: list[ServiceLine] = list(session.lines)
    removed: set[int] = set()
    errors: list[tuple[str, str]] = []
    for k, fix in enumerate(fixes):
        where = f"fixes[{k}]"
        if not isinstance(fix, Fix) or not (type(fix.line) is int and 0 <= fix.line < len(lines)):
            errors.append((where, "names a line that does not exist"))
            continue
        line = lines[fix.line]
        value = fix.value
        if fix.action == "set_units":
            if type(value) is not int:
                errors.append((where, "set_units needs a whole number"))
                continue
            lines[fix.line] = attrs.evolve(line, units=value)
        elif fix.action in ("add_modifier", "remove_modifier", "replace_code"):
            if type(value) is not str:
                errors.append((where, f"{fix.action} needs a text value"))
                continue
            if fix.action == "add_modifier":
                if value not in line.modifiers:
                    lines[fix.line] = attrs.evolve(line, modifiers=(*line.modifiers, value))
            elif fix.action == "remove_modifier":
                mods = tuple(m for m in line.modifiers if m != value)
                lines[fix.line] = attrs.evolve(line, modifiers=mods)
            else:
                lines[fix.line] = attrs.evolve(line, code=value)
        elif fix.action == "remove_line":
            removed.add(fix.line)
        else:
            errors.append((where, "unknown fix action"))
    if errors:
        raise InvalidFixError(errors)
    kept = tuple(line for i, line in enumerate(lines) if i not in removed)
    if not kept:
        raise InvalidFixError([("lines", "the fixes remove every line: nothing is left")])
    out = attrs.evolve(session, lines=kept)
    load_session(dump_session(out))  # raises InvalidSessionError as for any input
    return out


# --------------------------------------------------------------------------- text


def invalid_report(
    record: int | None, errors: Sequence[tuple[str, str]], *, file: str | None = None
) -> dict[str, Any]:
    """The JSON report of a record that could not be checked, by 1-based record number."""
    out: dict[str, Any] = {"ok": False, "invalid": True}
    if file is not None:
        out["file"] = file
    if record is not None:
        out["record"] = record
    out["errors"] = [{"path": p, "message": m} for p, m in errors]
    return out


_FIX_TEXT = {
    "set_units": "set units on {where} to {value}",
    "add_modifier": "add modifier {value} to {where}",
    "remove_modifier": "remove modifier {value} from {where}",
    "replace_code": "replace the code on {where} with {value}",
    "remove_line": "remove {where}",
}


def render_text(report: Report, name: str, lines: Sequence[str] | None = None) -> str:
    """A report for people: what is wrong, why (citation), what to change.

    Lines are numbered from 1, as billing staff count claim lines (the JSON
    report's ``line`` stays the 0-based index into ``session.lines``); ``lines``
    names them instead where the session came from a claim (``LX 3``, one
    label per session line). A report with an estimate ends with its table.
    """
    # Read from the report's objects, not from to_dict() (twice as fast in a batch);
    # the text is what the dict form gives (tests/test_batch.py compares the two).
    findings = report.findings
    errors = warnings = 0
    for f in findings:
        if f.severity == "error":
            errors += 1
        elif f.severity == "warning":
            warnings += 1
    infos = len(findings) - errors - warnings
    verdict = "OK" if report.ok else "NOT READY"
    out = [
        f"{name}: {verdict} — {report.payer}, date of service "
        f"{report.date_of_service.isoformat()}: "
        f"{errors} error(s), {warnings} warning(s), {infos} note(s)",
        "  units:",
    ]
    for u in report.units:
        exp = "?" if u.expected is None else u.expected
        billed = "?" if u.billed is None else u.billed
        flag = "" if u.billed == u.expected else "   <-"
        where = _line_name(u.line, lines)
        out.append(f"    {where}  {u.code:<6} billed {billed}  expected {exp}{flag}")
    for f in findings:
        where = "session" if f.line is None else _line_name(f.line, lines)
        out.append(f"  {f.severity.upper():<7} {f.rule} ({where}): {f.message}")
        out.append(f"          source: {f.citation}")
        for fix in f.fixes:
            template = _FIX_TEXT.get(fix.action, "{action} {where} {value}")
            where = _line_name(fix.line, lines)
            text = template.format(action=fix.action, where=where, value=fix.value)
            out.append(f"          fix: {text}")
    if report.estimate is not None:
        out.append("  estimate:")
        out += [f"    {row}" for row in report.estimate.to_text().splitlines()]
    out.append(f"  data: {report.data_version}")
    if report.data:  # which data answered, in words (NCCI pairs and MUEs)
        out.append(f"  ncci: pairs {report.data['ncci_ptp']}; MUEs {report.data['ncci_mue']}")
    return "\n".join(out)


def _printable(text: str) -> str:
    """``text`` with control characters (terminal escape sequences) shown as escapes."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _line_name(index: int, lines: Sequence[str] | None) -> str:
    """``line N`` (1-based), or the claim's own name for the line when it has one."""
    if lines is not None and 0 <= index < len(lines):
        return lines[index]
    return f"line {index + 1}"


def render_invalid_text(name: str, record: int | None, errors: Sequence[tuple[str, str]]) -> str:
    """A record that could not be checked, for people."""
    where = f"{name}, record {record}" if record is not None else name
    lines = [f"{where}: INVALID — {len(errors)} problem(s)"]
    lines += [f"  {p or '(input)'}: {m}" for p, m in errors]
    return "\n".join(lines)


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

#: JSON text of a string, ``_quote(s)``, for the strings that recur (rule ids,
#: severities, citations, codes, payers, data versions).
_QUOTED: Memo[str, str] = Memo("report: JSON strings", size=_QUOTED_MAX)
# Messages apart, so that varied messages cannot crowd the constants out. Most
# messages recur too (the same note on every visit, the same fault with the same
# code), and looking one up costs a fifth of quoting it.
_MESSAGES: Memo[str, str] = Memo("report: JSON messages", size=_QUOTED_MAX)
_ISO: Memo[dt.date, str] = Memo("report: JSON dates", size=_QUOTED_MAX)


def _quoted(memo: Memo[str, str]) -> Callable[[str], str]:
    """``_quote`` remembered in ``memo`` (a TypeError for a non-string: the caller falls back)."""
    get, put = memo.get, memo.put

    def quoted(key: str) -> str:
        text = get(key)
        if text is None:
            text = put(key, _quote(key))
        return text

    return quoted


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
    if type(day) is not dt.date:
        return _quote(day.isoformat())
    text = _ISO.get(day)
    if text is None:
        text = _ISO.put(day, _quote(day.isoformat()))
    return text


_COMPACT = json.JSONEncoder(separators=(",", ":"))


def _make_encoder(
    indent: int | None, margin: str
) -> Callable[[Report, int | None, str | None], str]:
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
    r_ok, r_id, r_payer, r_date, r_version, r_data, r_units, r_findings, r_end = (
        "{" + key(n1, "ok", True),
        key(n1, "id"),
        key(n1, "payer"),
        key(n1, "date_of_service"),
        key(n1, "data_version"),
        key(n1, "data"),
        key(n1, "units"),
        key(n1, "findings"),
        n0 + "}",
    )
    q, m = _quoted(_QUOTED), _quoted(_MESSAGES)
    r_file, r_record = key(n1, "file"), key(n1, "record")

    def where(record: int | None, file: str | None) -> str:
        """The text of the optional ``file`` and ``record`` keys."""
        text = "" if file is None else r_file + _quote(file)
        if record is None:
            return text
        if type(record) is not int:
            raise _Unusual
        return f"{text}{r_record}{record}"

    # per layout; see encode()
    unit_texts: Memo[tuple[object, ...], str] = Memo("report: JSON units rows", size=_QUOTED_MAX)
    # per layout: by mapping id (one mapping per payer profile)
    data_texts: Memo[int, tuple[Mapping[str, str], str]] = Memo(
        "report: JSON data sections", size=_QUOTED_MAX
    )

    def data_text(data: Mapping[str, str]) -> str:
        """The report's ``data`` object (one mapping per payer profile: kept by id)."""
        got = data_texts.get(id(data))
        if got is not None and got[0] is data:
            return got[1]
        items = [f"{key(n2, k, i == 0)}{q(v)}" for i, (k, v) in enumerate(data.items())]
        text = r_data + "{" + "".join(items) + n1 + "}"
        data_texts.put(id(data), (data, text))
        return text

    def fix_text(x: Fix) -> str:
        line, value = x.line, x.value
        head = f"{fix_action}{q(x.action)}{fix_line}{line if type(line) is int else _scalar(line)}"
        if value is None:
            return head + fix_end
        if type(value) is str:
            return f"{head}{fix_value}{q(value)}{fix_end}"
        return f"{head}{fix_value}{value if type(value) is int else _scalar(value)}{fix_end}"

    # per layout: a finding's text and a report's units section, by the object's id
    # (the engine hands the same objects to many reports); each entry keeps its object,
    # so an id is never taken for another object's while its entry lives
    finding_texts: Memo[int, tuple[Finding, str]] = Memo("report: JSON findings", size=_QUOTED_MAX)
    units_texts: Memo[int, tuple[tuple[LineUnits, ...], str]] = Memo(
        "report: JSON units sections", size=_QUOTED_MAX
    )

    def finding_text(f: Finding) -> str:
        line, fixes = f.line, f.fixes
        if f.amount is not None:
            raise _Unusual  # the general encoder writes the amount
        if fixes:
            fixes_text = fixes_open + fixes_sep.join([fix_text(x) for x in fixes]) + fixes_close
        else:
            fixes_text = "[]"
        return (
            f"{f_rule}{q(f.rule)}{f_severity}{q(f.severity)}{f_line}"
            f"{'null' if line is None else line if type(line) is int else _scalar(line)}"
            f"{f_message}{m(f.message)}{f_citation}{q(f.citation)}"
            f"{f_fixes}{fixes_text}{f_end}"
        )

    def unit_text(u: LineUnits) -> str:
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
                f"{u_line}{line if type(line) is int else _scalar(line)}{u_code}{q(code)}"
                f"{u_billed}{billed if type(billed) is int else _scalar(billed)}"
                f"{u_expected}{expected if type(expected) is int else _scalar(expected)}"
                f"{u_end}"
            )
            if plain:
                unit_texts.put(key, text)
        return text

    def units_section(units: tuple[LineUnits, ...]) -> str:
        got = units_texts.get(id(units))
        if got is not None and got[0] is units:
            return got[1]
        text = list_open + list_sep.join([unit_text(u) for u in units]) + list_close
        if type(units) is tuple:  # a list could change
            units_texts.put(id(units), (units, text))
        return text

    def encode(report: Report, record: int | None, file: str | None) -> str:
        if report.estimate is not None:
            raise _Unusual  # the general encoder writes the fee estimate
        if file is None:  # a batch's record number, or nothing: the usual two cases
            if record is None:
                place = ""
            elif type(record) is int:
                place = f"{r_record}{record}"
            else:
                place = where(record, file)
        else:
            place = where(record, file)
        ok = True
        findings = []
        for f in report.findings:
            got = finding_texts.get(id(f))
            if got is not None and got[0] is f:
                text = got[1]
            else:
                text = finding_text(f)
                if type(f.fixes) is tuple:  # nothing in it can change (a list could)
                    finding_texts.put(id(f), (f, text))
            if f.severity == "error":
                ok = False
            findings.append(text)
        units = report.units
        sid = report.session.id
        return (
            f"{r_ok}{'true' if ok else 'false'}"
            f"{'' if sid is None else r_id + _quote(sid)}{place}{r_payer}{q(report.payer)}"
            f"{r_date}{_date(report.date_of_service)}{r_version}{q(report.data_version)}"
            f"{data_text(report.data) if report.data else ''}"
            f"{r_units}{units_section(units) if units else '[]'}"
            f"{r_findings}"
            f"{list_open + list_sep.join(findings) + list_close if findings else '[]'}"
            f"{r_end}"
        )

    return encode


_ENCODERS: Memo[tuple[int | None, str], Callable[[Report, int | None, str | None], str]] = Memo(
    "report: JSON encoders by layout", size=64
)


def encode_report(
    report: Report,
    indent: int | None = None,
    margin: str = "",
    *,
    record: int | None = None,
    file: str | None = None,
) -> str:
    """The JSON text of ``report.to_dict()``, written directly (several times faster).

    With ``indent=None`` it is ``json.dumps(report.to_dict(), separators=(",", ":"))``;
    with an indent, ``json.dumps(report.to_dict(), indent=indent)``; byte for byte,
    ASCII-escaped as ``json`` does. ``margin`` is put after every newline (the
    report nested in an indented array); the first line gets none. ``record``
    and ``file`` are written as :meth:`Report.to_dict` writes them.
    """
    encoder = _ENCODERS.get((indent, margin))
    if encoder is None:
        encoder = _ENCODERS.put((indent, margin), _make_encoder(indent, margin))
    try:
        return encoder(report, record, file)
    except (_Unusual, TypeError, AttributeError):
        # A field of a type the direct path does not write (never from the engine):
        # the general encoder says what it makes of it, or raises as it always did.
        general = _COMPACT if indent is None else json.JSONEncoder(indent=indent)
        text = general.encode(report.to_dict(record=record, file=file))
        return text.replace("\n", "\n" + margin) if margin else text
