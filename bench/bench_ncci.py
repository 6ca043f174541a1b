"""Benchmark the NCCI store: import 2 million PTP rows, then look pairs up.

Run by hand (not in CI):

    .venv/bin/python bench/bench_ncci.py [--rows 2000000] [--keep DIR]

It writes, into a temporary directory that is deleted afterwards, a synthetic
practitioner PTP release in the exact CMS layout (four ``ccipra-v999r0-fN.zip``
parts, each a CRLF, Windows-1252 TXT with the six preamble lines) and a 15,000-row
MUE CSV, with made-up codes (``Z``/``Y`` prefixes, no real CPT code and no CMS
value). Nothing generated is committed. Each measured phase runs in its own
process so peak memory is that phase's alone.

Targets: import < 20 s and < 300 MB peak; open + first lookup < 100 ms; RSS with
the store open < 100 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

PREAMBLE = (
    "CPT only copyright 2025 American Medical Association.  All rights reserved.\t\t\t\t\t\t",
    "Column1/Column2 Edits\t\t\t\t\t\t",
    "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale",
    "\t\tprior to 1996\tDate\tDate\t0=not allowed\t",
    "\t\t\t\t*=no data\t1=allowed\t",
    "\t\t\t\t\t9=not applicable\t",
)
RATIONALES = (
    "Standards of medical / surgical services",
    "Mutually exclusive procedures",
    "Misuse of column two code with column one code",
    "CPT Manual or CMS manual coding instruction",
    "More extensive procedure",
    "HCPCS/CPT procedure code definition",
    "Anesthesia service included in surgical procedure",
    "Sequential procedure",
    "Standard preparation / monitoring services for anesthesia",
    "Misuse of column two code with column one code \u2013 see the manual\u2019s chapter",
)
DATES = [f"{y}{m:02d}01" for y in range(1996, 2027) for m in (1, 4, 7, 10)]
PARTS = 4
VERSION = "v999r0"
MUE_ROWS = 15_000


def _code(prefix: str, n: int) -> str:
    assert 0 <= n < 10_000, n
    return f"{prefix}{n:04d}"


def _partners(rows: int) -> int:
    """Column-2 codes per column-1 code (200, more when rows exceed 2 million)."""
    return max(200, -(-rows // 10_000))


def generate(directory: Path, rows: int, seed: int = 1) -> tuple[list[Path], Path]:
    """Write the PTP zips and the MUE CSV; return their paths."""
    rng = random.Random(seed)
    per_part = rows // PARTS
    partners = _partners(rows)
    paths: list[Path] = []
    written = 0
    c1 = 0
    for part in range(1, PARTS + 1):
        count = per_part if part < PARTS else rows - written
        name = f"ccipra-{VERSION}-f{part}"
        txt = directory / f"{name}.txt"
        with open(txt, "w", encoding="cp1252", newline="\r\n") as out:
            out.write("\n".join(PREAMBLE) + "\n")
            lines: list[str] = []
            for i in range(count):
                k = written + i
                c1, c2 = k // partners, k % partners
                eff_i = rng.randrange(len(DATES) - 1)
                r = rng.random()
                if r < 0.03:
                    eff, dele, ind = DATES[eff_i], DATES[eff_i], "9"
                elif r < 0.13:
                    eff, dele = DATES[eff_i], DATES[rng.randrange(eff_i + 1, len(DATES))]
                    ind = rng.choice("01")
                else:
                    eff, dele, ind = DATES[eff_i], "*", rng.choice("0111")
                star = "*" if eff == "19960101" else ""
                lines.append(
                    f"{_code('Z', c1)}\t{_code('Y', c2)}\t{star}\t{eff}\t{dele}\t{ind}\t"
                    f"{rng.choice(RATIONALES)}"
                )
                if len(lines) >= 10_000:
                    out.write("\n".join(lines) + "\n")
                    lines.clear()
            if lines:
                out.write("\n".join(lines) + "\n")
        written += count
        archive = directory / f"medicare-ncci-2099q4-practitioner-ptp-edits-{name}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            zf.write(txt, txt.name)
        txt.unlink()
        paths.append(archive)
    mue = directory / "MCR_MUE_PractitionerServices_Eff_10-01-2099.csv"
    mai = ("1 Line Edit", "2 Date of Service Edit: Policy", "3 Date of Service Edit: Clinical")
    with open(mue, "w", encoding="cp1252", newline="") as out:
        out.write(
            '"CPT codes, descriptions and other data only are copyright 2025 American Medical '
            'Association. All Rights Reserved.\r\nApplicable FARS/DFARS Apply.",,,\r\n'
        )
        out.write(
            "HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,"
            "MUE Rationale\r\n"
        )
        for n in range(MUE_ROWS):
            code = _code("Z", n) if n < 10_000 else _code("W", n - 10_000)
            out.write(f"{code},{rng.randint(0, 12)},{rng.choice(mai)},Clinical: Data\r\n")
    return paths, mue


def _rss_mb() -> float:
    """Current resident set size in MB (Linux /proc), else the peak."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return _peak_mb()


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)


def phase_import(files: list[str], db: str) -> dict[str, float]:
    """Import the files into a new store; time and peak memory of this process."""
    from cptrules.ncci import import_files

    start = time.perf_counter()
    done = import_files(files, db)
    return {
        "import_s": time.perf_counter() - start,
        "import_peak_mb": _peak_mb(),
        "rows": float(sum(i.rows for i in done if i.kind == "ptp")),
        "db_mb": os.path.getsize(db) / 1024**2,
    }


def phase_lookup(db: str, rows: int) -> dict[str, float]:
    """Open the store, first lookup, then per-call lookup times vs the bundled table."""
    day = dt.date(2026, 3, 4)
    partners = _partners(rows)
    c1_max = rows // partners - 1
    start = time.perf_counter()
    from cptrules.ncci import bundled_tables, open_store

    import_s = time.perf_counter() - start
    start = time.perf_counter()
    tables = open_store(db)
    open_s = time.perf_counter() - start
    first = frozenset({"Z0001", "Y0002", "Y0003", "Y0150"})
    start = time.perf_counter()
    tables.ptp(first, day)
    first_s = time.perf_counter() - start
    out = {"module_import_ms": import_s * 1000, "open_ms": open_s * 1000}
    out["first_lookup_ms"] = first_s * 1000
    out["open_plus_first_ms"] = (open_s + first_s) * 1000

    rng = random.Random(7)
    sets = [
        frozenset(
            {
                _code("Z", rng.randint(0, c1_max)),
                *(_code("Y", rng.randrange(partners)) for _ in range(3)),
            }
        )
        for _ in range(2000)
    ]
    start = time.perf_counter()
    for codes in sets:
        tables.ptp(codes, day)
    out["store_uncached_us"] = (time.perf_counter() - start) / len(sets) * 1e6
    hot = sets[:50]
    n = 0
    start = time.perf_counter()
    for _ in range(200):
        for codes in hot:
            tables.ptp(codes, day)
            n += 1
    out["store_cached_us"] = (time.perf_counter() - start) / n * 1e6
    start = time.perf_counter()
    mue_sets = sets[:500]
    for codes in mue_sets:
        tables.mue(codes, dt.date(2099, 11, 1))
    out["store_mue_uncached_us"] = (time.perf_counter() - start) / len(mue_sets) * 1e6

    bundled = bundled_tables()
    therapy = frozenset({"98941", "97140", "97112", "97530"})
    bundled.ptp(therapy, day)
    reps = 20_000
    start = time.perf_counter()
    for _ in range(reps):
        bundled.ptp(therapy, day)
    out["bundled_us"] = (time.perf_counter() - start) / reps * 1e6
    out["rss_open_mb"] = _rss_mb()
    out["peak_mb"] = _peak_mb()
    return out


def _run_phase(*args: str) -> dict[str, float]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parent.parent / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, __file__, "--phase", *args],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    """Generate, import, look up; print the figures against their targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep it")
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        kind, *rest = args.phase
        if kind == "import":
            print(json.dumps(phase_import(rest[1:], rest[0])))
        else:
            print(json.dumps(phase_lookup(rest[0], int(rest[1]))))
        return 0

    with tempfile.TemporaryDirectory(prefix="cptrules-bench-") as tmp:
        directory = Path(args.keep) if args.keep else Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        ptp, mue = generate(directory, args.rows)
        size = sum(p.stat().st_size for p in ptp) / 1024**2
        print(
            f"generated {args.rows:,} PTP rows in {len(ptp)} zips ({size:.0f} MB) and "
            f"{MUE_ROWS:,} MUE rows in {time.perf_counter() - start:.1f} s"
        )
        db = str(directory / "bench.sqlite3")
        if os.path.exists(db):
            os.unlink(db)
        imp = _run_phase("import", db, *map(str, ptp), str(mue))
        look = _run_phase("lookup", db, str(args.rows))

    def line(label: str, value: float, unit: str, target: str = "") -> None:
        print(f"  {label:<44} {value:>10.1f} {unit:<3} {target}")

    print(
        f"import ({imp['rows']:,.0f} PTP rows + {MUE_ROWS:,} MUE rows, store {imp['db_mb']:.0f} MB)"
    )
    line("import time", imp["import_s"], "s", "(target < 20 s)")
    line("import peak memory (ru_maxrss)", imp["import_peak_mb"], "MB", "(target < 300 MB)")
    print("lookups (new process)")
    line("import cptrules.ncci", look["module_import_ms"], "ms")
    line("open store", look["open_ms"], "ms")
    line("first lookup", look["first_lookup_ms"], "ms")
    line("open + first lookup", look["open_plus_first_ms"], "ms", "(target < 100 ms)")
    line("store ptp, 4 codes, uncached (per call)", look["store_uncached_us"], "us")
    line("store ptp, 4 codes, cached (per call)", look["store_cached_us"], "us")
    line("store mue, 4 codes, uncached (per call)", look["store_mue_uncached_us"], "us")
    line("bundled ptp, 4 codes (per call)", look["bundled_us"], "us")
    line("RSS with the store open", look["rss_open_mb"], "MB", "(target < 100 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
