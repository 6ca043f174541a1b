"""Side by side: the same figures for two checkouts, alternating runs in one sitting.

Run by hand (not in CI). Each side runs in a fresh interpreter with
``PYTHONPATH=<side>/src`` and ``PYTHONHASHSEED=0``, so one venv serves both::

    git worktree add --detach /tmp/cptrules-base <commit>
    .venv/bin/python bench/bench_ab.py /tmp/cptrules-base/src src --rounds 3

Figures are CPU time (``time.process_time``), not wall time, because the
machine they were taken on is shared: per call, the best of three passes over
1,000 generated visits (1-, 4- and 12-line Medicare, 4-line commercial:
``make_sessions`` of ``bench_check.py``, seeded, so both
sides see the same visits); distinct, one pass over 5,000 visits not
seen before (after 200 others warm the routes), with the cyclic GC collected,
frozen and disabled; batch, visits per CPU-second of every process of a
``check_jsonl`` run over 20,000 generated 4-line Medicare visits. The table
gives the best figure of each side over the rounds.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BATCH = 20_000
DISTINCT = 5_000


def per_call_cpu_us(func: Callable[[Any], object], items: Sequence[Any]) -> float:
    """CPU microseconds per call of ``func`` over ``items``: the best of three passes,
    after a warm-up on the first 200 (shared with ``bench_parse.py``)."""
    for x in items[:200]:
        func(x)  # warm caches
    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        for x in items:
            func(x)
        best = min(best, (time.process_time() - t) / len(items) * 1e6)
    return best


def _distinct_cpu_us(
    func: Callable[[Any], object], warm: Sequence[Any], items: Sequence[Any]
) -> float:
    """One pass over ``items``, none of them seen before (``warm`` fills the routes first).

    The cyclic GC is collected, frozen and disabled for the pass, so a collection
    does not land in whichever call happens to allocate when it is due.
    """
    for x in warm:
        func(x)
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        t = time.process_time()
        for x in items:
            func(x)
        return (time.process_time() - t) / len(items) * 1e6
    finally:
        gc.enable()
        gc.unfreeze()


def side(batch_path: Path) -> dict[str, float]:
    """Every figure of the checkout on ``sys.path`` (run in a child process)."""
    sys.path.insert(0, str(HERE))
    import bench_check as bc

    import cptrules

    engine = cptrules.default_engine()
    out: dict[str, float] = {}
    cases = ((1, "medicare"), (4, "medicare"), (12, "medicare"), (4, "commercial"))
    for n, payer in cases:
        sessions = [cptrules.load_session(d) for d in bc.make_sessions(1000, n, payer)]
        key = f"check(), {n}-line {payer.capitalize()} (us)"
        out[key] = per_call_cpu_us(engine.check, sessions)
    for n, payer in cases:
        warm = [cptrules.load_session(d) for d in bc.make_sessions(200, n, payer, seed=5)]
        fresh = [cptrules.load_session(d) for d in bc.make_sessions(DISTINCT, n, payer, seed=7)]
        key = f"check() distinct, {n}-line {payer.capitalize()} (us)"
        out[key] = _distinct_cpu_us(engine.check, warm, fresh)
    dicts = bc.make_sessions(1000, 4, "medicare")
    texts = [json.dumps(d) for d in dicts]
    out["load_session(dict), 4 lines (us)"] = per_call_cpu_us(cptrules.load_session, dicts)
    out["load_session(JSON), 4 lines (us)"] = per_call_cpu_us(cptrules.load_session, texts)
    out["load_session + check from JSON, 4 lines (us)"] = per_call_cpu_us(
        lambda t: engine.check(cptrules.load_session(t)), texts
    )
    for jobs in (1, 2):
        _, per_cpu, _ = bc.batch_rate(batch_path, BATCH, jobs)
        out[f"batch --jobs {jobs} (visits per CPU-second)"] = per_cpu
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base", nargs="?", help="src directory of the first checkout")
    ap.add_argument("new", nargs="?", help="src directory of the second checkout")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--side", type=Path, help=argparse.SUPPRESS)  # internal: one side
    args = ap.parse_args(argv)
    if args.side is not None:
        print(json.dumps(side(args.side)))
        return 0
    if not (args.base and args.new):
        ap.error("give two src directories")
    sys.path.insert(0, str(HERE))
    import bench_check as bc

    runs: dict[str, list[dict[str, float]]] = {"base": [], "new": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "batch.jsonl"
        bc.write_batch(path, BATCH)
        for r in range(args.rounds):
            for name, src in (("base", args.base), ("new", args.new)):
                env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()), PYTHONHASHSEED="0")
                cmd = [sys.executable, __file__, "--side", str(path)]
                done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
                runs[name].append(json.loads(done.stdout))
                load = os.getloadavg()[0]
                print(f"round {r + 1} {name} done, load average {load:.2f}", file=sys.stderr)
    print(f"| figure | {args.base} | {args.new} | change |")
    print("|---|---|---|---|")
    for key in runs["base"][0]:
        pick = max if "batch" in key else min
        b = pick(run[key] for run in runs["base"])
        n = pick(run[key] for run in runs["new"])
        print(f"| {key} | {b:,.1f} | {n:,.1f} | {100 * (n / b - 1):+.1f}% |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
