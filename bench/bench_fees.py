"""Benchmark the fee data: importing a full-size PPRRVU file, and the estimate's cost in check().

Run by hand (not in CI):

    .venv/bin/python bench/bench_fees.py [--rows 19000] [--sessions 1000]
    .venv/bin/python bench/bench_fees.py --callgrind [--calls 300] [--again]
    .venv/bin/python bench/bench_fees.py --cpu [--sessions 2500] [--rounds 15] [--lines 4]

The first form prints:

1. reading a generated full-size PPRRVU CSV (``--rows``, CMS layout, written to
   a temporary directory and deleted) and its fixed-width TXT twin into a
   :class:`~cptrules.fees.FeeSchedule`, with a GPCI table; importing the CSV
   into a fee store and opening it (best of 3 each);
2. CPU time per call (``time.process_time``, best of 5 alternating rounds) of
   ``Engine().check()`` and ``Engine(fees=...).check()`` over ``--sessions``
   DISTINCT generated 4-line Medicare visits (``make_sessions`` of
   ``bench_check.py``, dates of service across 2026), each checked once per
   round, and ``estimate()`` alone on the same visits.

``--callgrind`` runs this script under ``valgrind --tool=callgrind`` (with
``PYTHONHASHSEED=0``) four times: ``Engine().check()`` and
``Engine(fees=...).check()``, each with ``--calls`` calls and with 0 calls
(same setup: fee files, 2,000 warm-up visits of another seed covering the
year's days, the visits built, then ``gc.freeze()`` so the collector does not
walk the setup's objects during the calls); the figure is (instructions of the run with
calls - instructions of the 0-call run) / calls, so setup is subtracted. Every
measured visit is distinct and none is among the warm-up ones; with ``--again``
the setup checks the measured visits once too (every memo warm: the steady
state that ``--cpu`` times). Instruction
counts are steady on a shared machine, timings are not.

``--cpu`` prints only the figure issue 16 asks for: CPU time per call
(``time.process_time``) of ``Engine().check()`` and ``Engine(fees=...).check()``
over ``--sessions`` distinct visits, each checked once before by both engines
(every memo warm on both sides), then the collector frozen and disabled (a
collection lands in whatever allocates); ``--rounds`` rounds alternate the two
engines slice by slice of 100 visits (and which goes first), and each side's
figure sums its best time per slice. Run it with
``PYTHONPATH=<checkout>/src`` to compare two checkouts in one sitting.

Targets: import under 5 s; an estimate adds under 10% to check().
The generated rows are made up (random RVUs), in the CMS layout; no real data.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cptrules
from cptrules.fees import FeeSchedule, estimate
from cptrules.fees.store import import_fee_files, open_schedule

_TOP = (
    ",,,STATUS,MEDICARE,WORK,NON-FAC,NA,FACILITY,NA,MP,NON-FACILITY,FACILITY,PCTC,GLOB,PRE,"
    "INTRA,POST,MULT,BILAT,ASST,CO-,TEAM,ENDO,CONV,DIAGNOSTIC,CALCULATION,FAMILY,PAYMENT,"
    "PAYMENT,PAYMENT"
)
_BOTTOM = (
    "HCPCS,MOD,DESCRIPTION,CODE,PAYMENT,RVU,PE RVU,INDICATOR,PE RVU,INDICATOR,RVU,TOTAL,TOTAL,"
    "IND,DAYS,OP,OP,OP,PROC,SURG,SURG,SURG,SURG,BASE,FACTOR,PROCEDURES,FLAG,INDICATOR,AMOUNT,"
    "AMOUNT,AMOUNT"
)
THERAPY = ("97110", "97112", "97116", "97140", "97530", "97535", "97035", "97012", "G0283")
CF = "32.7442"


def _rows(n: int, rng: random.Random) -> list[tuple[str, str, str, str, str, str, str, str]]:
    codes = dict.fromkeys(THERAPY, "5")
    while len(codes) < n:
        codes[f"{rng.randrange(10000, 99999):05d}"] = rng.choice("0012345")
    out = []
    for code, mult in sorted(codes.items()):
        w, pn, pf, mp = (f"{rng.uniform(0, 20):.2f}" for _ in range(4))
        status = "A" if rng.random() < 0.8 else rng.choice("BCINRTX")
        out.append((code, "", status, w, pn, pf, mp, mult))
    return out[:n]


def write_csv(path: Path, rows: Sequence[tuple[str, ...]]) -> None:
    lines = [",,Generated PPRRVU for a benchmark (made-up values),,", _TOP, _BOTTOM]
    for code, mod, status, w, pn, pf, mp, mult in rows:
        t_nf = f"{float(w) + float(pn) + float(mp):.2f}"
        t_f = f"{float(w) + float(pf) + float(mp):.2f}"
        lines.append(
            f"{code},{mod},,{status},,{w},{pn},,{pf},,{mp},{t_nf},{t_f},0,XXX,0.00,0.00,0.00,"
            f"{mult},0,0,0,0,,{CF},09,0,99,0.00,0.00,0.00"
        )
    path.write_text("\r\n".join(lines) + "\r\n", encoding="cp1252")


def write_txt(path: Path, rows: Sequence[tuple[str, ...]]) -> None:
    lines = ["HDR " + "Generated PPRRVU for a benchmark".ljust(46) + " " * 100]
    for code, mod, status, w, pn, pf, mp, mult in rows:
        b = [" "] * 200

        def put(first: int, last: int, text: str, right: bool = True, b: list[str] = b) -> None:
            width = last - first + 1
            b[first - 1 : last] = list(text.rjust(width) if right else text.ljust(width))

        put(1, 5, code, False)
        put(6, 7, mod, False)
        put(58, 58, status)
        put(60, 65, w)
        put(67, 72, pn)
        put(76, 81, pf)
        put(85, 89, f"{float(mp):.2f}"[-5:])
        put(91, 96, f"{float(w) + float(pn) + float(mp):.2f}")
        put(97, 102, f"{float(w) + float(pf) + float(mp):.2f}")
        put(116, 116, mult)
        put(133, 140, CF)
        lines.append("".join(b))
    path.write_text("\r\n".join(lines) + "\r\n", encoding="cp1252")


def gpci_text(year: int) -> str:
    """A GPCI file in the CMS layout (Addendum E) with one made-up locality."""
    return (
        f"ADDENDUM E. GENERATED GPCI FOR A BENCHMARK\r\n\r\n"
        "Medicare Administrative Contractor (MAC),State,Locality Number,Locality Name,"
        f"{year} PW GPCI (with 1.0 Floor),{year} PE GPCI,{year} MP GPCI\r\n"
        "99999,ZZ,01,BENCH LOCALITY,1.000,0.950,0.800\r\n"
    )


LOCALITY = "99999-01"


def write_fee_files(folder: Path, rows: Sequence[tuple[str, ...]], year: int) -> list[Path]:
    """The PPRRVU CSV of January ``year`` and that year's GPCI file, in ``folder``."""
    rvu = folder / f"PPRRVU{year % 100:02d}_JAN.csv"
    gpci = folder / f"GPCI{year}.csv"
    write_csv(rvu, rows)
    gpci.write_text(gpci_text(year), encoding="cp1252")
    return [rvu, gpci]


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _cpu_us(fn: Callable[[Any], object], items: Sequence[Any]) -> float:
    t = time.process_time()
    for item in items:
        fn(item)
    return (time.process_time() - t) / len(items) * 1e6


#: warm-up visits: another seed of the same generator, so every day of 2026 has been seen
WARM = 2000


def setup(
    rows: int, sessions: int, warm: int = WARM, lines: int = 4
) -> tuple[FeeSchedule, list[cptrules.Session], list[cptrules.Session]]:
    """A 2026 fee schedule (generated files), ``warm`` warm-up visits and ``sessions``
    measured visits, none of them among the warm-up ones.

    The visits are ``make_sessions`` of ``bench_check.py``: 4-line Medicare PT
    visits with dates of service across 2026, some with CQ, KX or XU, one line
    in ten with wrong units. The warm-up set (another seed) covers the year's
    days, so neither side measures first-day costs (an engine's route per day, a
    fee table per day); the measured visits are new to both.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench_check

    with tempfile.TemporaryDirectory() as tmp:
        files = write_fee_files(Path(tmp), _rows(rows, random.Random(16)), 2026)
        schedule = FeeSchedule.from_files(files)
    warm_dicts = bench_check.make_sessions(warm, lines, "medicare", seed=16)
    dicts = bench_check.make_sessions(sessions, lines, "medicare")
    seen = {json.dumps(d, sort_keys=True) for d in warm_dicts}
    dicts = [d for d in dicts if json.dumps(d, sort_keys=True) not in seen]
    assert len({json.dumps(d, sort_keys=True) for d in dicts}) == len(dicts), "repeated visits"
    load = cptrules.load_session
    return schedule, [load(d) for d in warm_dicts], [load(d) for d in dicts]


def run_calls(
    which: str, calls: int, rows: int, visits_made: int, again: bool = False, lines: int = 4
) -> None:
    """The body measured under callgrind: setup, warm-up, then ``calls`` checks.

    The setup is the same whatever ``calls`` is (``visits_made`` visits are built),
    so a run with 0 calls measures exactly what is subtracted. ``again``: the
    measured visits are checked once in the setup too (the steady state of --cpu).
    """
    schedule, warm, visits = setup(rows, visits_made, lines=lines)
    engine = (
        cptrules.Engine(fees=schedule, locality=LOCALITY) if which == "fees" else cptrules.Engine()
    )
    for s in warm:
        engine.check(s)
    assert len(visits) >= calls, "not enough distinct visits"
    if again:
        for s in visits:  # all that were built: the same setup whatever ``calls`` is
            engine.check(s)
    # the setup's objects (visits, fee rows) are not the engine's: keep the collector off them
    gc.collect()
    gc.freeze()
    for s in visits[:calls]:
        engine.check(s)


def cpu(sessions: int, rounds: int, rows: int, lines: int = 4) -> None:
    """CPU time per call of Engine().check() and Engine(fees=...).check(), GC frozen.

    The visits are measured in slices of ``_SLICE``: each round times every slice
    with both engines back to back (which goes first alternates), and each side's
    figure is the sum over the slices of its best time. A burst of load from
    another process then spoils one slice of one round, not a whole pass.
    """
    schedule, warm, measured = setup(rows, sessions, lines=lines)
    plain = cptrules.Engine()
    fees = cptrules.Engine(fees=schedule, locality=LOCALITY)
    for s in (*warm, *measured):  # every memo warm on both sides: the steady state
        plain.check(s)
        fees.check(s)
    slices = [measured[i : i + _SLICE] for i in range(0, len(measured), _SLICE)]
    best = {"plain": [float("inf")] * len(slices), "fees": [float("inf")] * len(slices)}
    sides = [("plain", plain.check), ("fees", fees.check)]
    gc.collect()
    gc.freeze()
    gc.disable()
    for r in range(rounds):
        for k, part in enumerate(slices):
            for name, fn in sides if (r + k) % 2 == 0 else sides[::-1]:
                best[name][k] = min(best[name][k], _cpu_us(fn, part) * len(part))
    gc.enable()
    per_call = {name: sum(times) / len(measured) for name, times in best.items()}
    added = per_call["fees"] - per_call["plain"]
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(
        f"CPU time per call, {len(measured)} distinct {lines}-line Medicare visits checked once "
        f"before, GC frozen and off, best of {rounds} alternating rounds per slice of "
        f"{_SLICE}:"
    )
    print(f"  Engine().check():           {per_call['plain']:.2f} us")
    print(f"  Engine(fees=...).check():   {per_call['fees']:.2f} us")
    print(f"  the estimate adds:          {added:.2f} us = {100 * added / per_call['plain']:+.1f}%")


#: visits per slice timed by --cpu (about 2.5 ms of CPU time each)
_SLICE = 100


def callgrind(calls: int, rows: int, again: bool = False, lines: int = 4) -> None:
    """Instructions per call of Engine().check() and Engine(fees=...).check(), setup subtracted."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from callgrind_ab import run_callgrind

    env = dict(os.environ, PYTHONHASHSEED="0")
    totals: dict[tuple[str, int], int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for which in ("plain", "fees"):
            for n in (0, calls):
                out = Path(tmp) / f"cg.{which}.{n}"
                args = [
                    __file__,
                    "--run",
                    which,
                    "--calls",
                    str(n),
                    "--rows",
                    str(rows),
                    "--visits",
                    str(calls + 20),  # a few spare: visits equal to a warm-up one are dropped
                    *(["--again"] if again else []),
                    "--lines",
                    str(lines),
                ]
                totals[which, n] = run_callgrind(args, env, out)
    plain = (totals["plain", calls] - totals["plain", 0]) / calls
    fees = (totals["fees", calls] - totals["fees", 0]) / calls
    seen = ", each checked once before" if again else ""
    print(f"callgrind, {calls} distinct {lines}-line Medicare visits{seen}, instructions per call:")
    print(f"  Engine().check():           {plain:,.0f}")
    print(f"  Engine(fees=...).check():   {fees:,.0f}")
    print(
        f"  the estimate adds:          {fees - plain:,.0f} = {100 * (fees - plain) / plain:+.1f}%"
    )


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=19_000)
    ap.add_argument("--sessions", type=int, help="measured visits (1,000; --cpu: 2,500)")
    ap.add_argument("--callgrind", action="store_true", help="instructions per call (valgrind)")
    ap.add_argument("--calls", type=int, default=300, help="calls measured by --callgrind")
    ap.add_argument("--cpu", action="store_true", help="CPU time of check() only, GC frozen")
    ap.add_argument("--lines", type=int, default=4, help="lines per generated visit")
    ap.add_argument("--rounds", type=int, default=15, help="rounds per side for --cpu")
    ap.add_argument("--again", action="store_true", help="--callgrind: visits checked once before")
    ap.add_argument("--run", choices=("plain", "fees"), help=argparse.SUPPRESS)
    ap.add_argument("--visits", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.run:
        run_calls(
            args.run, args.calls, args.rows, max(args.visits, args.calls), args.again, args.lines
        )
        return
    if args.cpu:
        cpu(args.sessions or 2500, args.rounds, args.rows, args.lines)
        return
    if args.callgrind:
        # the per-visit cost does not depend on the file's size: a smaller one sets up faster
        callgrind(args.calls, min(args.rows, 2000), args.again, args.lines)
        return
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    rows = _rows(args.rows, random.Random(16))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_path, txt_path = folder / "PPRRVU24_JAN.csv", folder / "PPRRVU24_JAN.txt"
        gpci = folder / "GPCI2024.csv"
        write_csv(csv_path, rows)
        write_txt(txt_path, rows)
        gpci.write_text(gpci_text(2024), encoding="cp1252")
        for label, path in (("CSV", csv_path), ("TXT", txt_path)):
            size = path.stat().st_size / 1e6
            secs = _best(lambda path=path: FeeSchedule.from_files([path, gpci]))
            print(f"import {label} {len(rows)} rows ({size:.1f} MB): {secs:.2f} s (target < 5 s)")
        store = folder / "store"
        secs = _best(lambda: import_fee_files([csv_path, gpci], store))
        print(f"cptrules data import (into the fee store) CSV {len(rows)} rows: {secs:.2f} s")
        secs = _best(lambda: open_schedule(store))
        print(f"open the fee store: {secs:.2f} s")

    schedule, warm, measured = setup(args.rows, args.sessions or 1000)
    plain = cptrules.Engine()
    fees = cptrules.Engine(fees=schedule, locality=LOCALITY)
    for s in warm:
        plain.check(s)
        fees.check(s)
    est = lambda s: estimate(s, schedule, locality=LOCALITY)  # noqa: E731
    best: dict[str, float] = {"plain": float("inf"), "fees": float("inf"), "estimate": float("inf")}
    for _ in range(5):  # alternating rounds: the machine's load changes under both sides alike
        best["plain"] = min(best["plain"], _cpu_us(plain.check, measured))
        best["fees"] = min(best["fees"], _cpu_us(fees.check, measured))
        best["estimate"] = min(best["estimate"], _cpu_us(est, measured))
    added = best["fees"] - best["plain"]
    print(f"CPU time per call, {len(measured)} distinct 4-line Medicare visits (best of 5):")
    print(f"  Engine().check():          {best['plain']:.1f} us")
    print(f"  Engine(fees=...).check():  {best['fees']:.1f} us")
    print(f"  the estimate adds:         {added:.1f} us = {100 * added / best['plain']:+.1f}%")
    print(f"  estimate() alone:          {best['estimate']:.1f} us (target: < 10% of check())")
    print(f"(locality {LOCALITY}, generated 2026 release of {args.rows} rows)")


if __name__ == "__main__":
    main()
