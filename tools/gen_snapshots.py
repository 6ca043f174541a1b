"""Build the snapshot corpus: seeded sessions with their reports, for review as a diff.

    .venv/bin/python tools/gen_snapshots.py            # rewrite tests/snapshots/
    .venv/bin/python tools/gen_snapshots.py --count N --seed S --out FILE

The sessions are drawn by a seeded :class:`random.Random` walking the bundled
catalog (codes, modifiers, regions, techniques, payers), so every run gives the
same sessions; the report of each is what the current rules say. When a rule
changes on purpose, run this script and review ``git diff tests/snapshots/``:
every changed finding shows there. ``tests/test_snapshots.py`` fails until the
corpus matches the code.

Most sessions are a plausible visit (a therapist's lines with their therapy
modifier, minutes and units near the chart) with a few things changed at
random, so both the clean path and every kind of finding are drawn. Dates run
from the data's first day to the end of the year after the last bundled KX
threshold, so the "no threshold bundled" branch is drawn as well.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cptrules
from cptrules.catalog import catalog
from cptrules.errors import CptRulesError
from cptrules.payers import bundled_profiles
from cptrules.rules.modifiers import kx_thresholds

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "snapshots" / "sessions.jsonl"
COUNT = 1500
SEED = 20261207

_DISCIPLINES = ("PT", "PT", "PT", "PT", "OT", "OT", "SLP", "DC", "DC", "MD", "DO", "NP", "PA")
_OTHERS = ("ATC", "LMT")
#: codes outside the catalog: an E/M pair and a code nobody knows
_EXTRA_CODES = ("99213", "99201", "99499", "A1234")
_UNKNOWN_MODS = ("ZZ", "9Z")
_THERAPY_MOD = {"PT": "GP", "OT": "GO", "SLP": "GN"}
_DIAGNOSES = ("M54.50", "M99.03", "M99.01", "M25.561", "M62.81", "R26.89", "M51.26")
_DOCS = (
    {"response": "tolerated well", "rationale": "skilled technique", "goals": "goal 1"},
    {"response": "tolerated well"},
    {},
)


def _day(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randrange((last - first).days + 1))


def _line(rng: random.Random, code: str, discipline: str, mods: list[str]) -> dict[str, Any]:
    info = catalog().codes.get(code)
    line: dict[str, Any] = {"code": code}
    if info is not None and info.timed:
        minutes = rng.choice((8, 15, 20, 22, 23, 30, 38, 45, 53, 7, 10, 12, 60))
        if rng.random() < 0.93:
            line["minutes"] = minutes
        if rng.random() < 0.9:
            line["units"] = max(0, (minutes + 7) // 15 + rng.choice((0, 0, 0, 0, 1, -1)))
        if rng.random() < 0.15 and "minutes" in line:
            line["assistant_minutes"] = min(minutes, rng.choice((0, 1, 2, 3, 5, 10, 15, 60)))
    elif rng.random() < 0.85:
        line["units"] = rng.choice((1, 1, 1, 1, 2, 3))
    want = _THERAPY_MOD.get(discipline)
    if want and rng.random() < 0.9:
        mods.append(want)
    pool = sorted(catalog().modifiers)
    for _ in range(rng.choice((0, 0, 0, 0, 0, 1, 1, 2, 4))):
        mods.append(rng.choice(pool) if rng.random() < 0.95 else rng.choice(_UNKNOWN_MODS))
    if info is not None and info.family == "cmt" and rng.random() < 0.8:
        mods.append(rng.choice(("AT", "AT", "AT", "GA", "GZ")))
    line["modifiers"] = list(dict.fromkeys(mods))
    regions = sorted(catalog().regions)
    if rng.random() < 0.4:
        line["regions"] = rng.sample(regions, rng.choice((1, 1, 2, 3)))
    own = [t for t, family in catalog().techniques.items() if info and family == info.family]
    if own and rng.random() < 0.6:
        line["techniques"] = [rng.choice(own)]
    elif rng.random() < 0.1:
        line["techniques"] = [rng.choice(sorted(catalog().techniques))]
    if rng.random() < 0.1:
        line["muscles"] = rng.choice((1, 2, 3, 4))
    if rng.random() < 0.9:
        line["documentation"] = _DOCS[0] if rng.random() < 0.85 else rng.choice(_DOCS[1:])
    if rng.random() < 0.7:
        line["diagnosis_pointers"] = [1]
    if rng.random() < 0.08 and "minutes" in line:
        start = rng.randrange(8 * 60, 17 * 60)
        end = start + line["minutes"] + rng.choice((0, 0, 5, -5))
        line["start"] = f"{start // 60:02d}:{start % 60:02d}"
        line["end"] = f"{end // 60:02d}:{end % 60:02d}"
    return line


def session(rng: random.Random) -> dict[str, Any]:
    """One seeded session: a plausible visit with a few things changed at random."""
    cat = catalog()
    first = cat.data_start
    last = dt.date(max(kx_thresholds()) + 1, 12, 31)
    payers = bundled_profiles().ids()
    discipline = rng.choice(_DISCIPLINES) if rng.random() < 0.97 else rng.choice(_OTHERS)
    codes = sorted(cat.codes)
    if discipline == "DC":
        usual = [*cat.families.get("cmt", ()), "97140", "97110", "97012", "97014"]
    else:
        usual = ["97110", "97112", "97140", "97530", "97116", "97535", "97150", "97012"]
    lines = []
    for _ in range(rng.choice((1, 1, 2, 2, 2, 3, 3, 4, 5))):
        pick = rng.random()
        code = (
            rng.choice(usual)
            if pick < 0.6
            else rng.choice(codes)
            if pick < 0.97
            else rng.choice(_EXTRA_CODES)
        )
        lines.append(_line(rng, code, discipline, []))
    if rng.random() < 0.08:
        lines.append(dict(rng.choice(lines)))  # a code on two lines
    day = _day(rng, first, last)
    out: dict[str, Any] = {
        "date_of_service": day.isoformat(),
        "payer": rng.choice(payers),
        "provider": {"discipline": discipline},
        "diagnoses": rng.sample(_DIAGNOSES, rng.choice((1, 1, 2, 3))),
        "lines": lines,
    }
    if rng.random() < 0.7:
        start = day - dt.timedelta(days=rng.choice((3, 20, 45, 80, 95)))
        end = start + dt.timedelta(days=rng.choice((30, 60, 90, 100)))
        signed = start + dt.timedelta(days=rng.choice((1, 10, 29, 35)))
        poc: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat()}
        poc["signed"] = signed.isoformat() if rng.random() < 0.9 else None
        out["plan_of_care"] = poc
    if rng.random() < 0.6:
        out["treatment_day"] = rng.choice((1, 2, 4, 9, 10, 11, 15, 21))
    if rng.random() < 0.2:
        out["progress_report"] = rng.random() < 0.5
    if rng.random() < 0.5:
        timed = sum(line.get("minutes", 0) for line in lines)
        out["total_treatment_minutes"] = max(0, timed + rng.choice((0, 5, 10, -5)))
    if rng.random() < 0.35:
        year = kx_thresholds().get(day.year)
        kx = float(year.kx) if year is not None else 2400.0
        near = (0, 500, kx * 0.9 - 1, kx * 0.9, kx - 1, kx, kx + 1, 2999, 3000, 3001)
        ytd: dict[str, Any] = {}
        for key in ("pt_slp", "ot"):
            if rng.random() < 0.85:
                ytd[key] = round(rng.choice(near), 2)
        out["therapy_ytd_allowed"] = ytd
    return out


def sessions(count: int = COUNT, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """``count`` sessions, the same ones for the same ``seed`` on every run."""
    rng = random.Random(seed)
    for _ in range(count):
        yield session(rng)


def report_of(engine: cptrules.Engine, raw: dict[str, Any]) -> dict[str, Any]:
    """The report of ``raw`` as a dict, or the library's own error when it is refused."""
    try:
        return engine.check(cptrules.load_session(raw)).to_dict()
    except CptRulesError as exc:
        return {"error": type(exc).__name__, "message": str(exc)}


def cite_key(citation: str) -> str:
    """A short stable key for a citation: its text's digest, so changing one citation
    changes only the findings that carry it in the corpus diff."""
    return hashlib.sha256(citation.encode("utf-8")).hexdigest()[:10]


def shrink(report: dict[str, Any], citations: dict[str, str]) -> dict[str, Any]:
    """``report`` with each finding's citation, and each text of its ``data``
    section, replaced by its key in ``citations``.

    Citations repeat on every finding of a rule and the data texts on every
    report; the corpus stores each once (in its first line) to stay small.
    """
    out = dict(report)
    if "data" in out:
        texts = {}
        for name, text in out["data"].items():
            key = cite_key(text)
            citations[key] = text
            texts[name] = key
        out["data"] = texts
    if "findings" in out:
        found = []
        for f in out["findings"]:
            key = cite_key(f["citation"])
            citations[key] = f["citation"]
            found.append({**f, "citation": key})
        out["findings"] = found
    return out


def corpus(count: int = COUNT, seed: int = SEED) -> list[str]:
    """The corpus file's lines: a citation table, then one session and report per line."""
    engine = cptrules.Engine()
    citations: dict[str, str] = {}
    rows = []
    for raw in sessions(count, seed):
        row = {"session": raw, "report": shrink(report_of(engine, raw), citations)}
        rows.append(json.dumps(row, sort_keys=True, separators=(",", ":")))
    head = json.dumps({"citations": citations}, sort_keys=True, indent=0)
    return [head.replace("\n", ""), *rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=COUNT)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--sessions-only", action="store_true", help="only the sessions")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.sessions_only:
        rows = [json.dumps(raw, sort_keys=True) for raw in sessions(args.count, args.seed)]
    else:
        rows = corpus(args.count, args.seed)
    args.out.write_text("".join(row + "\n" for row in rows), encoding="utf-8")
    print(f"wrote {args.count} sessions to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
