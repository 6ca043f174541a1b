"""check_episode: values one visit cannot know, derived over a patient's visits."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cptrules
from cptrules import InvalidSessionError, check_episode, cli
from cptrules.episodes import EPISODE_RULES, check_jsonl_episodes
from cptrules.fees import FeeSchedule
from cptrules.rules.modifiers import kx_thresholds

FIX = Path(__file__).parent / "fixtures" / "pfs"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> cptrules.Engine:
    """An engine with the synthetic fee fixtures; a 2026 GPCI table made from the 2024 one."""
    gpci = tmp_path_factory.mktemp("pfs") / "GPCI2026.csv"
    gpci.write_text((FIX / "GPCI2024.csv").read_text().replace("2024", "2026"))
    schedule = FeeSchedule.from_files(
        [FIX / "PPRRVU24_JAN.csv", FIX / "RVU24AR_PPRRVU24_JAN.csv", gpci],
        effective={"RVU24AR_PPRRVU24_JAN.csv": dt.date(2024, 3, 9)},
    )
    return cptrules.Engine(fees=schedule, locality="99999-01")


def _visit(day: dt.date, *, evaluation: bool = False, **top: Any) -> dict[str, Any]:
    lines: list[dict[str, Any]] = [
        {"code": "97110", "minutes": 38, "modifiers": ["GP"]},
        {"code": "97140", "minutes": 23, "modifiers": ["GP"]},
    ]
    if evaluation:
        lines.insert(0, {"code": "97161", "modifiers": ["GP"]})
    return {
        "patient": "p-1",
        "date_of_service": day.isoformat(),
        "payer": "medicare",
        "provider": {"discipline": "PT"},
        "diagnoses": ["M54.50"],
        "plan_of_care": {"start": "2026-01-05", "end": "2026-04-04", "signed": "2026-01-06"},
        "lines": lines,
        **top,
    }


def _forty() -> list[dict[str, Any]]:
    start = dt.date(2026, 1, 5)
    return [_visit(start + dt.timedelta(days=2 * k), evaluation=k == 0) for k in range(40)]


def _rules(report: cptrules.Report) -> list[tuple[str, str, int | None]]:
    return [(f.rule, f.severity, f.line) for f in report.findings]


def test_forty_visits_cross_the_2026_kx_threshold_at_the_exact_line(
    engine: cptrules.Engine,
) -> None:
    episode = check_episode(_forty(), engine=engine, start={"pt_slp": 0, "ot": 0})
    kx = kx_thresholds()[2026].kx
    crossed = [v for v in episode.visits if "episode.kx-crossed" in v.report.rules()]
    assert len(crossed) == 1
    visit = crossed[0]
    before = visit.therapy_ytd_allowed
    assert before is not None
    assert before.pt_slp is not None
    assert before.pt_slp < kx
    est = visit.report.estimate
    assert est is not None
    # the line named is the first whose allowed amount takes the year's total past it
    running, first = before.pt_slp, None
    for ln in est.lines:
        assert ln.allowed is not None
        running += ln.allowed
        if running > kx and first is None:
            first = ln.line
    assert first is not None
    assert running > kx  # the exact visit: it starts below the threshold and ends above it
    named = [f.line for f in visit.report.findings if f.rule == "episode.kx-crossed"]
    assert named[0] == first
    assert all(
        f.fixes[0].value == "KX" for f in visit.report.findings if f.rule == "episode.kx-crossed"
    )
    # before it: no modifier.kx error; after it: modifier.kx errors from the single-visit rule
    for v in episode.visits[: visit.index]:
        assert ("modifier.kx", "error") not in {(r, s) for r, s, _ in _rules(v.report)}
    for v in episode.visits[visit.index + 1 :]:
        assert ("modifier.kx", "error") in {(r, s) for r, s, _ in _rules(v.report)}
    # no progress report in the forty visits: the first error is on treatment day 10
    flagged = [
        v.treatment_day
        for v in episode.visits
        if ("poc.progress-report", "error", None) in _rules(v.report)
    ]
    assert flagged[0] == 10
    assert episode.visits[9].treatment_day == 10
    # the accrued amount grows by each visit's estimate
    for a, b in zip(episode.visits, episode.visits[1:], strict=False):
        assert a.report.estimate is not None
        assert a.therapy_ytd_allowed is not None
        assert b.therapy_ytd_allowed is not None
        assert (
            b.therapy_ytd_allowed.pt_slp == a.therapy_ytd_allowed.pt_slp + a.report.estimate.total
        )  # type: ignore[operator]


def test_progress_report_on_treatment_day_ten(engine: cptrules.Engine) -> None:
    visits = _forty()
    visits[9]["progress_report"] = True  # day 10 with its report: the count starts again
    episode = check_episode(visits, engine=engine, start={"pt_slp": 0, "ot": 0})
    days = [v.treatment_day for v in episode.visits]
    assert days[:12] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2]
    assert days[19] == 10
    errors = [
        v.index
        for v in episode.visits
        if ("poc.progress-report", "error", None) in _rules(v.report)
    ]
    assert errors[0] == 19  # day 10 of the second period, no report: flagged
    assert 9 not in errors


def test_reports_equal_check_with_the_derived_values(engine: cptrules.Engine) -> None:
    episode = check_episode(_forty()[:12], engine=engine, start={"pt_slp": 0, "ot": 0})
    for v in episode.visits:
        filled = attrs.evolve(
            v.report.session,
            treatment_day=v.treatment_day,
            therapy_ytd_allowed=v.therapy_ytd_allowed,
        )
        alone = engine.check(filled)
        mine = tuple(f for f in v.report.findings if not f.rule.startswith("episode."))
        assert attrs.evolve(v.report, findings=mine) == alone


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    gaps=st.lists(st.integers(0, 5), min_size=1, max_size=14),
    reports=st.lists(st.booleans(), min_size=14, max_size=14),
    minutes=st.lists(st.integers(8, 60), min_size=14, max_size=14),
    start=st.integers(0, 3000),
    order=st.randoms(use_true_random=False),
)
def test_property_each_visit_is_check_with_the_derived_values(
    engine: cptrules.Engine,
    gaps: list[int],
    reports: list[bool],
    minutes: list[int],
    start: int,
    order: Any,
) -> None:
    day = dt.date(2026, 1, 5)
    visits = []
    for k, gap in enumerate(gaps):
        day += dt.timedelta(days=gap)
        v = _visit(day, evaluation=k == 0, progress_report=reports[k])
        v["lines"][-1]["minutes"] = minutes[k]
        visits.append(v)
    order.shuffle(visits)
    episode = check_episode(visits, engine=engine, start={"pt_slp": start, "ot": 0})
    assert [v.report.session.date_of_service.isoformat() for v in episode.visits] == [
        v["date_of_service"] for v in visits
    ]  # input order kept
    for v in episode.visits:
        assert v.treatment_day is not None
        assert v.therapy_ytd_allowed is not None
        filled = attrs.evolve(
            cptrules.load_session(visits[v.index]),
            treatment_day=v.treatment_day,
            therapy_ytd_allowed=v.therapy_ytd_allowed,
        )
        alone = engine.check(filled)
        mine = tuple(f for f in v.report.findings if not f.rule.startswith("episode."))
        assert mine == alone.findings
        assert v.report.units == alone.units
        assert v.report.estimate == alone.estimate


def test_caller_value_wins_and_a_disagreement_is_info(engine: cptrules.Engine) -> None:
    visits = _forty()[:5]
    visits[3]["treatment_day"] = 7
    episode = check_episode(visits, engine=engine, start={"pt_slp": 0, "ot": 0})
    assert [v.treatment_day for v in episode.visits] == [1, 2, 3, 7, 8]
    infos = [f for f in episode.visits[3].report.findings if f.rule == "episode.given-value"]
    assert len(infos) == 1
    assert infos[0].severity == "info"
    assert "episode.given-value" not in episode.visits[4].report.rules()


def test_without_fee_data_the_amount_is_not_derived() -> None:
    episode = check_episode(_forty()[:3], start={"pt_slp": 0, "ot": 0})
    assert episode.visits[0].therapy_ytd_allowed == cptrules.TherapyYtd(
        pt_slp=Decimal(0), ot=Decimal(0)
    )
    for v in episode.visits[1:]:
        assert "episode.not-checked" in v.report.rules()
        assert v.therapy_ytd_allowed is not None
        assert v.therapy_ytd_allowed.pt_slp is None


def test_no_start_amount_is_not_checked(engine: cptrules.Engine) -> None:
    episode = check_episode(_forty()[:2], engine=engine)
    msgs = [f.message for f in episode.visits[0].report.findings if f.rule == "episode.not-checked"]
    assert any("allowed amount" in m for m in msgs)


def _acu(day: dt.date) -> dict[str, Any]:
    return {
        "patient": "p-2",
        "date_of_service": day.isoformat(),
        "payer": "medicare",
        "provider": {"discipline": "MD"},
        "diagnoses": ["M54.50"],
        "lines": [{"code": "97810", "units": 1}],
    }


def test_acupuncture_visits_12_in_90_days_and_20_a_year() -> None:
    start = dt.date(2026, 1, 5)
    visits = [_acu(start + dt.timedelta(days=7 * k)) for k in range(22)]
    # 13 weekly visits fit in 90 days: the 13th is the first past 12
    episode = check_episode(visits)
    sev = [
        next(
            (f.severity for f in v.report.findings if f.rule == "episode.acupuncture-visits"), None
        )
        for v in episode.visits
    ]
    assert sev[:12] == [None] * 12
    assert sev[12] == "warning"
    assert sev[20] == "error"
    assert sev[21] == "error"
    assert sev[19] in ("warning", None)
    commercial = [dict(v, payer="commercial") for v in visits]
    assert all(
        "episode.acupuncture-visits" not in v.report.rules()
        for v in check_episode(commercial).visits
    )


def test_bad_input_is_one_error_with_paths() -> None:
    visits: list[Any] = [_forty()[0], {"date_of_service": "x"}]
    with pytest.raises(InvalidSessionError) as exc:
        check_episode(visits)
    assert all(p.startswith("[1]") for p, _ in exc.value.errors)
    other = dict(_forty()[1], patient="p-9")
    with pytest.raises(InvalidSessionError) as exc:
        check_episode([_forty()[0], other])
    assert exc.value.errors[0][0] == "patient"
    with pytest.raises(InvalidSessionError) as exc:
        check_episode(_forty()[:1], start={"pt_slp": "a lot"})
    assert exc.value.errors[0][0].startswith("start")


def test_messages_never_echo_the_patient_key(engine: cptrules.Engine) -> None:
    visits = [dict(v, patient="SECRET-KEY-42") for v in _forty()]
    episode = check_episode(visits, engine=engine, start={"pt_slp": 0, "ot": 0})
    for v in episode.visits:
        for f in v.report.findings:
            assert "SECRET" not in f.message
        assert "SECRET" not in repr(v)


def test_episode_rules_have_citations() -> None:
    assert {"episode.kx-crossed", "episode.acupuncture-visits"} <= set(EPISODE_RULES)
    assert "10.3" in EPISODE_RULES["episode.kx-crossed"].citation
    assert "30.3.3" in EPISODE_RULES["episode.acupuncture-visits"].citation


def _jsonl(visits: list[dict[str, Any]]) -> io.BytesIO:
    return io.BytesIO("".join(json.dumps(v) + "\n" for v in visits).encode())


def test_stream_reports_in_input_order_equal_check_episode() -> None:
    a = _forty()[:12]
    b = [dict(v, patient="p-2") for v in _forty()[:12]]
    mixed = [x for pair in zip(a, b, strict=True) for x in pair]
    mixed.append({"date_of_service": "2026-01-01"})  # invalid: its own report, in its place
    mixed.append(dict(_forty()[3], patient=None))  # no patient: an episode of its own
    out = io.StringIO()
    summary = check_jsonl_episodes(_jsonl(mixed), out, format="jsonl", window=3)
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [d["record"] for d in docs] == list(range(1, len(mixed) + 1))
    assert summary.records == len(mixed)
    assert summary.invalid == 1
    assert docs[-2]["invalid"] is True
    alone = check_episode(a)
    assert list(docs[0:24:2]) == [v.report.to_dict(record=2 * v.index + 1) for v in alone.visits]
    assert "episode.not-checked" in {f["rule"] for f in docs[-1]["findings"]}


def test_stream_any_order_within_the_window() -> None:
    visits = _forty()[:6]
    shuffled = [visits[k] for k in (2, 0, 1, 5, 3, 4)]
    out = io.StringIO()
    check_jsonl_episodes(_jsonl(shuffled), out, window=6)
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    expect = check_episode(shuffled)
    assert [d["findings"] for d in docs] == [v.report.to_dict()["findings"] for v in expect.visits]


def test_cli_episodes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "visits.jsonl"
    path.write_bytes(_jsonl(_forty()[:11]).getvalue())
    code = cli.main(["check", "--episodes", "--format", "jsonl", "-q", str(path)])
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert len(docs) == 11
    day10 = {f["rule"] for f in docs[9]["findings"]}
    assert "poc.progress-report" in day10
    assert cli.main(["check", "--episodes", "--format", "json", str(path)]) == 2
