"""A small junk sweep in CI: bench/junk_sweep.py runs the million-input one by hand."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "junk_sweep.py"


def test_no_exception_outside_the_library_tree() -> None:
    spec = importlib.util.spec_from_file_location("junk_sweep", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    failures: list[str] = []

    def record(data: Any, exc: BaseException) -> None:
        failures.append(f"{type(exc).__name__}: {exc!s:.200} from {data!r:.300}")

    done, count = sweep.sweep(2000, record)
    assert done >= 2000
    assert count == 0, failures[:5]
