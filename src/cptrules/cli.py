"""The ``cptrules`` command line (also ``python -m cptrules``).

Exit codes: 0 no errors; 1 findings of severity error; 2 invalid input or usage;
130 interrupted (Ctrl-C, the output holds whole records); 141 the reader of the
output went away (``| head``). Bad input never produces a traceback: a one-line
message with the path, or an invalid report for that record.

``check`` streams through :func:`cptrules.batch.check_jsonl`: one report per
record, in order, over ``--jobs`` processes, with a summary on stderr.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pathlib
import shutil
import sys
import tempfile
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, NoReturn, cast

from . import units as units_mod
from ._version import DATA_VERSION, __version__
from .batch import (
    ClaimOptions,
    EngineSettings,
    Summary,
    check_input,
    default_jobs,
    invalid_report,
    render_text,
    sniff_input,
)
from .batch._pool import batch_collector, keep_freed_memory
from .engine import Engine, default_engine
from .errors import CptRulesError
from .models import DISCIPLINES
from .report import _printable
from .rules import REGISTRY

if TYPE_CHECKING:
    from .x12 import FixOutcome

__all__ = ["build_parser", "invalid_report", "main", "render_text"]

EXIT_OK, EXIT_ERRORS, EXIT_INVALID = 0, 1, 2
#: Ctrl-C (128 + SIGINT) and a closed output pipe (128 + SIGPIPE), as a shell reports them.
EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 130, 141
_READ_BUFFER = 1 << 20


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with a one-line message (its default is also 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INVALID, f"{self.prog}: error: {message}\n")


class _WriteError(Exception):
    """Writing the output failed (a full disk, a closed file): not a reading problem."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))


class _Output:
    """``sys.stdout`` whose failures say they are about writing (a broken pipe stays one)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _WriteError(exc) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _WriteError(exc) from None


def _cmd_check(args: argparse.Namespace) -> int:
    # One set of prepared options (engine settings, claim options) for both paths:
    # --jobs here, --scheduler on a Dask cluster, so every option means the same.
    settings = EngineSettings(
        profiles=args.profile or (), tables=args.db, fees=args.fees, locality=args.locality
    )
    if args.fees is not None and not _has_fee_data(args.fees):
        return EXIT_INVALID
    claims = _claim_options(args, "check")
    if claims is None:
        return EXIT_INVALID
    if args.episodes and (args.format == "json" or args.window < 1):
        print(
            "cptrules check: --episodes writes --format jsonl or text, with --window of 1 or more",
            file=sys.stderr,
        )
        return EXIT_INVALID
    if args.scheduler is not None or args.output_dir is not None:  # on a Dask cluster
        from .dask import _cli_check

        return _cli_check(args, settings, claims)
    jobs = default_jobs() if args.jobs is None else args.jobs
    if jobs < 1:
        print("cptrules check: --jobs must be at least 1", file=sys.stderr)
        return EXIT_INVALID
    # This process reads (and with --jobs 1 checks) the input in blocks of hundreds of
    # KB, as a worker does: their pages stay mapped from one block to the next.
    keep_freed_memory()
    files: list[str] = args.files
    several = len(files) > 1
    if several and args.format == "json":
        print(
            "cptrules check: --format json takes one input; use --format jsonl (each report "
            "names its file) or text for several",
            file=sys.stderr,
        )
        return EXIT_INVALID
    if files.count("-") > 1:
        print("cptrules check: standard input (-) can be read once only", file=sys.stderr)
        return EXIT_INVALID
    engine = None if settings == EngineSettings() else settings
    out = cast("IO[str]", _Output(sys.stdout))
    progress = sys.stderr if not args.quiet and _isatty(sys.stderr) else None
    worst = EXIT_OK
    total = Summary()
    for file in files:
        name = "<stdin>" if file == "-" else _printable(file)
        try:
            summary = _check_file(args, file, name, out, jobs, engine, progress, several, claims)
        except _WriteError as exc:
            print(f"cptrules: cannot write the output: {exc}", file=sys.stderr)
            return EXIT_INVALID
        if summary is None:
            return EXIT_INVALID
        if summary.records == 0 and not summary.interrupted:
            print(f"cptrules: no records in {name}", file=sys.stderr)
        worst = _worse(worst, summary.exit_code)
        total.merge(summary)
        if summary.interrupted:
            break
    if total.interrupted:
        last = total.last_record
        where = f"record {last}" if last is not None else "the start"
        print(
            f"cptrules: interrupted after {where}; {total.records:,} record(s) written, "
            "the output holds whole records only",
            file=sys.stderr,
        )
    if (total.records > 1 or total.interrupted) and not args.quiet:
        print(total.format(), file=sys.stderr)
    return worst


def _worse(a: int, b: int) -> int:
    """The exit code that says more: interrupted, then invalid, then errors, then ok."""
    order = (EXIT_INTERRUPTED, EXIT_INVALID, EXIT_ERRORS, EXIT_OK)
    return min((a, b), key=lambda code: order.index(code) if code in order else -1)


def _check_file(
    args: argparse.Namespace,
    file: str,
    name: str,
    out: IO[str],
    jobs: int,
    engine: EngineSettings | None,
    progress: IO[str] | None,
    several: bool,
    claims: ClaimOptions,
) -> Summary | None:
    """Check one input; None after a one-line message when it cannot be read.

    :func:`~cptrules.batch.check_input` tells a claim file (837P, FHIR) from
    sessions by its first bytes: claims are checked in this process, as they
    stream; sessions go to ``check_jsonl`` (or the episodes' reader).
    """
    try:
        # A file is read through a 1 MiB buffer (not 8 KiB): a third of the reading
        # cost of a big batch, which the parent of --jobs N pays alone.
        stream: IO[bytes] | IO[str] = (
            getattr(sys.stdin, "buffer", sys.stdin)
            if file == "-"
            else open(file, "rb", buffering=_READ_BUFFER)  # noqa: SIM115  (closed below)
        )
    except OSError as exc:
        print(f"cptrules: cannot read {name}: {exc.strerror}", file=sys.stderr)
        return None
    try:
        collector = None
        if jobs == 1 and engine is None:
            # The default engine checks in this process: the collector as in a worker
            default_engine()
            collector = batch_collector()
        try:
            return check_input(
                stream,
                out,
                jobs=jobs,
                engine=engine,
                payer=args.payer,
                claims=claims,
                episodes=args.episodes,
                window=args.window,
                format=args.format,
                name=name,
                label=name if several else None,
                progress=progress,
            )
        finally:
            if collector is not None:
                gc.unfreeze()
                gc.set_threshold(*collector)
    except CptRulesError as exc:
        print(f"cptrules: {exc}", file=sys.stderr)
        return None
    except _WriteError:
        raise
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        print(f"cptrules: cannot read {name}: {exc.strerror or exc}", file=sys.stderr)
        return None
    finally:
        if file != "-":
            stream.close()


def _has_fee_data(store: str) -> bool:
    """True when the fee store has a fee schedule or contract rates; else a message."""
    from .fees.store import default_fee_store, open_contracts, open_schedule

    where = _printable(store) if store else str(default_fee_store())
    try:
        found = open_schedule(store or None) is not None or bool(open_contracts(store or None))
    except CptRulesError as exc:
        print(f"cptrules check: {_printable(str(exc))}", file=sys.stderr)
        return False
    if not found:
        print(
            f"cptrules check: no fee data in {where}: import it with `cptrules data import`",
            file=sys.stderr,
        )
    return found


def _claim_options(args: argparse.Namespace, command: str) -> ClaimOptions | None:
    """How claim files are read, from the options; None after a one-line message."""
    from ._interop import load_minutes, load_payer_map

    try:
        payer_map = None if args.payer_map is None else load_payer_map(args.payer_map)
        minutes = None if args.minutes is None else load_minutes(args.minutes)
    except CptRulesError as exc:
        print(f"cptrules {command}: {_printable(str(exc))}", file=sys.stderr)
        return None
    return ClaimOptions(payer_map, args.discipline, minutes)


def _cmd_fix(args: argparse.Namespace) -> int:
    """``cptrules fix``: an 837P written back with every claim's fixes settled."""
    claims = _claim_options(args, "fix")
    if claims is None:
        return EXIT_INVALID
    name = "<stdin>" if args.file == "-" else _printable(args.file)
    try:
        engine = EngineSettings(profiles=args.profile or (), tables=args.db).build()
        if args.payer is not None and not engine.profiles.knows(args.payer):
            print(
                f"cptrules fix: unknown payer profile {args.payer} (see `cptrules payers`)",
                file=sys.stderr,
            )
            return EXIT_INVALID
    except CptRulesError as exc:
        print(f"cptrules fix: {_printable(str(exc))}", file=sys.stderr)
        return EXIT_INVALID
    with tempfile.TemporaryDirectory(prefix="cptrules-fix-") as scratch:
        try:
            source = _fix_source(args.file, scratch)
        except OSError as exc:
            print(f"cptrules fix: cannot read {name}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_INVALID
        with open(source, "rb") as fh:
            kind, _ = sniff_input(fh)
        if kind != "x12":
            print(
                f"cptrules fix: {name} is not an X12 837P interchange (fix writes 837P only; "
                "`cptrules check` reads sessions and FHIR)",
                file=sys.stderr,
            )
            return EXIT_INVALID
        try:
            outcome = _write_fixed(args, source, engine, claims, scratch)
        except CptRulesError as exc:
            print(f"cptrules fix: {_printable(str(exc))}", file=sys.stderr)
            return EXIT_INVALID
        except OSError as exc:
            print(f"cptrules fix: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_INVALID
    if not args.quiet or outcome.exit_code == EXIT_INVALID:
        _fix_summary(outcome)
    return outcome.exit_code


def _fix_source(file: str, scratch: str) -> pathlib.Path:
    """The input as a path (read twice: to check, then to write); stdin is saved first."""
    if file != "-":
        with open(file, "rb"):  # an unreadable file fails here, with its own message
            pass
        return pathlib.Path(file)
    path = pathlib.Path(scratch) / "input.837"
    stdin = getattr(sys.stdin, "buffer", sys.stdin)
    with open(path, "wb") as fh:
        while chunk := stdin.read(_READ_BUFFER):
            fh.write(chunk if isinstance(chunk, bytes) else chunk.encode("utf-8"))
    return path


def _write_fixed(
    args: argparse.Namespace,
    source: pathlib.Path,
    engine: Engine,
    claims: ClaimOptions,
    scratch: str,
) -> FixOutcome:
    """Write the fixed interchange to a scratch file, then put it in place (or on stdout)."""
    from .x12 import fix_837

    target = pathlib.Path(scratch) / "output.837"
    with open(target, "w", encoding="utf-8", newline="") as out:
        outcome = fix_837(
            source,
            out,
            engine=engine,
            payer=args.payer,
            payer_map=claims.payer_map,
            discipline=claims.discipline,
            minutes=claims.minutes,
        )
    if args.output == "-":
        with open(target, encoding="utf-8", newline="") as fh:
            while chunk := fh.read(_READ_BUFFER):
                sys.stdout.write(chunk)
        sys.stdout.flush()
    else:
        shutil.move(target, args.output)
    return outcome


def _fix_summary(outcome: FixOutcome) -> None:
    print(
        f"cptrules fix: {outcome.visits:,} claim visit(s) checked: {outcome.changed:,} changed, "
        f"{outcome.unsettled:,} still with errors the fixes cannot settle, "
        f"{outcome.not_read:,} not read (copied unchanged)",
        file=sys.stderr,
    )
    for number, errors in outcome.invalid[:20]:
        for path, message in errors[:5]:
            print(f"  record {number}: {path or '(input)'}: {message}", file=sys.stderr)
    if outcome.not_read > 20:
        print(f"  and {outcome.not_read - 20:,} more not read", file=sys.stderr)


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


#: Most allocations ``cptrules units`` lists; the rest of a big tie is counted, not built.
_UNITS_LISTED = 100
_CODE_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _cmd_units(args: argparse.Namespace) -> int:
    from .parsing import MAX_LINES, MAX_MINUTES

    minutes: dict[str, int] = {}
    pairs: list[str] = args.pairs
    if len(pairs) > MAX_LINES:
        print(f"cptrules units: at most {MAX_LINES} CODE=MINUTES pairs", file=sys.stderr)
        return EXIT_INVALID
    for item in pairs:
        code, sep, value = item.partition("=")
        code = code.upper()
        good_code = 0 < len(code) <= 5 and set(code) <= _CODE_CHARS
        # ASCII digits only ("²" is a digit to str.isdigit), and no more than a day.
        good_value = 0 < len(value) <= 4 and value.isascii() and value.isdigit()
        if not sep or not good_code or not good_value:
            print(
                f"cptrules units: expected CODE=MINUTES (a code such as 97110, whole "
                f"minutes 0 to {MAX_MINUTES}), got {_printable(item[:40])!r}",
                file=sys.stderr,
            )
            return EXIT_INVALID
        minutes[code] = minutes.get(code, 0) + int(value)
        if minutes[code] > MAX_MINUTES:
            print(
                f"cptrules units: {code} has more than {MAX_MINUTES} minutes (a whole day)",
                file=sys.stderr,
            )
            return EXIT_INVALID
    try:
        explanation = units_mod.explain(minutes, method=args.method, max_allocations=_UNITS_LISTED)
    except ValueError as exc:
        print(f"cptrules units: {exc}", file=sys.stderr)
        return EXIT_INVALID
    if args.format == "json":
        print(json.dumps(explanation.to_dict(), indent=2))
    else:
        print(explanation)
    return EXIT_OK


def _listing_engine(args: argparse.Namespace, command: str) -> Engine | None:
    """An engine for listing (no edit tables) with ``--profile`` files; None after a message."""
    try:
        return Engine(profiles=args.profile or None, tables=_NoTables())
    except CptRulesError as exc:
        print(f"cptrules {command}: {_printable(str(exc))}", file=sys.stderr)
        return None


def _cmd_rules(args: argparse.Namespace) -> int:
    engine = _listing_engine(args, "rules")
    if engine is None:
        return EXIT_INVALID
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
    rows = [r.to_dict() for r in sorted(rules, key=lambda r: r.id)]
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['id']:<24} {row['severity']:<7} [{row['confidence']}] {row['summary']}")
            if row["episode"]:
                print(f"{'':<24} needs a series of visits: cptrules check FILE --episodes")
            print(f"{'':<24} source: {row['citation']}")
    return EXIT_OK


def _cmd_payers(args: argparse.Namespace) -> int:
    engine = _listing_engine(args, "payers")
    if engine is None:
        return EXIT_INVALID
    rows = [p.to_dict() for p in engine.profiles.all()]
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


def _add_claim_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--payer-map",
        metavar="FILE",
        help="claim files: payer ids and claim filing codes to profiles (TOML), on the bundled map",
    )
    p.add_argument(
        "--discipline",
        choices=DISCIPLINES,
        help="claim files: the provider's discipline where the taxonomy does not tell it",
    )
    p.add_argument(
        "--minutes",
        metavar="FILE",
        help="claim files: each line's minutes from the EMR, by claim id and LX number or "
        "item sequence (JSON, or CSV claim,line,minutes), so timed units are checked",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``cptrules`` command."""
    parser = _Parser(prog="cptrules", description="Check therapy and chiropractic billing.")
    parser.add_argument(
        "--version", action="version", version=f"cptrules {__version__} (data {DATA_VERSION})"
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("check", help="check one session (JSON) or many (JSON Lines)")
    p.add_argument("files", nargs="+", metavar="FILE|-", help="one or more inputs (- is stdin)")
    p.add_argument("--payer", help="payer profile id, overriding each session's payer")
    p.add_argument("--format", choices=("text", "json", "jsonl"), default="text")
    p.add_argument(
        "--profile", action="append", metavar="FILE", help="load a payer profile file (repeatable)"
    )
    p.add_argument("--db", metavar="PATH", help="NCCI store made by `cptrules data import`")
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        metavar="N",
        help="worker processes for JSON Lines (default: every CPU; 1 = in this process)",
    )
    p.add_argument(
        "--quiet", "-q", action="store_true", help="no summary or progress line on stderr"
    )
    p.add_argument(
        "--fees",
        nargs="?",
        const="",
        metavar="PATH",
        help="price every report with the fee store at PATH (no PATH: the default store)",
    )
    p.add_argument(
        "--locality",
        default="national",
        metavar="MAC-LL",
        help="Medicare locality for --fees, e.g. 10112-00 (default: national)",
    )
    p.add_argument(
        "--episodes",
        action="store_true",
        help="check JSON Lines as episodes of visits grouped by their patient key",
    )
    p.add_argument(
        "--window",
        type=int,
        default=1000,
        metavar="N",
        help="with --episodes: visits held per patient and patients held open (default 1000)",
    )
    _add_claim_options(p)
    p.add_argument("--scheduler", metavar="ADDRESS", help="check on this Dask scheduler")
    p.add_argument(
        "--output-dir", metavar="DIR", help="with --scheduler: one report file per input"
    )
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("fix", help="write an 837P claim file back with the fixes applied")
    p.add_argument("file", metavar="FILE|-", help="an X12 837P interchange (- is stdin)")
    p.add_argument(
        "--output", "-o", required=True, metavar="OUT", help="where to write it (- is stdout)"
    )
    p.add_argument("--payer", help="payer profile id, overriding each claim's payer")
    p.add_argument(
        "--profile", action="append", metavar="FILE", help="load a payer profile file (repeatable)"
    )
    p.add_argument("--db", metavar="PATH", help="NCCI store made by `cptrules data import`")
    p.add_argument("--quiet", "-q", action="store_true", help="no summary on stderr")
    _add_claim_options(p)
    p.set_defaults(func=_cmd_fix)

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
    p.add_argument(
        "--profile", action="append", metavar="FILE", help="load a payer profile file (repeatable)"
    )
    p.set_defaults(func=_cmd_rules)

    p = sub.add_parser("payers", help="payer profiles and their effective dates")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument(
        "--profile", action="append", metavar="FILE", help="load a payer profile file (repeatable)"
    )
    p.set_defaults(func=_cmd_payers)

    from .ncci import _cli as ncci_cli

    ncci_cli.add_subparser(cast("argparse._SubParsersAction[argparse.ArgumentParser]", sub))
    from .fees import _cli as fees_cli

    fees_cli.add_subparser(cast("argparse._SubParsersAction[argparse.ArgumentParser]", sub))
    from .server import _cli as server_cli

    server_cli.add_subparser(cast("argparse._SubParsersAction[argparse.ArgumentParser]", sub))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except BrokenPipeError:  # e.g. `cptrules check ... | head`: the reader left
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("cptrules: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests)
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
