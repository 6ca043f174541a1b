"""code.unknown and code.add-on: the rules that read the code catalog itself."""

from __future__ import annotations

from typing import Any

import pytest

import cptrules
from cptrules.report import Finding, Fix


def visit(*lines: dict[str, Any], **top: Any) -> dict[str, Any]:
    session: dict[str, Any] = {
        "date_of_service": "2026-03-04",
        "payer": "commercial",
        "provider": {"discipline": "PT"},
        "diagnoses": ["M54.50"],
        "lines": list(lines),
    }
    session.update(top)
    return session


def line(code: str, units: int = 1, minutes: int | None = None, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code, "units": units, "modifiers": ["GP"]}
    if minutes is not None:
        out["minutes"] = minutes
    out.update(kw)
    return out


def found(session: dict[str, Any], rule: str) -> list[Finding]:
    return [f for f in cptrules.check(session).findings if f.rule == rule]


# ------------------------------------------------------------------ code.unknown


def test_unknown_code_is_named_as_not_checked() -> None:
    s = visit(line("97110", 2, 30), line("64999"))
    (f,) = found(s, "code.unknown")
    assert (f.line, f.severity, f.fixes) == (1, "info", ())
    assert "64999" in f.message
    assert "nothing about it was checked" in f.message


def test_known_codes_are_silent() -> None:
    assert found(visit(line("97110", 2, 30), line("92526", modifiers=["GN"])), "code.unknown") == []


@pytest.mark.parametrize(
    ("code", "day", "words"),
    [
        ("99201", "2021-01-04", "last in use on 2020-12-31"),
        ("97550", "2023-12-29", "in use from 2024-01-01"),
        ("98978", "2022-06-01", "in use from 2023-01-01"),
    ],
)
def test_code_outside_its_years_is_a_warning(code: str, day: str, words: str) -> None:
    (f,) = found(visit(line(code), date_of_service=day), "code.unknown")
    assert f.severity == "warning"
    assert words in f.message


def test_code_inside_its_years_is_silent() -> None:
    assert found(visit(line("99201"), date_of_service="2020-12-31"), "code.unknown") == []


# ------------------------------------------------------------------ code.add-on


@pytest.mark.parametrize(
    ("addon", "primary"),
    [("97130", "97129"), ("97811", "97810"), ("97814", "97813"), ("97598", "97597")],
)
def test_add_on_needs_its_primary(addon: str, primary: str) -> None:
    alone = visit(line(addon, 1, 15))
    (f,) = found(alone, "code.add-on")
    assert (f.line, f.severity, f.fixes) == (0, "error", ())
    assert primary in f.message
    assert found(visit(line(primary, 1, 15), line(addon, 1, 15)), "code.add-on") == []


def test_97814_accepts_either_initial_code() -> None:
    assert found(visit(line("97810"), line("97814")), "code.add-on") == []


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("20560", "20561"),
        ("98940", "98941"),
        ("97161", "97164"),
        ("97165", "97167"),
        ("97810", "97813"),
        ("99213", "99214"),
    ],
)
def test_siblings_of_a_once_per_day_group(first: str, second: str) -> None:
    (f,) = found(visit(line(first), line(second)), "code.add-on")
    assert (f.line, f.fixes) == (1, ())
    assert first in f.message
    assert second in f.message


def test_same_once_per_day_code_on_two_lines_is_left_to_units_untimed() -> None:
    s = visit(line("92507"), line("92507"))
    assert found(s, "code.add-on") == []
    assert [f.fixes for f in found(s, "units.untimed")] == [(Fix("remove_line", 1),)]


def test_same_timed_once_per_day_code_on_two_lines() -> None:
    (f,) = found(visit(line("97129", 1, 15), line("97129", 1, 10)), "code.add-on")
    assert f.fixes == (Fix("remove_line", 1),)


def test_timed_once_per_day_code_billed_twice() -> None:
    (f,) = found(visit(line("97129", 2, 30)), "code.add-on")
    assert f.fixes == (Fix("set_units", 0, 1),)


def test_plain_visit_is_silent() -> None:
    s = visit(line("97110", 2, 30), line("97140", 1, 15), line("97012"))
    assert found(s, "code.add-on") == []


def test_no_medicare_wording_under_a_commercial_payer() -> None:
    for f in found(visit(line("20560"), line("20561"), line("97811")), "code.add-on"):
        assert "Medicare" not in f.message
