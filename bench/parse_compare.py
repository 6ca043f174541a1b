"""Same parse results before and after a parser change, byte for byte.

Run by hand (not in CI), with the ``[hypothesis]`` extra:

    python bench/parse_compare.py gen INPUTS.jsonl [--count 50000]
    PYTHONPATH=/path/to/old/src python bench/parse_compare.py run INPUTS.jsonl OLD.txt
    PYTHONPATH=src python bench/parse_compare.py run INPUTS.jsonl NEW.txt
    cmp OLD.txt NEW.txt

``gen`` writes generated session dicts, half valid (``session_dicts``) and half
invalid (``invalid_session_dicts``), plus the bundled examples, one JSON document
a line. ``run`` passes each decoded document to ``load_session`` and writes one
line per input: the canonical ``dump_session`` JSON of a valid one, or the
``errors`` tuple of an invalid one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def gen(out: Path, count: int) -> None:
    from hypothesis import HealthCheck, given, seed, settings

    from cptrules import strategies

    docs: list[Any] = []
    for path in sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.json")):
        docs.append(json.loads(path.read_text(encoding="utf-8")))
    # Many short runs, each seeded: one long run slows down as its engine's
    # record of what it has tried grows.
    runs = max(1, count // 1000)
    for strategy in (strategies.session_dicts(), strategies.invalid_session_dicts()):
        for run_seed in range(runs):

            @seed(run_seed)
            @settings(
                max_examples=count // 2 // runs,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(strategy)
            def collect(doc: Any) -> None:
                docs.append(doc)

            collect()
    with out.open("w", encoding="utf-8") as f:
        for doc in docs:
            f.write(json.dumps(doc) + "\n")
    print(f"{len(docs)} inputs written to {out}")


def run(inp: Path, out: Path) -> None:
    import cptrules

    n = 0
    with inp.open(encoding="utf-8") as f, out.open("w", encoding="utf-8") as w:
        for text in f:
            try:
                s = cptrules.load_session(json.loads(text))
            except cptrules.InvalidSessionError as exc:
                w.write("E " + repr(exc.errors) + "\n")
            else:
                w.write("S " + json.dumps(cptrules.dump_session(s)) + "\n")
            n += 1
    print(f"{n} inputs parsed with {cptrules.__file__}")


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        count = int(sys.argv[sys.argv.index("--count") + 1]) if "--count" in sys.argv else 50_000
        gen(Path(sys.argv[2]), count)
    else:
        run(Path(sys.argv[2]), Path(sys.argv[3]))
