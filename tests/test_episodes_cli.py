"""``cptrules check --episodes``: the starting amount, the calendar year, and the rule catalog.

The episode rules are registered like every rule (listed by ``cptrules rules``,
marked as needing a series of visits) and never run by ``check()`` on one visit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import cptrules
from cptrules import cli
from cptrules.episodes import EPISODE_RULES
from cptrules.rules import REGISTRY

FIX = Path(__file__).parent / "fixtures" / "pfs"


@pytest.fixture
def store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A fee store with the synthetic fixture release and its GPCI copied to 2025 and 2026."""
    fees = tmp_path / "fees"
    files = [str(FIX / "PPRRVU24_JAN.csv")]
    for year in (2025, 2026):
        gpci = tmp_path / f"GPCI{year}.csv"
        gpci.write_text((FIX / "GPCI2024.csv").read_text().replace("2024", str(year)))
        files.append(str(gpci))
    assert cli.main(["data", "import", *files, "--fees", str(fees)]) == 0
    capsys.readouterr()
    return fees


def _visit(day: str, *mods: str, **top: Any) -> dict[str, Any]:
    return {
        "patient": "p-7",
        "date_of_service": day,
        "payer": "medicare",
        "provider": {"discipline": "PT"},
        "diagnoses": ["M54.50"],
        "plan_of_care": {"start": "2025-12-15", "end": "2026-03-14", "signed": "2025-12-16"},
        "treatment_day": 2,
        "total_treatment_minutes": 61,
        "lines": [
            {"code": "97110", "minutes": 38, "units": 3, "modifiers": ["GP", *mods]},
            {"code": "97140", "minutes": 23, "units": 1, "modifiers": ["GP", *mods]},
        ],
        **top,
    }


def _run(
    tmp_path: Path, store: Path, visits: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> list[dict[str, Any]]:
    path = tmp_path / "visits.jsonl"
    path.write_text("".join(json.dumps(v) + "\n" for v in visits))
    args = ["check", "--episodes", "--format", "jsonl", "-q", str(path)]
    cli.main([*args, "--fees", str(store), "--locality", "99999-01"])
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def _rules(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["rule"], f["severity"]) for f in doc["findings"]}


def test_the_first_visits_own_amount_starts_the_patients_year(
    tmp_path: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # $2,400 allowed before the first visit; its lines take the year past $2,480 (2026).
    first = _visit("2026-01-12", therapy_ytd_allowed={"pt_slp": 2400, "ot": 0})
    second = _visit("2026-01-14")
    docs = _run(tmp_path, store, [first, second], capsys)
    assert ("episode.kx-crossed", "error") in _rules(docs[0])
    # the second visit starts above the threshold: modifier.kx asks for KX on each line
    kx = [f for f in docs[1]["findings"] if f["rule"] == "modifier.kx"]
    assert [(f["line"], f["severity"]) for f in kx] == [(0, "error"), (1, "error")]
    assert not any(f["rule"] == "episode.not-checked" for d in docs for f in d["findings"])


def test_without_a_starting_amount_kx_is_not_checked(
    tmp_path: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = _run(tmp_path, store, [_visit("2026-01-12"), _visit("2026-01-14")], capsys)
    for doc in docs:
        assert ("episode.not-checked", "info") in _rules(doc)
        assert not any(f["rule"] in ("modifier.kx", "episode.kx-crossed") for f in doc["findings"])


def test_a_visit_of_a_later_year_starts_the_year_again_at_zero(
    tmp_path: Path, store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # December 2025: $2,470 allowed before the visit, KX billed (2025 threshold $2,410).
    december = _visit("2025-12-29", "KX", therapy_ytd_allowed={"pt_slp": 2470, "ot": 0})
    # January 2026 without KX: carried over, $2,470 + December's lines would be past $2,480.
    january = _visit("2026-01-05")
    docs = _run(tmp_path, store, [december, january], capsys)
    assert not any(f["rule"] == "modifier.kx" for f in docs[0]["findings"])
    assert not any(
        f["rule"] in ("modifier.kx", "episode.kx-crossed", "episode.not-checked")
        for f in docs[1]["findings"]
    )
    # in any input order: the visits are taken in date order
    again = _run(tmp_path, store, [january, december], capsys)
    assert [d["findings"] for d in again] == [docs[1]["findings"], docs[0]["findings"]]


def test_cptrules_rules_lists_the_episode_rules_marked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["rules", "--format", "json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    for rule_id in EPISODE_RULES:
        assert rows[rule_id]["episode"] is True
        assert rows[rule_id]["citation"]
        assert rows[rule_id]["payers"]
    assert rows["units.total-time"]["episode"] is False
    assert cli.main(["rules"]) == 0
    text = capsys.readouterr().out
    block = text[text.index("episode.kx-crossed") :].splitlines()
    assert "needs a series of visits" in block[1]


def test_episode_rules_are_registered_and_never_run_by_check() -> None:
    assert {r.id for r in REGISTRY.values() if r.episode} == set(EPISODE_RULES)
    assert all(REGISTRY[i] is EPISODE_RULES[i] for i in EPISODE_RULES)
    engine = cptrules.Engine()
    for rule in EPISODE_RULES.values():
        for example in rule.examples:
            for visit in (*example.before, example.session):
                report = engine.check(dict(visit))
                assert not [f for f in report.findings if f.rule.startswith("episode.")]
    profile = engine.profiles.get(
        "medicare", cptrules.load_session(_visit("2026-01-12")).date_of_service
    )
    assert profile is not None
    assert not [r for r in engine.plan(profile).rules if r.episode]


def test_episode_rules_are_switched_off_and_regraded_like_every_rule() -> None:
    visits = [_visit("2026-01-12", treatment_day=5), _visit("2026-01-14", treatment_day=9)]
    plain = cptrules.check_episode(visits)
    given = [f for f in plain.visits[1].report.findings if f.rule == "episode.given-value"]
    assert [f.severity for f in given] == ["info"]
    off = cptrules.check_episode(visits, engine=cptrules.Engine(disabled={"episode.given-value"}))
    assert not [f for f in off.visits[1].report.findings if f.rule == "episode.given-value"]
    loud = cptrules.Engine(severities={"episode.given-value": "warning"})
    graded = cptrules.check_episode(visits, engine=loud)
    assert [
        f.severity for f in graded.visits[1].report.findings if f.rule == "episode.given-value"
    ] == ["warning"]
