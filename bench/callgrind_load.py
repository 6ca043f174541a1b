"""Instructions per record of everything in a batch record's life but ``check()``.

Run by hand (not in CI), with valgrind installed. Each checkout named runs once
under callgrind (``PYTHONPATH=<src>``, ``PYTHONHASHSEED=0``), so one venv serves
all of them and the figures are steady even on a busy machine::

    .venv/bin/python bench/callgrind_load.py /tmp/cptrules-base/src /tmp/main/src src

The run builds 300 generated 4-line Medicare visits (``make_sessions`` of
``bench_check.py``, seeded: every side sees the same visits), warms each figure
up on the first 50, then makes one call per visit for each figure. Phases are
separated by a call to ``os.getppid()``, on which callgrind dumps its counts
(``--dump-before=getppid``): a phase's instructions divided by 300 is the figure.

- ``load_session(dict)``, ``load_session(JSON str)``: the parser alone;
- ``load_session(JSON line)``: the bytes of a JSON Lines record, as the batch
  hands them to the parser;
- ``encode_report``: the report as compact JSON (the batch's ``jsonl`` output);
- ``check()``: for reference (the other engineers' share);
- ``check_jsonl``: the whole batch, per record (one in-process run over the 300
  lines), and ``batch - check()``: everything in a record's life but ``check()``.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
N = 300
WARM = 50

FIGURES = (
    "load_session(dict)",
    "load_session(JSON str)",
    "load_session(JSON line)",
    "encode_report",
    "check()",
    "check_jsonl, per record",
)


def _phases() -> None:
    """The measured script (run under callgrind): one phase per figure."""
    import io

    sys.path.insert(0, str(HERE))
    import bench_check as bc

    import cptrules
    from cptrules.batch import check_jsonl
    from cptrules.report import encode_report

    dicts = bc.make_sessions(N, 4, "medicare")
    texts = [json.dumps(d) for d in dicts]
    lines = [(t + "\n").encode() for t in texts]
    block = b"".join(lines)
    engine = cptrules.default_engine()
    sessions = [cptrules.load_session(d) for d in dicts]
    reports = [engine.check(s) for s in sessions]
    load = cptrules.load_session
    check = engine.check

    def batch(_: object) -> None:
        check_jsonl(io.BytesIO(block), io.StringIO(), engine=engine)

    work = (
        (load, dicts),
        (load, texts),
        (load, lines),
        (encode_report, reports),
        (check, sessions),
    )
    for func, items in work:
        for x in items[:WARM]:
            func(x)
    batch(None)
    for func, items in work:
        os.getppid()  # callgrind dumps here: the phase starts
        for x in items:
            func(x)
    os.getppid()
    batch(None)
    os.getppid()


def _side(src: str, tmp: str) -> dict[str, float]:
    out = os.path.join(tmp, "cg")
    for old in glob.glob(out + "*"):
        os.remove(old)
    env = dict(os.environ, PYTHONPATH=str(Path(src).resolve()), PYTHONHASHSEED="0")
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--dump-before=getppid",
        f"--callgrind-out-file={out}",
        sys.executable,
        __file__,
        "--phases",
    ]
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    totals = []
    for n in range(2, 2 + len(FIGURES)):  # dump 1 is start-up, the last the exit
        with open(f"{out}.{n}") as f:
            totals.append(next(int(x.split()[1]) for x in f if x.startswith("totals:")))
    figures = {name: total / N for name, total in zip(FIGURES, totals, strict=True)}
    figures["check_jsonl - check()"] = figures[FIGURES[-1]] - figures["check()"]
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", nargs="*", help="src directories of the checkouts to compare")
    ap.add_argument("--phases", action="store_true", help=argparse.SUPPRESS)  # internal
    args = ap.parse_args()
    if args.phases:
        _phases()
        return 0
    if not args.src:
        ap.error("give at least one src directory")
    with tempfile.TemporaryDirectory() as tmp:
        sides = [_side(src, tmp) for src in args.src]
    print("| instructions per record | " + " | ".join(args.src) + " |")
    print("|---|" + "---|" * len(args.src))
    for key in sides[0]:
        cells = [f"{s[key]:,.0f}" for s in sides]
        if len(sides) > 1:
            cells[1:] = [
                f"{s[key]:,.0f} ({100 * (s[key] / sides[0][key] - 1):+.1f}%)" for s in sides[1:]
            ]
        print(f"| {key} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
