"""``cptrules data import|status``: load the CMS NCCI files into the local store.

The main command line calls :func:`add_subparser` and then ``args.func(args)``.
Exit codes: 0 ok; 2 on unusable data, with a one-line message and no traceback.
"""

from __future__ import annotations

import argparse
import sys
import time

from ..errors import DataError
from .store import damaged, import_files, status
from .tables import default_store_path

__all__ = ["add_subparser"]

_EXIT_OK, _EXIT_DATA = 0, 2


def add_subparser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``data`` with ``import FILE... [--db PATH] [--version V]`` and ``status [--db PATH]``."""
    data = subparsers.add_parser(
        "data",
        help="import the official CMS NCCI PTP/MUE and fee schedule files into local stores",
        description=f"The local NCCI store (default: {default_store_path()}; set CPTRULES_DB).",
    )
    sub = data.add_subparsers(dest="data_command", required=True)

    p = sub.add_parser(
        "import",
        help="read CMS PTP (TXT or f1..f4 zips) and MUE (CSV or zip) files into the store",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument(
        "--db", metavar="PATH", help="store to write (default: $CPTRULES_DB or the user cache dir)"
    )
    p.add_argument(
        "--version",
        metavar="V",
        help="edition when the file names do not say: v324r0 (PTP) or 2026q4 (quarter)",
    )
    _fee_options(p)
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("status", help="list what the store holds")
    p.add_argument("--db", metavar="PATH", help="store to read (default as for import)")
    p.add_argument(
        "--fees", metavar="PATH", help="fee store to read (default: beside the NCCI one)"
    )
    p.set_defaults(func=_cmd_status)


def _printable(text: str) -> str:
    """``text`` with control characters (terminal escapes in zip member names) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _fee_options(p: argparse.ArgumentParser) -> None:
    """CMS fee files (PPRRVU, GPCI, RVUyyX zips) and contract rates go to the fee store."""
    p.add_argument("--fees", metavar="PATH", help="fee store (default: beside the NCCI store)")
    p.add_argument(
        "--effective",
        metavar="YYYY-MM-DD",
        help="first day of a fee release whose file name does not say it (RVU24AR: 2024-03-09)",
    )
    p.add_argument("--rates", metavar="PAYER", help="the files are this payer's contract rate CSVs")


def _import_fees(args: argparse.Namespace) -> tuple[list[str], int | None]:
    """Import the fee files among ``args.files``; return the rest (NCCI files) and a failure."""
    from ..fees import _cli as fees_cli

    rates = getattr(args, "rates", None)
    fee_files = list(args.files) if rates else [f for f in args.files if fees_cli.is_fee_file(f)]
    if not fee_files:
        return list(args.files), None
    try:
        done = fees_cli.import_files(
            fee_files, store=args.fees, effective=args.effective, rates_payer=rates
        )
    except DataError as exc:
        return [], _fail(exc)
    for e in done:
        what = {"pfs": f"PFS release {e.label} from {e.effective}", "gpci": f"GPCI {e.label}"}
        print(f"imported {what.get(e.kind, f'{e.label} contract rates')}: {e.rows} rows")
    return [f for f in args.files if f not in fee_files], None


def _fail(exc: DataError) -> int:
    message = " ".join(str(exc).split())  # one line, whatever the cause said
    print(f"cptrules data: {_printable(message)}", file=sys.stderr)
    return _EXIT_DATA


def _cmd_import(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    args.files, failed = _import_fees(args)
    if failed is not None:
        return failed
    if not args.files:
        return _EXIT_OK
    try:
        problem = damaged(args.db)
        done = import_files(args.files, args.db, version=args.version)
    except DataError as exc:
        return _fail(exc)
    target = args.db or default_store_path()
    if problem is not None:
        print(
            f"note: the store's metadata was damaged; it was rebuilt from these files only: "
            f"{_printable(' '.join(problem.split()))}"
        )
    for info in done:
        program = "" if info.program == "medicare" else f"{info.program} "
        print(f"imported {program}{info.kind.upper()} {info.version}: {info.rows} rows")
    print(f"store: {target} ({time.perf_counter() - started:.1f} s)")
    return _EXIT_OK


def _cmd_status(args: argparse.Namespace) -> int:
    target = args.db or default_store_path()
    try:
        infos = status(target)
    except DataError as exc:
        failed = _fail(exc)
        _fee_status(args)  # the fee store may be there without the NCCI one
        return failed
    print(f"store: {target}")
    if not infos:
        print("empty")
    for info in infos:
        mark = "*" if info.active else " "
        print(
            f"{mark} {info.kind.upper():<3} {info.program:<8} {info.version:<8} "
            f"{info.rows:>9} rows  imported {info.imported_at}  "
            f"from {_printable(', '.join(info.sources))}"
        )
    print("* answers lookups (PTP: newest version per program; MUE: each from its quarter on)")
    return _fee_status(args)


def _fee_status(args: argparse.Namespace) -> int:
    from ..fees import _cli as fees_cli

    try:
        print("\n".join(fees_cli.status_lines(getattr(args, "fees", None))))
    except DataError as exc:
        return _fail(exc)
    return _EXIT_OK
