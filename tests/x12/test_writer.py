"""Writing a corrected 837P: SV1 changed, lines removed, LX renumbered, counts right."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import cptrules
from cptrules import Fix, x12
from cptrules.x12 import ClaimVisit, X12Error

PT = Path(__file__).resolve().parents[1] / "fixtures" / "x12" / "pt_medicare_and_commercial.837"


def read(source: object) -> list[ClaimVisit]:
    out = list(x12.read_837(source))  # type: ignore[arg-type]
    assert all(isinstance(v, ClaimVisit) for v in out), out
    return out  # type: ignore[return-value]


def segs(text: str) -> list[str]:
    return [s for s in text.replace("\n", "").split("~") if s]


def test_fixes_rewrite_sv1_drop_lines_and_recount() -> None:
    first, second, third = read(PT)
    fixes = {
        id(second): [
            Fix("remove_line", 1),  # LX 4, 97010
            Fix("set_units", 0, 1),  # LX 3
            Fix("add_modifier", 2, "59"),  # LX 5
        ],
        id(third): [Fix("replace_code", 0, "97112"), Fix("remove_modifier", 0, "GP")],
    }
    out = x12.write_837(PT, [(v, fixes.get(id(v), [])) for v in (first, second, third)])
    assert out is not None
    before, after = segs(PT.read_text()), segs(out)
    assert len(after) == len(before) - 3  # LX, SV1, DTP of the removed line
    assert "SV1*HC:97530:GP*80*UN*1***2" in after
    assert "SV1*HC:97112:GP:59*60*UN*1***2" in after
    assert "SV1*HC:97112*100*UN*2***1" in after
    assert "CLM*PT-1001*300***11:B:1*Y*A*Y*Y" in after  # 330 less the 30 of the removed line
    assert [s for s in after if s.startswith("LX")][:4] == ["LX*1", "LX*2", "LX*3", "LX*4"]
    st, se = after.index(next(s for s in after if s.startswith("ST*"))), len(after) - 3
    assert after[se] == f"SE*{se - st + 1}*0001"
    # and it reads back as the fixed sessions
    again = read(out)
    assert again[1].session == cptrules.apply_fixes(second.session, fixes[id(second)])
    assert again[1].positions == (3, 4)
    assert again[0].session == first.session


def test_report_fixes_round_trip_through_the_writer() -> None:
    visits = read(PT)
    reports = [x12.check_visit(v) for v in visits]
    assert any(r.fixes() for r in reports)
    sink = io.StringIO()
    assert x12.write_837(PT.read_bytes(), reports, out=sink) is None
    again = read(sink.getvalue())
    assert [v.session for v in again] == [r.report.fixed() for r in reports]


def test_removing_every_line_of_a_claim_is_refused() -> None:
    visits = read(PT)
    last = visits[2]
    with pytest.raises(X12Error, match="every line"):
        x12.write_837(PT, [(last, [Fix("remove_line", 0)])])


def test_a_visit_from_another_source_is_refused() -> None:
    [visit] = read(Path(PT).with_name("ot_minutes_mj.837"))
    with pytest.raises(X12Error):
        x12.write_837(PT, [(visit, [Fix("set_units", 0, 2)])])
