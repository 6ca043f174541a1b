"""The snapshot corpus: every stored session still gets its stored report.

``tests/snapshots/sessions.jsonl`` holds seeded sessions (built by
``tools/gen_snapshots.py``) with the report the rules gave each when it was
written; its first line is the table of citations the reports point into. A
mismatch here means a rule's findings changed. If that was on purpose, run

    .venv/bin/python tools/gen_snapshots.py

and review ``git diff tests/snapshots/`` before committing: every changed
finding is in that diff.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import cptrules

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "snapshots" / "sessions.jsonl"
SHOWN = 3


def _tool() -> Any:
    spec = importlib.util.spec_from_file_location(
        "gen_snapshots", ROOT / "tools" / "gen_snapshots.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_snapshots", module)
    spec.loader.exec_module(module)
    return module


def _expand(report: dict[str, Any], citations: dict[str, str]) -> dict[str, Any]:
    if "data" in report:
        report["data"] = {name: citations[key] for name, key in report["data"].items()}
    if "findings" in report:
        report["findings"] = [
            {**f, "citation": citations[f["citation"]]} for f in report["findings"]
        ]
    return report


def _text(report: dict[str, Any]) -> list[str]:
    return json.dumps(report, indent=1, sort_keys=True).splitlines()


def test_the_corpus_is_a_few_thousand_sessions_under_3_mb() -> None:
    assert CORPUS.stat().st_size < 3_300_000
    with CORPUS.open(encoding="utf-8") as f:
        assert sum(1 for _ in f) - 1 >= 1000


def test_the_corpus_sessions_are_the_generators() -> None:
    """The stored sessions are what the seeded generator draws (no drift, no hand edits)."""
    tool = _tool()
    with CORPUS.open(encoding="utf-8") as f:
        next(f)
        stored = [json.loads(line)["session"] for line in f]
    drawn = [json.loads(json.dumps(s)) for s in tool.sessions(len(stored))]
    assert stored == drawn, "run `python tools/gen_snapshots.py` and review the diff"


def test_every_snapshot_report_is_unchanged() -> None:
    tool = _tool()
    engine = cptrules.Engine()
    with CORPUS.open(encoding="utf-8") as f:
        citations = json.loads(next(f))["citations"]
        rows = [json.loads(line) for line in f]
    mismatches = []
    for n, row in enumerate(rows):
        want = _expand(row["report"], citations)
        got = json.loads(json.dumps(tool.report_of(engine, row["session"])))
        if got != want:
            mismatches.append((n, want, got))
    if not mismatches:
        return
    parts = [
        f"{len(mismatches)} of {len(rows)} snapshot reports changed. If the change is on "
        "purpose, run `.venv/bin/python tools/gen_snapshots.py` and review "
        "`git diff tests/snapshots/`. First differences:"
    ]
    for n, want, got in mismatches[:SHOWN]:
        diff = difflib.unified_diff(
            _text(want), _text(got), f"stored session {n}", f"now session {n}", lineterm=""
        )
        parts.append("\n".join(diff))
    raise AssertionError("\n\n".join(parts))
