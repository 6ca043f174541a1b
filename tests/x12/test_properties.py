"""Property tests: 837P round trips, fixes through the writer, and junk input."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

import cptrules
from cptrules import CptRulesError, x12
from cptrules.x12 import ClaimVisit, X12Error
from cptrules.x12.strategies import PAYER_MAP, carried, interchanges, junk_837

SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(interchanges())
def test_sessions_round_trip_through_837p(
    case: tuple[str, list[tuple[str, cptrules.Session]]],
) -> None:
    text, claims = case
    got = list(x12.read_837(text, payer_map=PAYER_MAP))
    assert [(v.claim, v.session) for v in got if isinstance(v, ClaimVisit)] == claims
    assert len(got) == len(claims)
    for visit in got:
        assert isinstance(visit, ClaimVisit)
        assert visit.positions == tuple(range(1, len(visit.session.lines) + 1))


@SLOW
@given(interchanges(faulty=True, max_claims=2))
def test_fixed_claims_read_back_as_the_fixed_sessions(
    case: tuple[str, list[tuple[str, cptrules.Session]]],
) -> None:
    text, _ = case
    visits = [v for v in x12.read_837(text, payer_map=PAYER_MAP) if isinstance(v, ClaimVisit)]
    reports = [x12.check_visit(v) for v in visits]
    corrections = [(r.visit, [x for f in r.report.findings for x in f.fixes]) for r in reports]
    try:
        expected = [carried(r.report.fixed()) for r in reports]
    except ValueError:  # the fixes remove every line: nothing to write
        return
    out = x12.write_837(text, corrections)
    again = [v for v in x12.read_837(out or "", payer_map=PAYER_MAP) if isinstance(v, ClaimVisit)]
    assert [v.session for v in again] == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junk_837())
def test_junk_never_escapes_the_error_tree(data: bytes) -> None:
    try:
        for result in x12.read_837(data, payer_map=PAYER_MAP):
            assert isinstance(result, (ClaimVisit, X12Error))
            if isinstance(result, X12Error):
                assert result.problems
                assert str(result)
    except CptRulesError:
        pass
