"""``cptrules data import|status``."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from cptrules.ncci import _cli

FIX = Path(__file__).parent.parent / "fixtures" / "ncci"
PTP_F1 = FIX / "ccipra-v324r0-f1.txt"
MUE = FIX / "MCR_MUE_PractitionerServices_Eff_10-01-2026.csv"


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="cptrules")
    _cli.add_subparser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def test_import_then_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "ncci.sqlite3"
    assert run("data", "import", str(PTP_F1), str(MUE), "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert "imported PTP v324r0: 30 rows" in out
    assert "imported MUE 2026q4: 13 rows" in out
    assert run("data", "status", "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert "* PTP medicare v324r0" in out
    assert PTP_F1.name in out


def test_default_db_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "env.sqlite3"
    monkeypatch.setenv("CPTRULES_DB", str(db))
    assert run("data", "import", str(MUE)) == 0
    assert db.is_file()
    assert run("data", "status") == 0
    assert str(db) in capsys.readouterr().out


def test_explicit_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plain = tmp_path / "edits.txt"
    plain.write_bytes(PTP_F1.read_bytes())
    db = str(tmp_path / "s.sqlite3")
    assert run("data", "import", str(plain), "--db", db, "--version", "v330r0") == 0
    assert "PTP v330r0" in capsys.readouterr().out


def test_data_errors_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "ccipra-v324r0-f1.txt"
    bad.write_bytes(PTP_F1.read_bytes().replace(b"\t19960101\t", b"\t1996-01-01\t", 1))
    assert run("data", "import", str(bad), "--db", str(tmp_path / "s.sqlite3")) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"cptrules data: {bad.name}:8: effective date is not YYYYMMDD: '1996-01-01'\n"
    )
    assert run("data", "status", "--db", str(tmp_path / "none.sqlite3")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert "no NCCI store" in err


def test_usage_needs_a_sub_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        run("data")
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        run("data", "import")
    capsys.readouterr()


def test_main_cli_routes_to_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli = pytest.importorskip("cptrules.cli")
    db = str(tmp_path / "s.sqlite3")
    assert cli.main(["data", "import", str(MUE), "--db", db]) == 0
    assert cli.main(["data", "status", "--db", db]) == 0
    assert "MUE medicare 2026q4" in capsys.readouterr().out


# --------------------------------------------------------------------------- trust


def _mue_with_value(tmp_path: Path, value: str) -> Path:
    text = MUE.read_bytes().decode("cp1252")
    rows = text.split("\r\n") if "\r\n" in text else text.split("\n")
    at = next(i for i, row in enumerate(rows) if row.startswith("Z0001,"))
    cells = rows[at].split(",")
    cells[1] = value
    rows[at] = ",".join(cells)
    out = tmp_path / MUE.name
    out.write_bytes("\r\n".join(rows).encode("cp1252"))  # as CMS writes it: "²" is 0xB2
    return out


@pytest.mark.parametrize("value", ["\u00b2", "9" * 20, "9" * 5000, ""])
def test_odd_mue_values_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    bad = _mue_with_value(tmp_path, value)
    assert run("data", "import", str(bad), "--db", str(tmp_path / "s.sqlite3")) == 2
    err = capsys.readouterr().err
    assert err.startswith("cptrules data: ")
    assert "MUE value must be a whole number" in err
    assert err.count("\n") == 1


def test_a_zip_corrupt_past_its_header_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import zipfile

    data = MUE.read_bytes() + b"".join(
        b"9%04d,1,1 Line Edit,Clinical: CMS Policy\r\n" % k for k in range(20_000)
    )
    path = tmp_path / "mue-2026q4.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(MUE.name, data)
    raw = bytearray(path.read_bytes())
    raw[raw.rfind(b"91234")] ^= 0x01  # a row far past the header: bad CRC only at the end
    path.write_bytes(bytes(raw))
    assert run("data", "import", str(path), "--db", str(tmp_path / "s.sqlite3")) == 2
    err = capsys.readouterr().err
    assert "CRC" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "damage",
    ["DROP TABLE datasets", "UPDATE datasets SET sources = 'not json'"],
)
def test_damaged_metadata_names_the_store_and_a_reimport_repairs_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    import sqlite3

    import cptrules

    db = tmp_path / "s.sqlite3"
    assert run("data", "import", str(PTP_F1), str(MUE), "--db", str(db)) == 0
    con = sqlite3.connect(db)
    con.execute(damage)
    con.commit()
    con.close()
    capsys.readouterr()
    assert run("data", "status", "--db", str(db)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert str(db) in err
    assert "damaged" in err
    assert "cptrules data import" in err
    with pytest.raises(cptrules.DataError, match="damaged"):
        cptrules.Engine(tables=db)
    assert run("data", "import", str(MUE), "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert "rebuilt from these files only" in out
    assert run("data", "status", "--db", str(db)) == 0


def test_concurrent_imports_take_turns_and_both_are_kept(tmp_path: Path) -> None:
    """Two imports into one store at once both said "imported"; the first to finish
    was lost. With the lock, the second imports on top of the first."""
    import subprocess
    import sys

    db = tmp_path / "s.sqlite3"
    ptp2 = FIX / "ccipra-v324r0-f2.txt"
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "cptrules", "data", "import", *files, "--db", str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for files in ([str(PTP_F1), str(ptp2)], [str(MUE)])
    ]
    for proc in runs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    from cptrules.ncci import status

    assert sorted(info.kind for info in status(db)) == ["mue", "ptp"]


def test_a_killed_import_s_temp_file_goes_and_permissions_stay(tmp_path: Path) -> None:
    import os

    db = tmp_path / "s.sqlite3"
    assert run("data", "import", str(PTP_F1), "--db", str(db)) == 0
    os.chmod(db, 0o644)
    stale = tmp_path / ".s.sqlite3.abc123.importing"  # what a killed import leaves
    stale.write_bytes(b"half a store")
    assert run("data", "import", str(MUE), "--db", str(db)) == 0
    assert not stale.exists()
    assert db.stat().st_mode & 0o777 == 0o644  # a re-import used to reset it to 0600


def test_escape_sequences_in_zip_member_names_are_not_sent_raw(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import zipfile

    path = tmp_path / "mue-2026q4.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("\x1b]0;owned\x07MUE.csv", b"not a table\r\n")
    assert run("data", "import", str(path), "--db", str(tmp_path / "s.sqlite3")) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "\x07" not in err
