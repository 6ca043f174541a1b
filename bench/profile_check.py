"""Where the time of one check goes, stage by stage and rule by rule.

Run by hand (not in CI):

    .venv/bin/python bench/profile_check.py [--sessions 3000] [--lines 4] [--payer medicare]
        [--store PATH]

Over distinct generated sessions (as a batch sees them: no two alike), it
prints the mean microseconds per session of each stage of the batch path
(JSON decode, ``load_session``, preparing the rule context, the rules, the rest
of ``check()``, ``report.to_dict()`` and JSON encoding) and of each rule. The
per-rule figures call each rule function directly on a prepared context, so
they add up to the rules stage; the stage figures come from separate passes
and do not include the timer's own cost. Times are this process's CPU time
(``time.process_time_ns``), so other work on a shared machine inflates them
less than it would wall-clock figures. ``--store PATH`` checks against a local
NCCI store (``cptrules data import``) instead of the default tables.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from bench_check import make_sessions

import cptrules
from cptrules import _context
from cptrules._context import Context
from cptrules.batch._stream import _dump
from cptrules.report import encode_report


def _mean_us(func: Callable[[Any], object], items: Sequence[Any]) -> float:
    gc.collect()
    start = time.process_time_ns()
    for item in items:
        func(item)
    return (time.process_time_ns() - start) / len(items) / 1000


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=3000)
    ap.add_argument("--lines", type=int, default=4, choices=(1, 4, 12))
    ap.add_argument("--payer", default="medicare", choices=("medicare", "commercial"))
    ap.add_argument("--store", metavar="PATH", help="an NCCI store to check against")
    args = ap.parse_args(argv)

    engine = cptrules.Engine(tables=args.store) if args.store else cptrules.default_engine()
    dicts = make_sessions(args.sessions, args.lines, args.payer, seed=11)
    texts = [json.dumps(d) for d in dicts]
    sessions = [cptrules.load_session(d) for d in dicts]
    profile = engine.profile_for(args.payer, sessions[0])
    tables = engine.tables if profile.ncci else None

    def context(s: cptrules.Session) -> Context:
        return Context(s, profile, engine.catalog, tables)

    stages: list[tuple[str, float]] = []
    stages.append(("json decode", _mean_us(json.loads, texts)))
    stages.append(("load_session(dict)", _mean_us(cptrules.load_session, dicts)))
    _context._UNITS.clear()  # cold, as in a batch of distinct visits
    stages.append(("rule context", _mean_us(context, sessions)))
    contexts = [context(s) for s in sessions]
    steps = engine.plan(profile).in_force(sessions[0].date_of_service)
    per_rule: dict[str, float] = {}
    for func, r, triggers in steps:
        ran = [c for c in contexts if triggers is None or not triggers.isdisjoint(c.present)]
        if ran:
            per_rule[r.id] = _mean_us(lambda c, f=func, r=r: list(f(c, r)), ran) * len(ran)
            per_rule[r.id] /= len(contexts)
    rules_total = sum(per_rule.values())
    stages.append(("rules (sum of the table below)", rules_total))
    _context._UNITS.clear()
    whole = _mean_us(engine.check, sessions)
    rest = whole - rules_total - stages[2][1]
    stages.append(("rest of check() (whole minus the above two)", rest))
    reports = [engine.check(s) for s in sessions]
    stages.append(
        ("JSON Lines report (encode_report, as the batch does)", _mean_us(encode_report, reports))
    )
    stages.append(("for comparison: report.to_dict()", _mean_us(lambda r: r.to_dict(), reports)))
    docs = [r.to_dict() for r in reports]
    stages.append(
        ("for comparison: json of to_dict()", _mean_us(lambda d: _dump(d, "jsonl"), docs))
    )

    print(f"{args.sessions:,} distinct {args.lines}-line {args.payer} sessions, mean us each")
    print(f"  check() whole: {whole:7.2f}")
    for name, us in stages:
        print(f"  {us:7.2f}  {name}")
    print("rules:")
    for rid, us in sorted(per_rule.items(), key=lambda kv: -kv[1]):
        print(f"  {us:7.2f}  {rid}")
    n_findings = sum(len(r.findings) for r in reports) / len(reports)
    print(f"findings per session: {n_findings:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
