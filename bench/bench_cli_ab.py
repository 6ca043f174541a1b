"""The whole `cptrules check` command for two or more checkouts, alternating runs.

Run by hand (not in CI)::

    .venv/bin/python bench/bench_cli_ab.py /tmp/perf-base/src src [--sessions 200000]
        [--rounds 4] [--jobs 1,2]

Issue 17 measures the batch as records per CPU-second of the whole command on
200,000 visits. This script writes that many generated 4-line Medicare visits
(``make_sessions`` of ``bench_check.py``, seeded, half of them with a billing
fault) to a temporary JSON Lines file, then runs ``python -m cptrules check FILE
--format jsonl --jobs N --quiet`` once per checkout and ``--jobs`` value in each
round, the checkouts in turn (``PYTHONPATH=<src>``, ``PYTHONHASHSEED=0``, one
interpreter for all), the reports going to ``/dev/null``. The CPU time is the
user and system time of the command and every worker process it started
(``os.wait4``), start-up included. It prints each run, then per ``--jobs`` the
ratio of each checkout to the first one round by round (the machine's speed
drifts between rounds; a ratio within a round does not) with their median, and
the best rate of each checkout.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _run(src: str, path: Path, jobs: int) -> float:
    """CPU seconds of one ``cptrules check`` of ``path`` under checkout ``src``."""
    env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()), PYTHONHASHSEED="0")
    cmd = [sys.executable, "-m", "cptrules", "check", str(path)]
    cmd += ["--format", "jsonl", "--jobs", str(jobs), "--quiet"]
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # 1: some visit has an error
        raise SystemExit(f"cptrules check failed under {src}")
    return usage.ru_utime + usage.ru_stime


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", nargs="+", help="src directories of the checkouts (first: reference)")
    ap.add_argument("--sessions", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--jobs", default="1,2", help="comma-separated --jobs values (default 1,2)")
    args = ap.parse_args(argv)
    jobs = [int(j) for j in args.jobs.split(",")]
    rates: dict[tuple[str, int], list[float]] = {(s, j): [] for s in args.src for j in jobs}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "visits.jsonl"
        sys.path.insert(0, str(HERE))
        import bench_check as bc

        bc.write_batch(path, args.sessions)
        print(f"{args.sessions:,} visits, {path.stat().st_size / 1e6:.0f} MB")
        for r in range(args.rounds):
            for j in jobs:
                for src in args.src:
                    cpu = _run(src, path, j)
                    rates[src, j].append(args.sessions / cpu)
                    load = os.getloadavg()[0]
                    print(
                        f"round {r + 1} --jobs {j} {src}: {cpu:.2f} CPU s, "
                        f"{args.sessions / cpu:,.0f} visits per CPU-second (load {load:.2f})",
                        flush=True,
                    )
    first = args.src[0]
    for j in jobs:
        for src in args.src[1:]:
            ratios = [a / b for a, b in zip(rates[src, j], rates[first, j], strict=True)]
            each = " ".join(f"{x:.3f}" for x in ratios)
            print(f"--jobs {j}, {src} / {first}, round by round: {each}")
            print(f"    median {statistics.median(ratios):.3f}")
        best = ", ".join(f"{src} {max(rates[src, j]):,.0f}" for src in args.src)
        print(f"--jobs {j}, best visits per CPU-second: {best}")
    return 0


if __name__ == "__main__":
    started = time.monotonic()
    code = main()
    print(f"({time.monotonic() - started:.0f} s)")
    raise SystemExit(code)
