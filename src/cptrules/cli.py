"""The ``cptrules`` command line (also ``python -m cptrules``).

Exit codes: 0 no errors; 1 findings of severity error; 2 invalid input or usage.
Bad input never produces a traceback: a one-line message with the path.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from typing import IO, Any, NoReturn, cast

from . import units as units_mod
from ._version import DATA_VERSION, __version__
from .engine import Engine
from .errors import CptRulesError, InvalidSessionError
from .parsing import load_session
from .report import Report
from .rules import REGISTRY

__all__ = ["invalid_report", "main", "read_records"]

EXIT_OK, EXIT_ERRORS, EXIT_INVALID = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with a one-line message (its default is also 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID, f"{self.prog}: error: {message}\n")


def invalid_report(record: int | None, errors: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The report of a record that could not be checked (bad input), by 1-based record number."""
    out: dict[str, Any] = {"ok": False, "invalid": True}
    if record is not None:
        out["record"] = record
    out["errors"] = [{"path": p, "message": m} for p, m in errors]
    return out


def read_records(stream: IO[str]) -> Iterator[tuple[int, str]]:
    """Yield ``(record number, text)`` from a JSON document or JSON Lines stream.

    A stream whose first non-blank line is a whole JSON value is JSON Lines
    (one session a line; blank lines are skipped but counted). Otherwise the
    whole stream is one JSON document, record 1.
    """
    first = ""
    number = 0
    for raw in stream:
        number += 1
        if raw.strip():
            first = raw
            break
    if not first:
        return
    try:
        json.loads(first)
        single_line = True
    except ValueError:
        single_line = False
    if not single_line:
        yield 1, first + stream.read()
        return
    yield number, first
    for raw in stream:
        number += 1
        if raw.strip():
            yield number, raw


def _fmt_fix(fix: dict[str, Any]) -> str:
    action, line, value = fix["action"], fix["line"], fix.get("value")
    return {
        "set_units": f"set units on line {line} to {value}",
        "add_modifier": f"add modifier {value} to line {line}",
        "remove_modifier": f"remove modifier {value} from line {line}",
        "replace_code": f"replace the code on line {line} with {value}",
        "remove_line": f"remove line {line}",
    }.get(action, f"{action} line {line} {value}")


def render_text(report: Report, name: str) -> str:
    """A report for people: what is wrong, why (citation), what to change."""
    d = report.to_dict()
    errors = sum(f["severity"] == "error" for f in d["findings"])
    warnings = sum(f["severity"] == "warning" for f in d["findings"])
    infos = len(d["findings"]) - errors - warnings
    verdict = "OK" if report.ok else "NOT READY"
    out = [
        f"{name}: {verdict} — {d['payer']}, date of service {d['date_of_service']}: "
        f"{errors} error(s), {warnings} warning(s), {infos} note(s)"
    ]
    out.append("  units:")
    for u in d["units"]:
        exp = "?" if u["expected"] is None else u["expected"]
        billed = "?" if u["billed"] is None else u["billed"]
        flag = "" if u["billed"] == u["expected"] else "   <-"
        out.append(f"    line {u['line']}  {u['code']:<6} billed {billed}  expected {exp}{flag}")
    for f in d["findings"]:
        where = "session" if f["line"] is None else f"line {f['line']}"
        out.append(f"  {f['severity'].upper():<7} {f['rule']} ({where}): {f['message']}")
        out.append(f"          source: {f['citation']}")
        for fix in f["fixes"]:
            out.append(f"          fix: {_fmt_fix(fix)}")
    out.append(f"  data: {d['data_version']}")
    return "\n".join(out)


def _invalid_text(name: str, record: int | None, errors: Sequence[tuple[str, str]]) -> str:
    where = f"{name}, record {record}" if record is not None else name
    lines = [f"{where}: INVALID — {len(errors)} problem(s)"]
    lines += [f"  {p or '(input)'}: {m}" for p, m in errors]
    return "\n".join(lines)


def _cmd_check(args: argparse.Namespace) -> int:
    try:
        engine = Engine(profiles=args.profile or None, tables=args.db)
    except CptRulesError as exc:
        print(f"cptrules: {exc}", file=sys.stderr)
        return EXIT_INVALID
    name = "<stdin>" if args.file == "-" else args.file
    try:
        stream: IO[str] = (
            sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")  # noqa: SIM115  (closed below)
        )
    except OSError as exc:
        print(f"cptrules: cannot read {name}: {exc.strerror}", file=sys.stderr)
        return EXIT_INVALID
    worst = EXIT_OK
    outputs: list[dict[str, Any]] = []
    many = False
    try:
        for count, (number, text) in enumerate(read_records(stream)):
            many = many or count > 0 or number > 1
            try:
                report = engine.check(load_session(text), payer=args.payer)
            except InvalidSessionError as exc:
                worst = EXIT_INVALID
                errs = exc.errors
                if args.format == "text":
                    print(_invalid_text(name, number if many else None, errs))
                else:
                    _emit(args, invalid_report(number, errs), outputs)
                continue
            except CptRulesError as exc:
                worst = EXIT_INVALID
                errs = (("", str(exc)),)
                if args.format == "text":
                    print(_invalid_text(name, number if many else None, errs))
                else:
                    _emit(args, invalid_report(number, errs), outputs)
                continue
            if not report.ok and worst == EXIT_OK:
                worst = EXIT_ERRORS
            if args.format == "text":
                print(render_text(report, f"{name}, record {number}" if many else name))
            else:
                _emit(args, report.to_dict(), outputs)
    except UnicodeDecodeError:
        print(f"cptrules: {name} is not UTF-8 text", file=sys.stderr)
        return EXIT_INVALID
    finally:
        if stream is not sys.stdin:
            stream.close()
    if args.format == "json":
        doc: Any = outputs[0] if len(outputs) == 1 and not many else outputs
        print(json.dumps(doc, indent=2))
    return worst


def _emit(args: argparse.Namespace, doc: dict[str, Any], outputs: list[dict[str, Any]]) -> None:
    if args.format == "jsonl":
        print(json.dumps(doc, separators=(",", ":")), flush=False)
    else:
        outputs.append(doc)


def _cmd_units(args: argparse.Namespace) -> int:
    minutes: dict[str, int] = {}
    for item in args.pairs:
        code, sep, value = item.partition("=")
        if not sep or not value.isdigit() or not code:
            print(f"cptrules units: expected CODE=MINUTES, got {item!r}", file=sys.stderr)
            return EXIT_INVALID
        minutes[code] = minutes.get(code, 0) + int(value)
    try:
        explanation = units_mod.explain(minutes, method=args.method)
    except ValueError as exc:
        print(f"cptrules units: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.format == "json":
        print(json.dumps(explanation.to_dict(), indent=2))
    else:
        print(explanation)
    return EXIT_OK


def _cmd_rules(args: argparse.Namespace) -> int:
    engine = Engine(tables=_NoTables())
    rules = list(REGISTRY.values())
    if args.payer is not None:
        versions = engine.profiles.versions.get(args.payer)
        if not versions:
            print(
                f"cptrules rules: unknown payer {args.payer} (see `cptrules payers`)",
                file=sys.stderr,
            )
            return EXIT_INVALID
        profile = versions[-1]
        rules = [r for r in rules if r.for_profile(profile)]
    rows = [
        {
            "id": r.id,
            "severity": r.severity,
            "payers": list(r.payers),
            "confidence": r.confidence,
            "effective": r.effective.isoformat(),
            "until": None if r.until is None else r.until.isoformat(),
            "citation": r.citation,
            "summary": r.summary,
        }
        for r in sorted(rules, key=lambda r: r.id)
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['id']:<24} {row['severity']:<7} [{row['confidence']}] {row['summary']}")
            print(f"{'':<24} source: {row['citation']}")
    return EXIT_OK


def _cmd_payers(args: argparse.Namespace) -> int:
    engine = Engine(tables=_NoTables())
    rows = [
        {
            "id": p.id,
            "name": p.name,
            "extends": p.lineage[1] if len(p.lineage) > 1 else None,
            "effective": p.effective.isoformat(),
            "until": None if p.until is None else p.until.isoformat(),
            "unit_method": p.unit_method,
            "source": p.source,
        }
        for p in engine.profiles.all()
    ]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            span = f"{row['effective']} to {row['until'] or 'open'}"
            ext = f" (extends {row['extends']})" if row["extends"] else ""
            print(f"{row['id']:<16} {span:<26} {row['unit_method']:<11} {row['name']}{ext}")
    return EXIT_OK


class _NoTables:
    """Stand-in tables for commands that list rules or payers and check nothing."""

    version = "ncci:none"
    has_mue = False

    def ptp(self, codes: frozenset[str], day: Any) -> tuple[Any, ...]:
        return ()

    def mue(self, codes: frozenset[str], day: Any) -> dict[str, Any]:
        return {}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``cptrules`` command."""
    parser = _Parser(prog="cptrules", description="Check therapy and chiropractic billing.")
    parser.add_argument(
        "--version", action="version", version=f"cptrules {__version__} (data {DATA_VERSION})"
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("check", help="check one session (JSON) or many (JSON Lines)")
    p.add_argument("file", metavar="FILE|-")
    p.add_argument("--payer", help="payer profile id, overriding each session's payer")
    p.add_argument("--format", choices=("text", "json", "jsonl"), default="text")
    p.add_argument(
        "--profile", action="append", metavar="FILE", help="load a payer profile file (repeatable)"
    )
    p.add_argument("--db", metavar="PATH", help="NCCI store made by `cptrules data import`")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser(
        "units", help="units for minutes by the 8-minute rule or the AMA midpoint rule"
    )
    p.add_argument("pairs", nargs="+", metavar="CODE=MINUTES")
    p.add_argument("--method", choices=("total-time", "per-code"), default="total-time")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=_cmd_units)

    p = sub.add_parser("rules", help="the rule catalog")
    p.add_argument("--payer", help="only the rules this payer profile runs")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=_cmd_rules)

    p = sub.add_parser("payers", help="payer profiles and their effective dates")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=_cmd_payers)

    from .ncci import _cli as ncci_cli

    ncci_cli.add_subparser(cast("argparse._SubParsersAction[argparse.ArgumentParser]", sub))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except BrokenPipeError:  # pragma: no cover - e.g. `cptrules check ... | head`
        return EXIT_OK
    except KeyboardInterrupt:
        print("cptrules: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
