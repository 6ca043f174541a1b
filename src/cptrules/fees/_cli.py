"""``cptrules estimate FILE`` and the fee half of ``cptrules data import|status``.

The main command line calls :func:`add_subparser`; the data command calls
:func:`import_files` and :func:`status_lines` for the files that are fee tables.
Exit codes: 0 every line priced; 1 some line could not be priced (named in the
output); 2 invalid input, usage, or no fee data for the payer.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from ..errors import CptRulesError, DataError, InvalidSessionError
from .estimate import Estimate, estimate, estimate_contract
from .loaders import is_fee_file
from .schedule import NATIONAL
from .store import (
    StoreEntry,
    default_fee_store,
    import_contract_rates,
    import_fee_files,
    open_contracts,
    open_schedule,
    status,
)

__all__ = ["add_subparser", "import_files", "is_fee_file", "status_lines"]

_EXIT_OK, _EXIT_UNPRICED, _EXIT_INVALID = 0, 1, 2
_MAX_INPUT = 16 * 1024 * 1024


def add_subparser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``estimate FILE|- [--payer ID|all] [--locality L] [--pos NN] [--format F]``."""
    p = subparsers.add_parser(
        "estimate",
        help="what the visit pays, line by line (needs fee data from `cptrules data import`)",
        description=(
            "Price one session (JSON) with the Medicare fee schedule or a payer's contract "
            f"rates from the fee store (default: {default_fee_store()}; set CPTRULES_FEES)."
        ),
    )
    p.add_argument("file", metavar="FILE|-")
    p.add_argument(
        "--payer", help="payer profile id (default: the session's), or `all` to compare payers"
    )
    p.add_argument(
        "--locality",
        default=NATIONAL,
        help="Medicare locality as MAC-LL from the GPCI file, e.g. 10112-00 (default: national)",
    )
    p.add_argument("--pos", default="11", metavar="NN", help="place of service (default 11)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--fees", metavar="PATH", help="fee store (default: as above)")
    p.set_defaults(func=_cmd_estimate)


def _fail(message: str) -> int:
    print(f"cptrules estimate: {' '.join(message.split())}", file=sys.stderr)
    return _EXIT_INVALID


def _read(file: str) -> bytes:
    if file == "-":
        return sys.stdin.buffer.read(_MAX_INPUT + 1)
    with open(file, "rb") as fh:
        return fh.read(_MAX_INPUT + 1)


def _cmd_estimate(args: argparse.Namespace) -> int:
    import cptrules

    try:
        raw = _read(args.file)
    except OSError as exc:
        return _fail(f"cannot read {args.file}: {exc.strerror or exc}")
    if len(raw) > _MAX_INPUT:
        return _fail(f"input is larger than {_MAX_INPUT} bytes")
    try:
        session = cptrules.load_session(raw)
    except InvalidSessionError as exc:
        return _fail(str(exc))
    try:
        payer = session.payer if args.payer in (None, "all") else args.payer
        report = cptrules.check(session, payer=payer)
        units = [u.billed if u.billed is not None else u.expected for u in report.units]
        schedule = open_schedule(args.fees)
        contracts = open_contracts(args.fees)
    except CptRulesError as exc:
        return _fail(str(exc))
    engine = cptrules.default_engine()
    payers = _payers(args.payer, session.payer, contracts)
    results: dict[str, Estimate] = {}
    for pid in payers:
        profile = engine.profiles.get(pid, session.date_of_service)
        if pid in contracts:
            results[pid] = estimate_contract(session, contracts[pid], payer=pid, units=units)
        elif profile is not None and profile.is_a("medicare") and schedule is not None:
            est = estimate(
                session, schedule, locality=args.locality, place_of_service=args.pos, units=units
            )
            results[pid] = est if est.payer == pid else _relabel(est, pid)
        elif args.payer != "all":
            if profile is not None and profile.is_a("medicare"):
                return _fail(
                    f"no fee data for {profile.name}: import the CMS RVU files with "
                    "`cptrules data import`"
                )
            name = profile.name if profile is not None else pid
            return _fail(
                f"no fee data for {name}: import its contract rates with "
                f"`cptrules data import --rates {pid} FILE`"
            )
    if not results:
        return _fail("no payer has fee data: import it with `cptrules data import`")
    if args.format == "json":
        out: Any = (
            {p: e.to_dict() for p, e in results.items()}
            if args.payer == "all"
            else next(iter(results.values())).to_dict()
        )
        print(json.dumps(out, indent=2))
    else:
        print("\n\n".join(e.to_text() for e in results.values()))
    return _EXIT_OK if all(e.complete for e in results.values()) else _EXIT_UNPRICED


def _payers(asked: str | None, own: str, contracts: dict[str, Any]) -> list[str]:
    if asked != "all":
        return [asked or own]
    return list(dict.fromkeys(["medicare", *sorted(contracts)]))


def _relabel(est: Estimate, payer: str) -> Estimate:
    import attrs

    return attrs.evolve(est, payer=payer)


# --- the data command's fee half ------------------------------------------------------


def import_files(
    files: Sequence[str],
    *,
    store: str | None = None,
    effective: str | None = None,
    rates_payer: str | None = None,
) -> list[StoreEntry]:
    """Import fee tables (or, with ``rates_payer``, contract rate CSVs) into the fee store.

    ``effective`` (YYYY-MM-DD) is the first day of every given release whose file
    name does not say it.
    """
    if rates_payer is not None:
        return [import_contract_rates(f, rates_payer, store) for f in files]
    days: dict[str, dt.date] = {}
    if effective is not None:
        try:
            day = dt.date.fromisoformat(effective)
        except ValueError:
            raise DataError(f"--effective {effective[:20]!r} is not a date (YYYY-MM-DD)") from None
        days = {os.path.basename(f): day for f in files}
    return import_fee_files(files, store, effective=days)


def status_lines(store: str | None = None) -> list[str]:
    """The fee store's contents, one line each, for ``cptrules data status``."""
    root = store or str(default_fee_store())
    entries = status(store)
    lines = [f"fee store: {root}"]
    if not entries:
        lines.append("empty")
    for e in entries:
        if e.kind == "pfs":
            what = f"PFS  from {e.effective}  CF {e.conversion_factor:<8}"
        elif e.kind == "gpci":
            what = f"GPCI {e.effective}                      "
        else:
            what = f"RATES {e.label:<30}"
        lines.append(
            f"  {what} {e.rows:>7} rows  imported {e.imported_at}  from {', '.join(e.sources)}"
        )
    return lines
