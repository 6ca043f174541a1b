"""The five 837 files of shared/real/x12 (written by others): each gives a located error.

None is checkable as it stands, and each for a reason a biller can act on: ICD-9
diagnoses (the 2005 demo claims), version 4010, or a body whose component
separator is not the one ISA16 declares. The reader must say which, where.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cptrules import x12
from cptrules.x12 import ClaimVisit, X12Error

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT.parent / "shared" / "real" / "x12"

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="shared/real is not beside the checkout")


def problems(name: str, **kw: object) -> list[tuple[str | None, str, str]]:
    out = list(x12.read_837(REAL / name, **kw))  # type: ignore[arg-type]
    assert all(isinstance(r, (ClaimVisit, X12Error)) for r in out)
    assert not [r for r in out if isinstance(r, ClaimVisit)]
    return [
        (e.claim, p.path, p.message) for e in out if isinstance(e, X12Error) for p in e.problems
    ]


def test_badx12_chiropractic_one_line_icd9() -> None:
    got = problems("badx12__X222-chiropractic.edi")
    assert ("125WILL", "segment 26 HI01-1") in [(c, p) for c, p, _ in got]
    assert any("ICD-9" in m for _, _, m in got)
    # no PRV anywhere: the discipline cannot be told from the claim either
    assert any(p == "segment 28 SV1" and "taxonomy" in m for _, p, m in got)


def test_badx12_with_the_discipline_given_still_refuses_icd9() -> None:
    got = problems("badx12__X222-chiropractic.edi", discipline="DC")
    assert [(c, p) for c, p, _ in got] == [("125WILL", "segment 26 HI01-1")]


def test_lfh_4010_is_refused_at_gs08() -> None:
    got = problems("lfh__4010X098A1__dependent-commercial-insurance-01.837")
    assert got == [
        (
            None,
            "segment 2 GS08",
            "version 004010X098A1 is not read: only 837P 5010 (005010X222A1 or A2)",
        )
    ]


@pytest.mark.parametrize(
    ("name", "hi", "sv1"),
    [
        ("lfh__5010X222A2__demo.cob.2ndary.example4.837", 26, 28),
        ("lfh__5010X222A2__demo.example9.837", 21, 29),
    ],
)
def test_lfh_component_separator_quirk_is_named(name: str, hi: int, sv1: int) -> None:
    got = problems(name)
    paths = [p for _, p, _ in got]
    assert f"segment {hi} HI01-1" in paths
    assert f"segment {sv1} SV101-1" in paths
    assert all("another component separator" in m for _, _, m in got)


def test_lfh_dme_three_modifiers_two_pointers_icd9() -> None:
    got = problems("lfh__5010X222A2__demo.example8.837")
    assert [p for _, p, _ in got][:2] == ["segment 23 HI01-1", "segment 23 HI02-1"]


def test_the_5010_chiropractic_claim_reads_once_its_diagnosis_is_icd10() -> None:
    """The same claim with an ICD-10 code: the rest of the structure is read as the TR3 says."""
    raw = (REAL / "badx12__X222-chiropractic.edi").read_text()
    text = raw.replace("HI*BK:7215", "HI*ABK:M9903")
    # its demo NPI fails the check digit, located at the billing provider's NM109
    assert problems_in(text) == [("125WILL", "segment 9 NM109")]
    text = text.replace("XX*1234567890", "XX*1234567893")
    [visit] = [r for r in x12.read_837(text, discipline="DC") if isinstance(r, ClaimVisit)]
    assert visit.claim == "125WILL"
    assert visit.session.payer == "medicare"  # SBR09 MB
    line = visit.session.lines[0]
    assert (line.code, line.units, line.modifiers) == ("98940", 1, ())
    assert (visit.positions, visit.not_carried, visit.place_of_service) == ((1,), ("CR2",), "11")


def problems_in(text: str) -> list[tuple[str | None, str]]:
    out = x12.read_837(text, discipline="DC")
    return [(e.claim, p.path) for e in out if isinstance(e, X12Error) for p in e.problems]
