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
        help="import the official CMS NCCI PTP/MUE files into the local store",
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
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("status", help="list what the store holds")
    p.add_argument("--db", metavar="PATH", help="store to read (default as for import)")
    p.set_defaults(func=_cmd_status)


def _printable(text: str) -> str:
    """``text`` with control characters (terminal escapes in zip member names) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _fail(exc: DataError) -> int:
    message = " ".join(str(exc).split())  # one line, whatever the cause said
    print(f"cptrules data: {_printable(message)}", file=sys.stderr)
    return _EXIT_DATA


def _cmd_import(args: argparse.Namespace) -> int:
    started = time.perf_counter()
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
        return _fail(exc)
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
    return _EXIT_OK
