"""``cptrules check`` on claim files (837P, FHIR), ``cptrules fix``, and ``check --fees``."""

from __future__ import annotations

import io
import json
import pathlib
import subprocess
import sys
from typing import Any

import pytest

import cptrules
from cptrules import x12
from cptrules.cli import main
from cptrules.x12 import ClaimVisit

ROOT = pathlib.Path(__file__).resolve().parents[1]
REAL = ROOT.parent / "shared" / "real"
PFS = ROOT / "tests" / "fixtures" / "pfs"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="shared/real is not beside the checkout")


def visit(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "date_of_service": "2026-03-04",
        "payer": "medicare",
        "provider": {"discipline": "PT", "npi": "1234567893"},
        "plan_of_care": {"start": "2026-02-02", "end": "2026-04-30", "signed": "2026-02-09"},
        "diagnoses": ["M54.50"],
        "lines": [{"code": "97110", "units": 2, "modifiers": ["GP"]}],
    }
    return base | changes


#: A Medicare PT claim with two faults a fix settles: 97140 without GP (LX 2) and
#: the always-bundled 97010 (LX 3).
FAULTY = visit(
    lines=[
        {"code": "97110", "units": 2, "modifiers": ["GP"]},
        {"code": "97140", "units": 1},
        {"code": "97010", "units": 1, "modifiers": ["GP"]},
    ]
)


def claim_file(tmp_path: pathlib.Path, *claims: tuple[str, dict[str, Any]]) -> str:
    text = x12.dump_837([(cid, cptrules.load_session(doc)) for cid, doc in claims])
    path = tmp_path / "claims.837"
    path.write_text(text, encoding="utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


# --------------------------------------------------------------------------- check


@needs_real
@pytest.mark.parametrize(
    "path",
    [*sorted((REAL / "x12").glob("*")), *sorted((REAL / "fhir").glob("*.json"))]
    if REAL.is_dir()
    else [],
    ids=lambda p: p.name,
)
def test_shared_claim_files_give_reports_or_located_invalid_ones(
    path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "check", str(path), "--format", "jsonl")
    reports = jsonl(out)
    assert reports, "every claim file gives at least one report"
    assert [r["record"] for r in reports] == list(range(1, len(reports) + 1))
    for r in reports:
        assert r["format"] == ("fhir" if path.suffix == ".json" else "x12")
        if r.get("invalid"):
            assert r["errors"]
            assert all(e["path"] and e["message"] for e in r["errors"])
        else:
            assert "findings" in r
    assert code == (
        2
        if any(r.get("invalid") for r in reports)
        else 1
        if not all(r["ok"] for r in reports)
        else 0
    )
    code_text, text, _ = run(capsys, "check", str(path))
    assert code_text == code
    assert text.strip()


@needs_real
def test_shared_claim_files_never_print_a_traceback() -> None:
    files = [*sorted((REAL / "x12").glob("*")), *sorted((REAL / "fhir").glob("*.json"))]
    done = subprocess.run(
        [sys.executable, "-m", "cptrules", "check", *map(str, files), "--format", "jsonl"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert len(done.stdout.splitlines()) == len(files)


@needs_real
def test_the_fhir_example_is_checked_with_payer_and_discipline(
    capsys: pytest.CaptureFixture[str],
) -> None:
    [path] = sorted((REAL / "fhir").glob("*.json"))
    code, out, _ = run(capsys, "check", str(path), "--format", "jsonl", "--discipline", "PT")
    [report] = jsonl(out)
    paths = [e["path"] for e in report["errors"]]
    assert paths == ["insurance"]  # the discipline is given now; the payer is not mapped
    assert code == 2


def test_one_malformed_claim_among_good_ones(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = claim_file(tmp_path, ("A-1", visit()), ("B-2", visit()), ("C-3", visit()))
    text = pathlib.Path(path).read_text(encoding="utf-8")
    # The second claim's diagnosis is written as ICD-9: that claim alone is unreadable.
    first_clm = text.index("CLM*B-2")
    hi = text.index("HI*ABK:", first_clm)
    bad = text[:hi] + "HI*BK:7213" + text[text.index("~", hi) :]
    pathlib.Path(path).write_text(bad, encoding="utf-8")
    code, out, _ = run(capsys, "check", path, "--format", "jsonl")
    reports = jsonl(out)
    assert [(r["claim"], r["record"], bool(r.get("invalid"))) for r in reports] == [
        ("A-1", 1, False),
        ("B-2", 2, True),
        ("C-3", 3, False),
    ]
    assert reports[1]["errors"][0]["path"].endswith("HI01-1")
    assert code == 2


def test_text_names_the_claim_and_its_lx_lines(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = claim_file(tmp_path, ("PT-77", FAULTY))
    code, out, _ = run(capsys, "check", path)
    assert code == 1
    assert out.startswith(f"{path}, claim PT-77 (record 1): NOT READY")
    assert "modifier.therapy (LX 2)" in out
    assert "fix: add modifier GP to LX 2" in out
    assert "fix: remove LX 3" in out
    assert "    LX 3  97010" in out


def test_json_of_several_claims_is_a_list_with_claim_lines(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = claim_file(tmp_path, ("A-1", visit()), ("B-2", FAULTY))
    code, out, _ = run(capsys, "check", path, "--format", "json")
    reports = json.loads(out)
    assert [r["claim"] for r in reports] == ["A-1", "B-2"]
    therapy = [f for f in reports[1]["findings"] if f["rule"] == "modifier.therapy"]
    assert therapy
    assert therapy[0]["claim_line"] == 2
    assert therapy[0]["line"] == 1
    assert code == 1


def test_claims_on_stdin_and_with_jobs(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = claim_file(tmp_path, ("A-1", visit()), ("B-2", FAULTY))
    _, expected, _ = run(capsys, "check", path, "--format", "jsonl")
    raw = pathlib.Path(path).read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
    code, out, _ = run(capsys, "check", "-", "--format", "jsonl", "--jobs", "2")
    assert out == expected
    assert code == 1


def test_fhir_ndjson_gives_a_report_per_claim(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cptrules import fhir

    claims = [fhir.dump_claim(cptrules.load_session(v)) for v in (visit(), FAULTY)]
    path = tmp_path / "claims.ndjson"
    path.write_text("".join(json.dumps(c) + "\n" for c in claims), encoding="utf-8")
    code, out, _ = run(capsys, "check", str(path), "--format", "jsonl", "--payer", "medicare")
    reports = jsonl(out)
    assert [(r["format"], r["record"], r["claim"]) for r in reports] == [
        ("fhir", 1, claims[0].get("id")),
        ("fhir", 2, claims[1].get("id")),
    ]
    assert "modifier.therapy" in {f["rule"] for f in reports[1]["findings"]}
    assert code == 1


def test_a_bad_payer_map_is_a_usage_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "map.toml"
    bad.write_text("[nonsense]\n", encoding="utf-8")
    path = claim_file(tmp_path, ("A-1", visit()))
    code, out, err = run(capsys, "check", path, "--payer-map", str(bad))
    assert code == 2
    assert not out
    assert "unknown table" in err


def test_a_payer_map_maps_payer_ids(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = cptrules.load_session(visit(payer="aetna"))
    text = x12.dump_837([("A-1", session)], payer_map=x12.PayerMap(payer_ids={"60054": "aetna"}))
    path = tmp_path / "claims.837"
    path.write_text(text, encoding="utf-8")
    code, out, _ = run(capsys, "check", str(path), "--format", "jsonl")
    assert code == 2
    assert "payer map" in out
    pmap = tmp_path / "map.toml"
    pmap.write_text('[payer_ids]\n"60054" = "anthem"\n', encoding="utf-8")
    _, out, _ = run(capsys, "check", str(path), "--format", "jsonl", "--payer-map", str(pmap))
    assert jsonl(out)[0]["payer"] == "anthem"


# --------------------------------------------------------------------------- fix


def test_fix_writes_a_claim_that_rereads_without_the_fault(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = claim_file(tmp_path, ("OK-1", visit()), ("PT-77", FAULTY))
    before = [f.rule for v in x12.read_837(pathlib.Path(path)) for f in _findings(v)]
    assert "modifier.therapy" in before
    assert "coverage.bundled" in before
    out = tmp_path / "fixed.837"
    code, stdout, err = run(capsys, "fix", path, "-o", str(out))
    assert not stdout
    assert "2 claim visit(s) checked: 1 changed" in err
    visits = list(x12.read_837(out))
    assert all(isinstance(v, ClaimVisit) for v in visits)
    after = [f.rule for v in visits for f in _findings(v)]
    assert "modifier.therapy" not in after
    assert "coverage.bundled" not in after
    fixed = visits[1]
    assert isinstance(fixed, ClaimVisit)
    assert [(ln.code, ln.modifiers) for ln in fixed.session.lines] == [
        ("97110", ("GP",)),
        ("97140", ("GP",)),
    ]
    assert fixed.positions == (1, 2)
    # The fixed file checks like any other, and the exit code says what is left.
    recheck, _, _ = run(capsys, "check", str(out), "--format", "jsonl")
    assert code == recheck


def _findings(v: object) -> list[Any]:
    assert isinstance(v, ClaimVisit)
    return list(x12.check_visit(v).report.findings)


def test_fix_to_stdout_and_from_stdin(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = claim_file(tmp_path, ("PT-77", FAULTY))
    out = tmp_path / "fixed.837"
    run(capsys, "fix", path, "-o", str(out), "--quiet")
    raw = pathlib.Path(path).read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
    _, stdout, err = run(capsys, "fix", "-", "-o", "-", "--quiet")
    assert stdout == out.read_text(encoding="utf-8")
    assert not err


def test_fix_refuses_what_is_not_an_837(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = tmp_path / "visit.json"
    session.write_text(json.dumps(visit()), encoding="utf-8")
    out = tmp_path / "out.837"
    code, _, err = run(capsys, "fix", str(session), "-o", str(out))
    assert code == 2
    assert "not an X12 837P" in err
    assert not out.exists()
    code, _, err = run(capsys, "fix", str(tmp_path / "missing.837"), "-o", str(out))
    assert code == 2
    assert "cannot read" in err
    code, _, err = run(
        capsys, "fix", claim_file(tmp_path, ("A", visit())), "-o", "x", "--payer", "nope"
    )
    assert code == 2
    assert "unknown payer profile nope" in err


@needs_real
def test_fix_of_an_unreadable_interchange_writes_nothing(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.837"
    source = REAL / "x12" / "lfh__4010X098A1__dependent-commercial-insurance-01.837"
    code, _, err = run(capsys, "fix", str(source), "-o", str(out))
    assert code == 2
    assert "004010X098A1" in err
    assert not out.exists()


def test_fix_copies_an_unreadable_claim_and_exits_2(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = claim_file(tmp_path, ("A-1", FAULTY), ("B-2", visit()))
    text = pathlib.Path(path).read_text(encoding="utf-8")
    hi = text.index("HI*ABK:", text.index("CLM*B-2"))
    bad = text[:hi] + "HI*BK:7213" + text[text.index("~", hi) :]
    pathlib.Path(path).write_text(bad, encoding="utf-8")
    out = tmp_path / "fixed.837"
    code, _, err = run(capsys, "fix", path, "-o", str(out))
    assert code == 2
    assert "1 not read (copied unchanged)" in err
    assert "record 2:" in err
    assert "HI*BK:7213" in out.read_text(encoding="utf-8")
    assert "B-2" not in err  # the caller's own ids stay out of messages


# --------------------------------------------------------------------------- fees


@pytest.fixture
def fee_store(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> pathlib.Path:
    store = tmp_path / "fees"
    files = [str(PFS / "PPRRVU24_JAN.csv"), str(PFS / "GPCI2024.csv")]
    assert main(["data", "import", *files, "--fees", str(store)]) == 0
    capsys.readouterr()
    return store


def test_check_fees_shows_the_estimate(
    tmp_path: pathlib.Path, fee_store: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = visit(date_of_service="2024-06-03", plan_of_care=None)
    del doc["plan_of_care"]
    path = tmp_path / "visit.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    _, out, _ = run(capsys, "check", str(path), "--fees", str(fee_store))
    assert "  estimate:\n    Estimate (medicare;" in out
    _, plain, _ = run(capsys, "check", str(path))
    assert "estimate" not in plain
    _, js, _ = run(capsys, "check", str(path), "--fees", str(fee_store), "--format", "jsonl")
    assert json.loads(js)["estimate"]["lines"][0]["code"] == "97110"


def test_check_fees_without_fee_data_is_a_usage_error(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "visit.json"
    path.write_text(json.dumps(visit()), encoding="utf-8")
    code, out, err = run(capsys, "check", str(path), "--fees", str(tmp_path / "empty"))
    assert code == 2
    assert not out
    assert "no fee data" in err
