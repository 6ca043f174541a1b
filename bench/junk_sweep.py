"""Junk sweep: no exception outside cptrules' own tree, whatever the input.

Run by hand (not in CI; tests/test_junk_sweep.py runs a small sweep):

    .venv/bin/python bench/junk_sweep.py [--inputs 1000000]

Hypothesis draws junk of every shape: JSON values of any type, valid sessions
with fields replaced by junk, unknown keys, Python objects (dates, Decimals,
tuples, mappings, str and dict subclasses, objects whose comparisons raise),
JSON text and bytes with byte order marks, duplicate keys, huge numbers and
deep nesting. Each input goes through ``load_session`` and ``check``; what
parses goes through ``dump_session`` (and back), the report's fixes and a junk
fix through ``apply_fixes``. Any exception that is not a ``CptRulesError`` is
a failure: the script prints the first few and exits 1. It prints the number
of inputs and the time taken.

Each Hypothesis example carries a batch of inputs (junk of each kind, and one
drawn junk value put in every slot of a valid session, one input per slot), and
the run is split into seeded runs, so that Hypothesis' own bookkeeping stays small.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import types
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

import cptrules
from cptrules import Fix, apply_fixes, check, dump_session, load_session
from cptrules.errors import CptRulesError

VALID: dict[str, Any] = {
    "id": "v-1",
    "date_of_service": "2026-03-04",
    "payer": "medicare",
    "provider": {"discipline": "PT", "npi": "1234567893"},
    "diagnoses": ["M54.50", "M62.81"],
    "plan_of_care": {"start": "2026-02-01", "end": "2026-04-30", "signed": "2026-02-10"},
    "treatment_day": 4,
    "progress_report": False,
    "therapy_ytd_allowed": {"pt_slp": 1820.5, "ot": 0},
    "total_treatment_minutes": 60,
    "lines": [
        {
            "code": "97140",
            "minutes": 23,
            "units": 2,
            "modifiers": ["GP"],
            "regions": ["lumbar"],
            "techniques": ["joint_mobilization"],
            "assistant_minutes": 0,
            "diagnosis_pointers": [1],
            "start": "10:05",
            "end": "10:28",
            "documentation": {"response": "r", "rationale": "s", "goals": "g"},
        },
        {"code": "20561", "muscles": 3, "modifiers": ["GP"]},
    ],
}


class Hostile:
    """An object whose hash, equality and comparisons misbehave."""

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    def __lt__(self, other: object) -> bool:
        raise RuntimeError("lt")

    def __hash__(self) -> int:
        return hash("payer")

    def __len__(self) -> int:
        raise RuntimeError("len")


class StrSub(str):
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    def __hash__(self) -> int:
        raise RuntimeError("hash")


class DictSub(dict):  # type: ignore[type-arg]
    pass


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(10**400), 10**400),
    st.floats(),
    st.text(max_size=30),
    st.sampled_from(["2026-03-04", "97110", "GP", "lumbar", "10:05", "PT", "medicare", "M54.50"]),
    st.dates(),
    st.times(),
    st.datetimes(),
    st.decimals(),
    st.binary(max_size=10),
    st.builds(Hostile),
    st.builds(StrSub, st.sampled_from(["payer", "PT", "97110", "GP"])),
)
keys = st.text(max_size=8) | st.integers() | st.none() | st.booleans()
odd_keys = keys | st.builds(Hostile) | st.builds(StrSub, st.sampled_from(["payer", "code"]))
values = st.recursive(
    scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4),
        st.lists(kids, max_size=4).map(tuple),
        st.dictionaries(keys, kids, max_size=4),
        st.dictionaries(st.text(max_size=8), kids, max_size=4).map(types.MappingProxyType),
        st.dictionaries(st.text(max_size=8), kids, max_size=4).map(DictSub),
    ),
    max_leaves=12,
)


def _slots(node: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((node, key))
            _slots(value, out)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.append((node, i))
            _slots(value, out)
    return out


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    """The valid session with some values replaced, keys added or removed."""
    data = json.loads(json.dumps(VALID))
    for _ in range(draw(st.integers(1, 4))):
        slots = _slots(data, [])
        container, key = draw(st.sampled_from(slots))
        action = draw(st.integers(0, 2))
        if action == 0:
            container[key] = draw(values)
        elif action == 1 and isinstance(container, dict):
            del container[key]
        elif isinstance(container, dict):
            with contextlib.suppress(Exception):  # a hostile key may refuse to go in
                container[draw(odd_keys)] = draw(values)
    return data


@st.composite
def texts(draw: st.DrawFn) -> Any:
    """JSON text or bytes: valid, cut, with a BOM, duplicate keys, long numbers, nesting."""
    base = json.dumps(draw(mutated() | st.just(VALID)), default=str, skipkeys=True)
    pick = draw(st.integers(0, 6))
    if pick == 0:
        text = base[: draw(st.integers(0, len(base)))]
    elif pick == 1:
        text = "\ufeff" + base
    elif pick == 2:
        text = base.replace('"payer"', '"payer": "x", "payer"', 1)
    elif pick == 3:
        text = base.replace('"minutes": 23', '"minutes": ' + "9" * draw(st.integers(1, 6000)))
    elif pick == 4:
        depth = draw(st.integers(1, 5000))
        text = base.replace('"GP"', "[" * depth + "]" * depth, 1)
    elif pick == 5:
        text = base.replace("23", draw(st.sampled_from(["NaN", "Infinity", "-0", "1e999"])), 1)
    else:
        text = base
    if draw(st.booleans()):
        encoding = draw(st.sampled_from(["utf-8", "utf-16", "latin-1"]))
        return text.encode(encoding, errors="replace")
    return text


junk = st.one_of(values, mutated(), texts())
fix_values = st.none() | st.integers(-5, 2000) | st.text(max_size=6) | st.sampled_from(["GP"])
fixes = st.tuples(
    st.sampled_from(["set_units", "add_modifier", "remove_modifier", "replace_code", "remove_line"])
    | st.text(max_size=5),
    st.integers(-3, 5) | st.booleans(),
    fix_values,
)


def exercise(data: Any, fix: tuple[Any, Any, Any]) -> None:
    """Everything the public API does with one input; only CptRulesError may escape."""
    try:
        session = load_session(data)
    except CptRulesError:
        with contextlib.suppress(CptRulesError):
            check(data)
        return
    assert load_session(dump_session(session)) == session
    try:
        report = check(session)
    except CptRulesError:
        return
    report.to_dict()
    repr(report)
    with contextlib.suppress(CptRulesError):
        report.fixed()
    with contextlib.suppress(CptRulesError):
        apply_fixes(session, [Fix(*fix)])


def _variants(value: Any, slots: int) -> list[Any]:
    """The valid session with ``value`` put in each of its first ``slots`` slots."""
    out = []
    for k in range(slots):
        data = json.loads(_VALID_TEXT)
        container, key = _slots(data, [])[k]
        container[key] = value
        out.append(data)
    return out


_VALID_TEXT = json.dumps(VALID)
_SLOTS = len(_slots(VALID, []))


@st.composite
def cases(draw: st.DrawFn) -> list[tuple[Any, tuple[Any, Any, Any]]]:
    """One example's inputs: junk of each kind, and one junk value in every slot."""
    fix = draw(fixes)
    inputs = [draw(values), draw(mutated()), draw(texts())]
    inputs += _variants(draw(values), _SLOTS)
    return [(data, fix) for data in inputs]


def sweep(
    inputs: int, on_failure: Callable[[Any, BaseException], None] | None = None
) -> tuple[int, int]:
    """Run at least ``inputs`` junk inputs; (inputs run, failures)."""
    done = 0
    failures = 0
    per_run = 500  # examples per seeded run
    per_example = 3 + _SLOTS
    run_seed = 0
    while done < inputs:

        @seed(run_seed)
        @settings(
            max_examples=min(per_run, -(-(inputs - done) // per_example)),
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(cases())
        def run(batch: list[tuple[Any, tuple[Any, Any, Any]]]) -> None:
            nonlocal done, failures
            for data, fix in batch:
                done += 1
                try:
                    exercise(data, fix)
                except Exception as exc:
                    failures += 1
                    if on_failure is not None:
                        on_failure(data, exc)

        run()
        run_seed += 1
    return done, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    shown: list[str] = []

    def report(data: Any, exc: BaseException) -> None:
        if len(shown) < 5:
            shown.append(f"{type(exc).__name__}: {exc!s:.200} from {data!r:.300}")
            print(shown[-1], file=sys.stderr)

    start = time.perf_counter()
    done, failures = sweep(args.inputs, report)
    took = time.perf_counter() - start
    print(
        f"cptrules {cptrules.__version__}: {done} junk inputs in {took:.0f} s "
        f"({done / took:.0f}/s), {failures} exceptions outside CptRulesError"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
