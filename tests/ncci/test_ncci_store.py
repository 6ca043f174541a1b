"""The SQLite store: import, versions side by side, date windows, lookups."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cptrules import default_engine
from cptrules._context import Context
from cptrules.errors import DataError
from cptrules.models import TRUSTED_INIT, Provider, ServiceLine, Session
from cptrules.ncci import (
    EditTables,
    MemoryTables,
    MueEdit,
    PtpEdit,
    StoreTables,
    import_files,
    open_store,
    read_ptp,
    status,
)
from cptrules.rules import REGISTRY

FIX = Path(__file__).parent.parent / "fixtures" / "ncci"
PTP_F1 = FIX / "ccipra-v324r0-f1.txt"
PTP_F2 = FIX / "ccipra-v324r0-f2.txt"
MEDICAID = FIX / "medicaid-ncci-2026q4-practitioner-ptp-edits.txt"
MUE = FIX / "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv"
D = dt.date


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "ncci.sqlite3"
    import_files([PTP_F1, PTP_F2, MUE], path)
    return path


@pytest.fixture(scope="module")
def store(store_path: Path) -> StoreTables:
    return open_store(store_path)


@pytest.fixture(scope="module")
def memory() -> MemoryTables:
    """The same edits read straight from the files: what the store must answer."""
    return MemoryTables("memory", [*read_ptp(PTP_F1), *read_ptp(PTP_F2)])


def test_store_answers_the_protocol(store: StoreTables) -> None:
    assert isinstance(store, EditTables)
    assert store.version == "ncci:store(ptp v324r0; mue 2026q4)"
    assert store.has_mue


def test_status_lists_each_dataset(store_path: Path) -> None:
    infos = {(i.kind, i.version): i for i in status(store_path)}
    assert set(infos) == {("ptp", "v324r0"), ("mue", "2026q4")}
    ptp = infos["ptp", "v324r0"]
    assert ptp.rows == 33
    assert ptp.sources == (PTP_F1.name, PTP_F2.name)  # the parts make one dataset
    assert ptp.active
    assert ptp.program == "medicare"
    assert infos["mue", "2026q4"].rows == 13


CODES = sorted({c for e in read_ptp(PTP_F1) for c in (e.column1, e.column2)} | {"97140"})


@settings(max_examples=150, deadline=None)
@given(
    codes=st.frozensets(st.sampled_from(CODES), max_size=8),
    day=st.dates(D(1995, 6, 1), D(2027, 6, 30)),
)
def test_store_answers_exactly_what_the_files_say(
    store: StoreTables, memory: MemoryTables, codes: frozenset[str], day: dt.date
) -> None:
    assert store.ptp(codes, day) == memory.ptp(codes, day)


@pytest.mark.parametrize(
    ("day", "in_force"),
    [
        (D(2022, 12, 31), False),  # before the first window
        (D(2023, 1, 1), True),  # effective day
        (D(2023, 3, 31), True),  # last day in force
        (D(2023, 4, 1), False),  # deletion day: no longer in force [?] decision
        (D(2023, 6, 30), False),  # the gap between windows
        (D(2023, 7, 1), True),  # second window opens
        (D(2023, 12, 31), True),
        (D(2024, 1, 1), False),
        (D(2025, 1, 1), True),  # third, open-ended window
        (D(2030, 1, 1), True),
    ],
)
def test_disjoint_date_windows(
    store: StoreTables, memory: MemoryTables, day: dt.date, in_force: bool
) -> None:
    codes = frozenset({"Z0015", "Z0018"})
    for tables in (store, memory):
        assert bool(tables.ptp(codes, day)) is in_force


def test_indicator_9_and_retroactive_deletions_never_answer(store: StoreTables) -> None:
    for day in (D(2011, 1, 1), D(2021, 1, 1), D(2026, 1, 1)):
        assert store.ptp(frozenset({"Z0001", "Z0004"}), day) == ()
        assert store.ptp(frozenset({"Z0010", "Z0014"}), day) == ()


def test_lookup_carries_rationale_and_source(store: StoreTables) -> None:
    (edit,) = store.ptp(frozenset({"Z0001", "Z0005", "99999"}), D(2026, 3, 4))
    assert edit.rationale.endswith("manual\u2019s chapter XI \u00a7 E")
    assert edit.source == "CMS practitioner PTP v324r0"
    assert edit.confidence is None


def test_one_query_per_check_then_cached(store_path: Path) -> None:
    tables = open_store(store_path)
    statements: list[str] = []
    tables._con.set_trace_callback(statements.append)  # white box: count the SQL
    codes = frozenset({"Z0015", "Z0016", "Z0017", "Z0018"})
    first = tables.ptp(codes, D(2023, 2, 1))
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    statements.clear()
    assert tables.ptp(codes, D(2023, 2, 1)) == first
    assert len(tables.ptp(codes, D(2024, 2, 1))) == 2  # other day, same cached windows
    assert statements == []
    tables.close()


def test_many_codes_split_over_queries(store: StoreTables, memory: MemoryTables) -> None:
    codes = frozenset({*CODES, *(f"A{n:04d}" for n in range(450))})
    assert store.ptp(codes, D(2023, 2, 1)) == memory.ptp(codes, D(2023, 2, 1))
    assert store.ptp(codes, D(2023, 2, 1))


def test_single_code_or_same_code_pairs_answer_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ccipra-v324r0-f1.txt"
    lines = PTP_F1.read_bytes().split(b"\r\n")
    lines.insert(6, b"Z0050\tZ0050\t\t20200101\t*\t1\tsame code")
    path.write_bytes(b"\r\n".join(lines))
    import_files([path], tmp_path / "s.sqlite3")
    tables = open_store(tmp_path / "s.sqlite3")
    assert tables.ptp(frozenset({"Z0050"}), D(2024, 1, 1)) == ()
    assert tables.ptp(frozenset({"Z0050", "Z0001"}), D(2024, 1, 1)) == ()


def test_concurrent_lookups(store_path: Path, memory: MemoryTables) -> None:
    tables = open_store(store_path)
    sets = [frozenset(CODES[i : i + 5]) for i in range(0, len(CODES), 2)]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                for codes in sets:
                    assert tables.ptp(codes, D(2023, 2, 1)) == memory.ptp(codes, D(2023, 2, 1))
        except BaseException as exc:  # reported to the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# --- MUE --------------------------------------------------------------------------------


def test_mue_lookup(store: StoreTables) -> None:
    found = store.mue(frozenset({"Z0001", "Z0002", "97140"}), D(2026, 11, 1))
    assert sorted(found) == ["Z0001", "Z0002"]
    assert (found["Z0002"].value, found["Z0002"].indicator) == (4, 3)
    assert found["Z0002"].source == "CMS practitioner MUE 2026q4"


def test_mue_quarters_side_by_side(tmp_path: Path) -> None:
    later = tmp_path / "MCR_MUE_PractitionerServices_Eff_01-01-2027.csv"
    later.write_bytes(MUE.read_bytes().replace(b"\r\nZ0002,4,", b"\r\nZ0002,5,"))
    db = tmp_path / "s.sqlite3"
    import_files([MUE, later], db)
    tables = open_store(db)
    assert tables.version == "ncci:store(ptp bundled-2026.12; mue 2026q4,2027q1)"
    codes = frozenset({"Z0002"})
    assert tables.mue(codes, D(2026, 9, 30)) == {}  # before every imported quarter
    assert tables.mue_quarter(D(2026, 9, 30)) is None
    assert tables.mue(codes, D(2026, 10, 1))["Z0002"].value == 4
    assert tables.mue(codes, D(2026, 12, 31))["Z0002"].value == 4
    assert tables.mue(codes, D(2027, 1, 1))["Z0002"].value == 5
    assert tables.mue_quarter(D(2031, 1, 1)) == "2027q1"


def test_store_without_ptp_answers_ptp_from_bundled_pairs(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    import_files([MUE], db)
    tables = open_store(db)
    (edit,) = tables.ptp(frozenset({"98940", "97140"}), D(2026, 3, 4))
    assert edit.source.startswith("CMS NCCI practitioner PTP edits")


# --- versions side by side -----------------------------------------------------------


def _v325(tmp_path: Path) -> Path:
    """A later release in which Z0001/Z0002 was deleted on 2026-01-01."""
    path = tmp_path / "ccipra-v325r0-f1.txt"
    path.write_bytes(
        PTP_F1.read_bytes().replace(
            b"Z0001\tZ0002\t\t20200101\t*\t1", b"Z0001\tZ0002\t\t20200101\t20260101\t1"
        )
    )
    return path


def test_newest_version_answers_older_ones_kept(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    import_files([PTP_F1], db)
    import_files([_v325(tmp_path)], db)
    infos = {i.version: i for i in status(db)}
    assert (infos["v324r0"].active, infos["v325r0"].active) == (False, True)
    pair = frozenset({"Z0001", "Z0002"})
    newest = open_store(db)
    assert newest.version == "ncci:store(ptp v325r0; no mue)"
    assert newest.ptp(pair, D(2025, 12, 31))  # the history is in the newest file
    assert newest.ptp(pair, D(2026, 3, 4)) == ()
    pinned = open_store(db, ptp_version="v324r0")
    assert pinned.ptp(pair, D(2026, 3, 4))
    with pytest.raises(DataError, match="no PTP version v300r0"):
        open_store(db, ptp_version="v300r0")


def test_reimport_replaces_the_same_version(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    import_files([PTP_F1], db)
    import_files([PTP_F1, PTP_F2], db)
    (info,) = status(db)
    assert info.rows == 33
    tables = sqlite3.connect(db).execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'ptp_%'"
    )
    assert tables.fetchone()[0] == 1  # the old table was dropped


def test_medicaid_is_its_own_program(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    import_files([PTP_F1, MEDICAID, MUE], db)
    assert open_store(db).version == "ncci:store(ptp v324r0; mue 2026q4)"
    medicaid = open_store(db, program="medicaid")
    assert medicaid.version == "ncci:store(medicaid ptp 2026q4; no mue)"
    (edit,) = medicaid.ptp(frozenset({"Z0001", "Z0002"}), D(2026, 3, 4))
    assert edit.source == "CMS Medicaid practitioner PTP 2026q4"
    only_medicaid = tmp_path / "m.sqlite3"
    import_files([MEDICAID], only_medicaid)
    assert open_store(only_medicaid).version.startswith("ncci:store(medicaid ptp 2026q4")
    with pytest.raises(DataError, match="program"):
        open_store(db, program="tricare")


# --- versions from names or arguments ------------------------------------------------


def test_version_must_be_known(tmp_path: Path) -> None:
    plain = tmp_path / "edits.txt"
    shutil.copy(PTP_F1, plain)
    db = tmp_path / "s.sqlite3"
    with pytest.raises(DataError, match="pass --version"):
        import_files([plain], db)
    (info,) = import_files([plain], db, version="V330R1")
    assert info.version == "v330r1"
    with pytest.raises(DataError, match="neither"):
        import_files([plain], db, version="latest")


def test_mue_needs_a_quarter(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="quarter like 2026q4"):
        import_files([MUE], tmp_path / "s.sqlite3", version="v324r0")


def test_version_schemes_do_not_mix_within_a_program(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    import_files([PTP_F1], db)
    with pytest.raises(DataError, match="named another way"):
        import_files([PTP_F2], db, version="2026q4")


def test_hospital_edits_are_refused(tmp_path: Path) -> None:
    hospital = tmp_path / "ccioph-v324r0-f1.txt"
    shutil.copy(PTP_F1, hospital)
    with pytest.raises(DataError, match="outpatient hospital"):
        import_files([hospital], tmp_path / "s.sqlite3")


# --- failures leave the store as it was ------------------------------------------------


def test_failed_import_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    import_files([PTP_F1, MUE], db)
    before = status(db)
    before_bytes = db.read_bytes()
    bad = tmp_path / "ccipra-v325r0-f2.txt"
    bad.write_bytes(PTP_F2.read_bytes().replace(b"\t20220101\t", b"\t2022-01-01\t"))
    with pytest.raises(DataError, match="deletion date") as info:
        import_files([_v325(tmp_path), bad], db)
    assert info.value.source == bad.name
    assert info.value.line == 9
    assert status(db) == before
    assert db.read_bytes() == before_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["s.sqlite3", ".s.sqlite3.lock", bad.name, "ccipra-v325r0-f1.txt"]
    )  # no temporary copy left behind (the lock file stays: removing it would race)


def test_import_into_a_new_directory(tmp_path: Path) -> None:
    db = tmp_path / "a" / "b" / "ncci.sqlite3"
    import_files([MUE], db)
    assert db.is_file()


def test_cannot_write_is_a_data_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataError, match="cannot write"):
        import_files([MUE], blocker / "ncci.sqlite3")


def test_no_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no files"):
        import_files([], tmp_path / "s.sqlite3")


# --- opening ---------------------------------------------------------------------------


def test_open_missing_or_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no NCCI store"):
        open_store(tmp_path / "none.sqlite3")
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(DataError, match="not a cptrules NCCI store"):
        open_store(junk)
    other = tmp_path / "other.sqlite3"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    con.execute("INSERT INTO meta VALUES ('schema', '0')")
    con.commit()
    con.close()
    with pytest.raises(DataError, match="import the CMS files again"):
        open_store(other)
    with pytest.raises(DataError, match="import the CMS files again"):
        import_files([MUE], other)


def test_store_is_opened_read_only(store_path: Path) -> None:
    tables = open_store(store_path)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        tables._con.execute("DELETE FROM rationales")  # white box: the connection mode
    tables.close()


def _unchecked_line(code: str, modifiers: tuple[str, ...]) -> ServiceLine:
    """A line with a fixture code: the fixtures' synthetic Z-codes are not well-formed
    HCPCS codes, so the model's own check (the parser's) would refuse them."""
    line: ServiceLine = object.__new__(ServiceLine)
    TRUSTED_INIT[ServiceLine](line, code, None, 1, modifiers)
    return line


@settings(max_examples=100, deadline=None)
@given(
    lines=st.lists(
        st.tuples(st.sampled_from(CODES), st.sampled_from(((), ("59",), ("XU",)))),
        min_size=2,
        max_size=6,
    ),
    day=st.dates(D(2020, 1, 1), D(2027, 6, 30)),
)
def test_ptp_rule_finds_the_same_from_the_store_as_from_the_files(
    store: StoreTables,
    memory: MemoryTables,
    lines: list[tuple[str, tuple[str, ...]]],
    day: dt.date,
) -> None:
    """The rule prepares each answer once (kept by the edits' values): a store's answer,
    its own edit objects, is prepared like the same edits held in memory."""
    session = Session(
        date_of_service=day,
        payer="medicare",
        provider=Provider("PT"),
        lines=tuple(_unchecked_line(code, mods) for code, mods in lines),
    )
    engine = default_engine()
    profile = engine.profile_for("medicare", session)
    rule = REGISTRY["ncci.ptp"]
    found = [
        list(rule.func(Context(session, profile, engine.catalog, tables), rule))
        for tables in (store, memory, store)
    ]
    assert found[0] == found[1] == found[2]


# --- remembered answers against direct queries -----------------------------------------

# A made-up release rich in date windows among a few fictitious codes: disjoint and
# overlapping windows, windows opening and closing on any day (not only quarter
# starts), retroactive deletions (deletion == effective), a deletion before its
# effective date, indicator 9 rows, same-code pairs and repeated (column 1, column 2,
# effective) rows; and MUE quarters with a gap (2026q2 not imported).
RICH_CODES = [f"Z{n:04d}" for n in range(101, 111)]
RICH_DAYS = sorted(
    {D(2019, 1, 1), D(2020, 2, 29), D(2021, 1, 1), D(2021, 1, 2), D(2022, 7, 1)}
    | {D(2023, 4, 1), D(2023, 4, 2), D(2024, 12, 31), D(2025, 10, 1), D(2026, 3, 15)}
)
RICH_QUARTERS = ("2025q3", "2025q4", "2026q1", "2026q3")


def _rich_files(directory: Path) -> list[Path]:
    rng = random.Random(8)
    preamble = PTP_F1.read_bytes().split(b"\r\n")[:6]
    rows = []
    for _ in range(160):
        c1, c2 = rng.choice(RICH_CODES), rng.choice(RICH_CODES)
        eff = rng.choice(RICH_DAYS)
        kind = rng.random()
        if kind < 0.4:
            dele = "*"
        elif kind < 0.5:
            dele = f"{eff:%Y%m%d}"  # retroactive deletion: never in force
        else:
            dele = f"{rng.choice(RICH_DAYS):%Y%m%d}"  # may precede eff: never in force
        ind = rng.choice("0119")
        rows.append(f"{c1}\t{c2}\t\t{eff:%Y%m%d}\t{dele}\t{ind}\tRationale {rng.randrange(5)}")
    ptp = directory / "ccipra-v501r0-f1.txt"
    ptp.write_bytes(b"\r\n".join(preamble) + b"\r\n" + "\r\n".join(rows).encode() + b"\r\n")
    files = [ptp]
    header = MUE.read_bytes().split(b"\r\n")
    notice = b"\r\n".join(header[:4])  # the quoted notice cell and the header row
    for label in RICH_QUARTERS:
        year, quarter = int(label[:4]), int(label[-1])
        path = directory / f"MCR_MUE_PractitionerServices_Eff_{quarter * 3 - 2:02d}-01-{year}.csv"
        mai = ("1 Line Edit", "2 Date of Service Edit: Policy", "3 Date of Service Edit: Clinical")
        lines = [
            f"{code},{rng.randrange(9)},{rng.choice(mai)},Clinical: Data"
            for code in RICH_CODES
            if rng.random() < 0.7
        ]
        path.write_bytes(notice + b"\r\n" + "\r\n".join(lines).encode() + b"\r\n")
        files.append(path)
    return files


@pytest.fixture(scope="module")
def rich_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("rich")
    path = directory / "ncci.sqlite3"
    import_files(_rich_files(directory), path)
    return path


@pytest.fixture(scope="module")
def rich(rich_path: Path) -> StoreTables:
    return open_store(rich_path)


@pytest.fixture(scope="module")
def rich_small(rich_path: Path) -> StoreTables:
    """The same store remembering at most 3 code sets, forgetting all the time, and
    working answers out in advance only for the smaller sets (larger ones filter)."""
    tables = open_store(rich_path)
    tables._ptp_windows.size = tables._mue_answers.size = (
        3  # white box: the bounds, made tiny to exercise both paths
    )
    tables._answers_budget = 30
    return tables


class Direct:
    """Every answer queried afresh with the date filter in SQL: no memory, no Python dates."""

    def __init__(self, path: Path) -> None:
        self.con = sqlite3.connect(path)
        ((self.ptp_id,),) = self.con.execute(
            "SELECT id FROM datasets WHERE kind = 'ptp' ORDER BY rank DESC LIMIT 1"
        )
        self.source = (
            "CMS practitioner PTP "
            + self.con.execute(
                "SELECT version FROM datasets WHERE id = ?", (self.ptp_id,)
            ).fetchone()[0]
        )

    @staticmethod
    def _int(day: dt.date) -> int:
        return day.year * 10000 + day.month * 100 + day.day

    def ptp(self, codes: frozenset[str], day: dt.date) -> tuple[PtpEdit, ...]:
        marks = ",".join("?" * len(codes))
        rows = self.con.execute(
            "SELECT p.column1, p.column2, p.effective, p.deletion, p.indicator, r.text "
            f"FROM ptp_{self.ptp_id} p JOIN rationales r ON r.id = p.rationale "
            f"WHERE p.column1 IN ({marks}) AND p.column2 IN ({marks}) AND p.indicator != 9 "
            "AND p.column1 != p.column2 AND p.effective <= ? "
            "AND (p.deletion IS NULL OR p.deletion > ?) "
            "ORDER BY p.column1, p.column2, p.effective, p.rowid",
            (*codes, *codes, self._int(day), self._int(day)),
        )

        def date(value: int) -> dt.date:
            return dt.date.fromisoformat(f"{value:08d}")

        return tuple(
            PtpEdit(c1, c2, ind, date(eff), None if dele is None else date(dele), text, self.source)
            for c1, c2, eff, dele, ind, text in rows
        )

    def mue_quarter(self, day: dt.date) -> tuple[int, str] | None:
        row = self.con.execute(
            "SELECT id, version FROM datasets WHERE kind = 'mue' AND start <= ? "
            "ORDER BY start DESC LIMIT 1",
            (self._int(day),),
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def mue(self, codes: frozenset[str], day: dt.date) -> dict[str, MueEdit]:
        quarter = self.mue_quarter(day)
        if quarter is None:
            return {}
        table, label = quarter
        rows = self.con.execute(
            f"SELECT m.code, m.value, m.indicator, r.text FROM mue_{table} m "
            "JOIN rationales r ON r.id = m.rationale "
            f"WHERE m.code IN ({','.join('?' * len(codes))}) ORDER BY m.code",
            tuple(codes),
        )
        return {c: MueEdit(c, v, i, t, f"CMS practitioner MUE {label}") for c, v, i, t in rows}


@pytest.fixture(scope="module")
def direct(rich_path: Path) -> Direct:
    return Direct(rich_path)


def _near(days: list[dt.date]) -> list[dt.date]:
    """Each day, the day before and the day after: where an answer may change."""
    one = dt.timedelta(days=1)
    return sorted({d + k * one for d in days for k in (-1, 0, 1)})


QUARTER_STARTS = [D(y, m, 1) for y in (2025, 2026, 2027) for m in (1, 4, 7, 10)]
RICH_DATES = st.one_of(
    st.sampled_from(_near(RICH_DAYS)),
    st.sampled_from(_near(QUARTER_STARTS)),
    st.dates(D(2018, 1, 1), D(2028, 12, 31)),
)


@settings(max_examples=300, deadline=None)
@given(
    asks=st.lists(
        st.tuples(st.frozensets(st.sampled_from(RICH_CODES), max_size=6), RICH_DATES),
        min_size=1,
        max_size=8,
    )
)
def test_remembered_answers_are_the_direct_answers(
    rich: StoreTables,
    rich_small: StoreTables,
    direct: Direct,
    asks: list[tuple[frozenset[str], dt.date]],
) -> None:
    """Asked in any order, twice, with roomy and with tiny memories: every PTP and MUE
    answer, and the MUE quarter, is what a fresh query filtering dates in SQL says."""
    for tables in (rich, rich_small):
        for codes, day in [*asks, *reversed(asks)]:
            assert tables.ptp(codes, day) == direct.ptp(codes, day)
            assert dict(tables.mue(codes, day)) == direct.mue(codes, day)
            assert list(tables.mue(codes, day)) == sorted(direct.mue(codes, day))
            quarter = direct.mue_quarter(day)
            assert tables.mue_quarter(day) == (None if quarter is None else quarter[1])


def test_rich_store_has_what_the_property_needs(
    rich: StoreTables, rich_small: StoreTables, direct: Direct
) -> None:
    """The property above is only as good as its data: answers that change with the day,
    and in the tiny store both code sets answered in advance and sets that filter."""
    assert rich.version == "ncci:store(ptp v501r0; mue 2025q3,2025q4,2026q1,2026q3)"
    codes = frozenset(RICH_CODES)
    answers = {direct.ptp(codes, day) for day in _near(RICH_DAYS)}
    assert len(answers) > 8
    kinds = set()
    for size in (2, 3, 6):
        some = frozenset(RICH_CODES[:size])
        rich_small.ptp(some, D(2024, 1, 1))
        kinds.add(rich_small._ptp_windows.get(some).answers is None)  # white box
    assert kinds == {True, False}
    assert rich.mue_quarter(D(2026, 6, 30)) == "2026q1"  # the gap: q1 goes on answering
    assert rich.mue_quarter(D(2025, 6, 30)) is None


def test_repeated_lookups_do_no_io_and_share_answers(rich_path: Path, direct: Direct) -> None:
    tables = open_store(rich_path)
    statements: list[str] = []
    tables._con.set_trace_callback(statements.append)  # white box: count the SQL
    codes = frozenset(RICH_CODES[:6])
    days = _near(RICH_DAYS)
    first = {day: tables.ptp(codes, day) for day in days}
    mues = {day: tables.mue(codes, day) for day in _near(QUARTER_STARTS)}
    queried = len(statements)
    assert queried == 1 + len(RICH_QUARTERS)  # one for the windows, one per quarter
    for day in days:
        again = tables.ptp(codes, day)
        assert again is first[day]  # remembered, handed out as it is
        assert again == direct.ptp(codes, day)
    for day, found in mues.items():
        assert tables.mue(codes, day) is found
        tables.mue_quarter(day)
    assert len(statements) == queried
    tables.close()


def test_one_answer_per_period(rich: StoreTables) -> None:
    """Days between two changes of a code set's edits share one remembered answer."""
    codes = frozenset(RICH_CODES[2:8])
    rich.ptp(codes, D(2024, 1, 1))
    windows = rich._ptp_windows.get(codes)  # white box: the days the answer may change
    assert windows is not None
    assert windows.breaks
    assert windows.answers is not None
    for start, end in zip(windows.breaks, windows.breaks[1:], strict=False):
        span = [start + dt.timedelta(days=k) for k in range(0, (end - start).days, 97)]
        found = [rich.ptp(codes, day) for day in span]
        assert all(answer is found[0] for answer in found)


def test_memory_stays_bounded(rich_path: Path, direct: Direct) -> None:
    tables = open_store(rich_path)
    tables._ptp_windows.size = tables._mue_answers.size = 5  # white box: tiny bounds
    tables._answers_budget = 12
    for n, codes in enumerate(itertools.combinations(RICH_CODES, 3)):
        day = RICH_DAYS[n % len(RICH_DAYS)]
        assert tables.ptp(frozenset(codes), day) == direct.ptp(frozenset(codes), day)
        assert dict(tables.mue(frozenset(codes), day)) == direct.mue(frozenset(codes), day)
        assert len(tables._ptp_windows) <= 5
        assert len(tables._mue_answers) <= 5
        for windows in tables._ptp_windows.values():
            if windows.answers is not None:
                assert sum(len(a) for a in windows.answers if a is not None) <= 12
    tables.close()


def test_sets_are_answered_like_frozensets(rich: StoreTables, direct: Direct) -> None:
    day = D(2026, 3, 15)
    for size in (0, 1, 2, 5):
        codes = set(RICH_CODES[:size])
        assert rich.ptp(codes, day) == direct.ptp(frozenset(codes), day)  # type: ignore[arg-type]
        assert dict(rich.mue(codes, day)) == direct.mue(frozenset(codes), day)  # type: ignore[arg-type]


def test_concurrent_lookups_with_forgetting(rich_path: Path, direct: Direct) -> None:
    """Threads sharing one store whose memory forgets constantly: the connection is never
    used by two at once (sqlite3 would raise or answer wrongly) and every answer holds."""
    tables = open_store(rich_path)
    tables._ptp_windows.size = tables._mue_answers.size = (
        4  # white box: tiny bounds, so threads keep querying
    )
    tables._answers_budget = 20
    sets = [frozenset(c) for c in itertools.combinations(RICH_CODES[:7], 3)]
    days = _near(RICH_DAYS)[::3]
    expected = {(c, d): (direct.ptp(c, d), direct.mue(c, d)) for c in sets for d in days}
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        keys = list(expected)
        try:
            for _ in range(1500):
                codes, day = rng.choice(keys)
                ptp, mue = expected[codes, day]
                assert tables.ptp(codes, day) == ptp
                assert dict(tables.mue(codes, day)) == mue
        except BaseException as exc:  # reported to the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    tables.close()


def test_clear_caches_empties_a_store_s_memos(rich_path: Path, direct: Direct) -> None:
    import cptrules

    tables = open_store(rich_path)
    codes = frozenset(RICH_CODES[:4])
    day = QUARTER_STARTS[-1]
    first = (tables.ptp(codes, day), dict(tables.mue(codes, day)))
    assert len(tables._ptp_windows)  # white box
    assert len(tables._mue_answers)
    cptrules.clear_caches()
    assert len(tables._ptp_windows) == len(tables._mue_answers) == 0
    assert (tables.ptp(codes, day), dict(tables.mue(codes, day))) == first
    tables.close()
