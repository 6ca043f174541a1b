"""Side by side: instructions per ``check()`` call for two checkouts, under callgrind.

Run by hand (not in CI); needs ``valgrind``. Each side runs in a fresh
interpreter under ``valgrind --tool=callgrind`` with ``PYTHONHASHSEED=0`` and
``PYTHONPATH=<side>/src``, so one venv serves both::

    git worktree add --detach /tmp/cptrules-base <commit>
    .venv/bin/python bench/callgrind_ab.py /tmp/cptrules-base/src src [--calls 300]

For each case (1-, 4- and 12-line Medicare, 4-line commercial) the child builds
``--calls`` generated visits (``make_sessions`` of ``bench_check.py``, seeded,
so both sides see the same visits), loads them, warms up on the first 50, then
makes one ``check()`` per visit. A second run does everything but those calls;
the figure is the difference of the two runs' instruction totals divided by
``--calls``. Instruction counts do not depend on what else the machine runs,
unlike timings on a shared machine (see ``bench_ab.py`` for CPU time).
``--keep DIR`` keeps the callgrind files for ``callgrind_annotate``.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
WARMUP = 50
CASES = (("medicare", 1), ("medicare", 4), ("medicare", 12), ("commercial", 4))


def child(payer: str, lines: int, calls: int, run: bool, collect: bool) -> None:
    """Build the visits, warm up, and (when ``run``) check each once."""
    sys.path.insert(0, str(HERE))
    from bench_check import make_sessions

    import cptrules

    engine = cptrules.default_engine()
    sessions = [cptrules.load_session(d) for d in make_sessions(calls, lines, payer)]
    for s in sessions[:WARMUP]:
        engine.check(s)
    if collect:
        gc.collect()  # the set-up's garbage and young objects are not the calls' to pay for
    if run:
        check = engine.check
        for s in sessions:
            check(s)


def _instructions(out: Path) -> int:
    text = out.read_text(encoding="utf-8", errors="replace")
    found = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
    if found is None:
        raise SystemExit(f"no instruction total in {out}")
    return int(found.group(1))


def run_callgrind(args: Sequence[str], env: Mapping[str, str], out: Path) -> int:
    """Instructions of ``python ARGS`` run under callgrind, its counts written to ``out``.

    Shared by the benchmarks that count instructions (``bench_fees.py --callgrind``).
    """
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, *args]
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return _instructions(out)


def measure(
    src: str, payer: str, lines: int, calls: int, run: bool, collect: bool, out: Path
) -> int:
    """Instructions of one child run under callgrind."""
    env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()), PYTHONHASHSEED="0")
    child_args = ["--child", f"{payer}:{lines}:{calls}:{int(run)}:{int(collect)}"]
    return run_callgrind([__file__, *child_args], env, out)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base", nargs="?", help="src directory of the first checkout")
    ap.add_argument("new", nargs="?", help="src directory of the second checkout")
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--case", action="append", help="PAYER:LINES (default: all four)")
    ap.add_argument(
        "--no-collect",
        action="store_true",
        help="no gc.collect() before the calls (the figures of the issue 12 section)",
    )
    ap.add_argument("--keep", type=Path, help="keep the callgrind files in this directory")
    ap.add_argument("--child", help=argparse.SUPPRESS)  # internal: one run
    args = ap.parse_args(argv)
    if args.child:
        payer, lines, calls, run, collect = args.child.split(":")
        child(payer, int(lines), int(calls), run == "1", collect == "1")
        return 0
    if not (args.base and args.new):
        ap.error("give two src directories")
    cases = CASES
    if args.case:
        cases = tuple((p, int(n)) for p, n in (c.split(":") for c in args.case))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        keep = args.keep or Path(tmp)
        keep.mkdir(parents=True, exist_ok=True)
        for payer, lines in cases:
            per_call = []
            for name, src in (("base", args.base), ("new", args.new)):
                stem = f"{name}-{payer}-{lines}"
                collect = not args.no_collect
                full = measure(src, payer, lines, args.calls, True, collect, keep / f"{stem}.out")
                empty = measure(
                    src, payer, lines, args.calls, False, collect, keep / f"{stem}-0.out"
                )
                per_call.append((full - empty) / args.calls)
                print(f"{stem}: {per_call[-1]:,.0f} instructions per call", file=sys.stderr)
            rows.append((f"{lines}-line {payer}", *per_call))
    print(f"| check(), instructions per call | {args.base} | {args.new} | ratio |")
    print("|---|---|---|---|")
    for label, b, n in rows:
        print(f"| {label} | {b:,.0f} | {n:,.0f} | {b / n:.3f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
