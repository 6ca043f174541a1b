"""The SQLite store: import, versions side by side, date windows, lookups."""

from __future__ import annotations

import datetime as dt
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
from cptrules.models import Provider, ServiceLine, Session
from cptrules.ncci import (
    EditTables,
    MemoryTables,
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
    assert tables.version == "ncci:store(ptp bundled-2026.11; mue 2026q4,2027q1)"
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
    assert edit.source.startswith("cptrules bundled")


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
        ["s.sqlite3", bad.name, "ccipra-v325r0-f1.txt"]
    )  # no temporary copy left behind


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
    a new tuple each lookup, is prepared like the same edits held in memory."""
    session = Session(
        date_of_service=day,
        payer="medicare",
        provider=Provider("PT"),
        lines=tuple(ServiceLine(code, units=1, modifiers=mods) for code, mods in lines),
    )
    engine = default_engine()
    profile = engine.profile_for("medicare", session)
    rule = REGISTRY["ncci.ptp"]
    found = [
        list(rule.func(Context(session, profile, engine.catalog, tables), rule))
        for tables in (store, memory, store)
    ]
    assert found[0] == found[1] == found[2]
