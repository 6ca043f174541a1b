"""`cptrules data import|status` with fee files and `cptrules estimate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cptrules.cli import main

FIX = Path(__file__).parent.parent / "fixtures" / "pfs"

VISIT = {
    "date_of_service": "2024-06-03",
    "payer": "medicare",
    "provider": {"discipline": "PT"},
    "lines": [
        {"code": "97110", "minutes": 33, "modifiers": ["GP"]},
        {"code": "97140", "minutes": 8, "units": 1, "modifiers": ["GP", "CQ"]},
    ],
}


@pytest.fixture
def store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    fees = tmp_path / "fees"
    f = str(fees)
    assert (
        main(
            [
                "data",
                "import",
                str(FIX / "PPRRVU24_JAN.csv"),
                str(FIX / "GPCI2024.csv"),
                "--fees",
                f,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "data",
                "import",
                str(FIX / "RVU24AR_PPRRVU24_JAN.csv"),
                "--fees",
                f,
                "--effective",
                "2024-03-09",
            ]
        )
        == 0
    )
    assert (
        main(
            ["data", "import", str(FIX / "contract_rates_acme.csv"), "--fees", f, "--rates", "acme"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "imported PFS release PPRRVU24_JAN.csv from 2024-01-01: 25 rows" in out
    assert "imported GPCI 2024: 4 rows" in out
    assert "imported acme contract rates: 5 rows" in out
    return fees


def _visit(tmp_path: Path, **changes: object) -> str:
    path = tmp_path / "visit.json"
    path.write_text(json.dumps(VISIT | changes))
    return str(path)


def test_status_lists_the_fee_store(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    no_ncci = str(tmp_path / "ncci.sqlite3")
    assert main(["data", "status", "--db", no_ncci, "--fees", str(store)]) == 2  # no NCCI store
    captured = capsys.readouterr()
    assert "no NCCI store here" in captured.err
    out = captured.out
    assert "PFS  from 2024-01-01  CF 32.7442" in out
    assert "PFS  from 2024-03-09  CF 33.2875" in out
    assert "GPCI 2024" in out
    assert "RATES acme" in out


def test_estimate_text_and_json(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    visit = _visit(tmp_path)
    assert main(["estimate", visit, "--fees", str(store), "--locality", "99999-01"]) == 0
    text = capsys.readouterr().out
    assert "97110      2      53.33  mppr -6.33" in text  # units from the engine: 33 min -> 2
    assert "69.80" in text
    assert (
        main(
            ["estimate", visit, "--fees", str(store), "--locality", "99999-01", "--format", "json"]
        )
        == 0
    )
    d = json.loads(capsys.readouterr().out)
    assert d["total"] == "69.80"
    assert d["lines"][1]["adjustments"][1]["kind"] == "assistant"


def test_estimate_all_payers(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    visit = _visit(tmp_path)
    code = main(
        [
            "estimate",
            visit,
            "--fees",
            str(store),
            "--locality",
            "99999-01",
            "--payer",
            "all",
            "--format",
            "json",
        ]
    )
    d = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {p: e["total"] for p, e in d.items()} == {"medicare": "69.80", "acme": "91.75"}


def test_unpriced_lines_exit_1_and_no_data_exit_2(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [{"code": "97014", "units": 1, "modifiers": ["GP"]}]
    assert main(["estimate", _visit(tmp_path, lines=lines), "--fees", str(store)]) == 1
    assert "status I" in capsys.readouterr().out
    commercial = _visit(tmp_path, payer="commercial")
    assert main(["estimate", commercial, "--fees", str(store)]) == 2
    err = capsys.readouterr().err
    assert "no fee data for" in err
    assert "Medicare" not in err
    assert main(["estimate", _visit(tmp_path), "--fees", str(tmp_path / "empty")]) == 2
    assert main(["estimate", str(tmp_path / "missing.json"), "--fees", str(store)]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text('{"payer": "medicare"}')
    assert main(["estimate", str(bad), "--fees", str(store)]) == 2


def test_import_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = str(tmp_path / "fees")
    assert main(["data", "import", str(FIX / "RVU24AR_PPRRVU24_JAN.csv"), "--fees", f]) == 2
    assert "--effective" in capsys.readouterr().err
    assert main(["data", "import", str(FIX / "GPCI2024.csv"), "--fees", f, "--effective", "x"]) == 2
