"""The bundled therapy pairs, the edit model, and choosing the default tables."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cptrules.catalog import catalog
from cptrules.errors import DataError
from cptrules.ncci import (
    EditTables,
    MemoryTables,
    MueEdit,
    PtpEdit,
    StoreTables,
    bundled_tables,
    default_store_path,
    default_tables,
    import_files,
)
from cptrules.ncci.tables import parse_bundled

FIX = Path(__file__).parent.parent / "fixtures" / "ncci"
D = dt.date


def _bundled() -> MemoryTables:
    tables = bundled_tables()
    assert isinstance(tables, MemoryTables)
    return tables


# --- what is bundled, and only that ------------------------------------------------------
# Every row is checked against an independent decoding of the CMS quarter in
# tests/ncci/test_bundled_ptp_vs_cms.py; here: the shape of the file.


def test_bundled_rows_are_one_window_each_from_the_cms_quarter() -> None:
    edits = _bundled().edits()
    assert len({(e.column1, e.column2) for e in edits}) == len(edits)  # one window each
    assert all(e.indicator in (0, 1) for e in edits)
    assert all(e.deletion is None for e in edits)
    assert all(
        e.source == "CMS NCCI practitioner PTP edits, quarter beginning 2024-07-01" for e in edits
    )


def test_withdrawn_and_deleted_pairs_are_absent() -> None:
    pairs = {frozenset((e.column1, e.column2)) for e in _bundled().edits()}
    assert frozenset(("97140", "97530")) not in pairs  # deleted 2019-12-31
    for evaluation in ("97161", "97162", "97163", "97165", "97166", "97167"):
        assert frozenset((evaluation, "97140")) not in pairs  # indicator 9
        for code in ("97530", "97150"):  # indicator-0 edits of Jan 2020, withdrawn
            assert frozenset((evaluation, code)) not in pairs


def test_unsourced_dates_use_the_catalog_data_start_and_say_so() -> None:
    start = catalog().data_start
    for edit in _bundled().edits():
        assert edit.effective == start
        assert "2020-01-01" in edit.rationale
        assert "official CMS file has" in edit.rationale


def test_bundled_file_opens_with_where_when_how_sure() -> None:
    text = resources.files("cptrules.data").joinpath("ncci_therapy_ptp.toml").read_text("utf-8")
    head = text.split("\n\n", 1)[0]
    for needle in ("Where it came from", "When:", "How sure", "CMS NCCI"):
        assert needle in head


# --- bundled lookups ---------------------------------------------------------------------


def test_bundled_lookup() -> None:
    tables = bundled_tables()
    assert isinstance(tables, EditTables)
    assert tables.version == "ncci:bundled-2026.12"
    assert tables.has_mue is True  # the CMS values of 2024-07-01 for therapy codes
    assert tables.mue(frozenset({"97140"}), D(2026, 3, 4))["97140"].value == 6
    assert tables.mue(frozenset({"99999"}), D(2026, 3, 4)) == {}
    codes = frozenset({"98941", "97140", "97112", "97110"})
    found = tables.ptp(codes, D(2026, 3, 4))
    assert [(e.column1, e.column2) for e in found] == [("98941", "97112"), ("98941", "97140")]
    assert tables.ptp(codes, D(2019, 12, 31)) == ()  # before our data start
    assert tables.ptp(frozenset({"97140"}), D(2026, 3, 4)) == ()
    assert bundled_tables() is tables  # read once


def test_group_therapy_with_one_on_one_codes() -> None:
    found = bundled_tables().ptp(frozenset({"97150", "97110", "97530"}), D(2026, 3, 4))
    assert [(e.column1, e.column2, e.indicator) for e in found] == [
        ("97150", "97110", 1),
        ("97150", "97530", 1),
    ]


def test_manual_therapy_with_massage_is_indicator_0() -> None:
    (edit,) = bundled_tables().ptp(frozenset({"97140", "97124"}), D(2026, 3, 4))
    assert (edit.column1, edit.column2, edit.indicator) == ("97140", "97124", 0)


# --- the model ---------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    effective=st.dates(D(1996, 1, 1), D(2030, 1, 1)),
    length=st.integers(0, 4000) | st.none(),
    day=st.dates(D(1995, 1, 1), D(2042, 1, 1)),
)
def test_in_force_is_the_half_open_window(
    effective: dt.date, length: int | None, day: dt.date
) -> None:
    deletion = None if length is None else effective + dt.timedelta(days=length)
    edit = PtpEdit("Z0001", "Z0002", 1, effective, deletion, "", "test")
    assert edit.in_force(effective) is (deletion != effective)
    assert not edit.in_force(effective - dt.timedelta(days=1))
    if deletion is not None:
        assert not edit.in_force(deletion)  # [?] the deletion day is not covered
        if deletion > effective:
            assert edit.in_force(deletion - dt.timedelta(days=1))  # last day in force
    inside = effective <= day and (deletion is None or day < deletion)
    assert edit.in_force(day) is inside


def test_memory_tables_keep_every_window_and_skip_indicator_9() -> None:
    edits = [
        PtpEdit("Z0001", "Z0002", 1, D(2020, 1, 1), D(2021, 1, 1), "a", "t"),
        PtpEdit("Z0001", "Z0002", 0, D(2022, 1, 1), None, "b", "t"),
        PtpEdit("Z0001", "Z0003", 9, D(2020, 1, 1), None, "c", "t"),
        PtpEdit("Z0004", "Z0004", 1, D(2020, 1, 1), None, "d", "t"),
    ]
    mue = {"Z0001": MueEdit("Z0001", 2, 3, "Clinical: Data", "t")}
    tables = MemoryTables("mem", edits, mue)
    codes = frozenset({"Z0001", "Z0002", "Z0003", "Z0004"})
    assert [e.rationale for e in tables.ptp(codes, D(2020, 6, 1))] == ["a"]
    assert tables.ptp(codes, D(2021, 6, 1)) == ()
    assert [e.indicator for e in tables.ptp(codes, D(2022, 6, 1))] == [0]
    assert tables.has_mue
    assert dict(tables.mue(codes, D(2022, 6, 1))) == mue


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ('column1 = "98940"\ncolumn2 = "97140"\nindicator = 2', "indicator"),
        ('column1 = "9894"\ncolumn2 = "97140"\nindicator = 1', "bad code"),
        ('column1 = "98940"\ncolumn2 = []\nindicator = 1', "no codes"),
        ('column1 = "98940"\ncolumn2 = "97140"\nindicator = 1\nnote = ""', "note"),
        ('column1 = "98940"\ncolumn2 = "97140"\nindicator = 1\nextra = 1', "unknown keys"),
        ('column1 = "98940"\ncolumn2 = "97140"\nindicator = 1\nconfidence = "high"', "confidence"),
        ('column1 = "98940"\ncolumn2 = "97140"\nindicator = 1\neffective = "2020"', "dates"),
    ],
)
def test_bundled_file_is_validated(entry: str, message: str) -> None:
    defaults = {"effective": "2020-01-01", "confidence": '"C-2"', "note": '"n"'}
    lines = entry.split("\n")
    keys = {line.split(" = ")[0] for line in lines}
    lines += [f"{k} = {v}" for k, v in defaults.items() if k not in keys]
    text = 'version = "x"\nsource = "s"\n[[ptp]]\n' + "\n".join(lines) + "\n"
    with pytest.raises(DataError, match=message):
        parse_bundled(text)
    with pytest.raises(DataError, match="version, source"):
        parse_bundled('version = "x"\n')
    with pytest.raises(DataError, match="TOML"):
        parse_bundled("version = ")


# --- default store path and tables ------------------------------------------------------


def test_default_store_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CPTRULES_DB", str(tmp_path / "mine.sqlite3"))
    assert default_store_path() == tmp_path / "mine.sqlite3"
    monkeypatch.delenv("CPTRULES_DB")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_store_path() == tmp_path / "xdg" / "cptrules" / "ncci.sqlite3"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_store_path() == tmp_path / "home" / ".cache" / "cptrules" / "ncci.sqlite3"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_store_path() == tmp_path / "home" / ".cache" / "cptrules" / "ncci.sqlite3"


def test_default_tables_picks_the_store_when_it_exists(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "ncci.sqlite3"
    monkeypatch.setenv("CPTRULES_DB", str(db))
    assert default_tables() is bundled_tables()
    import_files([FIX / "ccipra-v324r0-f1.txt"], db)
    first = default_tables()
    assert isinstance(first, StoreTables)
    assert first.version == "ncci:store(ptp v324r0; no mue)"
    assert default_tables() is first  # reused while the file is unchanged
    import_files([FIX / "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv"], db)
    second = default_tables()
    assert second is not first
    assert second.version == "ncci:store(ptp v324r0; mue 2026q4)"


# --- remembered answers (the lookup the ncci rules make for every visit) -----------------

_CODES = ("97110", "97112", "97140", "97530", "98940")
_DAYS = st.dates(D(2019, 1, 1), D(2027, 12, 31))


@st.composite
def _edits(draw: st.DrawFn) -> list[PtpEdit]:
    out = []
    for _ in range(draw(st.integers(0, 12))):
        c1, c2 = draw(st.sampled_from(_CODES)), draw(st.sampled_from(_CODES))
        effective = draw(_DAYS)
        deletion = draw(st.none() | st.dates(effective, D(2028, 1, 1)))
        indicator = draw(st.sampled_from((0, 1, 9)))
        out.append(PtpEdit(c1, c2, indicator, effective, deletion, "r", "s"))
    return out


def _scan(edits: list[PtpEdit], codes: frozenset[str], day: dt.date) -> tuple[PtpEdit, ...]:
    """The answer straight from the definition, for comparison."""
    found = [
        e
        for e in edits
        if e.column1 in codes
        and e.column2 in codes
        and e.column1 != e.column2
        and e.indicator != 9
        and e.in_force(day)
    ]
    return tuple(sorted(found, key=lambda e: (e.column1, e.column2, e.effective)))


@settings(max_examples=200, deadline=None)
@given(
    edits=_edits(),
    asks=st.lists(
        st.tuples(st.frozensets(st.sampled_from(_CODES)), _DAYS | st.none()),
        min_size=1,
        max_size=12,
    ),
)
def test_remembered_ptp_answers_match_the_definition(
    edits: list[PtpEdit], asks: list[tuple[frozenset[str], dt.date | None]]
) -> None:
    """Answers are remembered per code set and period between edit start/stop days: every
    lookup, repeated or not, on any day (the boundaries included), is the definition's."""
    tables = MemoryTables("t", edits)
    boundaries = [d for e in edits for d in (e.effective, e.deletion) if d is not None]
    days = [d for d in boundaries for d in (d - dt.timedelta(days=1), d)]
    for codes, when in asks:
        for day in days if when is None else [when]:  # None: every boundary
            expected = _scan(edits, codes, day)
            assert tables.ptp(codes, day) == expected
            assert tables.ptp(set(codes), day) == expected  # type: ignore[arg-type]
            assert tables.ptp(codes, day) is tables.ptp(frozenset(codes), day)


def test_remembered_mue_answers_are_read_only_and_per_code_set() -> None:
    mue = {c: MueEdit(c, 2, 3, "r", "s") for c in ("97110", "97140")}
    tables = MemoryTables("t", [], mue)
    codes = frozenset({"97110", "97112"})
    first = tables.mue(codes, D(2026, 3, 4))
    assert first == {"97110": mue["97110"]}
    assert tables.mue(codes, D(2020, 1, 1)) is first
    assert tables.mue(frozenset({"97140", "97110"}), D(2026, 3, 4)) == mue
    with pytest.raises(TypeError):
        first["97140"] = mue["97140"]  # type: ignore[index]
    assert tables.mue(codes, D(2026, 3, 4)) == {"97110": mue["97110"]}
