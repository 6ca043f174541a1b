"""cptrules.dask on a small LocalCluster: the same bytes as ``--jobs 1``, every record counted."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import cptrules
from cptrules.batch import EngineSettings, check_jsonl
from cptrules.errors import ConfigError

distributed = pytest.importorskip("distributed")
db = pytest.importorskip("dask.bag")

from cptrules import dask as cdask  # noqa: E402  (after the importorskip)

VISIT = {
    "date_of_service": "2026-03-04",
    "payer": "medicare",
    "provider": {"discipline": "PT"},
    "lines": [
        {"code": "97110", "minutes": 33, "units": 3, "modifiers": ["GP"]},
        {"code": "97140", "minutes": 7, "modifiers": ["GP"]},
    ],
}


def _records(n: int, seed: int) -> list[str]:
    """n JSON Lines records, clean, faulty and broken, with blank lines between some."""
    out: list[str] = []
    for i in range(n):
        minutes = 8 + (i * 7 + seed) % 60
        visit = {**VISIT, "lines": [{**VISIT["lines"][0], "minutes": minutes}, VISIT["lines"][1]]}
        if i % 97 == 5:
            out.append('{"payer": "medicare", "lines": []}')
        elif i % 89 == 3:
            out.append("not json at all")
        else:
            out.append(json.dumps(visit))
        if i % 31 == 0:
            out.append("")
    return out


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address=None,
    ) as lc:
        yield lc


@pytest.fixture(scope="module")
def client(cluster: Any) -> Iterator[Any]:
    with distributed.Client(cluster, set_as_default=False) as c:
        yield c


def _jobs1(path: Path, fmt: str = "jsonl") -> bytes:
    out = io.StringIO()
    with path.open("rb") as fh:
        check_jsonl(fh, out, format=fmt, name=str(path))  # type: ignore[arg-type]
    return out.getvalue().encode()


def test_check_files_same_bytes_as_jobs_1(tmp_path: Path, client: Any) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for k, n in enumerate((700, 1, 0, 250)):
        (inputs / f"visits-{k}.jsonl").write_text("\n".join(_records(n, k)) + "\n")
    pretty = inputs / "visits-pretty.jsonl"  # one JSON document over several lines
    pretty.write_text(json.dumps(VISIT, indent=2))
    result = cdask.check_files(
        [str(inputs / "visits-*.jsonl")],
        scheduler=client,
        output_dir=tmp_path / "out",
        block_bytes=4096,  # many blocks per file
    )
    assert [Path(r.input).name for r in result.files] == [
        "visits-0.jsonl",
        "visits-1.jsonl",
        "visits-2.jsonl",
        "visits-3.jsonl",
        "visits-pretty.jsonl",
    ]
    for r in result.files:
        assert Path(r.output).read_bytes() == _jobs1(Path(r.input)), r.input
        written = Path(r.output).read_bytes().decode().splitlines()
        assert r.summary.records == len(written)
        assert r.summary.records == r.summary.ok + r.summary.with_errors + r.summary.invalid
    assert result.total.records == sum(r.summary.records for r in result.files)
    assert result.total.records == 700 + 1 + 0 + 250 + 1
    assert result.total.invalid > 0
    assert not (tmp_path / "out" / ".cptrules-parts").exists()


def test_check_files_text_format(tmp_path: Path, client: Any) -> None:
    path = tmp_path / "v.jsonl"
    path.write_text("\n".join(_records(40, 1)) + "\n")
    result = cdask.check_files(
        str(path), scheduler=client, output_dir=tmp_path / "out", format="text"
    )
    assert Path(result.files[0].output).read_bytes() == _jobs1(path, "text")


def test_check_files_refuses_what_it_cannot_do(tmp_path: Path, client: Any) -> None:
    with pytest.raises(ConfigError, match="no input file"):
        cdask.check_files(str(tmp_path / "none-*.jsonl"), scheduler=client, output_dir=tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("a", "b"):
        (tmp_path / d / "v.jsonl").write_text(json.dumps(VISIT) + "\n")
    with pytest.raises(ConfigError, match="same file name"):
        cdask.check_files(
            [str(tmp_path / "a" / "v.jsonl"), str(tmp_path / "b" / "v.jsonl")],
            scheduler=client,
            output_dir=tmp_path / "out",
        )
    with pytest.raises(ConfigError, match="format"):
        cdask.check_files(
            str(tmp_path / "a" / "v.jsonl"),
            scheduler=client,
            output_dir=tmp_path,
            format="json",  # type: ignore[arg-type]
        )


def test_check_bag_reports_in_order(tmp_path: Path, client: Any) -> None:
    path = tmp_path / "v.jsonl"
    lines = _records(120, 2)
    path.write_text("\n".join(lines) + "\n")
    bag = db.read_text(str(path), blocksize=2048)
    assert bag.npartitions > 1
    got = cdask.check_bag(bag).compute(scheduler=client.get)
    want = []
    for line in lines:
        if not line.strip():
            continue
        try:
            want.append(cptrules.check(line).to_dict())
        except cptrules.InvalidSessionError as exc:
            want.append(
                {
                    "ok": False,
                    "invalid": True,
                    "errors": [{"path": p, "message": m} for p, m in exc.errors],
                }
            )
    assert len(got) == len(want) == sum(1 for x in lines if x.strip())
    assert [r["ok"] for r in got] == [r["ok"] for r in want]
    assert [r.get("units") for r in got] == [r.get("units") for r in want]


def test_check_bag_takes_sessions_and_dicts(client: Any) -> None:
    session = cptrules.load_session(VISIT)
    bag = db.from_sequence([session, VISIT, {"payer": "medicare"}], npartitions=2)
    got = cdask.check_bag(bag, engine=EngineSettings(), payer="medicare").compute(
        scheduler=client.get
    )
    assert [r["ok"] for r in got] == [False, False, False]
    assert got[2]["invalid"] is True
    assert got[0]["units"] == got[1]["units"]


def test_cli_scheduler_and_output_dir(tmp_path: Path, cluster: Any) -> None:
    for k in range(2):
        (tmp_path / f"visits-{k}.jsonl").write_text("\n".join(_records(60, k)) + "\n")
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cptrules",
            "check",
            str(tmp_path / "visits-*.jsonl"),
            "--format",
            "jsonl",
            "--scheduler",
            cluster.scheduler_address,
            "--output-dir",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr  # some records are invalid
    assert "120 records" in done.stderr
    for k in range(2):
        src = tmp_path / f"visits-{k}.jsonl"
        assert (out / f"visits-{k}.jsonl.reports.jsonl").read_bytes() == _jobs1(src)


# --- every option of `cptrules check` under --scheduler: the same bytes as --jobs 1 ----


def _cli(argv: list[str]) -> tuple[int, bytes]:
    """``cptrules check`` in this process: its exit code and what it wrote on stdout."""
    import contextlib

    from cptrules.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    return code, out.getvalue().encode()


def _same_as_jobs_1(files: list[Path], out: Path, scheduler: str, *options: str) -> list[bytes]:
    """Run ``check --scheduler`` on ``files`` with ``options``, then ``--jobs 1`` on each
    file alone with the same options, and hold the outputs equal; returns them."""
    code, _ = _cli(
        [
            "check",
            *map(str, files),
            "--format",
            "jsonl",
            *options,
            "--scheduler",
            scheduler,
            "--output-dir",
            str(out),
        ]
    )
    assert code in (0, 1, 2), code  # 2: some record is invalid (reported in its place)
    got = []
    for path in files:
        _, want = _cli(["check", str(path), "--format", "jsonl", "--jobs", "1", *options])
        written = (out / (path.name + ".reports.jsonl")).read_bytes()
        assert written == want, path.name
        got.append(written)
    return got


def test_claim_files_with_their_options(tmp_path: Path, cluster: Any) -> None:
    """837P and FHIR inputs, read with --payer-map, --discipline and --minutes."""
    fixtures = Path(__file__).resolve().parent / "fixtures" / "x12"
    claims = sorted(fixtures.glob("*.837"))
    session = cptrules.load_session(
        {**VISIT, "provider": {"discipline": "PT", "npi": "1234567893"}, "payer": "aetna"}
    )
    from cptrules import fhir, x12

    mapped = tmp_path / "mapped.837"
    mapped.write_text(
        x12.dump_837([("A-1", session)], payer_map=x12.PayerMap(payer_ids={"60054": "aetna"}))
    )
    fhir_claim = tmp_path / "claim.fhir.json"
    fhir_claim.write_text(json.dumps(fhir.dump_claim(session, "F-1")))
    pmap = tmp_path / "map.toml"
    pmap.write_text('[payer_ids]\n"60054" = "anthem"\n', encoding="utf-8")
    minutes = tmp_path / "minutes.csv"
    minutes.write_text("claim,line,minutes\nA-1,1,33\nA-1,2,7\n", encoding="utf-8")
    files = [*claims, mapped, fhir_claim]
    options = ("--payer-map", str(pmap), "--discipline", "PT", "--minutes", str(minutes))
    got = _same_as_jobs_1(files, tmp_path / "out", cluster.scheduler_address, *options)
    [report] = [json.loads(x) for x in got[len(claims)].splitlines()]
    assert report["payer"] == "anthem"  # the payer map was read on the worker
    units = {u["code"]: (u["billed"], u["expected"]) for u in report["units"]}
    assert units["97110"] == (3, 2)  # the minutes were read: 40 minutes give 2 + 1
    assert json.loads(got[-1])["format"] == "fhir"


def test_episodes(tmp_path: Path, cluster: Any) -> None:
    visits = []
    for day in range(1, 13):
        for patient in ("p-1", "p-2"):
            visit = {**VISIT, "patient": patient, "date_of_service": f"2026-03-{day:02d}"}
            visits.append(json.dumps(visit))
    path = tmp_path / "episodes.jsonl"
    path.write_text("\n".join(visits) + "\n")
    [got] = _same_as_jobs_1(
        [path], tmp_path / "out", cluster.scheduler_address, "--episodes", "--window", "3"
    )
    assert len(got.splitlines()) == 24
    _, plain = _cli(["check", str(path), "--format", "jsonl", "--jobs", "1"])
    assert got != plain  # the episodes' reports differ from visit-by-visit ones


def test_fees_and_locality(tmp_path: Path, cluster: Any) -> None:
    from cptrules.fees.store import import_fee_files

    pfs = Path(__file__).resolve().parent / "fixtures" / "pfs"
    store = tmp_path / "fees"
    import_fee_files([pfs / "PPRRVU24_JAN.csv", pfs / "GPCI2024.csv"], store)
    path = tmp_path / "priced.jsonl"
    visit = {**VISIT, "date_of_service": "2024-06-03"}
    path.write_text("\n".join(json.dumps(visit) for _ in range(30)) + "\n")
    options = ("--fees", str(store), "--locality", "99999-02")
    [got] = _same_as_jobs_1([path], tmp_path / "out", cluster.scheduler_address, *options)
    reports = [json.loads(x) for x in got.splitlines()]
    assert all(float(r["estimate"]["total"]) > 0 for r in reports)
    _, national = _cli(["check", str(path), "--format", "jsonl", "--fees", str(store)])
    assert got != national  # the locality was used


def test_options_that_do_not_apply_are_refused(tmp_path: Path, cluster: Any) -> None:
    path = tmp_path / "v.jsonl"
    path.write_text(json.dumps(VISIT) + "\n")
    base = ["check", str(path), "--scheduler", cluster.scheduler_address]
    out = tmp_path / "out"
    for extra, word in (
        (["--jobs", "2"], "--jobs"),
        (["--format", "json"], "format"),
        (["--fees", str(tmp_path / "no-store")], "fee data"),
        (["--episodes", "--window", "0"], "--window"),
    ):
        err = io.StringIO()
        import contextlib

        from cptrules.cli import main

        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main([*base, *extra, "--output-dir", str(out)])
        assert code == 2, extra
        assert word in err.getvalue(), (extra, err.getvalue())
    assert not out.exists()
