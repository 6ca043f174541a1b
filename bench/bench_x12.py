"""Benchmark the 837P reader against JSON Lines for the same visits.

Run by hand (not in CI):

    .venv/bin/python bench/bench_x12.py [--claims 100000] [--repeat 1]

It writes, to a temporary directory (deleted afterwards), an 837P interchange
of ``--claims`` made-up 4-line Medicare PT claims (one date of service each; no
patient data: fixed placeholder names, codes and units from a seeded generator)
and a JSON Lines file of the very sessions the reader makes of it. Then:

1. 837P: ``read_837`` + ``check`` of every visit, visits per second;
2. JSON Lines: ``check`` of every line (the engine parses the JSON), visits per second;
3. the ratio (target: the 837P path within 1.5x of JSON Lines);
4. peak resident memory of a fresh process reading the 837P file, for a tenth
   of the claims and for all of them (constant memory: about the same).

The load average is printed first: on a busy machine the figures are pessimistic.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cptrules
from cptrules import x12

NPI = "1234567893"  # the CONTRACT's example NPI (valid check digit), not a real provider
CODES = ("97110", "97112", "97140", "97530", "97116", "97035")


def write_837(path: Path, claims: int, seed: int = 15) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="ascii", newline="") as out:
        w = out.write
        w(
            "ISA*00*          *00*          *ZZ*BENCHSUBMIT    *ZZ*BENCHPAYER     "
            "*261207*1200*^*00501*000000001*0*T*:~\n"
        )
        w("GS*HC*BENCHSUBMIT*BENCHPAYER*20261207*1200*1*X*005010X222A1~\n")
        w("ST*837*0001*005010X222A1~\n")
        w("BHT*0019*00*0001*20261207*1200*CH~\n")
        w("NM1*41*2*BENCH SUBMITTER*****46*S1~\nNM1*40*2*BENCH PAYER*****46*R1~\n")
        w(f"HL*1**20*1~\nPRV*BI*PXC*225100000X~\nNM1*85*2*BENCH CLINIC*****XX*{NPI}~\n")
        count = 7  # ST through the billing provider
        for n in range(claims):
            day = f"2026{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            codes = rng.sample(CODES, 4)
            w(f"HL*{n + 2}*1*22*0~\nSBR*P*18*******MB~\n")
            w("NM1*IL*1*PLACEHOLDER*PERSON****MI*0000000000A~\nNM1*PR*2*PAYER*****PI*00000~\n")
            w(f"CLM*B{n}*100***11:B:1*Y*A*Y*Y~\nHI*ABK:M5450~\n")
            w(f"NM1*82*1*THERAPIST*BENCH****XX*{NPI}~\nPRV*PE*PXC*225100000X~\n")
            count += 8
            for k, code in enumerate(codes, start=1):
                w(f"LX*{k}~\nSV1*HC:{code}:GP*25*UN*{rng.randint(1, 3)}***1~\nDTP*472*D8*{day}~\n")
                count += 3
        w(f"SE*{count + 1}*0001~\nGE*1*1~\nIEA*1*000000001~\n")


def child(path: str) -> None:
    visits = sum(1 for r in x12.read_837(Path(path)) if isinstance(r, x12.ClaimVisit))
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"visits": visits, "peak_kib": peak_kib}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--claims", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    print(f"load average: {os.getloadavg()}")
    engine = cptrules.default_engine()
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp, "claims.837"), Path(tmp, "small.837")
        write_837(big, args.claims)
        write_837(small, max(1, args.claims // 10))
        jsonl = Path(tmp, "visits.jsonl")
        with jsonl.open("w") as out:
            for r in x12.read_837(big):
                assert isinstance(r, x12.ClaimVisit), r
                out.write(json.dumps(cptrules.dump_session(r.session)) + "\n")
        mb = big.stat().st_size / 1e6, jsonl.stat().st_size / 1e6
        print(f"837P: {mb[0]:.1f} MB; JSON Lines: {mb[1]:.1f} MB")
        best_x12 = best_json = float("inf")
        for _ in range(args.repeat):  # best of N, JSON Lines first: both see warm caches
            t0 = time.perf_counter()
            n_json = 0
            with jsonl.open("rb") as fh:
                for raw in fh:
                    engine.check(raw)
                    n_json += 1
            best_json = min(best_json, time.perf_counter() - t0)
            t0 = time.perf_counter()
            n_x12 = 0
            for r in x12.read_837(big):
                if isinstance(r, x12.ClaimVisit):
                    engine.check(r.session)
                    n_x12 += 1
            best_x12 = min(best_x12, time.perf_counter() - t0)
        assert n_x12 == n_json == args.claims
        print(f"837P read + check:       {n_x12 / best_x12:10,.0f} visits/s ({best_x12:.1f} s)")
        print(f"JSON Lines load + check: {n_json / best_json:10,.0f} visits/s ({best_json:.1f} s)")
        print(f"ratio 837P / JSON Lines time: {best_x12 / best_json:.2f} (target <= 1.5)")
        t0 = time.perf_counter()
        n = sum(1 for r in x12.read_837(big) if isinstance(r, x12.ClaimVisit))
        print(f"837P read only:          {n / (time.perf_counter() - t0):10,.0f} visits/s")
        for label, path in (("a tenth", small), ("all", big)):
            res = subprocess.run(
                [sys.executable, __file__, "--child", str(path)],
                check=True,
                capture_output=True,
                text=True,
            )
            got = json.loads(res.stdout)
            mib = got["peak_kib"] / 1024
            print(
                f"peak RSS reading {label} of the claims ({got['visits']:,} visits): {mib:.1f} MiB"
            )


if __name__ == "__main__":
    main()
