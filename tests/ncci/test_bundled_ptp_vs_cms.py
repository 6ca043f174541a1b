"""Every bundled PTP row agrees with the CMS practitioner table of 2024-07-01.

The table is read in place from ``../shared/real/ncci`` (a therapy subset of the
CMS quarter, decoded by others); it is never copied into the project. Each
bundled window's indicator, and whether it is in force on 2024-07-01, must match
the CMS rows for its pair; the active pairs a therapy or chiropractic clinic
meets every day must be bundled.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from cptrules.ncci import MemoryTables, bundled_tables

ROOT = Path(__file__).resolve().parents[2]
CMS_PTP = (
    ROOT.parent
    / "shared"
    / "real"
    / "ncci"
    / "ptp_practitioner_2024-07-01__therapy_x_therapy__northstar.csv"
)
CMS_MUE = (
    ROOT.parent
    / "shared"
    / "real"
    / "ncci"
    / "mue_practitioner_2024-07-01__therapy_chiro_needling__northstar.csv"
)
QUARTER = dt.date(2024, 7, 1)


def _cms() -> tuple[dict[tuple[str, str], int], set[tuple[str, str]]]:
    """(pair -> indicator of the row active on 2024-07-01, pairs with a deleted row)."""
    active: dict[tuple[str, str], int] = {}
    deleted: set[tuple[str, str]] = set()
    with CMS_PTP.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            pair = (row["column_1"], row["column_2"])
            if row["deletion_date"]:
                deleted.add(pair)
            else:
                active[pair] = int(row["modifier_indicator"])
    return active, deleted


def _bundled() -> MemoryTables:
    tables = bundled_tables()
    assert isinstance(tables, MemoryTables)
    return tables


def test_every_bundled_row_matches_the_cms_quarter() -> None:
    active, _ = _cms()
    wrong = []
    for e in _bundled().edits():
        pair = (e.column1, e.column2)
        if e.in_force(QUARTER):
            if active.get(pair) != e.indicator:
                wrong.append((pair, e.indicator, active.get(pair)))
        elif pair in active and active[pair] != 9:
            wrong.append((pair, "not in force", active[pair]))
    assert wrong == []


def test_no_bundled_pair_is_reversed_or_withdrawn() -> None:
    active, _ = _cms()
    for e in _bundled().edits():
        assert (e.column2, e.column1) not in active or (e.column1, e.column2) in active


@pytest.mark.parametrize(
    ("column1", "column2", "indicator"),
    [
        ("97140", "97124", 0),
        ("98940", "97161", 0),
        ("98942", "97168", 0),
        ("98925", "97140", 0),
        ("98929", "97140", 0),
        ("20560", "97810", 0),
        ("20561", "97814", 0),
        ("97530", "97542", 1),
        ("97150", "97763", 1),
        ("97150", "97533", 1),
        ("98941", "97124", 1),
        ("97012", "97140", 1),
        ("97035", "97164", 1),
    ],
)
def test_active_therapy_pairs_are_bundled(column1: str, column2: str, indicator: int) -> None:
    active, _ = _cms()
    assert active[(column1, column2)] == indicator  # the CMS quarter has it so
    found = _bundled().ptp(frozenset({column1, column2}), QUARTER)
    assert [(e.column1, e.column2, e.indicator) for e in found] == [(column1, column2, indicator)]


@pytest.mark.parametrize(
    ("a", "b"),
    [("97140", "97530"), ("97161", "97140"), ("97164", "97530"), ("97530", "97116")],
)
def test_deleted_pairs_do_not_fire(a: str, b: str) -> None:
    active, deleted = _cms()
    assert (a, b) not in active
    assert (b, a) not in active
    assert (a, b) in deleted or (b, a) in deleted
    assert _bundled().ptp(frozenset({a, b}), QUARTER) == ()


def test_the_bundled_rows_cover_every_active_pair_of_the_subset() -> None:
    active, _ = _cms()
    bundled = {(e.column1, e.column2) for e in _bundled().edits() if e.in_force(QUARTER)}
    assert set(active) - bundled == set()


def test_every_bundled_mue_matches_the_cms_quarter() -> None:
    with CMS_MUE.open(newline="", encoding="utf-8") as f:
        cms = {r["hcpcs_code"]: (int(r["mue_units"]), int(r["mue_mai"])) for r in csv.DictReader(f)}
    tables = _bundled()
    assert tables.has_mue
    bundled = tables.mue(frozenset(cms) | {"97110", "99213"}, QUARTER)
    assert bundled  # values are bundled
    wrong = {
        c: ((e.value, e.indicator), cms.get(c))
        for c, e in bundled.items()
        if cms.get(c) != (e.value, e.indicator)
    }
    assert wrong == {}
