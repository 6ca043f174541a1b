"""Same parse results before and after a parser change, byte for byte.

Run by hand (not in CI), with the ``[hypothesis]`` extra:

    python bench/parse_compare.py gen INPUTS.jsonl [--count 50000]
    PYTHONPATH=/path/to/old/src python bench/parse_compare.py run INPUTS.jsonl OLD.txt
    PYTHONPATH=src python bench/parse_compare.py run INPUTS.jsonl NEW.txt [--text | --mutate]
    cmp OLD.txt NEW.txt
    python bench/parse_compare.py explain INPUTS.jsonl OLD.txt NEW.txt

``gen`` writes generated session dicts, half valid (``session_dicts``) and half
invalid (``invalid_session_dicts``), plus the bundled examples, one JSON document
a line. ``run`` passes each decoded document to ``load_session`` and writes one
line per input: the canonical ``dump_session`` JSON of a valid one, or the
``errors`` tuple of an invalid one (``--text``: each line's JSON text is given to
``load_session`` as it is, not decoded first; ``--mutate``: each line's JSON
text, its bytes and edge forms of it, see :func:`_mutants`, one output line
each). ``explain`` sorts the lines that differ into
the intended changes (unknown keys named by their parent's path only; ``id``
and ``patient`` now keys of the format) and lists any other.
"""

from __future__ import annotations

import json
import re
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


def _mutants(text: str) -> list[str | bytes]:
    """``text`` (one JSON document) and edge forms of it, each given to the parser.

    The same value as bytes (as the batch hands it over), with a byte order mark,
    surrounded by whitespace, compact; and changed: its first key given twice (same
    value, then null; a line's minutes likewise), a key given with an explicit null,
    an escaped colon in a string, its whole numbers written 1e0-style, and one
    number made a bool.
    """
    out: list[str | bytes] = [text, text.encode(), "\ufeff" + text, " \n" + text + "\r\n\t"]
    try:
        doc = json.loads(text)
    except ValueError:
        return out
    out.append(json.dumps(doc, separators=(",", ":")))
    if isinstance(doc, dict) and doc:
        body = text.strip()
        if body.startswith("{") and body != "{}":
            first = json.dumps(next(iter(doc)))
            value = json.dumps(next(iter(doc.values())))
            out.append("{" + f"{first}: {value}, " + body[1:])
            out.append("{" + f"{first}: null, " + body[1:])
            out.append(body[:-1] + ', "therapy_ytd_allowed": null}')
            out.append(body.replace('": "', '": "\\u003a', 1))
    out.append(re.sub(r"(?<=: )(\d+)(?=[,}\]])", r"\1e0", text, count=3))
    out.append(re.sub(r"(?<=: )\d+(?=[,}\]])", "true", text, count=1))
    out.append(text.replace("null", "null ", 2))
    minutes = r'"minutes": (\d+)'
    out.append(re.sub(minutes, r'"minutes": \1, "minutes": \1', text, count=1))
    out.append(re.sub(minutes, r'"minutes": null, "minutes": \1', text, count=1))
    out.append(re.sub(minutes, r'"minutes": \1, "units": null', text, count=1))
    return out


def run(inp: Path, out: Path, as_text: bool = False, mutate: bool = False) -> None:
    import cptrules

    n = 0
    with inp.open(encoding="utf-8") as f, out.open("w", encoding="utf-8") as w:
        for line in f:
            given: list[Any] = _mutants(line.rstrip("\n")) if mutate else [line]
            for text in given:
                try:
                    if not mutate and not as_text:
                        text = json.loads(text)
                    s = cptrules.load_session(text)
                except cptrules.InvalidSessionError as exc:
                    w.write("E " + repr(exc.errors) + "\n")
                else:
                    w.write("S " + json.dumps(cptrules.dump_session(s)) + "\n")
                n += 1
    print(f"{n} inputs parsed with {cptrules.__file__}")


def _parent(path: str) -> str:
    head, dot, _name = path.rpartition(".")
    if not dot and "[" not in path:  # a top-level key
        return ""
    return head if dot else path


def explain(inp: Path, old: Path, new: Path) -> None:
    """Classify every line where ``old`` and ``new`` differ; unexplained ones are listed.

    Explained: an old unknown key ``a.b`` now reported at its parent ``a`` (one entry
    per object, "N unknown keys" for several), and an input whose only old error was
    an unknown ``id`` or ``patient`` key, which the format now has.
    """
    import ast

    counts = {"same": 0, "unknown-key path": 0, "id/patient now known": 0, "unexplained": 0}
    with inp.open() as fi, old.open() as fo, new.open() as fn:
        for text, a, b in zip(fi, fo, fn, strict=True):
            if a == b:
                counts["same"] += 1
                continue
            if a.startswith("E ") and b.startswith("E "):
                errs = ast.literal_eval(a[2:])
                fixed: list[tuple[str, str]] = []
                unknown: dict[str, int] = {}
                for path, message in errs:
                    if message == "unknown key":
                        parent = _parent(path)
                        if parent not in unknown:
                            fixed.append((parent, "unknown key"))
                        unknown[parent] = unknown.get(parent, 0) + 1
                    else:
                        fixed.append((path, message))
                fixed = [
                    (
                        p,
                        m
                        if m != "unknown key" or unknown[p] == 1
                        else f"{unknown[p]} unknown keys",
                    )
                    for p, m in fixed
                ]
                if repr(tuple(fixed)) == b[2:].strip():
                    counts["unknown-key path"] += 1
                    continue
            if a.startswith("E ") and b.startswith("S "):
                errs = ast.literal_eval(a[2:])
                if all(m == "unknown key" and p in ("id", "patient") for p, m in errs):
                    counts["id/patient now known"] += 1
                    continue
            counts["unexplained"] += 1
            if counts["unexplained"] <= 5:
                print(
                    "UNEXPLAINED",
                    text.strip()[:300],
                    "\n  old",
                    a.strip()[:300],
                    "\n  new",
                    b.strip()[:300],
                )
    print(counts)


if __name__ == "__main__":
    if sys.argv[1] == "explain":
        explain(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
    elif sys.argv[1] == "gen":
        count = int(sys.argv[sys.argv.index("--count") + 1]) if "--count" in sys.argv else 50_000
        gen(Path(sys.argv[2]), count)
    else:
        run(
            Path(sys.argv[2]),
            Path(sys.argv[3]),
            as_text="--text" in sys.argv,
            mutate="--mutate" in sys.argv,
        )
