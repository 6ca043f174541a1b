"""Rule metadata and examples are data (``data/rules/<module>.toml``), checked at import.

A rule declared in code without its table, a table without its rule, and a bad
value in a table are each a :class:`~cptrules.errors.DataError` naming the file
and the rule id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from cptrules.errors import DataError
from cptrules.payers import bundled_profiles
from cptrules.report import Finding
from cptrules.rules import REGISTRY, _base, _examples

SOURCE = "rules/test.toml"


def _nothing(ctx: Any, r: _base.Rule) -> Iterator[Finding]:
    return iter(())


def _table(**over: Any) -> dict[str, Any]:
    table: dict[str, Any] = {
        "severity": "warning",
        "citation": "CMS Pub. 100-02, ch. 15, sec. 220.3",
        "summary": "A summary.",
        "payers": ["medicare"],
        "confidence": "C-2",
        "examples": [
            {"fails": True, "note": "n", "session": {"base": "pt-visit", "treatment_day": 9}},
        ],
    }
    table.update(over)
    return {k: v for k, v in table.items() if v is not None}


def test_a_table_declares_the_rule() -> None:
    r = _base.declare("x.y", _table(effective=dt.date(2021, 4, 1)), _nothing, source=SOURCE)
    assert (r.id, r.family, r.severity, r.payers, r.confidence) == (
        "x.y",
        "x",
        "warning",
        ("medicare",),
        "C-2",
    )
    assert r.effective == dt.date(2021, 4, 1)
    assert r.until is None
    (example,) = r.examples
    assert example.fails
    assert example.session["treatment_day"] == 9
    assert example.session["date_of_service"] == "2026-03-04"  # from the base session


@pytest.mark.parametrize(
    ("over", "says"),
    [
        ({"severity": "fatal"}, "x.y.severity"),
        ({"confidence": "[S]"}, "x.y.confidence"),
        ({"effective": "2021-04-01"}, "x.y.effective"),
        ({"until": dt.date(2020, 1, 1), "effective": dt.date(2021, 1, 1)}, "x.y.until"),
        ({"needs": ["notes"]}, "x.y.needs"),
        ({"citation": " "}, "x.y.citation"),
        ({"summary": None}, "missing summary"),
        ({"severty": "error"}, "unknown severty"),
        ({"payers": "medicare"}, "x.y.payers"),
        ({"applies": {"no_such_setting": True}}, "x.y.applies"),
        ({"applies": {"unit_caps": False}}, "x.y.applies"),
        ({"examples": [{"fails": "yes", "session": {}}]}, "examples[0]"),
        ({"examples": [{"fails": True, "session": {"base": "nope"}}]}, "examples[0].base"),
        (
            {"examples": [{"fails": True, "session": {"base": "pt-visit", "drop": ["x"]}}]},
            "examples[0].drop",
        ),
    ],
)
def test_a_bad_table_fails_loudly_naming_file_and_key(over: dict[str, Any], says: str) -> None:
    with pytest.raises(DataError, match=r"rules/test\.toml") as info:
        _base.declare("x.y", _table(**over), _nothing, source=SOURCE)
    assert says in str(info.value)


def test_applies_as_data_reads_a_profile_setting() -> None:
    total = _base.declare(
        "x.y", _table(applies={"unit_method": "total-time"}, payers=["*"]), _nothing, source=SOURCE
    )
    capped = _base.declare(
        "x.y", _table(applies={"unit_caps": True}, payers=["*"]), _nothing, source=SOURCE
    )
    profiles = bundled_profiles()
    day = dt.date(2026, 3, 4)
    medicare, commercial = profiles.get("medicare", day), profiles.get("commercial", day)
    assert medicare is not None
    assert commercial is not None
    assert total.for_profile(medicare)
    assert not total.for_profile(commercial)
    assert capped.for_profile(medicare) is bool(medicare.unit_caps)


def test_triggers_in_code_and_in_data_is_an_error() -> None:
    with pytest.raises(DataError, match="given twice"):
        _base.declare("x.y", _table(triggers=["cmt"]), _nothing, source=SOURCE, triggers=("cmt",))


def test_a_rule_without_its_table_fails_at_import() -> None:
    def orphan(ctx: Any, r: _base.Rule) -> Iterator[Finding]:
        return iter(())

    orphan.__module__ = "cptrules.rules.units"
    with pytest.raises(DataError, match=r"rules/units.toml: rule units\.nope has no table"):
        _base.rule("units.nope")(orphan)
    assert "units.nope" not in REGISTRY


def test_a_registered_id_cannot_register_again() -> None:
    with pytest.raises(DataError, match="registered twice"):
        _base.rule("units.total-time")(REGISTRY["units.total-time"].func)


def test_a_table_without_its_rule_fails_at_import() -> None:
    _base.check_declared()  # the bundled data and the registry agree
    without = {k: v for k, v in REGISTRY.items() if k != "doc.timed-minutes"}
    with pytest.raises(DataError, match=r"rules/documentation.toml: no rule registers doc\.timed"):
        _base.check_declared(without)


def test_every_rule_module_has_its_data_file() -> None:
    modules = {r.func.__module__.rsplit(".", 1)[1] + ".toml" for r in REGISTRY.values()}
    assert modules == set(_base._data_files())


def test_an_example_names_only_what_differs_from_its_base() -> None:
    spec = {
        "base": "pt-visit",
        "drop": ["plan_of_care"],
        "total_treatment_minutes": 30,
        "lines": [{"base": "manual", "minutes": 30, "drop": ["documentation"]}],
    }
    session = _examples.expand(spec, "x", SOURCE)
    assert "plan_of_care" not in session
    assert list(session)[-1] == "total_treatment_minutes"  # a new key follows the base's
    (line,) = session["lines"]
    assert line["code"] == "97140"
    assert line["minutes"] == 30
    assert "documentation" not in line
    assert list(line)[:4] == ["code", "units", "modifiers", "minutes"]  # base order kept
