"""Same reports before and after a change to ``check()``, byte for byte.

Run by hand (not in CI); ``gen`` needs the ``[hypothesis]`` extra::

    python bench/compare_reports.py gen SESSIONS.jsonl [--count 50000]
    PYTHONPATH=/path/to/old/src python bench/compare_reports.py run SESSIONS.jsonl OLD.txt
    PYTHONPATH=src python bench/compare_reports.py run SESSIONS.jsonl NEW.txt
    cmp OLD.txt NEW.txt

``gen`` writes seeded session dicts, one JSON document a line: about half from
``make_sessions`` of ``bench_check.py`` (1-, 4- and 12-line visits under every
bundled payer, about half of them faulty on purpose), the rest drawn with the
Hypothesis strategies (any well-formed session, clean sessions for every payer,
and a faulty session for every rule that has a fault strategy), plus the bundled
examples. ``run`` checks each on the default engine and writes one line per
input: the report's JSON (``to_dict``), then, for a report with fixes, the
JSON of ``fixed()``; every fifth session is also checked as a claim that lacks
minutes, clock times and documentation (``carries=()``), every seventh as one
carrying minutes only, and every eleventh under another payer than its own.
An input the library refuses gives its error class and message instead.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PAYERS = (
    "medicare",
    "commercial",
    "aetna",
    "anthem",
    "bcbs-mn",
    "bcbs-nc",
    "ma-auto-pip",
    "regence-wa",
    "uhc-commercial",
)


def _generated(count: int) -> list[Any]:
    sys.path.insert(0, str(HERE))
    from bench_check import make_sessions

    docs: list[Any] = []
    cases = [(p, n) for p in PAYERS for n in (1, 4, 12)]
    each = max(1, count // len(cases))
    for payer, n in cases:
        docs.extend(make_sessions(each, n, payer, seed=97))
    return docs


def _drawn(count: int) -> list[Any]:
    from hypothesis import HealthCheck, given, seed, settings
    from hypothesis import strategies as st
    from hypothesis.errors import InvalidArgument

    import cptrules
    from cptrules import strategies
    from cptrules.strategies._faults import FAULTS

    kinds: list[st.SearchStrategy[Any]] = [strategies.session_dicts()]
    kinds += [strategies.clean_sessions(payer=p) for p in PAYERS]
    for rid in sorted(FAULTS):
        try:
            kinds.append(strategies.faulty_sessions(rule=rid))
        except InvalidArgument:  # a rule whose fault needs data the default engine lacks
            continue
    docs: list[Any] = []
    per_kind = max(1, count // len(kinds))
    runs = max(1, per_kind // 200)
    for k, kind in enumerate(kinds):
        for run_seed in range(runs):

            @seed(k * 1000 + run_seed)
            @settings(
                max_examples=per_kind // runs,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(kind)
            def collect(x: Any) -> None:
                docs.append(x if isinstance(x, dict) else cptrules.dump_session(x))

            collect()
    return docs


def gen(out: Path, count: int) -> None:
    docs: list[Any] = []
    for path in sorted((HERE.parent / "examples").glob("*.json")):
        docs.append(json.loads(path.read_text(encoding="utf-8")))
    docs += _generated(count // 2)
    docs += _drawn(count - len(docs))
    if len(docs) < count:  # the draws are split evenly between strategies: top up
        sys.path.insert(0, str(HERE))
        from bench_check import make_sessions

        docs += make_sessions(count - len(docs), 4, "medicare", seed=98)
    with out.open("w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps(doc) + "\n")
    print(f"{len(docs)} sessions written to {out}")


def run(inp: Path, out: Path) -> None:
    import cptrules
    from cptrules.errors import CptRulesError

    engine = cptrules.default_engine()
    n = 0
    with inp.open(encoding="utf-8") as f, out.open("w", encoding="utf-8") as w:
        for text in f:
            n += 1
            try:
                session = cptrules.load_session(json.loads(text))
            except CptRulesError as exc:
                w.write(f"E {type(exc).__name__} {exc}\n")
                continue
            variants: list[tuple[str | None, frozenset[str] | None]] = [(None, None)]
            if n % 5 == 0:
                variants.append((None, frozenset()))
            if n % 7 == 0:
                variants.append((None, frozenset({"minutes"})))
            if n % 11 == 0:
                variants.append((PAYERS[n % len(PAYERS)], None))
            for payer, carries in variants:
                try:
                    report = engine.check(session, payer, carries=carries)
                except CptRulesError as exc:
                    w.write(f"X {type(exc).__name__} {exc}\n")
                    continue
                w.write(json.dumps(report.to_dict()) + "\n")
                if any(f.fixes for f in report.findings):
                    w.write(json.dumps(cptrules.dump_session(report.fixed())) + "\n")
    print(f"{n} sessions checked with {cptrules.__file__}")


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("out", type=Path)
    g.add_argument("--count", type=int, default=50_000)
    r = sub.add_parser("run")
    r.add_argument("inp", type=Path)
    r.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "gen":
        gen(args.out, args.count)
    else:
        run(args.inp, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
