"""Clean sessions cover the catalog's disciplines, realistic visits; a fault per new rule."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cptrules
from cptrules import strategies
from cptrules.strategies._faults import FAULTS

NEW_RULES = (
    "code.unknown",
    "code.add-on",
    "coverage.provider",
    "coverage.subluxation",
    "modifier.em-25",
)


def test_every_new_rule_has_a_fault() -> None:
    assert set(NEW_RULES) <= set(FAULTS)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.clean_sessions(payer="medicare", disciplines=["SLP"]))
def test_slp_visits_are_clean_and_carry_gn(session: cptrules.Session) -> None:
    assert session.provider.discipline == "SLP"
    report = cptrules.check(session)
    assert report.ok, [f for f in report.findings if f.severity == "error"]
    assert all("GN" in line.modifiers for line in session.lines)
    assert session.plan_of_care is not None
    days = (session.plan_of_care.end - session.plan_of_care.start).days + 1
    assert 30 <= days <= 90


def test_pt_ot_visits_are_typically_two_to_five_lines() -> None:
    counts: list[int] = []

    @settings(
        max_examples=80, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(
        st.sampled_from(["PT", "OT"]).flatmap(
            lambda d: strategies.clean_sessions(payer="commercial", disciplines=[d])
        )
    )
    def draw(session: cptrules.Session) -> None:
        counts.append(len(session.lines))

    draw()
    assert max(counts) <= 6
    assert sum(2 <= n <= 5 for n in counts) >= len(counts) // 2
