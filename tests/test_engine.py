"""The engine: profiles by id and date, switches, re-grading, reports and fixes."""

from __future__ import annotations

import concurrent.futures
import copy
import json
from pathlib import Path
from typing import Any

import pytest

import cptrules
from cptrules import ConfigError, InvalidSessionError, NoRuleDataError, ProfileError
from cptrules.ncci import bundled_tables
from cptrules.report import Fix, apply_fixes

TABLES = bundled_tables()

BASE: dict[str, Any] = {
    "date_of_service": "2026-03-04",
    "payer": "medicare",
    "provider": {"discipline": "PT"},
    "plan_of_care": {"start": "2026-02-01", "end": "2026-04-30", "signed": "2026-02-10"},
    "treatment_day": 3,
    "total_treatment_minutes": 45,
    "lines": [
        {"code": "97110", "minutes": 33, "units": 3, "modifiers": ["GP"]},
        {"code": "97112", "minutes": 7, "units": 0, "modifiers": ["GP"]},
    ],
}


def engine(**kw: Any) -> cptrules.Engine:
    return cptrules.Engine(tables=TABLES, **kw)


def test_report_shape_and_order() -> None:
    report = engine().check(BASE)
    d = report.to_dict()
    assert list(d) == [
        "ok",
        "payer",
        "date_of_service",
        "data_version",
        "data",
        "units",
        "findings",
    ]
    assert set(d["data"]) == {"codes", "ncci_ptp", "ncci_mue"}
    assert d["ok"] is False
    assert d["units"][0] == {"line": 0, "code": "97110", "billed": 3, "expected": 2}
    keys = [f.sort_key() for f in report.findings]
    assert keys == sorted(keys)
    assert json.loads(json.dumps(d)) == d


def test_payer_override_changes_method() -> None:
    medicare = engine().check(BASE)
    commercial = engine().check(BASE, payer="commercial")
    assert "units.total-time" in medicare.rules()
    assert "units.total-time" not in commercial.rules()
    assert commercial.payer == "commercial"
    assert "profile commercial@" in commercial.data_version


def test_unknown_payer_is_invalid_input() -> None:
    with pytest.raises(InvalidSessionError) as info:
        engine().check(BASE, payer="nobody")
    assert info.value.errors[0][0] == "payer"


def test_date_before_rule_data_is_a_clear_error() -> None:
    old = copy.deepcopy(BASE)
    old["date_of_service"] = "2019-12-31"
    with pytest.raises(NoRuleDataError, match="before 2020-01-01"):
        engine().check(old)


def test_disabled_and_regraded_rules() -> None:
    quiet = engine(disabled=["units.total-time"]).check(BASE)
    assert "units.total-time" not in quiet.rules()
    soft = engine(severities={"units.total-time": "info"}).check(BASE)
    assert {f.severity for f in soft.findings if f.rule == "units.total-time"} == {"info"}


@pytest.mark.parametrize(
    "kw",
    [{"disabled": ["no.such-rule"]}, {"severities": {"units.total-time": "fatal"}}, {"tables": 5}],
)
def test_bad_engine_options(kw: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        cptrules.Engine(**kw) if "tables" in kw else engine(**kw)


def test_fixed_applies_every_fix() -> None:
    report = engine().check(BASE)
    fixed = report.fixed()
    assert [line.units for line in fixed.lines] == [2, 1]
    assert engine().check(fixed).ok


def test_apply_fixes_actions_and_bad_index() -> None:
    s = cptrules.load_session(BASE)
    out = apply_fixes(
        s,
        [
            Fix("add_modifier", 0, "KX"),
            Fix("add_modifier", 0, "KX"),
            Fix("remove_modifier", 1, "GP"),
            Fix("replace_code", 1, "97116"),
            Fix("set_units", 1, 1),
        ],
    )
    assert out.lines[0].modifiers == ("GP", "KX")
    assert out.lines[1].modifiers == ()
    assert (out.lines[1].code, out.lines[1].units) == ("97116", 1)
    assert len(apply_fixes(s, [Fix("remove_line", 0)]).lines) == 1
    with pytest.raises(InvalidSessionError) as exc:
        apply_fixes(s, [Fix("set_units", 5, 1)])
    assert exc.value.errors == (("fixes[0]", "names a line that does not exist"),)
    with pytest.raises(InvalidSessionError, match="every line"):
        apply_fixes(s, [Fix("remove_line", 0), Fix("remove_line", 1)])
    with pytest.raises(InvalidSessionError) as exc:  # units -1: refused as the Fix is made
        apply_fixes(s, [Fix("set_units", 0, -1)])
    assert [path for path, _ in exc.value.errors] == ["fix"]


def test_check_takes_session_dict_or_json() -> None:
    a = engine().check(BASE)
    b = engine().check(json.dumps(BASE))
    c = engine().check(cptrules.load_session(BASE))
    assert a.to_dict() == b.to_dict() == c.to_dict()


def test_engine_is_safe_to_share_between_threads() -> None:
    e = engine()
    sessions = []
    for minutes in range(8, 68):
        s = copy.deepcopy(BASE)
        s["lines"][0]["minutes"] = minutes
        sessions.append(s)
    expected = [e.check(s).to_dict() for s in sessions]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda s: engine_shared.check(s).to_dict(), sessions * 4))
    assert got == expected * 4


engine_shared = cptrules.Engine(tables=TABLES)


def test_default_check_uses_a_shared_engine() -> None:
    assert cptrules.default_engine() is cptrules.default_engine()
    assert cptrules.check(BASE).to_dict()["units"] == engine().check(BASE).to_dict()["units"]


# -- user profiles ---------------------------------------------------------------------

PROFILE = """
id = "acme"
name = "Acme Health"
extends = "commercial"
effective = 2024-01-01
source = "Acme provider manual 2024"
unit_method = "total-time"

[sources]
unit_method = "Acme manual p. 12"

[severities]
"units.total-time" = "warning"
"""


def write(tmp_path: Path, text: str, name: str = "acme.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_user_profile_extends_and_regrades(tmp_path: Path) -> None:
    e = engine(profiles=[write(tmp_path, PROFILE)])
    report = e.check(BASE, payer="acme")
    assert {f.severity for f in report.findings if f.rule == "units.total-time"} == {"warning"}
    assert "units.per-code" not in report.rules()
    old = copy.deepcopy(BASE)
    old["date_of_service"] = "2023-12-31"
    with pytest.raises(NoRuleDataError, match="acme"):
        e.check(old, payer="acme")


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (('unit_method = "total-time"', 'unit_method = "hourly"'), "unit_method"),
        (("[sources]\nunit_method", "[sources]\nother"), "unit_method"),
        (('extends = "commercial"', 'extends = "nobody"'), "extends"),
        (("effective = 2024-01-01", 'effective = "2024"'), "effective"),
        (
            ('"units.total-time" = "warning"', '"units.total-time" = "loud"'),
            "severities.units.total-time",
        ),
        (('name = "Acme Health"', 'name = "Acme"\ncolour = "red"'), "colour"),
    ],
)
def test_bad_profile_names_file_and_key(tmp_path: Path, change: tuple[str, str], key: str) -> None:
    path = write(tmp_path, PROFILE.replace(*change))
    with pytest.raises(ProfileError) as info:
        engine(profiles=[path])
    assert info.value.source == str(path)
    assert info.value.key == key
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("extra", "key"),
    [('[rules]\noff = ["units.totaltime"]', "rules.off"), ('"units.totl" = "info"', "severities")],
)
def test_profile_with_unknown_rule_id(tmp_path: Path, extra: str, key: str) -> None:
    text = PROFILE + "\n" + extra + "\n" if key != "severities" else PROFILE + extra + "\n"
    path = write(tmp_path, text)
    with pytest.raises(ProfileError, match="unknown rule id") as info:
        engine(profiles=[path])
    assert (info.value.source, info.value.key) == (str(path), key)


def test_unreadable_and_malformed_profile(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read"):
        engine(profiles=[tmp_path / "missing.toml"])
    with pytest.raises(ProfileError, match="not valid TOML"):
        engine(profiles=[write(tmp_path, "id = ")])


def test_profile_versions_side_by_side(tmp_path: Path) -> None:
    v1 = PROFILE.replace("effective = 2024-01-01", "effective = 2024-01-01\nuntil = 2025-12-31")
    v2 = PROFILE.replace("effective = 2024-01-01", "effective = 2026-01-01").replace(
        '"units.total-time" = "warning"', '"units.total-time" = "info"'
    )
    e = engine(profiles=[write(tmp_path, v1, "a.toml"), write(tmp_path, v2, "b.toml")])
    late = e.check(BASE, payer="acme")
    assert {f.severity for f in late.findings if f.rule == "units.total-time"} == {"info"}
    early = copy.deepcopy(BASE)
    early["date_of_service"] = "2025-12-31"
    early["plan_of_care"] = {"start": "2025-12-01", "end": "2026-01-31", "signed": "2025-12-02"}
    got = e.check(early, payer="acme")
    assert {f.severity for f in got.findings if f.rule == "units.total-time"} == {"warning"}
    overlap = v2.replace("effective = 2026-01-01", "effective = 2025-06-01")
    with pytest.raises(ProfileError, match="overlap"):
        engine(profiles=[write(tmp_path, v1, "a.toml"), write(tmp_path, overlap, "b.toml")])


def test_bundled_profiles_lineage() -> None:
    profiles = cptrules.default_engine().profiles
    assert set(profiles.ids()) >= {"medicare", "commercial", "aetna", "anthem", "uhc-commercial"}
    for pid in profiles.ids():
        for p in profiles.versions[pid]:
            assert p.source
            assert p.lineage[0] == pid
    uhc = profiles.versions["uhc-commercial"][0]
    assert uhc.unit_method == "total-time"
    assert uhc.is_a("commercial")
    assert "unit_method" in uhc.sources


def test_clear_caches_empties_every_memo_of_engine_report_and_ncci(tmp_path: Path) -> None:
    """The engine's, the report encoder's and the edit tables' memos: all emptied at once."""
    from cptrules import ncci
    from cptrules import report as report_mod
    from cptrules.ncci import store as store_mod

    eng = engine()
    report = eng.check(BASE)
    report_mod.encode_report(report)
    report_mod.encode_report(report, 2, "  ")
    memory = ncci.MemoryTables("t", [], {"97110": ncci.MueEdit("97110", 4, 3, "x", "s")})
    memory.ptp(frozenset({"97110", "97140"}), report.date_of_service)
    memory.mue(frozenset({"97110"}), report.date_of_service)
    store_mod._shared_date(20260101)
    plan = next(iter(eng._plans.values()))  # white box: the engine's own memos
    route_runs = next(iter(eng._routes.values())).runs
    memos = [
        eng._plans,
        eng._routes,
        eng._unit_rows,
        plan._days,
        plan._runs,
        route_runs,
        report_mod._QUOTED,
        report_mod._MESSAGES,
        report_mod._ISO,
        report_mod._ENCODERS,
        memory._ptp_answers,
        memory._mue_answers,
        store_mod._DATES,
    ]
    assert all(len(m) for m in memos), [m for m in memos if not len(m)]
    cptrules.clear_caches()
    assert [m for m in memos if len(m)] == []
    assert eng.check(BASE) == report  # answers never depend on a cache


def test_a_plan_of_care_near_the_last_date_does_not_overflow() -> None:
    """A start after 9999-12-01 made start + 30 days raise OverflowError out of check()."""
    visit = {
        **BASE,
        "date_of_service": "9999-12-31",
        "plan_of_care": {"start": "9999-12-15", "end": "9999-12-31", "signed": None},
    }
    report = engine().check(visit)
    assert "poc.unsigned" in report.rules()
    late = {**visit, "plan_of_care": {**visit["plan_of_care"], "signed": "9999-12-31"}}
    assert "poc.unsigned" not in engine().check(late).rules()


def test_rules_in_force_follow_the_date_of_service_on_one_engine() -> None:
    """The engine keeps what it looked up per period of dates: a rule that starts on a
    day (units.single-line, 2021-04-01) runs from that day on, not the day before."""
    e = engine()
    split = copy.deepcopy(BASE)
    split["lines"] = [
        {"code": "97110", "minutes": 15, "units": 1, "modifiers": ["GP"]},
        {"code": "97110", "minutes": 15, "units": 1, "modifiers": ["GP"]},
    ]
    split["plan_of_care"] = {"start": "2021-03-01", "end": "2021-05-29", "signed": "2021-03-02"}
    seen = {}
    for day in ("2021-03-30", "2021-03-31", "2021-04-01", "2021-04-02", "2021-03-31"):
        split["date_of_service"] = day
        seen[day] = "units.single-line" in e.check(split).rules()
    assert seen == {
        "2021-03-30": False,
        "2021-03-31": False,
        "2021-04-01": True,
        "2021-04-02": True,
    }
