"""encode_report writes exactly what json.JSONEncoder makes of Report.to_dict().

The batch renders every report with :func:`cptrules.report.encode_report`, a
direct writer that skips the dicts; these properties hold it to the general
encoder byte for byte: over reports of generated sessions (clean, faulty and
merely well-formed, under every bundled payer) and over hand-built reports whose
strings are arbitrary text (quotes, backslashes, control characters, non-ASCII,
lone surrogates) and whose numbers are arbitrary, or of unexpected types.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cptrules
from cptrules import report as report_mod
from cptrules import strategies
from cptrules._memo import Memo
from cptrules.ncci import bundled_tables
from cptrules.ncci.tables import MemoryTables
from cptrules.report import Finding, Fix, LineUnits, Report, encode_report
from cptrules.strategies import _data
from cptrules.strategies._build import env_of
from cptrules.strategies._faults import FAULTS

PAYERS = _data.payer_ids()
COMPACT = json.JSONEncoder(separators=(",", ":"))
SETTINGS = settings(max_examples=60, deadline=None)

FAULT_RULES = sorted(rule for rule in FAULTS if FAULTS[rule].available(env_of(None)))


def assert_same_text(report: Report) -> None:
    """The direct writer agrees with json for compact, indented and margined layouts,
    with and without a batch's ``file`` and ``record`` keys."""
    for where in ({}, {"record": 7}, {"file": "visits \u00e9.jsonl", "record": 12}):
        doc = report.to_dict(**where)
        assert encode_report(report, **where) == COMPACT.encode(doc)
        for indent in (2, 4):
            pretty = json.JSONEncoder(indent=indent).encode(doc)
            assert encode_report(report, indent, **where) == pretty
            assert encode_report(report, indent, "  ", **where) == pretty.replace("\n", "\n  ")


def test_record_and_file_follow_ok() -> None:
    report = cptrules.check(cptrules.load_session(_SESSION))
    assert list(report.to_dict(record=3, file="a.jsonl"))[:3] == ["ok", "file", "record"]
    assert json.loads(encode_report(report, record=3))["record"] == 3


@pytest.mark.parametrize("payer", PAYERS)
@SETTINGS
@given(data=st.data())
def test_reports_of_clean_sessions(payer: str, data: st.DataObject) -> None:
    session = data.draw(strategies.clean_sessions(payer=payer))
    assert_same_text(cptrules.check(session))


@SETTINGS
@given(data=st.data(), rule=st.sampled_from(FAULT_RULES))
def test_reports_of_faulty_sessions(data: st.DataObject, rule: str) -> None:
    session = data.draw(strategies.faulty_sessions(rule=rule))
    report = cptrules.check(session)
    assert rule in report.rules()
    assert_same_text(report)


@SETTINGS
@given(session=strategies.sessions(), payer=st.sampled_from(PAYERS))
def test_reports_of_any_session_under_any_payer(session: cptrules.Session, payer: str) -> None:
    # Well-formed but not clean: many findings, fixes of every kind, units unknown.
    assert_same_text(cptrules.check(session, payer))


# --------------------------------------------------------------------------- hand-built

ints = st.integers(min_value=-(2**70), max_value=2**70)
maybe_ints = st.none() | ints
# Any text json may have to escape: quotes, backslashes, controls, DEL, non-ASCII,
# astral characters and lone surrogates.
texts = st.text(st.characters(exclude_categories=()), max_size=40) | st.sampled_from(
    ['"', "\\", "\n\t\r\x00\x1f\x7f", "é—≥", "\U0001f600", "\ud800", "KX", ""]
)
fixes = st.builds(
    Fix,
    action=texts,
    line=ints,
    # a fix's value is bounded (units, a modifier or a code): InvalidFixError otherwise
    value=st.none() | st.integers(0, 999) | st.sampled_from(["GP", "59", "97140", "G0283"]),
)
findings = st.builds(
    Finding,
    rule=texts,
    severity=st.sampled_from(["error", "warning", "info"]) | texts,
    line=maybe_ints,
    message=texts,
    citation=texts,
    fixes=st.lists(fixes, max_size=3).map(tuple),
)
line_units = st.builds(LineUnits, line=ints, code=texts, billed=maybe_ints, expected=maybe_ints)


def _reports() -> st.SearchStrategy[Report]:
    return st.builds(
        Report,
        session=st.just(cptrules.load_session(_SESSION)),
        payer=texts,
        date_of_service=st.dates() | st.datetimes(),
        data_version=texts,
        findings=st.lists(findings, max_size=4).map(tuple),
        units=st.lists(line_units, max_size=4).map(tuple),
    )


_SESSION: dict[str, Any] = {
    "date_of_service": "2026-03-04",
    "payer": "medicare",
    "provider": {"discipline": "PT"},
    "lines": [{"code": "97110", "minutes": 33, "modifiers": ["GP"]}],
}


@settings(max_examples=300, deadline=None)
@given(report=_reports())
def test_hand_built_reports_with_any_text_and_numbers(report: Report) -> None:
    assert_same_text(report)


odd_values = st.sampled_from([True, False, 1.5, float("nan"), -0.0, 10**30, "x"])


@settings(max_examples=100, deadline=None)
@given(
    report=_reports(),
    value=odd_values,
    # (a fix's value is checked on construction: odd ones raise InvalidFixError)
    where=st.sampled_from(["unit.line", "unit.billed", "finding.line", "fix.line"]),
)
def test_fields_of_unexpected_types_still_give_jsons_text(
    report: Report, value: object, where: str
) -> None:
    # Never made by the engine (the fields are typed int or None), but a custom
    # rule could: the direct writer must still agree, through its fallback.
    unit = LineUnits(0, "97110", 1, 1)
    finding = Finding("r", "error", 0, "m", "c", (Fix("set_units", 0, 2),))
    kind, field = where.split(".")
    change: dict[str, Any] = {field: value}
    if kind == "unit":
        unit = attrs.evolve(unit, **change)
    elif kind == "finding":
        finding = attrs.evolve(finding, **change)
    else:
        finding = attrs.evolve(finding, fixes=(attrs.evolve(finding.fixes[0], **change),))
    report = attrs.evolve(report, units=(unit,), findings=(finding,))
    assert_same_text(report)


def test_a_non_string_where_a_string_belongs_falls_back_too() -> None:
    report = cptrules.check(cptrules.load_session(_SESSION))
    odd = attrs.evolve(report, payer=42, data_version=None)  # type: ignore[arg-type]  # the point
    assert_same_text(odd)
    with pytest.raises(AttributeError):  # as to_dict() raises
        encode_report(attrs.evolve(report, date_of_service="2026-03-04"))  # type: ignore[arg-type]


def test_the_caches_stay_bounded_and_right_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_mod, "_QUOTED_MAX", 3)
    for name in ("_QUOTED", "_MESSAGES", "_ISO", "_ENCODERS"):
        monkeypatch.setattr(report_mod, name, Memo(f"test {name}", size=3))
    base = cptrules.check(cptrules.load_session(_SESSION))
    for k in range(20):
        report = attrs.evolve(
            base,
            payer=f"payer {k} \u00e9",
            date_of_service=dt.date(2026, 1, 1) + dt.timedelta(days=k),
            findings=(Finding(f"r{k}", "info", None, f'say "{k}"', f"c{k}"),),
        )
        assert_same_text(report)
    assert len(report_mod._QUOTED) <= 3
    assert len(report_mod._MESSAGES) <= 3
    assert len(report_mod._ISO) <= 3


def test_a_finding_and_units_shared_between_reports_are_written_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The engine hands the same Finding and units tuple to many reports: their text
    # is kept by the object, so a second report quotes none of their strings again.
    base = cptrules.check(cptrules.load_session(_SESSION))
    finding = Finding("r.shared", "error", 0, 'a "shared" note', "c.shared")
    units = (LineUnits(0, "97999", 2, 1),)
    first = attrs.evolve(base, findings=(finding,), units=units)
    second = attrs.evolve(base, findings=(finding,), units=units, payer=base.payer)
    expected = COMPACT.encode(second.to_dict())
    assert encode_report(first) == COMPACT.encode(first.to_dict())
    report_mod._MESSAGES.pop(finding.message)
    report_mod._QUOTED.pop("97999")

    def no_quoting(text: str) -> str:
        raise AssertionError(f"quoted again: {text}")

    monkeypatch.setattr(report_mod, "_quote", no_quoting)
    assert encode_report(second) == expected


def test_units_given_as_a_list_changed_between_writes_are_written_afresh() -> None:
    base = cptrules.check(cptrules.load_session(_SESSION))
    units = [LineUnits(0, "97110", 2, 2)]
    report = attrs.evolve(base, units=units)
    assert_same_text(report)
    units.append(LineUnits(1, "97140", 1, 1))  # a caller's list, not the engine's tuple
    assert_same_text(report)
    fixes = [Fix("set_units", 0, 2)]
    report = attrs.evolve(base, findings=(Finding("r", "error", 0, "m", "c", fixes),))  # type: ignore[arg-type]
    assert_same_text(report)
    fixes.append(Fix("set_units", 0, 1))
    assert_same_text(report)


# ------------------------------------------------------------------ the data section


def test_data_section_says_which_data_answered_once_per_report() -> None:
    import cptrules.ncci

    engine = cptrules.Engine(tables=cptrules.ncci.bundled_tables())
    session = {
        "date_of_service": "2026-03-04",
        "payer": "commercial",
        "provider": {"discipline": "PT"},
        "lines": [{"code": "97110", "minutes": 45, "units": 3, "modifiers": ["GP"]}],
    }
    report = engine.check(session)
    data = report.to_dict()["data"]
    assert data["ncci_ptp"].startswith("bundled: therapy pairs of the CMS practitioner PTP edits")
    assert data["ncci_mue"].startswith("bundled: CMS practitioner MUE values")
    assert "124 codes" in data["codes"] or "codes" in data["codes"]
    assert json.loads(encode_report(report)) == report.to_dict()
    assert json.loads(encode_report(report, indent=2)) == report.to_dict()
    assert encode_report(report, indent=2) == json.dumps(report.to_dict(), indent=2)


# --------------------------------------------------------------------------- fixes

_DRY_NEEDLING: dict[str, Any] = {
    "date_of_service": "2026-03-04",
    "payer": "medicare",
    "provider": {"discipline": "PT"},
    "plan_of_care": {"start": "2026-02-01", "end": "2026-04-30", "signed": "2026-02-10"},
    "diagnoses": ["M54.50"],
    "lines": [
        {"code": "97110", "minutes": 20, "units": 1, "modifiers": ["GP"]},
        {
            "code": "97140",
            "minutes": 20,
            "units": 1,
            "modifiers": ["GP"],
            "techniques": ["dry_needling"],
            "muscles": 4,
            "regions": ["lumbar"],
        },
    ],
}


def test_fixes_worked_out_apart_are_settled_together() -> None:
    """97140 documented as dry needling becomes 20561 (untimed), so 97110 alone has 20
    minutes: 1 unit. Applied in one go, "97110 to 2 units" would over-bill it."""
    report = cptrules.check(_DRY_NEEDLING)
    fixes = {(x.action, x.line, x.value) for f in report.findings for x in f.fixes}
    assert {("set_units", 0, 2), ("replace_code", 1, "20561")} <= fixes
    fixed = report.fixed()
    assert [(x.code, x.units) for x in fixed.lines] == [("97110", 1), ("20561", 1)]
    again = cptrules.check(fixed)
    assert not [f for f in again.findings if f.fixes]
    # left, with no fix to offer: Medicare does not pay a PT for dry needling (NCD 30.3.3)
    assert {f.rule for f in again.findings if f.severity == "error"} == {"coverage.provider"}


def test_a_fix_load_session_would_reject_is_left_out_and_said() -> None:
    visit = {
        "date_of_service": "2026-03-04",
        "payer": "medicare",
        "provider": {"discipline": "PT"},
        "lines": [{"code": "97110", "minutes": 1440, "units": 1, "modifiers": ["GP"]}] * 11,
    }
    # without an MUE loaded (with one, the fix is the MUE of 97110: a valid 6 units)
    no_mue = cptrules.Engine(tables=MemoryTables("no-mue", bundled_tables().edits()))
    settled = no_mue.check(visit).settle()
    assert cptrules.load_session(cptrules.dump_session(settled.session)) == settled.session
    assert max(x.units or 0 for x in settled.session.lines) <= 999
    assert Fix("set_units", 0, 1056) in settled.skipped
    assert "units.total-time" in {f.rule for f in settled.unsettled}


@pytest.mark.parametrize("rule", FAULT_RULES)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_settle_gives_a_valid_session_and_names_what_is_left(
    rule: str, data: st.DataObject
) -> None:
    session = data.draw(strategies.faulty_sessions(rule=rule))
    settled = cptrules.check(session).settle()
    assert settled.rounds <= report_mod.MAX_FIX_ROUNDS
    assert cptrules.load_session(cptrules.dump_session(settled.session)) == settled.session
    again = cptrules.check(settled.session)
    assert again == settled.report
    left = [f for f in again.findings if f.fixes or f.severity == "error"]
    assert list(settled.unsettled) == left


def test_a_report_from_another_process_settles_with_an_engine_given() -> None:
    import pickle

    report = pickle.loads(pickle.dumps(cptrules.check(_DRY_NEEDLING)))
    assert report.recheck is None  # engines do not travel between processes
    once = report.settle()
    assert once.rounds == 1  # applied once, unchecked
    settled = report.settle(engine=cptrules.default_engine())
    assert [(x.code, x.units) for x in settled.session.lines] == [("97110", 1), ("20561", 1)]


@pytest.mark.parametrize("value", [None, 0, 1, 4, report_mod.MAX_FIX_UNITS])
def test_units_fix_is_the_fix_the_constructor_makes(value: int | None) -> None:
    """Rules build unit fixes without the attrs __init__: the same Fix in every way."""
    made = report_mod._units_fix("set_units", 2, value)
    given = Fix("set_units", 2, value)
    assert type(made) is Fix
    assert made == given
    assert hash(made) == hash(given)
    assert repr(made) == repr(given)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.line = 3  # type: ignore[misc]


@pytest.mark.parametrize("value", [-1, report_mod.MAX_FIX_UNITS + 1, True, 2.0, "bad"])
def test_units_fix_refuses_what_fix_refuses(value: Any) -> None:
    with pytest.raises(cptrules.errors.InvalidFixError):
        report_mod._units_fix("set_units", 0, value)


def test_rule_findings_and_reports_are_what_their_constructors_make() -> None:
    """Rule.finding and the engine build Findings and Reports directly: the same objects."""
    from cptrules.rules import REGISTRY

    r = REGISTRY["units.total-time"]
    made = r.finding(1, "words", fixes=(Fix("set_units", 1, 2),))
    given = Finding(r.id, r.severity, 1, "words", r.citation, (Fix("set_units", 1, 2),))
    assert type(made) is Finding
    assert made == given
    assert hash(made) == hash(given)
    assert repr(made) == repr(given)
    assert made.amount is None
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.line = 0  # type: ignore[misc]
    session = {
        "date_of_service": "2026-03-04",
        "payer": "medicare",
        "provider": {"discipline": "PT"},
        "lines": [{"code": "97110", "minutes": 33, "units": 3, "modifiers": ["GP"]}],
    }
    report = cptrules.check(session)
    assert type(report) is Report
    rebuilt = Report(
        report.session,
        report.payer,
        report.date_of_service,
        report.data_version,
        report.findings,
        report.units,
        report.estimate,
        report.data,
        recheck=report.recheck,
    )
    assert report == rebuilt
    assert repr(report) == repr(rebuilt)
    assert isinstance(report.recheck, report_mod._Recheck)
    assert report.settle().session.lines[0].units == 2
    claim = cptrules.default_engine().check(session, carries=("clock",))
    assert isinstance(claim.recheck, report_mod._Recheck)
