"""Benchmark checking: one session, parsing, import time and batch throughput.

Run by hand (not in CI):

    .venv/bin/python bench/bench_check.py [--sessions 200000] [--jobs N] [--quick]

It prints, for realistic generated Medicare and commercial PT visits:

1. ``check()`` of a prepared session (1, 4 and 12 lines; medicare and
   commercial): median and p99 microseconds per call, cycling through 500
   sessions each; then 4-line Medicare over 20,000 distinct sessions in one pass,
   which is what a batch sees (memoised unit allocations and CPU caches cold);
2. ``load_session`` + ``check`` from a JSON string; ``load_session`` of a
   4-line session from a dict; ``report.to_dict()`` + ``json.dumps``;
3. the same sessions through a deliberately naive reference checker written the
   way such checkers are found in the wild (rows scanned per lookup, units
   recomputed per line, every pair of lines compared against every edit row),
   run in this process on the same dicts, and the ratio;
4. ``import cptrules`` in a fresh interpreter (best of 5), with and without a
   bytecode cache, and the modules that take longest;
5. batch throughput of ``cptrules.batch.check_jsonl`` on a generated JSON
   Lines file of ``--sessions`` 4-line visits (written to a temporary directory
   and deleted), with 1 job and with N jobs (default: every CPU).

Timings are wall-clock per call (``time.perf_counter_ns``). The load average is
printed first: on a busy machine the figures are pessimistic. Sessions are made
up (no patient data): codes, minutes and modifiers drawn from a seeded generator.
Targets on 2 cores: 4-line Medicare check() median < 40 us; load + check from
JSON < 100 us; batch >= 15,000 sessions/s with 2 jobs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Sequence
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import cptrules
from cptrules import batch, units
from cptrules.report import encode_report
from cptrules.rules import REGISTRY

# --------------------------------------------------------------------------- sessions

NPI = "1234567893"  # the CONTRACT's example NPI (valid check digit), not a real provider
DIAGNOSES = [["M54.50"], ["M54.50", "M62.81"], ["M25.561", "M62.81"], ["M54.2", "M54.50"]]
TECH_97140 = [
    ["joint_mobilization"],
    ["soft_tissue_mobilization"],
    ["joint_mobilization", "myofascial_release"],
    ["manual_traction"],
]
DOC = {
    "response": "Range of motion improved after treatment; pain lower at end of session.",
    "rationale": "Graded mobilization needs a therapist's hands-on assessment.",
    "goals": "Supports goal 2: walking tolerance.",
}
# The long visit's codes, in the order they are added (timed first).
LONG_VISIT = [
    "97110",
    "97140",
    "97112",
    "97530",
    "97116",
    "97035",
    "97032",
    "97124",
    "97750",
    "97113",
    "97012",
    "97010",
]


def _clock(minute: int) -> str:
    return f"{8 + minute // 60:02d}:{minute % 60:02d}"


def make_session(rng: random.Random, n_lines: int, payer: str) -> dict[str, Any]:
    """A realistic PT visit of ``n_lines`` lines; some carry billing faults on purpose.

    Units are right for the payer's method except one line in ten (one unit
    over); one plan of care in six is signed late and one in twenty not at all;
    one 97140 in ten next to 97530/97012 lacks its distinct-service modifier;
    past the KX threshold one visit in ten lacks KX; the 10th treatment day may
    lack its progress report. About half of the visits come out clean.
    """
    dos = dt.date(2026, 1, 5) + dt.timedelta(days=rng.randrange(330))
    start = dos - dt.timedelta(days=rng.randrange(1, 80))
    signed = start + dt.timedelta(days=rng.choice([3, 7, 10, 14, 21, 35]))
    medicare = payer == "medicare"
    estim = "G0283" if medicare else "97014"
    codes = LONG_VISIT[:n_lines] if n_lines > 4 else ["97110", "97140", "97112", estim][:n_lines]
    if n_lines == 4 and rng.random() < 0.5:
        codes = ["97110", "97140", "97530", "97012"]
    if n_lines == 12 and medicare:
        codes = [estim if c == "97010" else c for c in codes]
    lines: list[dict[str, Any]] = []
    clock = rng.randrange(0, 240)
    for code in codes:
        line: dict[str, Any] = {"code": code, "modifiers": ["GP"]}
        if code in ("97010", "97012", "97014", "G0283"):
            line["units"] = 1
        else:
            minutes = rng.randint(8, 38) if n_lines < 12 else rng.randint(8, 16)
            line["minutes"] = minutes
            line["start"], line["end"] = _clock(clock), _clock(clock + minutes)
            clock += minutes
            if code == "97140":
                line["regions"] = [rng.choice(["lumbar", "cervical", "lower_extremity"])]
                line["techniques"] = rng.choice(TECH_97140)
                line["documentation"] = DOC
                # NCCI pairs 97140 with 97530 and 97012 (indicator 1): most
                # clinics mark the distinct service; some forget.
                if {"97530", "97012"} & set(codes) and rng.random() < 0.9:
                    line["modifiers"].append("XU")
            elif code == "97124":
                line["regions"] = ["upper_extremity"]
                line["techniques"] = ["massage"]
            if rng.random() < 0.05:
                line["assistant_minutes"] = rng.randint(1, minutes)
                line["modifiers"].append("CQ")
        line["diagnosis_pointers"] = [1]
        lines.append(line)
    # Units as the payer counts them, then one line in ten spoiled on purpose.
    minutes_by_code = {x["code"]: x["minutes"] for x in lines if "minutes" in x}
    count = units.total_time if medicare else units.per_code
    right = count(minutes_by_code)
    for line in lines:
        if "minutes" in line:
            line["units"] = right[line["code"]] + (1 if rng.random() < 0.1 else 0)
    ytd = round(rng.uniform(0, 3200), 2)
    if medicare and ytd > 2400 and rng.random() < 0.9:
        for line in lines:
            line["modifiers"].append("KX")
    session: dict[str, Any] = {
        "date_of_service": dos.isoformat(),
        "payer": payer,
        "provider": {"discipline": "PT", "npi": NPI},
        "diagnoses": rng.choice(DIAGNOSES),
        "plan_of_care": {
            "start": start.isoformat(),
            "end": (start + dt.timedelta(days=89)).isoformat(),
            "signed": signed.isoformat() if rng.random() < 0.95 else None,
        },
        "treatment_day": rng.randint(1, 10),
        "progress_report": rng.random() < 0.1,
        "therapy_ytd_allowed": {"pt_slp": ytd, "ot": 0},
        "total_treatment_minutes": clock + rng.randint(0, 10),
        "lines": lines,
    }
    return session


def make_sessions(n: int, n_lines: int, payer: str, seed: int = 20260304) -> list[dict[str, Any]]:
    rng = random.Random(f"{seed}-{n_lines}-{payer}")
    return [make_session(rng, n_lines, payer) for _ in range(n)]


def write_batch(path: Path, count: int) -> None:
    """The side-by-side scripts' batch: ``count`` 4-line Medicare visits as JSON Lines."""
    with path.open("w", encoding="utf-8") as out:
        for data in make_sessions(count, 4, "medicare", seed=11):
            out.write(json.dumps(data) + "\n")


# --------------------------------------------------------------------------- naive checker
#
# The style found in the wild: catalogs kept as lists of rows and scanned for every
# lookup, units recomputed for each line from scratch, every pair of lines compared
# with every edit row, messages built as it goes. It reads the same bundled data as
# cptrules and checks the same things (less carefully), so the work is comparable.


def _data(name: str) -> dict[str, Any]:
    text = resources.files("cptrules.data").joinpath(name).read_text(encoding="utf-8")
    return tomllib.loads(text)


class NaiveChecker:
    """A reference checker in the naive style, on the same data, for the ratio."""

    def __init__(self) -> None:
        codes = _data("codes.toml")["codes"]
        self.code_rows = [dict(v, code=k) for k, v in codes.items()]
        mods = _data("modifiers.toml")["modifiers"]
        self.modifier_rows = [dict(v, modifier=k) for k, v in mods.items()]
        self.ptp_rows: list[dict[str, Any]] = []
        for row in _data("ncci_therapy_ptp.toml")["ptp"]:
            c1s = row["column1"] if isinstance(row["column1"], list) else [row["column1"]]
            c2s = row["column2"] if isinstance(row["column2"], list) else [row["column2"]]
            for c1 in c1s:
                for c2 in c2s:
                    self.ptp_rows.append(dict(row, column1=c1, column2=c2))
        years = _data("medicare_thresholds.toml")["years"]
        self.threshold_rows = [{"year": int(y), "kx": Decimal(v["kx"])} for y, v in years.items()]
        vocab = _data("vocab.toml")
        self.technique_rows = [
            {"technique": k, "family": v} for k, v in vocab["techniques"].items()
        ]
        self.region_rows = [{"region": k, **v} for k, v in vocab["regions"].items()]

    def code_row(self, code: str) -> dict[str, Any] | None:
        for row in self.code_rows:
            if row["code"] == code:
                return row
        return None

    def modifier_known(self, mod: str) -> bool:
        return any(row["modifier"] == mod for row in self.modifier_rows)

    @staticmethod
    def chart(total: int) -> int:
        units = 0
        low = 8
        while total >= low:
            units += 1
            low += 15
        return units

    def total_time_units(self, lines: list[dict[str, Any]], code: str) -> int:
        """CMS total-time units of ``code``, recomputed from all lines (per line)."""
        minutes: dict[str, int] = {}
        for line in lines:
            row = self.code_row(line["code"])
            if row is not None and row["timed"] and line.get("minutes") is not None:
                minutes[line["code"]] = minutes.get(line["code"], 0) + line["minutes"]
        total = self.chart(sum(minutes.values()))
        alloc = {c: m // 15 for c, m in minutes.items()}
        left = total - sum(alloc.values())
        while left > 0:
            remainder = {c: minutes[c] - 15 * alloc[c] for c in minutes}
            best = max(remainder, key=lambda c: remainder[c])
            alloc[best] += 1
            left -= 1
        return alloc.get(code, 0)

    def check(self, s: dict[str, Any]) -> dict[str, Any]:
        findings: list[dict[str, Any]] = []

        def add(rule: str, sev: str, line: int | None, msg: str) -> None:
            findings.append(
                {"rule": rule, "severity": sev, "line": line, "message": msg, "fixes": []}
            )

        for key in ("date_of_service", "payer", "provider", "lines"):
            if key not in s:
                raise ValueError(f"missing {key}")
        dos = dt.date.fromisoformat(s["date_of_service"])
        medicare = s["payer"] == "medicare"
        lines = s["lines"]
        units_out = []
        for i, line in enumerate(lines):
            row = self.code_row(line["code"])
            billed = line.get("units")
            expected = None
            if row is not None and row["timed"]:
                if line.get("minutes") is None:
                    add("units.missing-minutes", "error", i, f"{line['code']} has no minutes")
                elif medicare:
                    expected = self.total_time_units(lines, line["code"])
                else:
                    expected = self.chart(line["minutes"])
                if billed is not None and expected is not None and billed != expected:
                    sev = "error" if billed > expected else "warning"
                    add("units.total-time", sev, i, f"{line['code']} {billed} vs {expected}")
                if sum(1 for x in lines if x["code"] == line["code"]) > 1 and medicare:
                    add("units.single-line", "error", i, f"{line['code']} on several lines")
            elif row is not None:
                expected = row.get("max_units")
                if billed is not None and expected is not None and billed > expected:
                    add("units.untimed", "error", i, f"{line['code']} over {expected}")
            units_out.append(
                {"line": i, "code": line["code"], "billed": billed, "expected": expected}
            )
            # modifiers
            mods = line.get("modifiers", [])
            if len(mods) > 4:
                add("modifier.unknown", "error", i, "more than four modifiers")
            for m in mods:
                if not self.modifier_known(m):
                    add("modifier.unknown", "warning", i, f"unknown modifier {m}")
            if medicare and row is not None and row["therapy"] == "always":
                if not any(m in ("GP", "GO", "GN") for m in mods):
                    add("modifier.therapy", "error", i, f"{line['code']} needs GP/GO/GN")
                disc = s["provider"]["discipline"]
                if disc == "PT" and ("GO" in mods or "GN" in mods):
                    add("modifier.therapy", "error", i, "GP expected")
            am = line.get("assistant_minutes")
            if am is not None and line.get("minutes"):
                if am * 10 > line["minutes"] and "CQ" not in mods and "CO" not in mods:
                    add("modifier.assistant", "error", i, "CQ/CO missing")
                if am * 10 <= line["minutes"] and ("CQ" in mods or "CO" in mods):
                    add("modifier.assistant", "warning", i, "CQ/CO without cause")
            if "59" in mods and any(m in ("XE", "XS", "XP", "XU") for m in mods):
                add("modifier.distinct", "error", i, "59 with an X modifier")
            if medicare and line["code"] in ("98940", "98941", "98942") and "AT" not in mods:
                add("modifier.at", "error", i, "CMT without AT")
            # coverage
            if medicare and line["code"] == "97010":
                add("coverage.bundled", "error", i, "97010 is bundled")
            if medicare and line["code"] == "97014":
                add("coverage.replaced-code", "error", i, "use G0283")
            if (
                medicare
                and s["provider"]["discipline"] == "DC"
                and not line["code"].startswith("9894")
            ):
                add("coverage.chiropractor", "error", i, "DC bills CMT only")
            # techniques and documentation
            for t in line.get("techniques", []):
                fam = next(r["family"] for r in self.technique_rows if r["technique"] == t)
                if row is not None and fam != row["family"]:
                    add("code.technique", "error", i, f"{t} is not {line['code']}")
            if line["code"] == "97140":
                doc = line.get("documentation") or {}
                if not line.get("techniques"):
                    add("doc.manual-therapy", "error", i, "no technique")
                if not line.get("regions"):
                    add("doc.manual-therapy", "error", i, "no region")
                for k in ("response", "rationale", "goals"):
                    if not doc.get(k):
                        add("doc.manual-therapy", "warning", i, f"no {k}")
        # NCCI: every pair of lines against every edit row
        for i, a in enumerate(lines):
            for j, b in enumerate(lines):
                if i == j:
                    continue
                for edit in self.ptp_rows:
                    if edit["column1"] != a["code"] or edit["column2"] != b["code"]:
                        continue
                    if edit["effective"] > dos or (
                        edit.get("deletion") is not None and edit["deletion"] <= dos
                    ):
                        continue
                    mods = b.get("modifiers", [])
                    ok = edit["indicator"] == 1 and any(
                        m in ("59", "XE", "XS", "XP", "XU") for m in mods
                    )
                    if not ok:
                        add("ncci.ptp", "error", j, f"{a['code']}/{b['code']}")
        # time
        timed = [
            (i, x)
            for i, x in enumerate(lines)
            if x.get("start") and (r := self.code_row(x["code"])) is not None and r["timed"]
        ]
        for i, a in timed:
            for j, b in timed:
                if i < j and a["start"] < b["end"] and b["start"] < a["end"]:
                    add("time.overlap", "error", j, "overlap")
        total = sum(x.get("minutes") or 0 for x in lines)
        if s.get("total_treatment_minutes") is not None and total > s["total_treatment_minutes"]:
            add("doc.timed-minutes", "error", None, "timed minutes exceed the visit")
        # plan of care, KX
        if medicare:
            poc = s.get("plan_of_care")
            if poc is None:
                add("poc.missing", "error", None, "no plan of care")
            else:
                start = dt.date.fromisoformat(poc["start"])
                end = dt.date.fromisoformat(poc["end"])
                if not start <= dos <= end or (end - start).days > 90:
                    add("poc.expired", "error", None, "outside the certification")
                signed = poc.get("signed")
                if signed is None or (dt.date.fromisoformat(signed) - start).days > 30:
                    add("poc.unsigned", "error", None, "not signed in 30 days")
            if s.get("treatment_day", 0) >= 10 and not s.get("progress_report"):
                add("poc.progress-report", "warning", None, "progress report due")
            ytd = (s.get("therapy_ytd_allowed") or {}).get("pt_slp")
            if ytd is not None:
                for row in self.threshold_rows:
                    if (
                        row["year"] == dos.year
                        and Decimal(str(ytd)) >= row["kx"]
                        and not any("KX" in x.get("modifiers", []) for x in lines)
                    ):
                        add("modifier.kx", "error", None, "KX missing")
        findings.sort(key=lambda f: (-1 if f["line"] is None else f["line"], f["rule"]))
        return {
            "ok": not any(f["severity"] == "error" for f in findings),
            "payer": s["payer"],
            "date_of_service": s["date_of_service"],
            "units": units_out,
            "findings": findings,
        }


# --------------------------------------------------------------------------- timing


def per_call_us(func: Callable[[Any], object], items: Sequence[Any], calls: int) -> list[float]:
    """Wall time of each of ``calls`` calls (cycling through ``items``), in microseconds."""
    for x in items[: min(len(items), 200)]:
        func(x)  # warm caches
    clock = time.perf_counter_ns
    out = []
    n = len(items)
    for k in range(calls):
        x = items[k % n]
        t0 = clock()
        func(x)
        out.append((clock() - t0) / 1000)
    return out


def line(label: str, samples: list[float]) -> str:
    samples = sorted(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return f"  {label:<44} median {statistics.median(samples):7.1f} us   p99 {p99:7.1f} us"


def import_time(best_of: int = 5, cache: str | None = None) -> tuple[float, float]:
    """Best ``import cptrules`` time in a fresh interpreter: inside, and whole process (ms).

    ``cache``: a bytecode cache directory (``PYTHONPYCACHEPREFIX``), warmed first,
    as an installed package has; None compiles every module on every run, as a
    checkout does when ``PYTHONDONTWRITEBYTECODE`` is set.
    """
    code = "import time; t = time.perf_counter(); import cptrules; print(time.perf_counter() - t)"
    env = dict(os.environ)
    if cache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = cache
        subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True)
    inside, whole = [], []
    for _ in range(best_of):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout
        whole.append(time.perf_counter() - t0)
        inside.append(float(out))
    return min(inside) * 1000, min(whole) * 1000


def top_imports(cache: str, n: int = 8) -> list[str]:
    env = dict(os.environ, PYTHONPYCACHEPREFIX=cache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import cptrules"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    rows = []
    for raw in proc.stderr.splitlines():
        parts = raw.split("|")
        if len(parts) == 3 and parts[0].startswith("import time:") and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    rows.sort(reverse=True)
    return [f"    {us / 1000:6.1f} ms  {name}" for us, name in rows[:n]]


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def batch_rate(path: Path, n: int, jobs: int) -> tuple[float, float, batch.Summary]:
    """Sessions per wall second, and per CPU second of every process of the run."""
    with open(path, "rb") as src, open(os.devnull, "w", encoding="utf-8") as sink:
        c0, t0 = _cpu(), time.perf_counter()
        summary = batch.check_jsonl(src, sink, jobs=jobs)
        elapsed, cpu = time.perf_counter() - t0, _cpu() - c0
    assert summary.records == n, (summary.records, n)
    return n / elapsed, n / cpu, summary


# --------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=200_000, help="batch size (default 200000)")
    ap.add_argument("--jobs", type=int, default=batch.default_jobs(), help="N for the batch")
    ap.add_argument("--calls", type=int, default=20_000, help="timed calls per micro figure")
    ap.add_argument("--quick", action="store_true", help="20,000 sessions, 5,000 calls")
    args = ap.parse_args(argv)
    if args.quick:
        args.sessions, args.calls = 20_000, 5_000

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"cptrules {cptrules.__version__}, Python {sys.version.split()[0]}, "
        f"{batch.default_jobs()} CPU(s), load average {load:.2f}"
    )
    print(f"rules registered: {len(REGISTRY)} ({', '.join(sorted(REGISTRY))})")
    engine = cptrules.default_engine()

    print("\ncheck() of a prepared session (default engine, every rule in force):")
    prepared: dict[tuple[int, str], list[cptrules.Session]] = {}
    raw: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for n_lines in (1, 4, 12):
        for payer in ("medicare", "commercial"):
            dicts = make_sessions(500, n_lines, payer)
            raw[n_lines, payer] = dicts
            prepared[n_lines, payer] = [cptrules.load_session(d) for d in dicts]
            samples = per_call_us(engine.check, prepared[n_lines, payer], args.calls)
            print(line(f"{n_lines:>2}-line {payer}", samples))

    distinct = [cptrules.load_session(d) for d in make_sessions(20_000, 4, "medicare", seed=7)]
    samples = per_call_us(engine.check, distinct[200:], len(distinct) - 200)
    print(line("4-line medicare, 20,000 distinct (one pass)", samples))

    print("\nparsing and serialising (4-line medicare):")
    dicts4 = raw[4, "medicare"]
    texts4 = [json.dumps(d) for d in dicts4]
    print(line("load_session(dict)", per_call_us(cptrules.load_session, dicts4, args.calls)))
    print(line("load_session(JSON str)", per_call_us(cptrules.load_session, texts4, args.calls)))
    print(
        line(
            "load_session + check from JSON str",
            per_call_us(lambda t: engine.check(cptrules.load_session(t)), texts4, args.calls),
        )
    )
    reports = [engine.check(s) for s in prepared[4, "medicare"]]
    print(
        line(
            "encode_report (the batch's JSON Lines)",
            per_call_us(encode_report, reports, args.calls),
        )
    )
    print(
        line(
            "report.to_dict() + json.dumps (compact)",
            per_call_us(
                lambda r: json.dumps(r.to_dict(), separators=(",", ":")), reports, args.calls
            ),
        )
    )

    print("\nnaive reference checker, same sessions (dict in, report dict out):")
    naive = NaiveChecker()
    agree = total = 0
    for key, dicts in raw.items():
        for d, s in zip(dicts, prepared[key], strict=True):
            ours = engine.check(s)
            theirs = naive.check(d)
            total += len(ours.units)
            agree += sum(
                u.expected == v["expected"]
                for u, v in zip(ours.units, theirs["units"], strict=True)
            )
    print(f"  expected units agree on {agree}/{total} lines ({100 * agree / total:.1f}%)")
    for n_lines in (1, 4, 12):
        key = (n_lines, "medicare")
        t_naive = statistics.median(per_call_us(naive.check, raw[key], args.calls))
        t_ours = statistics.median(
            per_call_us(
                lambda d: engine.check(cptrules.load_session(d)).to_dict(), raw[key], args.calls
            )
        )
        t_check = statistics.median(per_call_us(engine.check, prepared[key], args.calls))
        print(
            f"  {n_lines:>2}-line medicare: naive {t_naive:7.1f} us; cptrules dict->report "
            f"{t_ours:7.1f} us (x{t_naive / t_ours:.2f}); check() alone {t_check:7.1f} us "
            f"(x{t_naive / t_check:.2f})"
        )

    with tempfile.TemporaryDirectory(prefix="cptrules-pyc-") as pyc:
        cold, cold_whole = import_time()
        warm, warm_whole = import_time(cache=pyc)
        print("\nimport cptrules in a fresh interpreter, best of 5:")
        print(f"  bytecode cached (as installed): {warm:.1f} ms (process {warm_whole:.1f} ms)")
        print(f"  compiling every module (no .pyc): {cold:.1f} ms (process {cold_whole:.1f} ms)")
        print("  largest cumulative import times (bytecode cached):")
        print("\n".join(top_imports(pyc)))

    print(f"\nbatch: check_jsonl on {args.sessions:,} generated 4-line visits (JSON Lines):")
    with tempfile.TemporaryDirectory(prefix="cptrules-bench-") as tmp:
        path = Path(tmp) / "visits.jsonl"
        rng = random.Random(42)
        with open(path, "w", encoding="utf-8") as out:
            buf = io.StringIO()
            for k in range(args.sessions):
                payer = "medicare" if k % 3 else "commercial"
                buf.write(json.dumps(make_session(rng, 4, payer)))
                buf.write("\n")
                if k % 10_000 == 9_999:
                    out.write(buf.getvalue())
                    buf = io.StringIO()
            out.write(buf.getvalue())
        size = path.stat().st_size / 1e6
        print(f"  input {size:.0f} MB, 2/3 medicare, 1/3 commercial")
        for jobs in sorted({1, args.jobs}):
            rate, per_cpu, summary = batch_rate(path, args.sessions, jobs)
            print(
                f"  jobs={jobs}: {rate:9,.0f} sessions/s wall; {per_cpu:,.0f} per CPU-second of "
                f"all its processes, i.e. {jobs * per_cpu:,.0f}/s on {jobs} idle core(s)"
            )
        print(
            f"  ({summary.ok:,} ok, {summary.with_errors:,} with errors, "
            f"{summary.invalid:,} invalid)"
        )
        tenth = Path(tmp) / "tenth.jsonl"
        with open(path, "rb") as src, open(tenth, "wb") as dst:
            for k, raw_line in enumerate(src):
                if k == args.sessions // 10:
                    break
                dst.write(raw_line)
        print(f"  the command line, --jobs {args.jobs} (a fresh process each; peak RSS of any")
        print("  one process of the run, to show memory does not grow with the input):")
        for label, file, n in (
            ("all", path, args.sessions),
            ("a tenth", tenth, args.sessions // 10),
        ):
            seconds, peak = cli_run(file, args.jobs)
            print(f"    {label:>7}: {n / seconds:9,.0f} sessions/s, peak RSS {peak:6.1f} MB")
    return 0


def cli_run(path: Path, jobs: int) -> tuple[float, float]:
    """Run ``cptrules check --format jsonl`` in a child; wall seconds and peak RSS (MB)."""
    script = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter();"
        "subprocess.run([sys.executable, '-m', 'cptrules', 'check', sys.argv[1], '--format',"
        " 'jsonl', '--jobs', sys.argv[2], '-q'], stdout=subprocess.DEVNULL, check=False);"
        "print(time.perf_counter() - t,"
        " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(path), str(jobs)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), float(out[1])


if __name__ == "__main__":
    sys.exit(main())
