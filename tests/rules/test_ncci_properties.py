"""ncci.ptp and poc.*: invariants over drawn sessions, edit tables and payer profiles.

Each test states a property a billing person would check by hand -- a bypass
modifier on the column-2 line clears an indicator-1 pair, a payer's deny wins
over any modifier, clean sessions stay clean -- and lets Hypothesis look for a
session that breaks it. The edit tables drawn here are test inputs, not CMS data.
"""

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
from cptrules.models import PlanOfCare, Provider, ServiceLine, Session
from cptrules.ncci import MemoryTables, PtpEdit, bundled_tables
from cptrules.payers import ncci_bypass_modifiers

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DAYS = st.dates(dt.date(2020, 1, 1), dt.date(2026, 12, 31))
#: codes the bundled pairs and the payers' pairs name, often billed together
PAIRED = ("97140", "97530", "98941", "97012", "97110", "97161", "97124")
REGIONS = ("lumbar", "cervical", "upper_extremity")


@st.composite
def tables(draw: st.DrawFn) -> MemoryTables:
    """Edit tables over the paired codes: windows, indicators 0/1/9, maybe the bundled pairs."""
    pool = st.sampled_from(PAIRED)
    edits = []
    for _ in range(draw(st.integers(0, 8))):
        effective = draw(DAYS)
        edits.append(
            PtpEdit(
                draw(pool),
                draw(pool),
                draw(st.sampled_from((0, 1, 1, 9))),
                effective,
                draw(st.none() | st.dates(effective, dt.date(2028, 1, 1))),
                "test rationale",
                "test table (not CMS data)",
            )
        )
    if draw(st.booleans()):
        bundled = bundled_tables()
        assert isinstance(bundled, MemoryTables)
        edits.extend(bundled.edits())
    return MemoryTables("test", edits, None)


@st.composite
def paired_sessions(draw: st.DrawFn, payers: tuple[str, ...]) -> Session:
    """Sessions of paired codes, with or without bypass modifiers and regions."""
    lines = [
        ServiceLine(
            code=draw(st.sampled_from(PAIRED)),
            minutes=draw(st.none() | st.integers(8, 40)),
            modifiers=tuple(draw(st.lists(st.sampled_from(("GP", "59", "XS", "XU")), unique=True))),
            regions=tuple(draw(st.lists(st.sampled_from(REGIONS), unique=True))),
        )
        for _ in range(draw(st.integers(1, 4)))
    ]
    return Session(
        date_of_service=draw(DAYS),
        payer=draw(st.sampled_from(payers)),
        provider=Provider(draw(st.sampled_from(("PT", "DC")))),
        lines=tuple(lines),
    )


def _ptp(engine: cptrules.Engine, session: Session) -> list[cptrules.Finding]:
    return [f for f in engine.check(session).findings if f.rule == "ncci.ptp"]


def _with_mod(session: Session, mod: str) -> Session:
    lines = tuple(
        attrs.evolve(x, modifiers=(*x.modifiers, mod)) if mod not in x.modifiers else x
        for x in session.lines
    )
    return attrs.evolve(session, lines=lines)


@SETTINGS
@given(session=paired_sessions(("commercial", "medicare", "uhc-commercial")), table=tables())
def test_a_bypass_modifier_on_every_line_leaves_only_indicator_0(
    session: Session, table: MemoryTables
) -> None:
    """Payers without pair quirks: 59 (or any X modifier) clears every indicator-1 finding."""
    engine = cptrules.Engine(tables=table)
    for mod in sorted(ncci_bypass_modifiers()):
        for f in _ptp(engine, _with_mod(session, mod)):
            assert "indicator 0" in f.message, (mod, f.message)


@SETTINGS
@given(session=paired_sessions(("commercial", "aetna", "anthem", "bcbs-mn")), table=tables())
def test_findings_do_not_depend_on_what_was_remembered(
    session: Session, table: MemoryTables
) -> None:
    engine = cptrules.Engine(tables=table)
    first = engine.check(session).findings
    assert engine.check(session).findings == first
    cptrules.clear_caches()
    assert engine.check(session).findings == first


@SETTINGS
@given(
    payer=st.sampled_from(("aetna", "bcbs-mn")),
    cmt=st.sampled_from(("98940", "98941", "98942")),
    mods=st.lists(st.sampled_from(sorted(ncci_bypass_modifiers())), min_size=1, unique=True),
    day=DAYS,
)
def test_a_payer_deny_wins_over_any_bypass(
    payer: str, cmt: str, mods: list[str], day: dt.date
) -> None:
    session = Session(
        date_of_service=day,
        payer=payer,
        provider=Provider("DC"),
        lines=(
            ServiceLine(code=cmt, regions=("lumbar",)),
            ServiceLine(
                code="97140", minutes=15, modifiers=tuple(mods), regions=("upper_extremity",)
            ),
        ),
    )
    engine = cptrules.Engine(tables=bundled_tables())
    profile = engine.profiles.get(payer, day)
    assert profile is not None
    quirk = profile.pair_quirk(cmt, "97140", day)
    found = [f for f in _ptp(engine, session) if f.line == 1]
    if quirk is not None and quirk.action == "deny":
        assert len(found) == 1
        assert profile.name in found[0].citation or profile.id in found[0].citation


@pytest.mark.parametrize("payer", cptrules.default_engine().profiles.ids())
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_clean_sessions_stay_clean_of_pair_findings(payer: str, data: st.DataObject) -> None:
    session = data.draw(cs.clean_sessions(payer=payer))
    assert _ptp(cptrules.default_engine(), session) == []


# ------------------------------------------------------------------ profile actions


def _profile(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "quirky.toml"
    path.write_text(
        'id = "quirky"\nname = "Quirky Health"\nextends = "commercial"\n'
        'effective = 2020-01-01\nsource = "test profile"\n' + body,
        encoding="utf-8",
    )
    return path


def _chiro(mods: tuple[str, ...], region: str) -> dict[str, Any]:
    return {
        "date_of_service": "2026-03-04",
        "payer": "quirky",
        "provider": {"discipline": "DC"},
        "lines": [
            {"code": "98940", "regions": ["lumbar"]},
            {"code": "97140", "minutes": 15, "modifiers": list(mods), "regions": [region]},
        ],
    }


REQUIRE = """
[[pairs]]
action = "require-modifier"
first = ["98940"]
second = ["97140"]
modifiers = ["59"]
regions = "different"
severity = "warning"
effective = 2020-01-01
source = "test entry"
confidence = "single source"
"""


@given(
    mods=st.lists(st.sampled_from(("59", "XS", "XU", "GP")), unique=True),
    region=st.sampled_from(("lumbar", "cervical", "upper_extremity")),
)
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_require_modifier_holds_exactly_with_the_modifier_on_another_region(
    tmp_path_factory: pytest.TempPathFactory, mods: list[str], region: str
) -> None:
    path = _profile(tmp_path_factory.mktemp("p"), REQUIRE)
    engine = cptrules.Engine(profiles=[path], tables=bundled_tables())
    found = [f for f in engine.check(_chiro(tuple(mods), region)).findings if f.rule == "ncci.ptp"]
    ok = "59" in mods and region != "lumbar"
    assert (found == []) == ok, (mods, region, found)
    for f in found:
        assert f.severity == "warning"
        assert "Quirky Health" in f.message
        assert "Medicare" not in f.message


def test_allow_drops_the_ncci_edit_for_that_payer(tmp_path: Path) -> None:
    allow = REQUIRE.replace('action = "require-modifier"', 'action = "allow"')
    allow = allow.replace('modifiers = ["59"]\n', "").replace('regions = "different"\n', "")
    engine = cptrules.Engine(profiles=[_profile(tmp_path, allow)], tables=bundled_tables())
    assert [f for f in engine.check(_chiro((), "lumbar")).findings if f.rule == "ncci.ptp"] == []
    plain = cptrules.Engine(tables=bundled_tables())
    data = _chiro((), "lumbar") | {"payer": "commercial"}
    assert [f for f in plain.check(data).findings if f.rule == "ncci.ptp"]


def test_old_denied_pairs_key_still_means_deny(tmp_path: Path) -> None:
    old = """
[[denied_pairs]]
first = ["98940"]
second = ["97140"]
effective = 2020-01-01
source = "test entry"
confidence = "single source"
"""
    engine = cptrules.Engine(profiles=[_profile(tmp_path, old)], tables=bundled_tables())
    (f,) = [f for f in engine.check(_chiro(("XS",), "cervical")).findings if f.rule == "ncci.ptp"]
    assert f.line == 1
    assert f.severity == "error"
    profile = engine.profiles.get("quirky", dt.date(2026, 3, 4))
    assert profile is not None
    assert [p.action for p in profile.pairs] == ["deny"] == [p.action for p in profile.denied_pairs]


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (REQUIRE.replace('"require-modifier"', '"bounce"'), "pairs[0].action"),
        (REQUIRE.replace('modifiers = ["59"]\n', ""), "pairs[0].modifiers"),
        (REQUIRE.replace('regions = "different"', 'regions = "same"'), "pairs[0].regions"),
        (REQUIRE.replace('severity = "warning"', 'severity = "loud"'), "pairs[0].severity"),
        (REQUIRE.replace('severity = "warning"', "colour = 1"), "pairs[0].colour"),
        (
            REQUIRE.replace('action = "require-modifier"', 'action = "deny"'),
            "pairs[0].modifiers",
        ),
        (REQUIRE.replace("[[pairs]]", "[[denied_pairs]]"), "denied_pairs[0].action"),
    ],
)
def test_bad_pair_entries_name_their_key(tmp_path: Path, body: str, key: str) -> None:
    with pytest.raises(cptrules.ProfileError) as exc:
        cptrules.Engine(profiles=[_profile(tmp_path, body)])
    assert key in str(exc.value)


# ------------------------------------------------------------------ plan of care


@st.composite
def therapy_visits(draw: st.DrawFn) -> Session:
    """A Medicare PT visit with a plan of care near its 30- and 90-day edges."""
    session = draw(cs.clean_sessions(payer="medicare", disciplines=("PT",)))
    dos = session.date_of_service
    start = dos - dt.timedelta(days=draw(st.integers(-5, 100)))
    end = start + dt.timedelta(days=draw(st.sampled_from((0, 30, 88, 89, 90, 91, 120))))
    signed = draw(st.none() | st.integers(-3, 40).map(lambda n: start + dt.timedelta(days=n)))
    return attrs.evolve(
        session,
        plan_of_care=PlanOfCare(start, end, signed),
        treatment_day=draw(st.none() | st.integers(1, 14)),
        progress_report=draw(st.none() | st.booleans()),
    )


def _poc(session: Session, payer: str | None = None) -> set[str]:
    report = cptrules.check(session, payer=payer)
    return {f.rule for f in report.findings if f.rule.startswith("poc.")}


@SETTINGS
@given(session=therapy_visits())
def test_plan_of_care_rules_are_medicare_only(session: Session) -> None:
    for payer in ("commercial", "aetna", "anthem", "uhc-commercial"):
        assert _poc(session, payer) == set()


@SETTINGS
@given(session=therapy_visits())
def test_a_plan_in_force_signed_on_its_first_day_clears_expired_and_unsigned(
    session: Session,
) -> None:
    dos = session.date_of_service
    plan = PlanOfCare(dos - dt.timedelta(days=10), dos + dt.timedelta(days=40), dos)
    plan = attrs.evolve(plan, signed=plan.start)
    fixed = attrs.evolve(session, plan_of_care=plan)
    assert _poc(fixed) & {"poc.expired", "poc.unsigned", "poc.missing"} == set()


@SETTINGS
@given(session=therapy_visits())
def test_a_progress_report_today_silences_the_progress_rule(session: Session) -> None:
    assert "poc.progress-report" not in _poc(attrs.evolve(session, progress_report=True))


@SETTINGS
@given(session=therapy_visits())
def test_without_a_plan_only_missing_speaks(session: Session) -> None:
    without = _poc(attrs.evolve(session, plan_of_care=None))
    assert "poc.missing" in without
    assert without & {"poc.expired", "poc.unsigned"} == set()
