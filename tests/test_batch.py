"""Batch checking: every record accounted for, in order, the same output whatever the jobs."""

from __future__ import annotations

import gc
import io
import itertools
import json
import os
import pathlib
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cptrules
from cptrules import batch, strategies
from cptrules.batch import (
    BatchResult,
    EngineSettings,
    Summary,
    _pool,
    _reading,
    check_jsonl,
    check_many,
    iter_records,
)
from cptrules.errors import ConfigError
from cptrules.strategies import _data

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "batch"
MEDICARE = json.loads((FIXTURES / "medicare-pt-visit.json").read_text(encoding="utf-8"))
COMMERCIAL = json.loads((FIXTURES / "commercial-pt-visit.json").read_text(encoding="utf-8"))
# Over-billed: 40 timed minutes give 3 units in all, 97110 may have 2 (REFERENCE 1.1).
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
CHIRO: dict[str, Any] = {
    "date_of_service": "2026-01-20",
    "payer": "medicare",
    "provider": {"discipline": "DC"},
    "diagnoses": ["M99.03", "M54.50"],
    "lines": [
        {
            "code": "98941",
            "units": 1,
            "modifiers": ["AT"],
            "regions": ["cervical", "thoracic", "lumbar"],
            "diagnosis_pointers": [1, 2],
        }
    ],
}
GOOD_ONES = (MEDICARE, COMMERCIAL, OVERBILLED, CHIRO)


def compact(doc: Any) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def mixed_lines(n: int) -> list[bytes]:
    """``n`` JSON Lines: sessions, invalid sessions, non-JSON, blank lines and bad bytes."""
    out: list[bytes] = []
    for i in range(n):
        kind = i % 10
        if kind == 3:
            out.append(b"this is not json")
        elif kind == 5:
            out.append(compact({"payer": "medicare", "lines": []}))
        elif kind == 7:
            out.append(b"")
        elif kind == 8 and i % 20 == 8:
            out.append(b'{"payer": "\xff\xfe"}')
        elif kind == 9 and i % 30 == 9:
            out.append(b'{"date_of_service": "2026-03-04", "payer": ')  # cut short
        else:
            session = dict(GOOD_ONES[i % len(GOOD_ONES)])
            session["treatment_day"] = 1 + i % 9
            out.append(compact(session))
    return out


def run_jsonl(data: bytes, **kwargs: Any) -> tuple[str, Summary]:
    out = io.StringIO()
    summary = check_jsonl(io.BytesIO(data), out, **kwargs)
    return out.getvalue(), summary


MIXED = mixed_lines(300)
MIXED_DATA = b"\n".join(MIXED) + b"\n"
NONBLANK = [i + 1 for i, line in enumerate(MIXED) if line.strip()]


# --------------------------------------------------------------------------- check_many


def test_check_many_accounts_for_every_input_in_order() -> None:
    session = cptrules.load_session(MEDICARE)
    records: list[Any] = [
        session,
        MEDICARE,
        json.dumps(COMMERCIAL),
        compact(OVERBILLED),
        "not json",
        b"\xff",
        {"payer": "medicare"},
        42,
    ]
    results = list(check_many(records))
    assert [r.index for r in results] == list(range(len(records)))
    assert [r.invalid for r in results] == [False] * 4 + [True] * 4
    assert [r.ok for r in results[:3]] == [True, True, True]
    assert not results[3].ok
    assert results[3].report is not None
    assert "units.total-time" in results[3].report.rules()
    assert results[4].errors == (("", "not valid JSON (line 1, column 1)"),)
    assert results[5].errors[0][1].startswith("not UTF-8")
    assert {path for path, _ in results[6].errors} >= {"date_of_service", "provider", "lines"}
    assert results[7].errors == (("", "a session must be a JSON object"),)
    assert not any(r.internal for r in results)


def _comparable(results: Iterator[BatchResult]) -> list[Any]:
    return [
        (r.index, r.report.to_dict() if r.report is not None else None, r.errors) for r in results
    ]


def test_check_many_jobs_give_the_same_results() -> None:
    records = [line.decode("utf-8", "replace") for line in MIXED]
    one = _comparable(check_many(records))
    two = _comparable(check_many(records, jobs=2, chunk_size=16))
    assert one == two
    assert len(one) == len(records)


def test_check_many_is_lazy_and_bounded() -> None:
    pulled = itertools.count()

    def endless() -> Iterator[dict[str, Any]]:
        while True:
            next(pulled)
            yield MEDICARE

    results = check_many(endless(), jobs=2, chunk_size=8)
    first = list(itertools.islice(results, 100))
    assert [r.index for r in first] == list(range(100))
    # 100 consumed; at most the in-flight window (3 x jobs chunks) plus one chunk read ahead.
    assert next(pulled) <= 100 + (3 * 2 + 1) * 8 + 8
    results.close()  # type: ignore[attr-defined]  # a generator; closing stops the pool


def test_check_many_payer_override_and_unknown_payer() -> None:
    [result] = check_many([MEDICARE], payer="commercial")
    assert result.report is not None
    assert result.report.payer == "commercial"
    with pytest.raises(ConfigError, match="unknown payer profile"):
        check_many([MEDICARE], payer="no-such-payer")
    with pytest.raises(ConfigError, match="unknown payer profile"):
        check_many([MEDICARE], payer="no-such-payer", jobs=2)


def test_check_many_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="jobs"):
        check_many([MEDICARE], jobs=0)
    with pytest.raises(ConfigError, match="EngineSettings"):
        check_many([MEDICARE], engine=cptrules.Engine(), jobs=2)


def test_engine_settings_reach_the_workers() -> None:
    off = EngineSettings(disabled=["units.total-time"])
    for jobs in (1, 2):
        results = list(check_many([OVERBILLED] * 20, engine=off, jobs=jobs, chunk_size=4))
        assert all(r.report is not None for r in results)
        assert not any("units.total-time" in r.report.rules() for r in results if r.report)
    regraded = EngineSettings(severities={"units.total-time": "info"})
    [result] = check_many([OVERBILLED], engine=regraded)
    assert result.report is not None
    assert [f.severity for f in result.report.findings if f.rule == "units.total-time"] == ["info"]


def test_engine_settings_normalise_and_pickle() -> None:
    import pickle

    a = EngineSettings(profiles=[pathlib.Path("a.toml")], disabled={"b", "a"})
    assert a.profiles == ("a.toml",)
    assert a.disabled == ("a", "b")
    assert pickle.loads(pickle.dumps(a)) == a


def test_check_many_engine_object_in_process() -> None:
    engine = cptrules.Engine(disabled=["units.total-time"])
    [result] = check_many([OVERBILLED], engine=engine)
    assert result.report is not None
    assert "units.total-time" not in result.report.rules()


def test_a_bug_inside_a_check_is_an_internal_record_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = cptrules.Engine.check

    def flaky(self: cptrules.Engine, session: Any, payer: str | None = None) -> Any:
        if session.payer == "commercial":
            raise RuntimeError("boom with patient text")
        return real(self, session, payer)

    monkeypatch.setattr(cptrules.Engine, "check", flaky)
    results = list(check_many([MEDICARE, COMMERCIAL, MEDICARE]))
    assert [r.invalid for r in results] == [False, True, False]
    assert results[1].internal
    assert results[1].errors == (("", "internal error (RuntimeError); please report this bug"),)
    out, summary = run_jsonl(b"\n".join(compact(s) for s in (MEDICARE, COMMERCIAL)))
    assert summary.internal == 1
    assert summary.invalid == 1
    assert "boom" not in out


# --------------------------------------------------------------------------- check_jsonl


@pytest.mark.parametrize("fmt", ["jsonl", "json", "text"])
def test_output_is_byte_identical_whatever_the_jobs(fmt: batch.Format) -> None:
    one, s1 = run_jsonl(MIXED_DATA, format=fmt, name="visits.jsonl")
    two, s2 = run_jsonl(MIXED_DATA, format=fmt, name="visits.jsonl", jobs=2, chunk_size=16)
    assert one == two
    assert s1.records == s2.records == len(NONBLANK)
    assert (s1.ok, s1.with_errors, s1.invalid, s1.rules, s1.notes) == (
        s2.ok,
        s2.with_errors,
        s2.invalid,
        s2.rules,
        s2.notes,
    )


def test_output_is_the_same_under_spawn() -> None:
    one, _ = run_jsonl(MIXED_DATA)
    two, _ = run_jsonl(MIXED_DATA, jobs=2, chunk_size=64, start_method="spawn")
    assert one == two


def test_one_report_per_record_in_order_with_line_numbers() -> None:
    out, summary = run_jsonl(MIXED_DATA, jobs=2, chunk_size=16)
    reports = [json.loads(line) for line in out.splitlines()]
    assert len(reports) == len(NONBLANK)
    for number, raw, report in zip(NONBLANK, (m for m in MIXED if m.strip()), reports, strict=True):
        if report.get("invalid"):
            assert report["record"] == number
            assert report["ok"] is False
            assert report["errors"]
            assert set(report["errors"][0]) == {"path", "message"}
        else:
            assert report["payer"] == json.loads(raw)["payer"]
            assert report["record"] == number
    assert summary.records == summary.ok + summary.with_errors + summary.invalid
    assert summary.invalid == sum(1 for r in reports if r.get("invalid"))
    assert summary.ok == sum(1 for r in reports if r["ok"])
    assert summary.last_record == NONBLANK[-1]
    assert summary.exit_code == 2
    findings = [f for r in reports for f in r.get("findings", ())]
    infos = sum(f["severity"] == "info" for f in findings)
    assert sum(summary.rules.values()) == len(findings) - infos
    assert sum(summary.notes.values()) == infos


def test_non_json_and_bad_bytes_are_invalid_records() -> None:
    data = b"\n".join([compact(MEDICARE), b"garbage", b"\xff\xfe{", compact(COMMERCIAL)])
    out, summary = run_jsonl(data)
    lines = [json.loads(x) for x in out.splitlines()]
    assert [x["ok"] for x in lines] == [True, False, False, True]
    assert lines[1] == {
        "ok": False,
        "invalid": True,
        "record": 2,
        "errors": [{"path": "", "message": "not valid JSON (line 1, column 1)"}],
    }
    assert lines[2]["record"] == 3
    assert lines[2]["errors"][0]["message"].startswith("not UTF-8")
    assert (summary.records, summary.ok, summary.invalid) == (4, 2, 2)


def test_json_format_is_one_array_or_one_object() -> None:
    out, _ = run_jsonl(MIXED_DATA, format="json", jobs=2, chunk_size=16)
    doc = json.loads(out)
    assert isinstance(doc, list)
    assert len(doc) == len(NONBLANK)
    expected = [json.loads(x) for x in run_jsonl(MIXED_DATA)[0].splitlines()]
    assert doc == expected
    single, _ = run_jsonl(compact(MEDICARE), format="json")
    assert json.loads(single)["ok"] is True
    empty, summary = run_jsonl(b"\n\n", format="json")
    assert json.loads(empty) == []
    assert summary.records == 0
    assert summary.exit_code == 2  # no records is not a pass


def test_summary_counts_and_format() -> None:
    data = b"\n".join([compact(MEDICARE), compact(OVERBILLED), b"nope"])
    _, summary = run_jsonl(data)
    assert (summary.records, summary.ok, summary.with_errors, summary.invalid) == (3, 1, 1, 1)
    assert summary.rules.get("units.total-time", 0) >= 1
    text = summary.format()
    assert text.startswith("3 records: 1 ok, 1 with errors, 1 invalid")
    assert "units.total-time" in text
    assert summary.top_rules(1)[0][1] == max(summary.rules.values())
    assert summary.exit_code == 2
    _, errors_only = run_jsonl(compact(OVERBILLED))
    assert errors_only.exit_code == 1


def test_check_jsonl_rejects_bad_options() -> None:
    with pytest.raises(ConfigError):
        run_jsonl(MIXED_DATA, jobs=0)
    with pytest.raises(ConfigError):
        run_jsonl(MIXED_DATA, format="xml")
    with pytest.raises(ConfigError, match="EngineSettings"):
        run_jsonl(MIXED_DATA, jobs=2, engine=cptrules.Engine())
    with pytest.raises(ConfigError, match="unknown payer"):
        run_jsonl(MIXED_DATA, payer="nobody")


def test_text_streams_work_too() -> None:
    text = MIXED_DATA.decode("utf-8", "replace")
    out = io.StringIO()
    summary = check_jsonl(io.StringIO(text), out)
    assert summary.records == len(NONBLANK)


class _InterruptingStream(io.BytesIO):
    """A stream that sends this process SIGINT once ``after`` lines have been read."""

    def __init__(self, data: bytes, after: int) -> None:
        super().__init__(data)
        self.after = after
        self.read_lines = 0

    def readline(self, size: int | None = -1) -> bytes:
        self.read_lines += 1
        if self.read_lines == self.after:
            os.kill(os.getpid(), signal.SIGINT)
        return super().readline(size)


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_ctrl_c_leaves_whole_records(jobs: int, fmt: batch.Format) -> None:
    data = b"\n".join([compact(MEDICARE)] * 3000) + b"\n"
    stream = _InterruptingStream(data, after=700)
    out = io.StringIO()
    summary = check_jsonl(stream, out, jobs=jobs, chunk_size=64, format=fmt)
    assert summary.interrupted
    assert summary.exit_code == 130
    assert 0 < summary.records < 3000
    assert summary.last_record == summary.records
    if fmt == "jsonl":
        lines = out.getvalue().splitlines()
        assert len(lines) == summary.records
        assert all(json.loads(line)["ok"] for line in lines)
    else:
        assert len(json.loads(out.getvalue())) == summary.records
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def assert_text_says_what_the_report_says(report: cptrules.Report, name: str) -> None:
    """The text names every finding (rule, severity, message, source, fixes) and every
    units row, with lines counted from 1, and the verdict and counts in its first line."""
    text = batch.render_text(report, name)
    lines = text.splitlines()
    errors = sum(f.severity == "error" for f in report.findings)
    warnings = sum(f.severity == "warning" for f in report.findings)
    verdict = "OK" if report.ok else "NOT READY"
    assert lines[0].startswith(f"{name}: {verdict} — {report.payer}, date of service ")
    assert f"{errors} error(s), {warnings} warning(s)" in lines[0]
    for u in report.units:
        assert any(x.startswith(f"    line {u.line + 1}  {u.code}") for x in lines)
    for f in report.findings:
        where = "session" if f.line is None else f"line {f.line + 1}"
        head = f"  {f.severity.upper():<7} {f.rule} ({where}): {f.message}"
        at = lines.index(head)
        assert lines[at + 1] == f"          source: {f.citation}"
        for k, fix in enumerate(f.fixes):
            said = lines[at + 2 + k]
            assert said.startswith("          fix: ")
            assert f"line {fix.line + 1}" in said
            assert fix.value is None or str(fix.value) in said
    if report.data:
        assert lines[-2] == f"  data: {report.data_version}"
        ncci = report.data
        assert lines[-1] == f"  ncci: pairs {ncci['ncci_ptp']}; MUEs {ncci['ncci_mue']}"
    else:
        assert lines[-1] == f"  data: {report.data_version}"


@settings(max_examples=150, deadline=None)
@given(
    session=strategies.sessions(),
    payer=st.sampled_from(_data.payer_ids()),
    name=st.sampled_from(["<stdin>", "visits.jsonl, record 7"]),
)
def test_render_text_says_what_the_report_says(
    session: cptrules.Session, payer: str, name: str
) -> None:
    assert_text_says_what_the_report_says(cptrules.check(session, payer), name)


def test_render_text_of_odd_fixes_and_unknown_units() -> None:
    from cptrules.report import Finding, Fix, LineUnits

    report = cptrules.check(cptrules.load_session(OVERBILLED))
    odd = attrs.evolve(
        report,
        units=(LineUnits(0, "97110", None, None), LineUnits(1, "X", 3, None)),
        findings=(
            Finding("r.a", "warning", None, "m", "c", (Fix("remove_line", 1), Fix("other", 0, 5))),  # type: ignore[arg-type]  # an action rules never make
            Finding("r.b", "info", 1, "n", "d", (Fix("set_units", 1, 2),)),
        ),
    )
    assert_text_says_what_the_report_says(odd, "x")
    text = batch.render_text(odd, "x")
    assert "    line 1  97110  billed ?  expected ?\n" in text
    assert "fix: remove line 2" in text
    assert "fix: set units on line 2 to 2" in text
    for good in GOOD_ONES:
        assert_text_says_what_the_report_says(cptrules.check(cptrules.load_session(good)), "x")


# --------------------------------------------------------------------------- reading


def records_of(data: bytes) -> list[tuple[int, bytes | None]]:
    return list(iter_records(io.BytesIO(data)))


def test_one_pretty_document_is_one_record() -> None:
    pretty = json.dumps(MEDICARE, indent=2).encode()
    assert records_of(b"\n" + pretty + b"\n") == [(1, pretty + b"\n")]
    [(number, data)] = records_of(pretty)
    assert number == 1
    assert data is not None
    assert json.loads(data) == MEDICARE


def test_compact_lines_are_json_lines_numbered_by_line() -> None:
    data = b"\n" + compact(MEDICARE) + b"\n\n" + compact(COMMERCIAL) + b"\r\n\n"
    got = records_of(data)
    assert [n for n, _ in got] == [2, 4]


def test_a_cut_short_first_line_still_means_json_lines() -> None:
    data = b'{"date_of_service": "2026-03-04",\n' + compact(MEDICARE) + b"\n" + compact(CHIRO)
    assert [n for n, _ in records_of(data)] == [1, 2, 3]
    # ... and a broken pretty document is not guessed at: one record per line
    broken = json.dumps(MEDICARE, indent=2).replace('"payer"', "payer").encode()
    assert [n for n, _ in records_of(broken)] == list(range(1, broken.count(b"\n") + 2))


def test_a_cut_short_first_record_then_junk_swallows_nothing() -> None:
    """A cut-short first record, ``not json``, then 1,000 sessions: 1,002 reports."""
    data = b"\n".join([compact(MEDICARE)[:40], b"not json", *[compact(MEDICARE)] * 1000]) + b"\n"
    out, summary = run_jsonl(data)
    reports = [json.loads(line) for line in out.splitlines()]
    assert len(reports) == summary.records == 1002
    assert [r["record"] for r in reports if r.get("invalid")] == [1, 2]
    assert summary.invalid == 2
    assert summary.ok + summary.with_errors == 1000


def test_a_broken_first_line_means_json_lines() -> None:
    data = b"hello\n" + compact(MEDICARE) + b"\n"
    assert [n for n, _ in records_of(data)] == [1, 2]


def test_bom_and_blank_input() -> None:
    assert records_of(b"") == []
    assert records_of(b"\n \n\t\n") == []
    [(number, data)] = records_of(b"\xef\xbb\xbf" + compact(MEDICARE) + b"\n")
    assert number == 1
    assert data is not None
    assert data.startswith(b"{")


def test_an_overlong_line_is_an_invalid_record(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_reading, "MAX_LINE_BYTES", 600)
    data = compact(CHIRO) + b"\n" + b"x" * 5000 + b"\n" + compact(CHIRO) + b"\n"
    got = records_of(data)
    assert [(n, d is None) for n, d in got] == [(1, False), (2, True), (3, False)]
    out, summary = run_jsonl(data)
    assert json.loads(out.splitlines()[1])["errors"][0]["message"].startswith("record longer than")
    assert summary.invalid == 1


def test_reading_is_lazy() -> None:
    class Counting(io.BytesIO):
        lines = 0

        def readline(self, size: int | None = -1) -> bytes:
            Counting.lines += 1
            return super().readline(size)

    stream = Counting(b"\n".join([compact(MEDICARE)] * 1000))
    it = iter_records(stream)
    list(itertools.islice(it, 10))
    assert Counting.lines <= 11


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [compact(s) for s in GOOD_ONES]
            + [b"", b"  ", b"[]", b"null", b"{}", b"not json", b"\xff", b'{"a":', b"}"]
        ),
        max_size=30,
    )
)
def test_every_record_gets_exactly_one_report(lines: list[bytes]) -> None:
    data = b"\n".join(lines)
    out, summary = run_jsonl(data, chunk_size=4)
    numbers = [n for n, _ in records_of(data)]
    reports = out.splitlines()
    assert len(reports) == summary.records == len(numbers)
    assert summary.records == summary.ok + summary.with_errors + summary.invalid
    for number, report in zip(numbers, reports, strict=True):
        doc = json.loads(report)
        if doc.get("invalid"):
            assert doc["record"] == number


def records_as_check_jsonl_reads_them(data: bytes, size: int) -> list[tuple[int, bytes | None]]:
    """What check_jsonl hands its workers, flattened: tasks of raw blocks after the head."""
    reader = _reading._Reader(io.BytesIO(data))
    records = iter(reader)
    head = list(itertools.islice(records, 2))
    if not reader.plain:
        return head + list(records)
    tasks = list(reader.tasks(head, size))
    assert all(len(task[0]) + task[2].count(b"\n") <= size + 1 for task in tasks)
    assert reader.position == len(data)
    return [record for task in tasks for record in _reading._task_records(task)]


line_kinds = (
    st.sampled_from(
        [
            compact(CHIRO),
            b"",
            b"  ",
            b" \t\x0b\x0c",
            b"\r",
            b"x\ry",
            b"not json",
            b"\xff\xfe",
            b"[]",
        ]
    )
    | st.binary(max_size=40).map(lambda b: b.replace(b"\n", b""))
    | st.integers(0, 90).map(
        lambda n: b"z" * n  # around the (patched) piece size and longest line
    )
)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(line_kinds, max_size=25),
    ending=st.sampled_from([b"\n", b"\r\n"]),
    last_newline=st.booleans(),
    size=st.integers(1, 9),
)
def test_block_reading_gives_the_records_of_the_line_reader(
    lines: list[bytes], ending: bytes, last_newline: bool, size: int
) -> None:
    # The fast block reader (check_jsonl's) and iter_records agree on every input:
    # same records, same numbers, same bytes, over-long lines and long pieces too.
    data = ending.join(lines) + (ending if last_newline and lines else b"")
    saved = _reading.MAX_LINE_BYTES, _reading._PIECE
    _reading.MAX_LINE_BYTES, _reading._PIECE = 60, 16
    try:
        expected = records_of(data)
        assert records_as_check_jsonl_reads_them(data, size) == expected
    finally:
        _reading.MAX_LINE_BYTES, _reading._PIECE = saved


def test_long_and_overlong_lines_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Lines longer than a read piece come whole; lines past the limit are invalid
    # records, skipped to their end, whichever chunk they start or end in.
    monkeypatch.setattr(_reading, "_PIECE", 64)
    monkeypatch.setattr(_reading, "MAX_LINE_BYTES", 600)
    good = compact(CHIRO)
    assert 64 < len(good) < 600
    lines = [good, good, b"", good, b"x" * 5000, good, b"y" * 601, good, b"z" * 600, good]
    data = b"\n".join(lines) + b"\n"
    expected = records_of(data)
    assert [(n, d is None) for n, d in expected] == [
        (1, False),
        (2, False),
        (4, False),
        (5, True),
        (6, False),
        (7, True),
        (8, False),
        (9, False),
        (10, False),
    ]
    for size in (1, 2, 3, 4, 7, 64):
        assert records_as_check_jsonl_reads_them(data, size) == expected
    one, summary = run_jsonl(data, chunk_size=3)
    two, _ = run_jsonl(data, chunk_size=3, jobs=2)
    assert one == two
    assert summary.invalid == 3  # two over-long lines, and "z" * 600 is no JSON
    assert json.loads(one.splitlines()[3])["record"] == 5


def test_line_endings_and_blank_lines_in_blocks() -> None:
    lines = [compact(MEDICARE), b"", b" \t", compact(CHIRO), b'{"payer": ']
    for ending in (b"\n", b"\r\n"):
        data = ending.join(lines * 300)
        one, summary = run_jsonl(data)
        two, _ = run_jsonl(data, jobs=2, chunk_size=64)
        assert one == two
        assert summary.records == 900
        cut = [json.loads(x) for x in one.splitlines() if '"invalid":true' in x]
        # A record's line ending is part of what was read, as line by line: a
        # record cut short is reported past its ending (the last one has none).
        assert cut[0]["errors"][0]["message"] == "not valid JSON (line 2, column 1)"
        assert cut[0]["record"] == 5
        assert cut[-1]["errors"][0]["message"] == "not valid JSON (line 1, column 11)"


def test_progress_line_on_long_runs_only(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(itertools.count(0.0, 0.3))  # each reading 0.3 s later
    monkeypatch.setattr("cptrules.batch._stream.time.monotonic", lambda: next(clock))
    data = b"\n".join([compact(CHIRO)] * 64)
    progress = io.StringIO()
    _, summary = run_jsonl(data, chunk_size=8, progress=progress)
    shown = progress.getvalue()
    assert "records," in shown
    assert "%" not in shown  # a BytesIO has no size: no percent ...
    assert shown.endswith("\r\x1b[K")  # ... and the line is cleared at the end
    assert summary.records == 64
    monkeypatch.undo()
    quick = io.StringIO()
    run_jsonl(data, progress=quick)
    assert quick.getvalue() == ""  # under a second: nothing shown


def test_progress_percent_of_a_file(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = iter(itertools.count(0.0, 0.3))
    monkeypatch.setattr("cptrules.batch._stream.time.monotonic", lambda: next(clock))
    path = tmp_path / "v.jsonl"
    path.write_bytes(b"\n".join([compact(CHIRO)] * 64) + b"\n")
    progress = io.StringIO()
    with path.open("rb") as src:
        check_jsonl(src, io.StringIO(), chunk_size=8, progress=progress)
    assert "100.0%" in progress.getvalue()


def test_a_dead_worker_ends_the_run_with_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = cptrules.Engine.check

    def dies(self: cptrules.Engine, session: Any, payer: str | None = None) -> Any:
        if session.payer == "commercial":
            os._exit(3)  # a worker killed mid-chunk (the OOM killer, kill -9)
        return real(self, session, payer)

    monkeypatch.setattr(cptrules.Engine, "check", dies)  # workers inherit it by fork
    data = b"\n".join([compact(MEDICARE)] * 40 + [compact(COMMERCIAL)] + [compact(MEDICARE)] * 40)
    out = io.StringIO()
    with pytest.raises(cptrules.CptRulesError, match="worker process died"):
        check_jsonl(io.BytesIO(data), out, jobs=2, chunk_size=8, start_method="fork")
    lines = out.getvalue().splitlines()
    assert len(lines) % 8 == 0  # whole chunks before the dead one, nothing after
    assert len(lines) <= 40


_PEAK_RSS = """
import os, resource, sys
from cptrules import batch
with open(sys.argv[1], "rb") as src, open(os.devnull, "w") as out:
    s = batch.check_jsonl(src, out, jobs=int(sys.argv[2]), chunk_size=4)
# VmHWM: this process since its exec (ru_maxrss would count the forking parent);
# RUSAGE_CHILDREN: the workers, forked from this small process.
with open("/proc/self/status") as f:
    hwm = next(int(x.split()[1]) for x in f if x.startswith("VmHWM"))
peak = max(hwm, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(s.records, s.invalid, peak // 1024)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads Linux /proc")
@pytest.mark.parametrize("jobs", [1, 2])
def test_huge_records_are_refused_unread_and_memory_stays_bounded(
    tmp_path: pathlib.Path, jobs: int
) -> None:
    """Records of 60 MB of ``[{},{},...]`` took the CLI to 1.6 GB (3.7 GB with --jobs 2);
    past the 1 MiB bound they are invalid records, read in bounded pieces, never parsed."""
    near = b"[" + b",".join([b"{}"] * ((batch.MAX_RECORD_BYTES - 10) // 3)) + b"]\n"
    path = tmp_path / "huge.jsonl"
    with open(path, "wb") as out:  # written piece by piece: this process stays small
        for k in range(4):
            if k % 2:
                out.write(near)
                continue
            out.write(b"[")
            for _ in range(200):
                out.write(b"{}," * 100_000)
            out.write(b"{}]\n")
        out.write(compact(MEDICARE) + b"\n")
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(path), str(jobs)],
        capture_output=True,
        text=True,
        check=True,
    )
    records, invalid, peak_mb = map(int, result.stdout.split())
    assert (records, invalid) == (5, 4)
    assert peak_mb < 100, f"peak RSS {peak_mb} MB"


def test_a_worker_keeps_its_engine_out_of_the_collectors_sight() -> None:
    previous, thresholds = signal.getsignal(signal.SIGINT), gc.get_threshold()
    try:
        _pool._init_worker(EngineSettings(), {"payer": None})
        assert gc.get_freeze_count() > 0  # gc.freeze() after the engine is built
        # and the young generation collected less often than CPython's 700
        assert gc.get_threshold() == (_pool.BATCH_YOUNG_THRESHOLD, *thresholds[1:])
    finally:
        signal.signal(signal.SIGINT, previous)
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        _pool._STATE.clear()


def test_the_cli_gives_back_the_collector_it_found(tmp_path: pathlib.Path) -> None:
    """`cptrules check --jobs 1` sets the collector for the batch, then restores it."""
    from unittest import mock

    from cptrules import cli

    path = tmp_path / "v.jsonl"
    path.write_bytes(compact(MEDICARE) + b"\n")
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    seen: list[tuple[int, int, int]] = []
    real = cli.check_input

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.get_threshold())
        return real(*args, **kwargs)

    with mock.patch.object(cli, "check_input", spy):
        assert cli.main(["check", str(path), "--jobs", "1", "--quiet", "--format", "jsonl"]) == 0
    assert [t[0] for t in seen] == [_pool.BATCH_YOUNG_THRESHOLD]
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == frozen


_FAULTS = """
import resource, sys
from cptrules.batch import _pool
if sys.argv[1] == "1":
    _pool.keep_freed_memory()
keep = [bytes(64) for _ in range(1000)]  # a heap with something on it
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(200):  # a task's life in a worker: big buffers made, filled, freed
    block = bytes(600_000)
    text = block.decode()
    del block, text
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not _pool._glibc(), reason="glibc's malloc only")
def test_a_worker_keeps_the_memory_its_tasks_free() -> None:
    """glibc gives a freed block of 600 KB back to the kernel, so the next one faults its
    pages in afresh (about 150 faults a buffer, 3 us of system time a record in a
    worker); a worker keeps them mapped."""

    def faults(keep: bool) -> int:
        run = [sys.executable, "-c", _FAULTS, "1" if keep else "0"]
        return int(subprocess.run(run, capture_output=True, text=True, check=True).stdout)

    assert faults(keep=False) > 20_000  # the default: the pages of every buffer, again
    assert faults(keep=True) < 2_000


def test_away_from_glibc_a_worker_leaves_malloc_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS and Windows have no CS_GNU_LIBC_VERSION (or no confstr); musl answers
    something else: nothing is tuned, nothing raises."""

    def no_such_name(name: str) -> str:
        raise ValueError(name)

    for confstr in (no_such_name, lambda name: None, lambda name: "musl 1.2"):
        monkeypatch.setattr(_pool.os, "confstr", confstr, raising=False)
        assert not _pool._glibc()
        monkeypatch.setattr(_pool, "_MMAP_THRESHOLD", "not an int: ctypes would raise")
        _pool.keep_freed_memory()
    monkeypatch.delattr(_pool.os, "confstr", raising=False)
    assert not _pool._glibc()
