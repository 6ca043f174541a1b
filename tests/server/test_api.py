"""The HTTP API, over loopback, against a real ``cptrules serve`` process."""

from __future__ import annotations

import io
import json
import signal
import socket
import time
from pathlib import Path

import attrs
import pytest

import cptrules
from cptrules import fhir, x12
from cptrules.batch import check_jsonl
from cptrules.rules import REGISTRY

from .conftest import Server

ROOT = Path(__file__).resolve().parents[2]

VISIT = {
    "date_of_service": "2026-03-04",
    "payer": "medicare",
    "provider": {"discipline": "PT"},
    "lines": [
        {"code": "97110", "minutes": 33, "units": 3, "modifiers": ["GP"]},
        {
            "code": "97140",
            "minutes": 7,
            "modifiers": ["GP"],
            "regions": ["lumbar"],
            "techniques": ["joint_mobilization"],
            "documentation": {"response": "tolerated well, SECRET-ID Jane says her back is better"},
        },
    ],
}


def test_healthz(server: Server) -> None:
    status, doc = (
        server.request("GET", "/healthz")[0],
        json.loads(server.request("GET", "/healthz")[2]),
    )
    assert status == 200
    assert doc["status"] == "ok"
    assert doc["data_version"] == cptrules.DATA_VERSION


def test_check_session_returns_the_report(server: Server) -> None:
    status, doc = server.post_json("/v1/check", VISIT)
    assert status == 200
    assert doc["ok"] is False  # 3 units billed for 40 total minutes: 2 + 1 is the chart
    units = {u["code"]: (u["billed"], u["expected"]) for u in doc["units"]}
    assert units["97110"] == (3, 2)
    assert "units.total-time" in {f["rule"] for f in doc["findings"]}
    assert doc == cptrules.check(cptrules.load_session(VISIT)).to_dict()


def test_payer_override_in_query(server: Server) -> None:
    status, doc = server.post_json("/v1/check?payer=no-such-payer", VISIT)
    assert status == 422
    assert any("payer" in e["path"] or "payer" in e["message"] for e in doc["errors"])


def test_check_jsonl_same_bytes_as_the_cli_path(server: Server) -> None:
    other = {**VISIT, "lines": VISIT["lines"][:1]}
    body = "\n".join([json.dumps(VISIT), "not json", "", json.dumps(other)]) + "\n"
    status, headers, got = server.request("POST", "/v1/check", body, "application/x-ndjson")
    assert status == 200
    assert headers["content-type"].startswith("application/x-ndjson")
    want = io.StringIO()
    check_jsonl(io.BytesIO(body.encode()), want)
    assert got.decode() == want.getvalue()
    records = [json.loads(x) for x in got.decode().splitlines()]
    assert [r["record"] for r in records] == [1, 2, 4]
    assert records[1]["invalid"] is True


def _claim_session() -> cptrules.Session:
    data = {**VISIT, "provider": {"discipline": "PT", "npi": "1234567893"}}
    return cptrules.load_session(data)


def test_check_x12(server: Server) -> None:
    session = _claim_session()
    no_gp = attrs.evolve(session.lines[1], modifiers=())  # 97140 without GP: an error
    text = x12.dump_837([("CLAIM-77", attrs.evolve(session, lines=(session.lines[0], no_gp)))])
    status, _headers, body = server.request("POST", "/v1/check", text, "application/edi-x12")
    assert status == 200, body
    [report] = json.loads(body)["reports"]
    assert report["claim"] == "CLAIM-77"
    assert report["format"] == "x12"
    assert report["ok"] is False
    rules = {f["rule"]: f["claim_line"] for f in report["findings"]}
    assert rules["modifier.therapy"] == 2
    assert "claim.not-checked" in rules  # an 837P carries units, not every line's minutes
    assert "units.missing-minutes" not in rules


def test_check_fhir(server: Server) -> None:
    claim = fhir.dump_claim(_claim_session(), "fhir-claim-9")
    for kind in ("application/fhir+json", "application/json"):
        status, doc = server.post_json("/v1/check?payer=medicare", claim, kind)
        assert status == 200, doc
        [report] = doc["reports"]
        assert report["claim"] == "fhir-claim-9"
        assert report["format"] == "fhir"


def test_fix_session_gives_a_clean_session(server: Server) -> None:
    status, fixed = server.post_json("/v1/fix", VISIT)
    assert status == 200
    session = cptrules.load_session(fixed)
    assert session.lines[0].units == 2
    assert "units.total-time" not in {f.rule for f in cptrules.check(session).findings}


def test_fix_x12_gives_a_corrected_837(server: Server) -> None:
    no_gp = {
        "date_of_service": "2026-03-04",
        "payer": "medicare",
        "provider": {"discipline": "PT", "npi": "1234567893"},
        "lines": [{"code": "97110", "units": 2}, {"code": "97010", "units": 1}],
    }
    text = x12.dump_837([("CLAIM-77", cptrules.load_session(no_gp))])
    status, headers, body = server.request("POST", "/v1/fix", text, "application/edi-x12")
    assert status == 200, body
    assert headers["content-type"].startswith("application/edi-x12")
    [visit] = x12.read_837(body.decode())
    assert isinstance(visit, x12.ClaimVisit)
    assert [line.code for line in visit.session.lines] == ["97110"]  # 97010 is bundled
    assert visit.session.lines[0].modifiers == ("GP",)
    assert not {"modifier.therapy", "coverage.bundled"} & {
        f.rule for f in x12.check_visit(visit).report.findings
    }


def test_invalid_x12_is_422_with_segment_paths(server: Server) -> None:
    status, _, body = server.request("POST", "/v1/check", "ISA*broken~", "application/edi-x12")
    assert status == 422
    doc = json.loads(body)
    assert doc["errors"]
    assert all("path" in e and "message" in e for e in doc["errors"])


def test_invalid_session_is_422_with_every_path(server: Server) -> None:
    bad = {**VISIT, "date_of_service": "2026-02-30", "lines": [{"code": "97110", "minutes": -1}]}
    status, doc = server.post_json("/v1/check", bad)
    assert status == 422
    paths = {e["path"] for e in doc["errors"]}
    assert "date_of_service" in paths
    assert "lines[0].minutes" in paths


@pytest.mark.parametrize(
    ("body", "kind", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"\xff\xfe{}", "application/json", 400),
        (b"{}", "text/plain", 415),
        (b"{}", None, 415),
        (b"[1, 2]", "application/json", 422),
    ],
)
def test_bad_bodies(server: Server, body: bytes, kind: str | None, status: int) -> None:
    got, headers, raw = server.request("POST", "/v1/check", body, kind)
    assert got == status
    assert headers["content-type"] == "application/json"
    doc = json.loads(raw)
    assert doc["error"]
    assert doc["errors"][0]["message"]


def test_too_large_is_413(server: Server) -> None:
    body = json.dumps(VISIT) + " " * 200_001
    status, _, raw = server.request("POST", "/v1/check", body, "application/json")
    assert status == 413
    assert "larger than 200000 bytes" in json.loads(raw)["error"]


def test_too_large_chunked_is_413(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        head = (
            "POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        )
        s.sendall(head.encode())
        chunk = b" " * 65536
        try:
            for _ in range(5):
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            s.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may answer and close before the whole body is sent
        reply = s.recv(4096).decode("latin-1")
    assert reply.startswith("HTTP/1.1 413")


def test_slow_body_is_408(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(
            b"POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        reply = s.recv(4096).decode("latin-1")  # the server gives up after 2 s
    assert reply.startswith("HTTP/1.1 408")


def test_unknown_paths_and_methods(server: Server) -> None:
    assert server.request("GET", "/v1/nothing")[0] == 404
    assert server.request("GET", "/v1/check")[0] == 405
    assert server.request("DELETE", "/healthz")[0] == 405


def test_rules_and_payers(server: Server) -> None:
    status, _, body = server.request("GET", "/v1/rules")
    assert status == 200
    rules = json.loads(body)
    assert {r["id"] for r in rules} == set(REGISTRY)
    assert all(r["citation"] for r in rules)
    status, _, body = server.request("GET", "/v1/payers")
    assert status == 200
    assert "medicare" in {p["id"] for p in json.loads(body)}


def test_estimate_without_fee_data_is_422(server: Server) -> None:
    status, doc = server.post_json("/v1/estimate", VISIT)
    assert status == 422
    assert "fee data" in doc["error"]


def test_openapi_embeds_the_published_session_schema(server: Server) -> None:
    status, _, body = server.request("GET", "/openapi.json")
    assert status == 200
    doc = json.loads(body)
    assert doc["openapi"].startswith("3.1")
    assert {"/v1/check", "/v1/fix", "/v1/estimate", "/v1/rules", "/v1/payers", "/healthz"} <= set(
        doc["paths"]
    )
    published = json.loads((ROOT / "docs" / "session.schema.json").read_text("utf-8"))
    published.pop("$schema")
    assert doc["components"]["schemas"]["Session"] == published


def test_no_body_or_patient_data_in_the_log(server: Server) -> None:
    server.post_json("/v1/check?payer=Jane-Q-Patient", VISIT)
    server.request("POST", "/v1/check", json.dumps(VISIT)[:-3], "application/json")
    server.request("GET", "/patients/Jane-Q-Patient")
    log = server.log()
    assert "POST /v1/check" in log
    for secret in ("SECRET-ID", "Jane", "Patient", "tolerated", "97110"):
        assert secret not in log


def test_time_limit_503_then_graceful_shutdown(tmp_path: Path) -> None:
    srv = Server(tmp_path, "--timeout", "0.001")
    try:
        body = "\n".join([json.dumps(VISIT)] * 3000) + "\n"
        status, _, raw = srv.request("POST", "/v1/check", body, "application/x-ndjson")
        assert status == 503
        assert "time limit" in json.loads(raw)["error"]
        assert srv.request("GET", "/healthz")[0] == 200  # the server lives on
    finally:
        start = time.monotonic()
        code = srv.stop(signal.SIGTERM)
    assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once shut down
    assert time.monotonic() - start < 15
    assert "stopped" in srv.log()


def test_fix_jsonl_names_bad_records_by_line(server: Server) -> None:
    body = json.dumps(VISIT) + "\n\n" + json.dumps({**VISIT, "lines": []}) + "\n"
    status, _, raw = server.request("POST", "/v1/fix", body, "application/x-ndjson")
    assert status == 422
    assert [e["path"] for e in json.loads(raw)["errors"]] == ["record 3.lines"]
    status, _, raw = server.request(
        "POST", "/v1/fix", json.dumps(VISIT) + "\n", "application/jsonl"
    )
    assert status == 200
    [fixed] = [cptrules.load_session(x) for x in raw.decode().splitlines()]
    assert fixed.lines[0].units == 2


def test_estimate_with_fee_data(tmp_path: Path) -> None:
    from cptrules.fees.store import import_fee_files

    pfs = ROOT / "tests" / "fixtures" / "pfs"
    store = tmp_path / "fees"
    import_fee_files([pfs / "PPRRVU24_JAN.csv", pfs / "GPCI2024.csv"], store)
    srv = Server(tmp_path, "--fees", str(store))
    try:
        visit = {**VISIT, "date_of_service": "2024-06-03"}
        status, doc = srv.post_json("/v1/estimate", visit)
        assert status == 200, doc
        assert doc["currency"] == "USD"
        assert [line["code"] for line in doc["lines"]] == ["97110", "97140"]
        assert float(doc["total"]) > 0
        assert srv.request("GET", "/healthz")[2].count(b'"fees":true') == 1
        status, doc = srv.post_json("/v1/estimate", {**visit, "lines": []})
        assert status == 422
    finally:
        srv.stop()
    assert srv.log().count("engine ready") == 1  # built once, at startup


def _faulty_837() -> str:
    """Four claims: GP missing and a bundled code; a clean one; CMT without AT; and dry
    needling billed twice with 59, which settles in two rounds (the second code goes,
    then the 59 nothing needs any more): a single pass of fixes leaves the 59."""
    base = {"date_of_service": "2026-03-04", "payer": "medicare"}
    pt = {"discipline": "PT", "npi": "1234567893"}
    sessions = [
        {**base, "provider": pt, "lines": [{"code": "97110", "units": 2}, {"code": "97010"}]},
        {**base, "provider": pt, "lines": [{"code": "97140", "units": 1, "modifiers": ["GP"]}]},
        {
            **base,
            "provider": {"discipline": "DC", "npi": "1234567893"},
            "diagnoses": ["M99.03"],
            "lines": [{"code": "98940", "units": 1}],
        },
        {
            **base,
            "provider": pt,
            "lines": [
                {"code": "20560", "units": 1, "modifiers": ["GP", "59"]},
                {"code": "20561", "units": 1, "modifiers": ["GP", "59"]},
            ],
        },
    ]
    return x12.dump_837([(f"C-{i}", cptrules.load_session(s)) for i, s in enumerate(sessions)])


def _837_files(tmp_path: Path) -> list[Path]:
    made = tmp_path / "faulty.837"
    made.write_text(_faulty_837(), encoding="utf-8", newline="")
    real = ROOT.parent / "shared" / "real" / "x12"
    found = sorted((ROOT / "tests" / "fixtures" / "x12").glob("*.837"))
    return [*found, made, *(sorted(real.iterdir()) if real.is_dir() else [])]


def test_fix_x12_is_the_cli_fix_byte_for_byte(server: Server, tmp_path: Path) -> None:
    """POST /v1/fix answers an 837P with what `cptrules fix` writes for it (fix_837:
    the fixes applied and re-checked until they settle), or 422 where the CLI could
    not read a claim (it copies such a claim unchanged and exits 2)."""
    from cptrules.cli import main

    compared = 0
    for path in _837_files(tmp_path):
        out = tmp_path / (path.name + ".fixed")
        code = main(["fix", str(path), "-o", str(out), "--quiet"])
        status, headers, body = server.request(
            "POST", "/v1/fix", path.read_bytes(), "application/edi-x12"
        )
        if code == 2:
            assert status in (400, 422), path.name
            continue
        assert status == 200, (path.name, body)
        assert body == out.read_bytes(), path.name
        compared += 1
        assert headers["x-cptrules-visits"] != "0"
    assert compared >= 4
    fixed = server.request("POST", "/v1/fix", _faulty_837(), "application/edi-x12")
    first = next(v for v in x12.read_837(fixed[2].decode()) if isinstance(v, x12.ClaimVisit))
    assert [ln.code for ln in first.session.lines] == ["97110"]  # 97010 is bundled
    assert fixed[1]["x-cptrules-changed"] == "3"  # the first claim, the CMT (AT), dry needling
    assert "SV1*HC:20561:GP*1" in fixed[2].decode()  # settled: no 59 left behind


def test_claim_reports_carry_their_record_as_the_batch_does(server: Server) -> None:
    from cptrules.batch import check_claims

    text = _faulty_837()
    status, _, body = server.request("POST", "/v1/check", text, "application/edi-x12")
    assert status == 200, body
    got = json.loads(body)["reports"]
    want = io.StringIO()
    check_claims("x12", io.StringIO(text), want, format="jsonl")
    assert got == [json.loads(x) for x in want.getvalue().splitlines()]
    assert [r["record"] for r in got] == [1, 2, 3, 4]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"resource": fhir.dump_claim(_claim_session(), f"fhir-claim-{i}")} for i in (1, 2)
        ],
    }
    status, doc = server.post_json("/v1/check", bundle, "application/fhir+json")
    assert status == 200, doc
    assert [(r["claim"], r["record"]) for r in doc["reports"]] == [
        ("fhir-claim-1", 1),
        ("fhir-claim-2", 2),
    ]
