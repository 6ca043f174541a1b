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
