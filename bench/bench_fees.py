"""Benchmark the fee data: importing a full-size PPRRVU file, and estimate() vs check().

Run by hand (not in CI):

    .venv/bin/python bench/bench_fees.py [--rows 19000] [--sessions 500]

It prints:

1. reading a generated full-size PPRRVU CSV (``--rows``, CMS layout, written to
   a temporary directory and deleted) and its fixed-width TXT twin into a
   :class:`~cptrules.fees.FeeSchedule`, with a GPCI table; importing the CSV
   into a fee store and opening it (best of 3 each);
2. ``check()`` of a prepared 4-line Medicare therapy visit, ``estimate()`` of
   the same visit, and their ratio (median microseconds per call, cycling
   through ``--sessions`` distinct visits); a repeated visit shape is answered
   from the schedule's memo, so a new shape (prices prepared) and a fully cold
   call are timed too.

Targets: import under 5 s; an estimate adds under 10% to check().
The generated rows are made up (random RVUs), in the CMS layout; no real data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
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
THERAPY = ("97110", "97112", "97116", "97140", "97530", "97535", "97035", "97012")
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


GPCI = (
    "ADDENDUM E. GENERATED GPCI FOR A BENCHMARK\r\n\r\n"
    "Medicare Administrative Contractor (MAC),State,Locality Number,Locality Name,"
    "2024 PW GPCI (with 1.0 Floor),2024 PE GPCI,2024 MP GPCI\r\n"
    "99999,ZZ,01,BENCH LOCALITY,1.000,0.950,0.800\r\n"
)


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _median_us(fn: Callable[[Any], object], items: Sequence[object], rounds: int = 20) -> float:
    per_call = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        for item in items:
            fn(item)
        per_call.append((time.perf_counter_ns() - t0) / len(items) / 1000)
    return statistics.median(per_call)


def _sessions(n: int, rng: random.Random) -> list[cptrules.Session]:
    out = []
    for _ in range(n):
        codes = rng.sample(THERAPY[:6], 4)
        lines = []
        for code in codes:
            minutes = rng.randint(8, 30)
            mods = ["GP", "CQ"] if rng.random() < 0.2 else ["GP"]
            lines.append({"code": code, "minutes": minutes, "modifiers": mods})
        session = cptrules.load_session(
            {
                "date_of_service": "2024-06-03",
                "payer": "medicare",
                "provider": {"discipline": "PT"},
                "lines": lines,
            }
        )
        units = [
            u.billed if u.billed is not None else u.expected for u in cptrules.check(session).units
        ]
        out.append(
            cptrules.load_session(
                {
                    "date_of_service": "2024-06-03",
                    "payer": "medicare",
                    "provider": {"discipline": "PT"},
                    "lines": [{**ln, "units": u} for ln, u in zip(lines, units, strict=True) if u]
                    or lines[:1],
                }
            )
        )
    return out


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=19_000)
    ap.add_argument("--sessions", type=int, default=500)
    args = ap.parse_args(argv)
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    rng = random.Random(16)
    rows = _rows(args.rows, rng)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv_path, txt_path = folder / "PPRRVU24_JAN.csv", folder / "PPRRVU24_JAN.txt"
        gpci = folder / "GPCI2024.csv"
        write_csv(csv_path, rows)
        write_txt(txt_path, rows)
        gpci.write_text(GPCI, encoding="cp1252")
        for label, path in (("CSV", csv_path), ("TXT", txt_path)):
            size = path.stat().st_size / 1e6
            secs = _best(lambda path=path: FeeSchedule.from_files([path, gpci]))
            print(f"import {label} {len(rows)} rows ({size:.1f} MB): {secs:.2f} s (target < 5 s)")
        store = folder / "store"
        secs = _best(lambda: import_fee_files([csv_path, gpci], store))
        print(f"cptrules data import (into the fee store) CSV {len(rows)} rows: {secs:.2f} s")
        secs = _best(lambda: open_schedule(store))
        print(f"open the fee store: {secs:.2f} s")
        schedule = FeeSchedule.from_files([csv_path, gpci])

    sessions = _sessions(args.sessions, rng)
    engine = cptrules.default_engine()
    engine.check(sessions[0])
    for s in sessions:
        estimate(s, schedule, locality="99999-01")
    check_us = _median_us(engine.check, sessions)
    est_us = _median_us(lambda s: estimate(s, schedule, locality="99999-01"), sessions)

    def cold(s: cptrules.Session) -> object:
        schedule.memo.clear()
        schedule.visits.clear()
        return estimate(s, schedule, locality="99999-01")

    def visit_cold(s: cptrules.Session) -> object:
        schedule.visits.clear()
        return estimate(s, schedule, locality="99999-01")

    def clear(_: object) -> None:
        schedule.memo.clear()
        schedule.visits.clear()

    clear_us = _median_us(clear, sessions)
    cold_us = _median_us(cold, sessions, rounds=5) - clear_us
    visit_cold_us = _median_us(visit_cold, sessions, rounds=5) - clear_us
    dict_us = _median_us(lambda s: estimate(s, schedule, locality="99999-01").to_dict(), sessions)
    with_fees = cptrules.Engine(fees=schedule, locality="99999-01")
    for s in sessions:
        with_fees.check(s)
    fees_us = _median_us(with_fees.check, sessions)
    print(f"check() 4-line Medicare visit: {check_us:.1f} us median")
    print(
        f"Engine(fees=...).check() same visits: {fees_us:.1f} us median = "
        f"{100 * (fees_us - check_us) / check_us:+.0f}% (target < +10%)"
    )
    print(
        f"estimate() same visits: {est_us:.1f} us median = {100 * est_us / check_us:.0f}% of "
        "check() (target < 10%)"
    )
    print(f"estimate() new visit shape, prices prepared: {visit_cold_us:.1f} us median")
    print(f"estimate() cold (both memos emptied before each call): {cold_us:.1f} us median")
    print(f"estimate() + to_dict(): {dict_us:.1f} us median")
    print(f"(date {dt.date(2024, 6, 3)}, locality 99999-01, {len(sessions)} distinct visits)")


if __name__ == "__main__":
    main()
