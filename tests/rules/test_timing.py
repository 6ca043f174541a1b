"""time.overlap: touching vs overlapping, span vs minutes, a brute-force cross-check, speed."""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cptrules
import cptrules.ncci
from cptrules._context import Context
from cptrules.catalog import catalog
from cptrules.models import PlanOfCare, Provider, ServiceLine, Session
from cptrules.report import Finding
from cptrules.rules import REGISTRY

ENGINE = cptrules.Engine(tables=cptrules.ncci.bundled_tables())
RULE = "time.overlap"
TIMED = ["97110", "97112", "97116", "97530", "97140", "97535"]


def line(code: str, start: str | None, end: str | None, minutes: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code, "modifiers": ["GP"]}
    if minutes is not None:
        out["minutes"] = minutes
    if start is not None:
        out["start"], out["end"] = start, end
    if code == "97140":
        out["regions"] = ["lumbar"]
        out["techniques"] = ["joint_mobilization"]
    return out


def session(*lines: dict[str, Any], payer: str = "medicare") -> dict[str, Any]:
    return {
        "date_of_service": "2026-03-04",
        "payer": payer,
        "provider": {"discipline": "PT"},
        "plan_of_care": {"start": "2026-02-01", "end": "2026-04-30", "signed": "2026-02-10"},
        "lines": list(lines),
    }


def found(s: dict[str, Any] | Session) -> list[Finding]:
    return [f for f in ENGINE.check(s).findings if f.rule == RULE]


# --------------------------------------------------------------------------- overlap


def test_touching_is_not_overlap() -> None:
    s = session(line("97110", "10:00", "10:15", 15), line("97112", "10:15", "10:30", 15))
    assert found(s) == []


def test_one_minute_overlap() -> None:
    s = session(line("97110", "10:00", "10:15", 15), line("97112", "10:14", "10:29", 15))
    (f,) = found(s)
    assert (f.severity, f.line, f.fixes) == ("error", 1, ())
    assert "overlaps the 97110 on line 0 by 1 minute:" in f.message


def test_overlap_found_whatever_the_line_order() -> None:
    s = session(line("97112", "10:14", "10:29", 15), line("97110", "10:00", "10:15", 15))
    (f,) = found(s)
    assert f.line == 0  # the later-starting service carries the finding
    assert "the 97110 on line 1" in f.message


def test_contained_interval_and_chain_name_the_line_reaching_latest() -> None:
    s = session(
        line("97110", "10:00", "10:40", 40),
        line("97112", "10:10", "10:20", 10),  # inside 97110
        line("97116", "10:30", "10:50", 20),  # overlaps 97110 by 10
        line("97530", "10:50", "11:00", 10),  # touches 97116
    )
    got = found(s)
    assert [(f.line, f.severity) for f in got] == [(1, "error"), (2, "error")]
    assert "by 10 minutes" in got[0].message
    assert "on line 0 by 10 minutes" in got[1].message


def test_equal_ends_name_the_earliest_line() -> None:
    s = session(
        line("97110", "10:00", "10:30", 30),
        line("97112", "10:10", "10:30", 20),
        line("97116", "10:20", "10:40", 20),
    )
    got = found(s)
    assert [f.line for f in got] == [1, 2]
    assert "the 97110 on line 0" in got[1].message


def test_same_start_times_overlap() -> None:
    s = session(line("97110", "10:00", "10:20", 20), line("97530", "10:00", "10:20", 20))
    (f,) = found(s)
    assert "by 20 minutes" in f.message


def test_lines_without_clock_times_are_ignored() -> None:
    s = session(line("97110", "10:00", "10:30", 30), line("97112", None, None, 15))
    assert found(s) == []


def test_untimed_lines_are_ignored() -> None:
    # A supervised modality (untimed) may run alongside: only timed codes are one-on-one.
    s = session(line("97110", "10:00", "10:30", 30), line("97012", "10:10", "10:25", None))
    assert found(s) == []


def test_zero_length_line_overlaps_nothing() -> None:
    s = session(line("97110", "10:00", "10:30", 30), line("97112", "10:10", "10:10", 0))
    assert found(s) == []


@pytest.mark.parametrize("payer", ["medicare", "commercial", "aetna", "uhc-commercial"])
def test_applies_to_every_payer(payer: str) -> None:
    s = session(
        line("97110", "10:00", "10:30", 30), line("97112", "10:20", "10:35", 15), payer=payer
    )
    assert len(found(s)) == 1


# --------------------------------------------------------------------------- span


@pytest.mark.parametrize(("minutes", "fires"), [(24, False), (25, False), (26, True), (60, True)])
def test_minutes_vs_clock_span(minutes: int, fires: bool) -> None:
    got = found(session(line("97110", "10:00", "10:25", minutes)))
    assert bool(got) is fires
    if fires:
        (f,) = got
        assert (f.severity, f.line) == ("error", 0)
        assert f"bills {minutes} minutes" in f.message
        assert "span only 25 minutes" in f.message


def test_zero_span_with_minutes_is_a_span_error_only() -> None:
    s = session(line("97110", "10:00", "10:30", 30), line("97112", "10:10", "10:10", 8))
    (f,) = found(s)
    assert f.line == 1
    assert "span only 0 minutes" in f.message


def test_messages_carry_no_clock_times() -> None:
    s = session(
        line("97110", "09:00", "09:25", 30),
        line("97112", "09:20", "09:35", 15),
    )
    got = found(s)
    assert len(got) == 2
    for f in got:
        assert "09:" not in f.message


# --------------------------------------------------------------------------- cross-check


def brute_flagged(intervals: list[tuple[int, int]]) -> set[int]:
    """Lines overlapping some line that sorts before them (start, end, index): O(n^2)."""
    order = sorted(range(len(intervals)), key=lambda i: (*intervals[i], i))
    flagged = set()
    for pos, j in enumerate(order):
        s_j, e_j = intervals[j]
        if e_j == s_j:
            continue
        for i in order[:pos]:
            s_i, e_i = intervals[i]
            if e_i > s_i and s_i < e_j and s_j < e_i:
                flagged.add(j)
    return flagged


def hhmm(m: int) -> str:
    return f"{m // 60:02d}:{m % 60:02d}"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(480, 600), st.integers(0, 40)),
        min_size=1,
        max_size=8,
    )
)
def test_sweep_matches_brute_force(raw: list[tuple[int, int]]) -> None:
    intervals = [(s, s + d) for s, d in raw]
    lines = [
        line(TIMED[i % len(TIMED)], hhmm(s), hhmm(e), e - s) for i, (s, e) in enumerate(intervals)
    ]
    got = found(session(*lines))
    assert {f.line for f in got} == brute_flagged(intervals)
    assert len(got) == len({f.line for f in got})  # one finding per overlapping line


# --------------------------------------------------------------------------- scale


def big_session(n: int, duration: int) -> Session:
    """``n`` lines starting 5 minutes apart, shuffled, each lasting ``duration`` minutes."""
    rng = random.Random(7)
    starts = [60 + k * 5 for k in range(n)]
    rng.shuffle(starts)
    lines = tuple(
        ServiceLine(
            code=TIMED[k % len(TIMED)],
            minutes=duration,
            modifiers=("GP",),
            start=dt.time(s // 60, s % 60),
            end=dt.time((s + duration) // 60, (s + duration) % 60),
        )
        for k, s in enumerate(starts)
    )
    return Session(
        date_of_service=dt.date(2026, 3, 4),
        payer="medicare",
        provider=Provider("PT"),
        lines=lines,
        plan_of_care=PlanOfCare(dt.date(2026, 2, 1), dt.date(2026, 4, 30), dt.date(2026, 2, 10)),
    )


@pytest.mark.parametrize(("duration", "expected"), [(5, 0), (10, 199)])
def test_200_lines_are_cheap(duration: int, expected: int) -> None:
    s = big_session(200, duration)
    ctx = Context(s, ENGINE.profile_for("medicare", s), catalog(), None)
    r = REGISTRY[RULE]
    assert len(list(r.func(ctx, r))) == expected  # all touching / all overlapping
    t0 = time.perf_counter()
    for _ in range(20):
        list(r.func(ctx, r))
    per_call = (time.perf_counter() - t0) / 20
    assert per_call < 0.02, per_call  # measured well under a millisecond
