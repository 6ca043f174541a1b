"""modifier.telehealth: the list windows by date of service, the modifiers, the scope."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cptrules
from cptrules import strategies as cs
from cptrules.catalog import catalog
from cptrules.models import Session
from cptrules.rules.telehealth import telehealth_list

RULE = "modifier.telehealth"


def visit(day: str, *lines: dict[str, Any], payer: str = "medicare") -> dict[str, Any]:
    return {
        "date_of_service": day,
        "payer": payer,
        "provider": {"discipline": "PT"},
        "lines": list(lines),
    }


def tele(code: str, *mods: str) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code, "modifiers": ["GP", *mods]}
    if catalog().timed(code):
        out["minutes"] = 23
    return out


def found(data: dict[str, Any], engine: cptrules.Engine | None = None) -> list[cptrules.Finding]:
    report = (engine or cptrules.default_engine()).check(data)
    return [f for f in report.findings if f.rule == RULE]


@pytest.mark.parametrize(
    ("code", "day", "fires"),
    [
        ("97110", "2020-02-29", True),  # before the emergency rules: no therapy code
        ("97110", "2020-03-01", False),
        ("97530", "2020-03-01", False),  # added 2020-04-30, back to 2020-03-01
        ("97110", "2023-12-31", False),
        ("97110", "2024-01-01", False),  # provisional from CY 2024
        ("97530", "2025-12-31", False),
        ("97140", "2020-06-01", True),  # manual therapy: never on the list
        ("97140", "2024-06-01", True),
        ("98940", "2022-06-01", True),
        ("97124", "2021-06-01", True),
    ],
)
def test_list_windows_by_date_of_service(code: str, day: str, fires: bool) -> None:
    got = found(visit(day, tele(code, "95")))
    assert bool(got) is fires
    for f in got:
        assert (f.severity, f.line, f.fixes) == ("warning", 0, ())
        assert code in f.message
        assert "95" in f.message


@pytest.mark.parametrize("mod", ["95", "GT", "FQ", "FR"])
def test_every_telehealth_modifier_counts(mod: str) -> None:
    assert catalog().modifiers[mod].kind == "telehealth"
    (f,) = found(visit("2024-06-01", tele("97140", mod)))
    assert mod in f.message


def test_in_person_visits_are_not_checked_at_all() -> None:
    assert found(visit("2024-06-01", tele("97140"), tele("98940"))) == []


def test_dates_past_the_bundled_list_are_named_not_checked() -> None:
    (f,) = found(visit("2026-03-04", tele("97140", "95"), tele("97110", "95")))
    assert (f.severity, f.line) == ("info", None)
    assert "97110, 97140" in f.message
    assert "2025-12-31" in f.message


def test_codes_outside_the_scope_are_named_not_checked() -> None:
    got = found(visit("2024-06-01", tele("97140", "95"), {"code": "99213", "modifiers": ["95"]}))
    assert sorted((f.severity, str(f.line)) for f in got) == [("info", "None"), ("warning", "0")]
    (info,) = [f for f in got if f.line is None]
    assert "99213" in info.message


def test_commercial_payers_do_not_run_it_unless_switched_on(tmp_path: Path) -> None:
    data = visit("2024-06-01", tele("97140", "95"), payer="commercial")
    assert found(data) == []
    path = tmp_path / "tele.toml"
    path.write_text(
        'id = "tele"\nname = "Tele Health Plan"\nextends = "commercial"\n'
        'effective = 2020-01-01\nsource = "test profile"\n'
        '[rules]\non = ["modifier.telehealth"]\n',
        encoding="utf-8",
    )
    engine = cptrules.Engine(profiles=[path])
    (f,) = found(data | {"payer": "tele"}, engine)
    assert "Tele Health Plan" in f.message
    assert "Medicare" not in f.message


def test_medicare_can_switch_it_off(tmp_path: Path) -> None:
    path = tmp_path / "medicare.toml"
    bundled = Path(cptrules.__file__).parent / "data" / "payers" / "medicare.toml"
    text = bundled.read_text(encoding="utf-8") + '\n[rules]\noff = ["modifier.telehealth"]\n'
    path.write_text(text, encoding="utf-8")
    engine = cptrules.Engine(profiles=[path])
    assert found(visit("2024-06-01", tele("97140", "95")), engine) == []


def test_the_data_file_is_consistent() -> None:
    listed = telehealth_list()
    assert listed.modifiers == {"95", "GT", "FQ", "FR"}
    for w in listed.windows:
        assert w.codes <= listed.scope
        assert w.until is None or w.effective <= w.until
        assert w.source
        assert w.confidence
        assert "[" not in w.confidence  # in words, never a bare tag
    assert listed.checked_through == dt.date(2025, 12, 31)
    # manual therapy and CMT are in scope and on no list
    for code in ("97140", "98940", "98941", "98942"):
        assert code in listed.scope
        assert all(code not in w.codes for w in listed.windows)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(session=cs.clean_sessions(payer="medicare"), mod=st.sampled_from(["95", "GT", "FQ", "FR"]))
def test_a_telehealth_modifier_fires_exactly_off_the_list(session: Session, mod: str) -> None:
    """On a clean visit, adding a telehealth modifier to every line fires on exactly the
    lines whose code the bundled list does not carry that day."""
    listed = telehealth_list()
    day = session.date_of_service
    lines = tuple(attrs.evolve(x, modifiers=(*x.modifiers, mod)) for x in session.lines)
    got = found(cptrules.dump_session(attrs.evolve(session, lines=lines)))
    if day > listed.checked_through:
        assert [(f.severity, f.line) for f in got] == [("info", None)]
        return
    expected = {
        i
        for i, x in enumerate(lines)
        if x.code in listed.scope and listed.on_list(x.code, day) is None
    }
    assert {f.line for f in got if f.severity == "warning"} == expected
    assert cptrules.check(session).findings == cptrules.check(session).findings
    assert not [f for f in cptrules.check(session).findings if f.rule == RULE]
