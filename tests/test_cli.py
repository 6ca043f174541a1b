"""The ``cptrules`` command: check, units, rules, payers; exit codes; no tracebacks."""

from __future__ import annotations

import io
import json
import pathlib
import subprocess
import sys
from typing import Any

import pytest

from cptrules import cli
from cptrules.cli import main

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "batch"
MEDICARE_FILE = FIXTURES / "medicare-pt-visit.json"
COMMERCIAL_FILE = FIXTURES / "commercial-pt-visit.json"
MEDICARE = json.loads(MEDICARE_FILE.read_text(encoding="utf-8"))
COMMERCIAL = json.loads(COMMERCIAL_FILE.read_text(encoding="utf-8"))
OVERBILLED: dict[str, Any] = {
    "date_of_service": "2026-03-04",
    "payer": "medicare",
    "provider": {"discipline": "PT"},
    "plan_of_care": {"start": "2026-02-02", "end": "2026-04-30", "signed": "2026-02-09"},
    "treatment_day": 3,
    "total_treatment_minutes": 45,
    "lines": [
        {"code": "97110", "minutes": 33, "units": 3, "modifiers": ["GP"]},
        {"code": "97140", "minutes": 7, "units": 1, "modifiers": ["GP"]},
    ],
}


def jl(*docs: Any) -> str:
    return "".join((d if isinstance(d, str) else json.dumps(d)) + "\n" for d in docs)


def write(tmp_path: pathlib.Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def use_stdin(monkeypatch: pytest.MonkeyPatch, data: str | bytes) -> None:
    raw = data.encode() if isinstance(data, str) else data
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))


def no_traceback(text: str) -> None:
    assert "Traceback" not in text


# --------------------------------------------------------------------------- check


def test_check_clean_file_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(MEDICARE_FILE)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"{MEDICARE_FILE}: OK — medicare, date of service 2026-03-04")
    assert "line 1  97110  billed 2  expected 2" in out  # claim lines count from 1
    assert err == ""  # one record: no summary


def test_check_errors_exit_1_with_fix(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "visit.json", json.dumps(OVERBILLED, indent=2))
    assert main(["check", path]) == 1
    out, _ = capsys.readouterr()
    assert "NOT READY" in out
    assert "units.total-time (line 1)" in out
    assert "fix: set units on line 1 to 2" in out


def test_check_json_format_single_document(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(COMMERCIAL_FILE), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True
    assert doc["payer"] == "commercial"
    assert [u["expected"] for u in doc["units"]] == [2, 1]


def test_check_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    use_stdin(monkeypatch, json.dumps(OVERBILLED, indent=2))
    assert main(["check", "-", "--format", "jsonl"]) == 1
    out, _ = capsys.readouterr()
    [line] = out.splitlines()
    assert json.loads(line)["ok"] is False
    use_stdin(monkeypatch, "oops")
    assert main(["check", "-"]) == 2
    out, _ = capsys.readouterr()
    assert out.startswith("<stdin>: INVALID — 1 problem(s)")


def test_json_lines_one_report_per_line_in_order(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = jl(MEDICARE, "not json", OVERBILLED, {"payer": "medicare"}, COMMERCIAL)
    path = write(tmp_path, "visits.jsonl", text.replace("\n", "\n\n", 1))  # a blank line 2
    assert main(["check", path, "--format", "jsonl", "--jobs", "1"]) == 2
    out, err = capsys.readouterr()
    reports = [json.loads(x) for x in out.splitlines()]
    assert [r["ok"] for r in reports] == [True, False, False, False, True]
    assert reports[1] == {
        "ok": False,
        "invalid": True,
        "record": 3,
        "errors": [{"path": "", "message": "not valid JSON (line 1, column 1)"}],
    }
    assert "invalid" not in reports[2]
    assert reports[3]["record"] == 5
    assert {e["path"] for e in reports[3]["errors"]} >= {"date_of_service", "lines"}
    assert err.startswith("5 records: 2 ok, 1 with errors, 2 invalid")
    assert "units.total-time" in err


def test_json_lines_text_and_json_formats(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "visits.jsonl", jl(MEDICARE, OVERBILLED, "[1"))
    assert main(["check", path, "--format", "json", "-q"]) == 2
    out, err = capsys.readouterr()
    assert err == ""
    doc = json.loads(out)
    assert [d["ok"] for d in doc] == [True, False, False]
    assert doc[2]["record"] == 3
    assert main(["check", path, "--format", "text", "-q"]) == 2
    out, _ = capsys.readouterr()
    assert f"{path}, record 1: OK" in out
    assert f"{path}, record 2: NOT READY" in out
    assert f"{path}, record 3: INVALID — 1 problem(s)" in out


def test_jobs_do_not_change_the_output(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = [MEDICARE, OVERBILLED, "garbage", COMMERCIAL, {"lines": 3}] * 250
    path = write(tmp_path, "visits.jsonl", jl(*docs))
    outputs = []
    for jobs in ("1", "2"):
        assert main(["check", path, "--format", "jsonl", "--jobs", jobs, "-q"]) == 2
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    assert len(outputs[0].splitlines()) == len(docs)


def test_payer_override_and_bad_payer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(MEDICARE_FILE), "--payer", "commercial", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["payer"] == "commercial"
    assert main(["check", str(MEDICARE_FILE), "--payer", "nobody"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "cptrules: unknown payer profile nobody (see `cptrules payers`)\n"


def test_unknown_payer_in_a_record_is_an_invalid_record(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "v.jsonl", jl(dict(MEDICARE, payer="nobody"), MEDICARE))
    assert main(["check", path, "--format", "jsonl", "-q"]) == 2
    first, second = (json.loads(x) for x in capsys.readouterr().out.splitlines())
    assert first["errors"] == [
        {"path": "payer", "message": "unknown payer profile (see `cptrules payers`)"}
    ]
    assert second["ok"] is True


def test_missing_file_one_line_no_traceback(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tmp_path / "nope.json")]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("cptrules: cannot read ")
    assert main(["check", str(tmp_path)]) == 2  # a directory
    _, err = capsys.readouterr()
    assert err.count("\n") == 1


def test_bad_engine_options_one_line(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = write(tmp_path, "p.toml", "id = [")
    assert main(["check", str(MEDICARE_FILE), "--profile", bad]) == 2
    _, err = capsys.readouterr()
    assert err.startswith("cptrules: ")
    assert err.count("\n") == 1
    no_traceback(err)
    assert main(["check", str(MEDICARE_FILE), "--jobs", "0"]) == 2
    assert "--jobs" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["check"], ["check", "x", "--format", "xml"], ["nope"], []):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    no_traceback(capsys.readouterr().err)


def test_not_utf8_is_an_invalid_record(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "latin1.jsonl", jl(MEDICARE).encode() + b'{"payer": "caf\xe9"}\n')
    assert main(["check", path, "--format", "jsonl", "-q"]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert json.loads(lines[0])["ok"] is True
    assert json.loads(lines[1])["errors"][0]["message"].startswith("not UTF-8")


@pytest.mark.parametrize("data", [b"", b"\n", b"\n \n\t\r\n"])
@pytest.mark.parametrize("fmt", ["text", "jsonl", "json"])
def test_empty_input_is_an_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], data: bytes, fmt: str
) -> None:
    """A broken export with no records must not pass a CI gate."""
    path = write(tmp_path, "empty.jsonl", data)
    assert main(["check", path, "--format", fmt]) == 2
    out, err = capsys.readouterr()
    assert out == ("[]\n" if fmt == "json" else "")
    assert err == f"cptrules: no records in {path}\n"


def test_empty_stdin_is_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    use_stdin(monkeypatch, b"")
    assert main(["check", "-"]) == 2
    assert capsys.readouterr().err == "cptrules: no records in <stdin>\n"


def test_several_files(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = write(tmp_path, "a.json", json.dumps(MEDICARE, indent=2))
    b = write(tmp_path, "b.jsonl", jl(OVERBILLED, COMMERCIAL))
    assert main(["check", a, b, "--format", "jsonl", "-q"]) == 1
    reports = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(r["file"], r["record"], r["ok"]) for r in reports] == [
        (a, 1, True),
        (b, 1, False),
        (b, 2, True),
    ]
    assert main(["check", a, b]) == 1
    out, err = capsys.readouterr()
    assert out.startswith(f"{a}: OK")
    assert f"{b}, record 1: NOT READY" in out
    assert err.startswith("3 records: 2 ok, 1 with errors, 0 invalid")
    empty = write(tmp_path, "c.jsonl", "")
    assert main(["check", a, empty, "-q"]) == 2
    assert capsys.readouterr().err == f"cptrules: no records in {empty}\n"
    assert main(["check", a, b, "--format", "json"]) == 2
    assert "--format json takes one input" in capsys.readouterr().err


def test_a_full_disk_is_a_write_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import errno

    class Full(io.StringIO):
        def write(self, s: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sys, "stdout", Full())
    assert main(["check", str(MEDICARE_FILE)]) == 2
    err = capsys.readouterr().err
    assert err == "cptrules: cannot write the output: No space left on device\n"


def test_escape_sequences_in_file_names_are_not_sent_raw(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = str(tmp_path / "x\x1b[2Jy.jsonl")
    assert main(["check", name]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "x\\x1b[2Jy.jsonl" in err


def test_broken_pipe_is_quiet(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Closed(io.StringIO):
        def write(self, s: str) -> int:
            raise BrokenPipeError

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["check", str(MEDICARE_FILE)]) == cli.EXIT_BROKEN_PIPE
    no_traceback(capsys.readouterr().err)


# --------------------------------------------------------------------------- other commands


def test_units(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["units", "97110=33", "97140=7", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert json.dumps(doc)  # JSON out
    assert main(["units", "97110=33", "97140=7"]) == 0
    out = capsys.readouterr().out
    assert "97110" in out
    assert "97140" in out
    assert main(["units", "97110=10", "97116=10", "--method", "per-code"]) == 0
    assert main(["units", "97110=abc"]) == 2
    _, err = capsys.readouterr()
    assert err.startswith("cptrules units: expected CODE=MINUTES (")
    assert err.endswith("got '97110=abc'\n")


def test_units_with_a_huge_tie_counts_allocations_instead_of_listing_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pairs = [f"{97001 + k}=7" for k in range(40)]  # 280 minutes, 19 units, 40 codes tied
    assert main(["units", *pairs, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sum(doc["units"].values()) == 19
    assert len(doc["allocations"]) == 1
    assert doc["more_allocations"] == 131_282_408_400 - 1  # comb(40, 19) - 1
    assert main(["units", *pairs[:3]]) == 0
    assert "Also legal" in capsys.readouterr().out  # a small tie is listed in full


@pytest.mark.parametrize(
    "pair",
    ["97110=\u00b2", "97110=" + "9" * 5000, "97110=1441", "97110=-1", "=5", "97110=", "\x1b[2J=5"],
)
def test_units_rejects_bad_pairs_in_one_line(capsys: pytest.CaptureFixture[str], pair: str) -> None:
    assert main(["units", pair]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cptrules units: ")
    assert err.count("\n") == 1
    assert "\x1b" not in err
    no_traceback(err)


def test_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids)
    assert "units.total-time" in ids
    assert {"id", "severity", "citation", "summary"} <= set(rows[0])
    assert main(["rules", "--payer", "commercial", "--format", "json"]) == 0
    commercial = {r["id"] for r in json.loads(capsys.readouterr().out)}
    assert "units.total-time" not in commercial
    assert main(["rules"]) == 0
    assert "source:" in capsys.readouterr().out
    assert main(["rules", "--payer", "nobody"]) == 2
    assert capsys.readouterr().err.startswith("cptrules rules: unknown payer nobody")


def test_payers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["payers", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    ids = {r["id"] for r in rows}
    assert {"medicare", "commercial"} <= ids
    medicare = next(r for r in rows if r["id"] == "medicare")
    assert medicare["unit_method"] == "total-time"
    assert medicare["effective"] == "2020-01-01"
    assert main(["payers"]) == 0
    assert "medicare" in capsys.readouterr().out


ACME = """
id = "acme"
name = "Acme Health"
extends = "commercial"
effective = 2024-01-01
source = "Acme provider manual 2024"
unit_method = "total-time"

[sources]
unit_method = "Acme manual p. 12"
"""


def test_rules_and_payers_take_profile_files(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    acme = write(tmp_path, "acme.toml", ACME)
    assert main(["payers", "--profile", acme, "--format", "json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["acme"]["extends"] == "commercial"
    assert main(["rules", "--profile", acme, "--payer", "acme", "--format", "json"]) == 0
    ids = {r["id"] for r in json.loads(capsys.readouterr().out)}
    assert "units.total-time" in ids  # acme counts by total time, unlike commercial
    broken = write(tmp_path, "broken.toml", "id = ")
    for command in ("rules", "payers"):
        assert main([command, "--profile", broken]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"cptrules {command}: ")
        assert err.count("\n") == 1
        no_traceback(err)


# --------------------------------------------------------------------------- a real process


def test_python_dash_m_is_the_same_program() -> None:
    data = jl(MEDICARE, "nope", OVERBILLED) * 200
    proc = subprocess.run(
        [sys.executable, "-m", "cptrules", "check", "-", "--format", "jsonl", "--jobs", "2"],
        input=data.encode(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == 600
    assert [json.loads(x)["ok"] for x in lines[:3]] == [True, False, False]
    assert json.loads(lines[4])["record"] == 5
    err = proc.stderr.decode()
    assert err.startswith("600 records: 200 ok, 200 with errors, 200 invalid")
    no_traceback(err)
