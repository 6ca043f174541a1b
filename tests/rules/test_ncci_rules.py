"""ncci.ptp and ncci.mue on edit tables made for the test.

The pairs and MUE values below are test inputs, not CMS data: real MUE values
are never bundled, and only the pairs of ncci_therapy_ptp.toml are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cptrules
from cptrules.ncci import MemoryTables, MueEdit, PtpEdit, bundled_tables
from cptrules.report import Finding, Fix

D = dt.date
SRC = "test table (not CMS data)"
BYPASS = ("59", "XE", "XS", "XP", "XU")


def visit(
    *lines: dict[str, Any], payer: str = "commercial", day: str = "2026-03-04"
) -> dict[str, Any]:
    return {
        "date_of_service": day,
        "payer": payer,
        "provider": {"discipline": "PT"},
        "diagnoses": ["M54.50"],
        "plan_of_care": {"start": "2026-02-01", "end": "2026-04-30", "signed": "2026-02-10"},
        "lines": list(lines),
    }


def line(code: str, units: int | None = 1, *mods: str, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code, "modifiers": ["GP", *mods]}
    if units is not None:
        out["units"] = units
    out.update(kw)
    return out


START = D(2020, 1, 1)


def edit(c1: str, c2: str, indicator: int, start: dt.date = START, **kw: Any) -> PtpEdit:
    return PtpEdit(c1, c2, indicator, start, kw.pop("deletion", None), "test rationale", SRC, **kw)


def engine(*edits: PtpEdit, mue: Mapping[str, MueEdit] | None = None) -> cptrules.Engine:
    return cptrules.Engine(tables=MemoryTables("test", edits, mue))


def found(eng: cptrules.Engine, session: dict[str, Any], rule: str) -> list[Finding]:
    return [f for f in eng.check(session).findings if f.rule == rule]


def cleared(eng: cptrules.Engine, session: dict[str, Any], rule: str) -> bool:
    """Applying every fix leaves no finding of ``rule``."""
    fixed = eng.check(session).fixed()
    return not [f for f in eng.check(fixed).findings if f.rule == rule]


# ---------------------------------------------------------------------- ncci.ptp


def test_indicator_0_fires_even_with_a_modifier() -> None:
    eng = engine(edit("97110", "97112", 0))
    for mods in ((), ("59",), ("XS",)):
        s = visit(line("97110", 1), line("97112", 1, *mods))
        (f,) = found(eng, s, "ncci.ptp")
        assert (f.severity, f.line) == ("error", 1)
        assert "indicator 0" in f.message
        assert f.fixes == (Fix("remove_line", 1),)
        assert f.citation == f"NCCI PTP edit 97110/97112, modifier indicator 0; {SRC}"
        assert cleared(eng, s, "ncci.ptp")


def test_indicator_0_both_ways_never_removes_both_lines() -> None:
    eng = engine(edit("97110", "97112", 0), edit("97112", "97110", 0))
    s = visit(line("97110"), line("97112"))
    findings = found(eng, s, "ncci.ptp")
    assert len(findings) == 2
    assert sum(len(f.fixes) for f in findings) == 1
    assert len(eng.check(s).fixed().lines) == 1


def test_indicator_1_needs_a_bypass_modifier_on_the_column_2_line() -> None:
    eng = engine(edit("97110", "97112", 1))
    (f,) = found(eng, visit(line("97110"), line("97112")), "ncci.ptp")
    assert (f.severity, f.line, f.fixes) == ("error", 1, ())
    assert "59 or an X modifier" in f.message


@pytest.mark.parametrize("mod", BYPASS)
def test_each_bypass_modifier_satisfies_indicator_1(mod: str) -> None:
    eng = engine(edit("97110", "97112", 1))
    assert found(eng, visit(line("97110"), line("97112", 1, mod)), "ncci.ptp") == []


def test_modifier_on_the_column_1_line_is_moved() -> None:
    eng = engine(edit("97110", "97112", 1))
    s = visit(line("97110", 1, "XU"), line("97112"))
    (f,) = found(eng, s, "ncci.ptp")
    assert f.line == 1
    assert f.fixes == (Fix("add_modifier", 1, "XU"),)
    assert "belongs on the column-2 line" in f.message
    assert cleared(eng, s, "ncci.ptp")


def test_indicator_9_and_edits_out_of_force_never_fire() -> None:
    eng = engine(
        edit("97110", "97112", 9),
        edit("97110", "97116", 1, deletion=D(2026, 3, 4)),  # deleted on the date of service
        edit("97110", "97530", 1, D(2026, 3, 5)),  # effective the day after
    )
    s = visit(line("97110"), line("97112"), line("97116"), line("97530"))
    assert found(eng, s, "ncci.ptp") == []
    s = visit(line("97110"), line("97116"), day="2026-03-03")  # last day in force
    assert [f.line for f in found(eng, s, "ncci.ptp")] == [1]


def test_every_column_2_line_is_checked() -> None:
    eng = engine(edit("97110", "97112", 1))
    s = visit(line("97110"), line("97112", 1, "XS"), line("97112"))
    assert [f.line for f in found(eng, s, "ncci.ptp")] == [2]


def test_distinct_regions_suggest_xs() -> None:
    eng = cptrules.Engine(tables=bundled_tables())
    cmt = {"code": "98940", "units": 1, "modifiers": ["AT"], "regions": ["lumbar", "pelvic"]}
    manual = line("97140", 1, minutes=10, techniques=["joint_mobilization"])
    other = visit(cmt, {**manual, "regions": ["upper_extremity"]}, payer="medicare")
    (f,) = found(eng, other, "ncci.ptp")
    assert f.fixes == (Fix("add_modifier", 1, "XS"),)
    assert "CMS NCCI practitioner PTP edits, quarter beginning 2024-07-01" in f.citation
    assert cleared(eng, other, "ncci.ptp")
    same = visit(cmt, {**manual, "regions": ["lumbar"]}, payer="medicare")
    (f,) = found(eng, same, "ncci.ptp")
    assert f.fixes == ()  # the same region: no modifier makes 97140 distinct


def test_deleted_pair_does_not_fire() -> None:
    eng = cptrules.Engine(tables=bundled_tables())
    s = visit(line("97140", 1, minutes=15), line("97530", 1, minutes=15))
    assert found(eng, s, "ncci.ptp") == []  # CMS deleted 97140/97530 on 2019-12-31


def test_indicator_0_pair_is_not_bypassed() -> None:
    eng = cptrules.Engine(tables=bundled_tables())
    s = visit(line("97140", 1, minutes=15), line("97124", 1, "59", minutes=15))
    (f,) = found(eng, s, "ncci.ptp")
    assert f.line == 1
    assert "CMS NCCI practitioner PTP edits" in f.citation
    assert "[S]" not in f.citation


def no_ncci_engine(tmp_path: Path, tables: MemoryTables) -> cptrules.Engine:
    profile = tmp_path / "no-ncci.toml"
    profile.write_text(
        'id = "no-ncci"\nname = "Test payer without NCCI"\neffective = 2020-01-01\n'
        'source = "test"\nunit_method = "per-code"\ntherapy_modifiers = false\n'
        "ncci = false\ncmt_at_modifier = false\n",
        encoding="utf-8",
    )
    return cptrules.Engine(profiles=[profile], tables=tables)


def test_payer_without_ncci_runs_neither_rule(tmp_path: Path) -> None:
    tables = MemoryTables("test", [edit("97110", "97112", 0)])
    eng = no_ncci_engine(tmp_path, tables)
    s = visit(line("97110", 3), line("97112"), payer="no-ncci")
    report = eng.check(s)
    assert [f for f in report.findings if f.rule.startswith("ncci.")] == []


# ---------------------------------------------------------------------- ncci.mue


def mue(code: str, value: int, mai: int) -> dict[str, MueEdit]:
    return {code: MueEdit(code, value, mai, "Clinical: Data", SRC)}


def test_mai_1_is_per_line() -> None:
    eng = engine(mue=mue("97110", 2, 1))
    s = visit(line("97110", 3), line("97110", 2))
    (f,) = found(eng, s, "ncci.mue")
    assert (f.severity, f.line, f.fixes) == ("error", 0, (Fix("set_units", 0, 2),))
    assert "per claim line" in f.citation
    assert SRC in f.citation
    assert cleared(eng, s, "ncci.mue")


@pytest.mark.parametrize("mai", [2, 3])
def test_mai_2_and_3_sum_units_per_date_of_service(mai: int) -> None:
    eng = engine(mue=mue("97110", 2, mai))
    s = visit(line("97110", 2), line("97110", 1))
    (f,) = found(eng, s, "ncci.mue")
    assert f.line == 0
    assert "3 units of 97110 over 2 lines" in f.message
    assert "all 3 units deny" in f.message
    assert f.fixes == (Fix("remove_line", 1),)
    assert cleared(eng, s, "ncci.mue")
    assert found(eng, visit(line("97110", 2)), "ncci.mue") == []  # at the value: fine


def test_mue_uses_expected_units_when_units_are_left_out() -> None:
    eng = engine(mue=mue("97110", 2, 3))
    (f,) = found(eng, visit(line("97110", None, minutes=45)), "ncci.mue")
    assert f.message.startswith("3 units of 97110")


def test_mue_value_0_has_no_fix() -> None:
    eng = engine(mue=mue("97110", 0, 2))
    (f,) = found(eng, visit(line("97110", 1)), "ncci.mue")
    assert f.fixes == ()


def test_without_mue_table_one_info_when_units_could_matter() -> None:
    eng = cptrules.Engine(tables=MemoryTables("test", []))
    s = visit(line("97110", 2), line("97112", 3), line("97140", 1))
    (f,) = found(eng, s, "ncci.mue")
    assert (f.severity, f.line) == ("info", None)
    assert "no MUE table is loaded" in f.message
    assert found(eng, visit(line("97110", 1), line("97112", 1)), "ncci.mue") == []


class _LaterQuarter(MemoryTables):
    """Tables whose MUE quarters all start after the visit."""

    def mue_quarter(self, day: dt.date) -> str | None:
        return None


def test_mue_quarters_after_the_date_of_service_say_so() -> None:
    eng = cptrules.Engine(tables=_LaterQuarter("test", [], mue("97110", 1, 3)))
    (f,) = found(eng, visit(line("97110", 2)), "ncci.mue")
    assert f.severity == "info"
    assert "start after this date of service" in f.message


@settings(max_examples=60, deadline=None)
@given(
    units=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    value=st.integers(1, 6),
    mai=st.sampled_from([1, 2, 3]),
)
def test_mue_fires_exactly_when_over_and_fixes_clear_it(
    units: list[int], value: int, mai: int
) -> None:
    eng = engine(mue=mue("97110", value, mai))
    s = visit(*(line("97110", u) for u in units))
    over = max(units) > value if mai == 1 else sum(units) > value
    findings = found(eng, s, "ncci.mue")
    assert bool(findings) is over
    if over:
        assert cleared(eng, s, "ncci.mue")
        fixed = eng.check(s).fixed()
        kept = [ln.units or 0 for ln in fixed.lines]
        assert (max(kept) if mai == 1 else sum(kept)) == value  # no unit taken needlessly


# -- payer pairs denied even with a modifier (profile data) ----------------------------


def _chiro(payer: str, dos: str = "2026-03-04", mods: tuple[str, ...] = ("XS",)) -> dict[str, Any]:
    return {
        "date_of_service": dos,
        "payer": payer,
        "provider": {"discipline": "DC"},
        "lines": [
            {"code": "98941", "units": 1, "regions": ["cervical", "thoracic", "lumbar"]},
            {
                "code": "97140",
                "minutes": 15,
                "units": 1,
                "modifiers": list(mods),
                "regions": ["upper_extremity"],
                "techniques": ["soft_tissue_mobilization"],
            },
        ],
    }


def _ptp(data: dict[str, Any]) -> list[Any]:
    engine = cptrules.Engine(tables=cptrules.ncci.bundled_tables())
    return [f for f in engine.check(data).findings if f.rule == "ncci.ptp"]


def test_bcbs_mn_denies_97140_with_cmt_even_with_xs() -> None:
    (f,) = _ptp(_chiro("bcbs-mn"))
    assert f.line == 1
    assert f.severity == "error"
    assert f.citation.startswith("BCBS Minnesota")
    assert [x.action for x in f.fixes] == ["remove_line"]


def test_denied_pair_replaces_the_ncci_finding_without_modifier() -> None:
    found = _ptp(_chiro("bcbs-mn", mods=()))
    assert len(found) == 1
    assert found[0].citation.startswith("BCBS Minnesota")


@pytest.mark.parametrize("payer", ["aetna", "bcbs-nc"])
def test_payers_asking_for_59_warn_on_xs_and_accept_59_on_another_region(payer: str) -> None:
    (f,) = _ptp(_chiro(payer))
    assert (f.line, f.severity) == (1, "warning")
    assert [(x.action, x.value) for x in f.fixes] == [
        ("remove_modifier", "XS"),
        ("add_modifier", "59"),
    ]
    assert _ptp(_chiro(payer, mods=("59",))) == []
    same = _chiro(payer, mods=("59",))
    same["lines"][1]["regions"] = ["lumbar"]
    (f,) = _ptp(same)
    assert "region" in f.message
    assert f.severity == "warning"


def test_bcbs_nc_names_the_payer_never_medicare() -> None:
    (f,) = _ptp(_chiro("bcbs-nc"))
    assert "BCBS North Carolina" in f.message
    assert "Medicare" not in f.message + f.citation
    assert "single source" in f.citation


def test_other_payers_accept_xs_on_another_region() -> None:
    assert _ptp(_chiro("commercial")) == []


def test_anthem_denies_97530_with_97140_from_its_start() -> None:
    data = {
        "date_of_service": "2026-03-04",
        "payer": "anthem",
        "provider": {"discipline": "PT"},
        "lines": [
            {"code": "97530", "minutes": 30, "units": 2},
            {
                "code": "97140",
                "minutes": 15,
                "units": 1,
                "modifiers": ["59"],
                "regions": ["lumbar"],
            },
        ],
    }
    (f,) = _ptp(data)
    assert (f.line, f.severity) == (1, "error")
    data["payer"] = "commercial"
    assert _ptp(data) == []


def test_aetna_deny_ends_where_the_2015_revision_starts() -> None:
    (profile,) = cptrules.default_engine().profiles.versions["aetna"]
    deny, require = profile.pairs
    assert (deny.action, deny.effective, deny.until) == (
        "deny",
        dt.date(2013, 3, 1),
        dt.date(2015, 7, 21),
    )
    assert (require.action, require.effective, require.until) == (
        "require-modifier",
        dt.date(2015, 7, 22),
        None,
    )
    assert "sources disagree" in require.confidence
    assert len(_ptp(_chiro("aetna", dos="2020-01-01"))) == 1
