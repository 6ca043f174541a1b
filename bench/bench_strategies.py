"""Benchmark the Hypothesis strategies: draws per second, as a user's test sees them.

Run by hand (not in CI):

    .venv/bin/python bench/bench_strategies.py [--examples 2000]

For each payer it runs a ``@given`` test of ``--examples`` draws (generation
phase only: no shrinking, no example database, no deadline) and prints draws
per second of ``clean_sessions``, then the same with ``cptrules.check`` on
every draw, then ``faulty_sessions`` (every rule, any payer), ``sessions`` and
``invalid_session_dicts``. The figures include Hypothesis's own per-example
overhead, which is what a user's test pays. The load average is printed first.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import cptrules
from cptrules import strategies
from cptrules.strategies import _data
from cptrules.strategies._build import env_of
from cptrules.strategies._faults import FAULTS


def _rate(strategy: st.SearchStrategy[Any], n: int, body: Callable[[Any], object]) -> float:
    count = 0

    @settings(
        max_examples=n,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(value: Any) -> None:
        nonlocal count
        count += 1
        body(value)

    start = time.perf_counter()
    run()
    return count / (time.perf_counter() - start)


def main() -> None:
    """Print draws per second for each strategy."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=2000, help="draws per measurement")
    n = parser.parse_args().examples
    print(f"load average: {os.getloadavg()[0]:.2f}; {n} draws per line")
    print("clean_sessions, draws/s (draw only | draw + check):")
    for payer in _data.payer_ids():
        strategy = strategies.clean_sessions(payer=payer)
        _rate(strategy, 50, lambda s: None)  # warm caches (catalog, profiles, tables)
        bare = _rate(strategy, n, lambda s: None)
        checked = _rate(strategy, n, cptrules.check)
        print(f"  {payer:16s} {bare:8.0f} | {checked:8.0f}")
    env = env_of(None)
    rules = sorted(r for r, f in FAULTS.items() if f.available(env))
    faulty = st.sampled_from(rules).flatmap(lambda r: strategies.faulty_sessions(rule=r))
    print(f"faulty_sessions (any of {len(rules)} rules): {_rate(faulty, n, lambda s: None):.0f}")
    print(f"sessions:                            {_rate(strategies.sessions(), n, repr):.0f}")
    invalid = strategies.invalid_session_dicts()
    print(f"invalid_session_dicts:               {_rate(invalid, n, repr):.0f}")


if __name__ == "__main__":
    main()
