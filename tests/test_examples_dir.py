"""The bundled example visits show what they are meant to show."""

from __future__ import annotations

from pathlib import Path

import pytest

import cptrules
from cptrules.ncci import bundled_tables

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ENGINE = cptrules.Engine(tables=bundled_tables())


@pytest.mark.parametrize(
    ("name", "ok", "rules"),
    [
        ("medicare-visit.json", True, {"units.total-time", "poc.progress-report"}),
        ("medicare-chiro-visit.json", False, {"coverage.chiropractor", "code.same-region"}),
        ("medicare-pt-assistant-visit.json", False, {"modifier.assistant"}),
        ("medicare-ot-kx-visit.json", False, {"modifier.kx"}),
        ("commercial-visit.json", False, {"code.technique"}),
    ],
)
def test_example(name: str, ok: bool, rules: set[str]) -> None:
    report = ENGINE.check((EXAMPLES / name).read_bytes())
    assert report.ok is ok
    assert rules <= report.rules()
    fixed = ENGINE.check(report.fixed())
    assert fixed.ok or name == "medicare-chiro-visit.json"  # same-region has no automatic fix
