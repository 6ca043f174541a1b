"""fix_837 and net_fixes: the settled fixes of each claim, written back."""

from __future__ import annotations

import io
from typing import Any

import cptrules
from cptrules import Fix, x12
from cptrules.x12 import ClaimVisit

BASE: dict[str, Any] = {
    "date_of_service": "2026-03-04",
    "payer": "medicare",
    "provider": {"discipline": "PT", "npi": "1234567893"},
    "plan_of_care": {"start": "2026-02-02", "end": "2026-04-30", "signed": "2026-02-09"},
    "diagnoses": ["M54.50"],
}


def session(*lines: dict[str, Any]) -> cptrules.Session:
    return cptrules.load_session(BASE | {"lines": list(lines)})


def test_net_fixes_match_lines_by_origin_across_removals() -> None:
    s = session(
        {"code": "97010", "units": 1, "modifiers": ["GP"]},
        {"code": "97140", "units": 1, "modifiers": ["59"]},
    )
    settled = cptrules.check(s).settle()
    assert settled.origins == (1,)  # 97010 removed: the session's line 0 was line 1
    fixes = x12.net_fixes(s, settled)
    assert Fix("remove_line", 0) in fixes
    assert fixes[-1] == Fix("add_modifier", 1, "GP") or Fix("add_modifier", 1, "GP") in fixes
    assert all(f.line in (0, 1) for f in fixes)


def test_net_fixes_of_a_clean_claim_are_none() -> None:
    s = session({"code": "97110", "units": 2, "modifiers": ["GP"]})
    assert x12.net_fixes(s, cptrules.check(s).settle()) == []


def test_fix_837_settles_and_counts() -> None:
    text = x12.dump_837(
        [
            ("A", session({"code": "97110", "units": 2, "modifiers": ["GP"]})),
            ("B", session({"code": "97140", "units": 1}, {"code": "97010", "units": 1})),
        ]
    )
    out = io.StringIO()
    outcome = x12.fix_837(text, out)
    assert (outcome.visits, outcome.changed, outcome.invalid) == (2, 1, ())
    visits = list(x12.read_837(out.getvalue()))
    assert all(isinstance(v, ClaimVisit) for v in visits)
    b = visits[1]
    assert isinstance(b, ClaimVisit)
    assert [(ln.code, ln.modifiers) for ln in b.session.lines] == [("97140", ("GP",))]
    assert outcome.exit_code == (1 if outcome.unsettled else 0)
