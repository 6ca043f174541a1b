"""CPU time of ``load_session`` on JSON Lines records, side by side, alternating.

Run by hand (not in CI)::

    .venv/bin/python bench/bench_parse.py /tmp/perf-base/src /tmp/ref-now/src src --rounds 5

Each round runs every side once, in turn, in a fresh interpreter
(``PYTHONPATH=<side>``, ``PYTHONHASHSEED=0``, one venv for all). A side parses
5,000 distinct generated 4-line Medicare visits (``make_sessions`` of
``bench_check.py``, seeded: every side sees the same records) given as the bytes
of their JSON Lines records, as the batch hands them over, and as ``str``: one
warm-up pass, then the best of three passes, in CPU time (``time.process_time``)
per call, with the cyclic GC frozen and disabled (a collection would land in
whichever phase allocates). The table gives each side's best over the rounds.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
N = 5_000


def side() -> dict[str, float]:
    """The figures of the checkout on ``sys.path`` (run in a child process)."""
    sys.path.insert(0, str(HERE))
    import bench_check as bc

    import cptrules

    docs = bc.make_sessions(N, 4, "medicare", seed=11)
    records = [(json.dumps(d) + "\n").encode() for d in docs]
    texts = [json.dumps(d) for d in docs]
    load = cptrules.load_session
    for x in records:
        load(x)
    gc.collect()
    gc.freeze()
    gc.disable()
    from bench_ab import per_call_cpu_us

    return {
        "load_session(JSON line bytes)": per_call_cpu_us(load, records),
        "load_session(JSON str)": per_call_cpu_us(load, texts),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sides", nargs="*", help="src directories, one per side")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--side", action="store_true", help=argparse.SUPPRESS)  # internal
    args = ap.parse_args(argv)
    if args.side:
        print(json.dumps(side()))
        return 0
    best: dict[str, dict[str, float]] = {s: {} for s in args.sides}
    for r in range(args.rounds):
        for s in args.sides:
            env = dict(os.environ, PYTHONPATH=str(Path(s).resolve()), PYTHONHASHSEED="0")
            got = json.loads(
                subprocess.run(
                    [sys.executable, __file__, "--side"],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            for k, v in got.items():
                best[s][k] = min(best[s].get(k, float("inf")), v)
        print(f"round {r + 1}: " + "  ".join(f"{s}: {best[s]}" for s in args.sides), flush=True)
    names = list(next(iter(best.values())))
    print(f"{'CPU us per call (best)':34}" + "".join(f"{s[-22:]:>24}" for s in args.sides))
    for k in names:
        print(f"{k:34}" + "".join(f"{best[s][k]:24.2f}" for s in args.sides))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
