"""Batch checking: many sessions, in order, every record accounted for.

Two entry points:

- :func:`check_many` checks an iterable of sessions (``Session`` objects, dicts,
  JSON strings or bytes) and yields one :class:`BatchResult` per input, in input
  order: a report, or the errors that made the input unusable. Nothing is dropped.
- :func:`check_jsonl` streams a JSON Lines file (or one JSON document) to an
  output stream, one rendered report per record, and returns a :class:`Summary`.
  ``cptrules check`` is built on it.

Both can spread the work over processes (``jobs``). Each worker builds one
:class:`~cptrules.Engine` from picklable :class:`EngineSettings` and receives
records in chunks; results come back in input order with a bounded number of
chunks in flight, so memory stays constant whatever the input size. The output
is byte-for-byte the same whatever the number of jobs.

>>> from cptrules.batch import check_many
>>> visit = {"date_of_service": "2026-03-04", "payer": "medicare",
...          "provider": {"discipline": "PT"},
...          "lines": [{"code": "97110", "minutes": 33, "modifiers": ["GP"]}]}
>>> results = list(check_many([visit, "not json", {"payer": "medicare"}]))
>>> [(r.index, r.invalid) for r in results]
[(0, False), (1, True), (2, True)]
>>> results[1].errors
(('', 'not valid JSON (line 1, column 1)'),)
"""

from __future__ import annotations

import collections
import functools
import itertools
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import FrameType
from typing import IO, TYPE_CHECKING, Any, Literal, TypeVar, cast

import attrs

from .engine import Engine, default_engine
from .errors import ConfigError, CptRulesError, InvalidSessionError
from .models import Session
from .parsing import load_session
from .report import Report, encode_report

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = [
    "CHUNK_SIZE",
    "BatchResult",
    "EngineSettings",
    "Format",
    "Record",
    "Summary",
    "check_jsonl",
    "check_many",
    "default_jobs",
    "iter_records",
    "render_invalid_text",
    "render_text",
]

#: A session in any form :func:`cptrules.load_session` takes, or a ready ``Session``.
Record = Session | Mapping[str, Any] | str | bytes
#: Output formats of :func:`check_jsonl`.
Format = Literal["jsonl", "json", "text"]
#: Records per task sent to a worker process (JSON Lines: lines, blank ones included).
CHUNK_SIZE = 512
#: Longest JSON Lines record read, in bytes; a longer line is an invalid record.
MAX_LINE_BYTES = 64 * 1024 * 1024

_Errors = tuple[tuple[str, str], ...]
_T = TypeVar("_T")
_R = TypeVar("_R")

_BOM = b"\xef\xbb\xbf"
_TOO_LONG: _Errors = (("", f"line longer than {MAX_LINE_BYTES} bytes"),)
#: Bytes per read of JSON Lines in C (see ``_Reader.tasks``); a line this long
#: or longer makes its chunk go through the line-by-line reader.
_PIECE = 64 * 1024
#: A chunk of JSON Lines for a worker: records already split off as ``(line
#: number, data)``, then a block of raw lines whose first is line ``start + 1``.
_Task = tuple[list[tuple[int, bytes | None]], int, bytes]


def default_jobs() -> int:
    """The number of CPUs this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------- engine


def _paths(value: Iterable[str | os.PathLike[str]]) -> tuple[str, ...]:
    return tuple(os.fspath(p) for p in value)


def _optional_path(value: str | os.PathLike[str] | None) -> str | None:
    return None if value is None else os.fspath(value)


def _sorted_ids(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(value))


def _sorted_items(
    value: Mapping[str, str] | Iterable[tuple[str, str]],
) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(dict(value).items()))


@attrs.frozen
class EngineSettings:
    """How to build an :class:`~cptrules.Engine`: picklable, so worker processes can.

    The fields mirror ``Engine``'s keyword options: ``profiles`` (extra profile
    files), ``tables`` (path of an NCCI store; None = the local store when
    present, else the bundled pairs), ``disabled`` rule ids and ``severities``.
    """

    profiles: tuple[str, ...] = attrs.field(default=(), converter=_paths)
    tables: str | None = attrs.field(default=None, converter=_optional_path)
    disabled: tuple[str, ...] = attrs.field(default=(), converter=_sorted_ids)
    severities: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_sorted_items)

    def build(self) -> Engine:
        """A new engine with these settings.

        With ``tables=None`` the local store is opened afresh (a new connection,
        never one inherited from a parent process), else the bundled pairs are used.
        """
        from . import ncci

        tables: Any = self.tables
        if tables is None:
            path = ncci.default_store_path()
            tables = path if path.is_file() else ncci.bundled_tables()
        return Engine(
            profiles=self.profiles or None,
            tables=tables,
            disabled=self.disabled,
            severities=dict(self.severities),
        )


def _resolve_engine(engine: Engine | EngineSettings | None) -> Engine:
    if engine is None:
        return default_engine()
    if isinstance(engine, EngineSettings):
        return engine.build()
    return engine


def _check_payer(engine: Engine, payer: str | None) -> None:
    if payer is not None and not engine.profiles.knows(payer):
        raise ConfigError(f"unknown payer profile {payer} (see `cptrules payers`)")


# --------------------------------------------------------------------------- one record


@attrs.frozen
class BatchResult:
    """The outcome of one input of a batch.

    ``index`` is the input's 0-based position (for :func:`check_many`) or its
    1-based line number (JSON Lines). Exactly one of ``report`` and ``errors``
    is set: ``errors`` lists ``(path, message)`` pairs when the input could not
    be checked. ``internal`` marks an unexpected failure inside cptrules (a bug
    to report), as opposed to bad input.
    """

    index: int
    report: Report | None = None
    errors: _Errors = ()
    internal: bool = False

    @property
    def invalid(self) -> bool:
        """True when the input could not be checked."""
        return self.report is None

    @property
    def ok(self) -> bool:
        """True when the input was checked and no finding is an error."""
        return self.report is not None and self.report.ok


def _check_one(engine: Engine, data: Record | None, payer: str | None) -> Report | BatchResult:
    """Check one input; a bad input (or a bug) becomes an index-less BatchResult."""
    if data is None:
        return BatchResult(0, errors=_TOO_LONG)
    try:
        return engine.check(data if isinstance(data, Session) else load_session(data), payer)
    except InvalidSessionError as exc:
        return BatchResult(0, errors=exc.errors)
    except CptRulesError as exc:
        return BatchResult(0, errors=(("", str(exc)),))
    except Exception as exc:  # every record must be accounted for, even on a bug
        message = f"internal error ({type(exc).__name__}); please report this bug"
        return BatchResult(0, errors=(("", message),), internal=True)


# --------------------------------------------------------------------------- rendering


def invalid_report(record: int | None, errors: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The JSON report of a record that could not be checked, by 1-based record number."""
    out: dict[str, Any] = {"ok": False, "invalid": True}
    if record is not None:
        out["record"] = record
    out["errors"] = [{"path": p, "message": m} for p, m in errors]
    return out


_FIX_TEXT = {
    "set_units": "set units on line {line} to {value}",
    "add_modifier": "add modifier {value} to line {line}",
    "remove_modifier": "remove modifier {value} from line {line}",
    "replace_code": "replace the code on line {line} with {value}",
    "remove_line": "remove line {line}",
}


def render_text(report: Report, name: str) -> str:
    """A report for people: what is wrong, why (citation), what to change."""
    # Read from the report's objects, not from to_dict() (twice as fast in a batch);
    # the text is what the dict form gives (tests/test_batch.py compares the two).
    findings = report.findings
    errors = warnings = 0
    for f in findings:
        if f.severity == "error":
            errors += 1
        elif f.severity == "warning":
            warnings += 1
    infos = len(findings) - errors - warnings
    verdict = "OK" if report.ok else "NOT READY"
    out = [
        f"{name}: {verdict} — {report.payer}, date of service "
        f"{report.date_of_service.isoformat()}: "
        f"{errors} error(s), {warnings} warning(s), {infos} note(s)",
        "  units:",
    ]
    for u in report.units:
        exp = "?" if u.expected is None else u.expected
        billed = "?" if u.billed is None else u.billed
        flag = "" if u.billed == u.expected else "   <-"
        out.append(f"    line {u.line}  {u.code:<6} billed {billed}  expected {exp}{flag}")
    for f in findings:
        where = "session" if f.line is None else f"line {f.line}"
        out.append(f"  {f.severity.upper():<7} {f.rule} ({where}): {f.message}")
        out.append(f"          source: {f.citation}")
        for fix in f.fixes:
            template = _FIX_TEXT.get(fix.action, "{action} line {line} {value}")
            text = template.format(action=fix.action, line=fix.line, value=fix.value)
            out.append(f"          fix: {text}")
    out.append(f"  data: {report.data_version}")
    if report.data:  # which data answered, in words (NCCI pairs and MUEs)
        out.append(f"  ncci: pairs {report.data['ncci_ptp']}; MUEs {report.data['ncci_mue']}")
    return "\n".join(out)


def render_invalid_text(name: str, record: int | None, errors: Sequence[tuple[str, str]]) -> str:
    """A record that could not be checked, for people."""
    where = f"{name}, record {record}" if record is not None else name
    lines = [f"{where}: INVALID — {len(errors)} problem(s)"]
    lines += [f"  {p or '(input)'}: {m}" for p, m in errors]
    return "\n".join(lines)


# --------------------------------------------------------------------------- reading


class _Reader:
    """Records of a JSON Lines stream, or of one JSON document, read line by line.

    A stream whose first non-blank line is a whole JSON value, or a line that
    cannot begin any JSON document, is JSON Lines: one record a line, blank
    lines skipped but counted, so a record's number is its line number. A
    first line that is an unfinished JSON value (``{`` of a pretty-printed
    document) starts one multi-line document, read whole as record 1; unless
    the document does not parse and its second non-blank line is a complete
    JSON object, which means JSON Lines whose first line is cut short. Only
    that one-document case reads ahead (at most ``MAX_LINE_BYTES``).
    """

    def __init__(self, stream: IO[bytes] | IO[str]) -> None:
        self._stream = stream
        self.position = 0  # bytes (or characters, for a text stream) consumed
        self.number = 0  # last line number read
        self.plain = False  # JSON Lines for sure: every further line is a record or blank
        self.text = False  # the stream gives str, not bytes

    def _lines(
        self, readline: Callable[[int], bytes | str] | None = None
    ) -> Iterator[tuple[int, bytes | None]]:
        readline = readline or self._stream.readline
        while True:
            try:
                raw: bytes | str = readline(MAX_LINE_BYTES + 1)
            except UnicodeDecodeError:
                raise CptRulesError(f"input is not UTF-8 text after line {self.number}") from None
            if not raw:
                return
            self.position += len(raw)
            self.number += 1
            if isinstance(raw, str):
                self.text = True
                data = raw.encode("utf-8")
            else:
                data = raw
            if len(data) > MAX_LINE_BYTES and not data.endswith(b"\n"):
                while True:  # skip the rest of the over-long line
                    rest = readline(1 << 20)
                    self.position += len(rest)
                    if not rest or (rest[-1:] in (b"\n", "\n")):
                        break
                yield self.number, None
                continue
            yield self.number, data

    def __iter__(self) -> Iterator[tuple[int, bytes | None]]:
        lines = self._lines()
        first: bytes | None = None
        number = 0
        for number, data in lines:
            if data is None:  # an over-long first line: JSON Lines
                self.plain = True
                yield number, None
                yield from _nonblank(lines)
                return
            if number == 1 and data.startswith(_BOM):
                data = data[len(_BOM) :]
            if data.strip():
                first = data
                break
        if first is None:
            return
        if _first_line_kind(first) == "unfinished":
            yield from self._document_or_lines(number, first, lines)
            return
        self.plain = True
        yield number, first
        yield from _nonblank(lines)

    def tasks(self, head: list[tuple[int, bytes | None]], size: int) -> Iterator[_Task]:
        """The rest of a binary JSON Lines stream in tasks of ``size`` lines, after ``head``.

        Only once :attr:`plain` (and not :attr:`text`), with ``head`` the records
        read so far through this reader's iterator, which is not used again. The
        first task is ``head`` and ``size - len(head)`` more lines. Lines are read,
        counted and joined into one block per task by C code (readline through
        islice and join): per record, the parent process of a parallel run does
        next to nothing, and one bytes object per task is the cheapest to send to
        a worker. A task holding a line of ``_PIECE`` bytes or more (rare) is
        split into records here, by the same line reader as :meth:`__iter__`.
        """
        stream = cast("IO[bytes]", self._stream)  # not self.text
        pieces_of = iter(functools.partial(stream.readline, _PIECE), b"")
        pieces = list(itertools.islice(pieces_of, max(0, size - len(head))))
        while head or pieces:
            start = self.number
            if pieces and max(map(len, pieces)) >= _PIECE:
                yield head + self._long_lines(pieces), 0, b""
            else:
                block = b"".join(pieces)
                self.number += len(pieces)
                self.position += len(block)
                yield head, start, block
            head = []
            pieces = list(itertools.islice(pieces_of, size))

    def _long_lines(self, pieces: list[bytes]) -> list[tuple[int, bytes | None]]:
        """The records of ``pieces``, reading on only to finish the line they end in."""
        pending = collections.deque(pieces)
        readline = cast("IO[bytes]", self._stream).readline  # not self.text
        at_line_start = True

        def read(limit: int) -> bytes:
            # readline(limit) over the pieces, then the stream; b"" once the
            # pieces are used up at the end of a line.
            nonlocal at_line_start
            out: list[bytes] = []
            size = 0
            while size < limit:
                if pending:
                    piece = pending.popleft()
                    if size + len(piece) > limit:
                        pending.appendleft(piece[limit - size :])
                        piece = piece[: limit - size]
                elif at_line_start and not out:
                    break
                else:
                    piece = readline(limit - size)
                if not piece:
                    break
                out.append(piece)
                size += len(piece)
                if piece.endswith(b"\n"):
                    break
            data = b"".join(out)
            at_line_start = not data or data.endswith(b"\n")
            return data

        return list(_nonblank(self._lines(read)))

    def _document_or_lines(
        self, number: int, first: bytes, lines: Iterator[tuple[int, bytes | None]]
    ) -> Iterator[tuple[int, bytes | None]]:
        buffered: list[tuple[int, bytes | None]] = [(number, first)]
        size = len(first)
        complete = True
        for item in lines:
            buffered.append(item)
            size += len(item[1] or b"")
            if item[1] is None or size > MAX_LINE_BYTES:
                complete = False
                break
        if complete:
            whole = b"".join(data or b"" for _, data in buffered)
            second = next((d for _, d in buffered[1:] if d is not None and d.strip()), None)
            if _parses(whole) or second is None or not _is_object_line(second):
                yield 1, whole
                return
        # JSON Lines whose first line is cut short (or a document too big to be one).
        yield from _nonblank(iter(buffered))
        yield from _nonblank(lines)


def _nonblank(lines: Iterator[tuple[int, bytes | None]]) -> Iterator[tuple[int, bytes | None]]:
    for number, data in lines:
        if data is None or data.strip():
            yield number, data


def _first_line_kind(line: bytes) -> Literal["value", "broken", "unfinished"]:
    try:
        text = line.decode("utf-8")
        json.loads(text)
    except json.JSONDecodeError as exc:
        return "unfinished" if exc.pos >= len(text.rstrip()) else "broken"
    except (ValueError, RecursionError):
        return "broken"
    return "value"


def _parses(data: bytes) -> bool:
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return False
    return True


def _is_object_line(data: bytes) -> bool:
    try:
        return isinstance(json.loads(data), dict)
    except (ValueError, RecursionError):
        return False


def iter_records(stream: IO[bytes] | IO[str]) -> Iterator[tuple[int, bytes | None]]:
    """Yield ``(record number, data)`` from a JSON Lines stream or one JSON document.

    JSON Lines: one record per non-blank line, numbered by its 1-based line.
    One multi-line JSON document: a single record numbered 1. ``data`` is None
    for a line longer than ``MAX_LINE_BYTES`` (an invalid record). Reads one
    line at a time: memory does not grow with the stream (see ``_Reader``).
    """
    return iter(_Reader(stream))


# --------------------------------------------------------------------------- processes


def _chunks(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    it = iter(items)
    while True:
        chunk = [x for _, x in zip(range(size), it, strict=False)]
        if not chunk:
            return
        yield chunk


def _start_method(start_method: str | None) -> str:
    """``fork`` on Linux (fast: workers inherit the loaded catalogs), else ``spawn``.

    macOS offers fork too, but system libraries there are not fork-safe.
    """
    if start_method is not None:
        return start_method
    import multiprocessing

    linux = sys.platform.startswith("linux")
    return "fork" if linux and "fork" in multiprocessing.get_all_start_methods() else "spawn"


_STATE: dict[str, Any] = {}


def _init_worker(settings: EngineSettings, options: Mapping[str, Any]) -> None:
    """Worker initializer: ignore Ctrl-C (the parent handles it) and build one engine."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _STATE.clear()
    _STATE.update(options)
    _STATE["engine"] = settings.build()


def _ordered(
    run: Callable[[_T], _R],
    tasks: Iterable[_T],
    *,
    jobs: int,
    settings: EngineSettings,
    options: Mapping[str, Any],
    start_method: str | None,
    window: int | None = None,
) -> Iterator[_R]:
    """``map(run, tasks)`` over ``jobs`` worker processes, in order, few tasks in flight."""
    # Imported here: a one-visit check never pays for multiprocessing.
    import concurrent.futures
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool

    ctx = multiprocessing.get_context(_start_method(start_method))
    limit = window or 3 * jobs
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=jobs, mp_context=ctx, initializer=_init_worker, initargs=(settings, options)
    ) as pool:
        pending: collections.deque[Future[_R]] = collections.deque()
        try:
            for task in tasks:
                pending.append(pool.submit(run, task))
                if len(pending) >= limit:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BrokenProcessPool:
            raise CptRulesError("a worker process died; the output stops here") from None
        finally:
            # Drop what has not started; wait for the running chunks (a fraction of
            # a second) so every worker has exited and been reaped on return.
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------- check_many


def _many_chunk(task: tuple[int, list[Record]]) -> list[BatchResult]:
    start, records = task
    engine: Engine = _STATE["engine"]
    return _run_many(engine, start, records, _STATE["payer"])


def _run_many(
    engine: Engine, start: int, records: list[Record], payer: str | None
) -> list[BatchResult]:
    out: list[BatchResult] = []
    for i, data in enumerate(records, start):
        result = _check_one(engine, data, payer)
        if isinstance(result, Report):
            out.append(BatchResult(i, report=result))
        else:
            out.append(attrs.evolve(result, index=i))
    return out


def check_many(
    records: Iterable[Record],
    *,
    engine: Engine | EngineSettings | None = None,
    jobs: int = 1,
    payer: str | None = None,
    chunk_size: int = CHUNK_SIZE,
    start_method: str | None = None,
) -> Iterator[BatchResult]:
    """Check every record; yield one :class:`BatchResult` per record, in input order.

    ``records`` may mix ``Session`` objects, dicts, JSON strings and bytes; it is
    consumed lazily, so a generator over a huge file is fine. A record that
    cannot be checked yields a result with ``errors`` instead of a report:
    nothing is dropped, nothing raises for bad input.

    ``engine`` is the engine to use (default: the shared default engine) or
    :class:`EngineSettings`. With ``jobs`` > 1 the records are checked in that
    many worker processes, each building its own engine, so ``engine`` must then
    be None or ``EngineSettings`` (an ``Engine`` object raises
    :class:`~cptrules.errors.ConfigError`), and records must be picklable.
    ``start_method`` picks the multiprocessing start method (default ``fork``
    on Linux, else ``spawn``). ``payer`` overrides every session's payer;
    an unknown one raises ``ConfigError`` before anything is checked.
    """
    if jobs < 1:
        raise ConfigError("jobs must be at least 1")
    if jobs == 1:
        eng = _resolve_engine(engine)
        _check_payer(eng, payer)
        return _many_inline(eng, records, payer, chunk_size)
    if isinstance(engine, Engine):
        raise ConfigError("with jobs > 1, pass EngineSettings (an Engine object stays in-process)")
    settings = engine or EngineSettings()
    _check_payer(settings.build(), payer)  # also validates the settings before any fork
    tasks = ((n * chunk_size, chunk) for n, chunk in enumerate(_chunks(records, chunk_size)))
    batches = _ordered(
        _many_chunk,
        tasks,
        jobs=jobs,
        settings=settings,
        options={"payer": payer},
        start_method=start_method,
    )
    return (result for batch in batches for result in batch)


def _many_inline(
    engine: Engine, records: Iterable[Record], payer: str | None, chunk_size: int
) -> Iterator[BatchResult]:
    for n, chunk in enumerate(_chunks(records, chunk_size)):
        yield from _run_many(engine, n * chunk_size, chunk, payer)


# --------------------------------------------------------------------------- check_jsonl


@attrs.define
class Summary:
    """What a :func:`check_jsonl` run did: every record is counted exactly once.

    ``records == ok + with_errors + invalid``. ``internal`` counts the invalid
    records that failed inside cptrules (a bug), ``rules`` the findings of
    severity error or warning per rule id (what needs someone's attention),
    ``notes`` the info findings per rule id, ``last_record`` the number of the
    last record written, and
    ``interrupted`` says the run stopped early on Ctrl-C (the output then holds
    whole records only, up to ``last_record``).
    """

    records: int = 0
    ok: int = 0
    with_errors: int = 0
    invalid: int = 0
    internal: int = 0
    rules: dict[str, int] = attrs.field(factory=dict)
    notes: dict[str, int] = attrs.field(factory=dict)
    last_record: int | None = None
    interrupted: bool = False
    seconds: float = 0.0

    def add(self, tally: _Tally) -> None:
        """Fold one chunk's counts in."""
        self.records += tally[0] + tally[1] + tally[2]
        self.ok += tally[0]
        self.with_errors += tally[1]
        self.invalid += tally[2]
        self.internal += tally[3]
        for rule_id, n in tally[4].items():
            self.rules[rule_id] = self.rules.get(rule_id, 0) + n
        for rule_id, n in tally[5].items():
            self.notes[rule_id] = self.notes.get(rule_id, 0) + n
        self.last_record = tally[6]

    def top_rules(self, n: int = 10) -> list[tuple[str, int]]:
        """The ``n`` rules with most error and warning findings, most first (ties by id)."""
        return sorted(self.rules.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    @property
    def exit_code(self) -> int:
        """The CLI exit code: 130 interrupted, 2 any invalid, 1 any errors, else 0."""
        if self.interrupted:
            return 130
        if self.invalid:
            return 2
        return 1 if self.with_errors else 0

    def format(self) -> str:
        """The summary for people (the CLI prints it on stderr)."""
        rate = f", {self.records / self.seconds:,.0f}/s" if self.seconds > 0 else ""
        head = (
            f"{self.records:,} records: {self.ok:,} ok, {self.with_errors:,} with errors, "
            f"{self.invalid:,} invalid"
        )
        if self.internal:
            head += f" ({self.internal:,} by an internal error)"
        lines = [f"{head} ({self.seconds:.1f} s{rate})"]
        top = self.top_rules()
        if top:
            lines.append("top rules by findings (errors and warnings):")
            width = len(f"{top[0][1]:,}")
            lines += [f"  {n:>{width},}  {rule_id}" for rule_id, n in top]
        if self.notes:
            lines.append(f"and {sum(self.notes.values()):,} notes (info)")
        return "\n".join(lines)


# (ok, with errors, invalid, internal, error/warning findings per rule, info
# findings per rule, last record number)
_Tally = tuple[int, int, int, int, dict[str, int], dict[str, int], int | None]


def _split_lines(block: bytes) -> list[bytes]:
    """``block`` cut after each newline, as readline cuts it."""
    if b"\r" not in block:
        return block.splitlines(keepends=True)  # cuts at \n, \r\n and \r: only \n here
    lines = [line + b"\n" for line in block.split(b"\n")]
    last = lines.pop()
    if last != b"\n":
        lines.append(last[:-1])
    return lines


def _task_records(task: _Task) -> Iterator[tuple[int, bytes | None]]:
    """The ``(line number, data)`` of every record of a task, blank lines skipped."""
    records, start, block = task
    yield from records
    if block:
        for number, line in enumerate(_split_lines(block), start + 1):
            if not line.isspace():
                yield number, line


def _render_chunk(
    engine: Engine,
    task: _Task,
    payer: str | None,
    fmt: Format,
    name: str,
    many: bool,
) -> tuple[str, _Tally]:
    """Check and render one chunk: the output text and its counts.

    This loop runs once per record of a batch, so it does only what each record
    needs: :func:`_check_one` inlined, the report written by
    :func:`~cptrules.report.encode_report` (a json array's margin included, not
    added afterwards), and the counts taken in the same pass over the findings
    that tells whether the report is ok.
    """
    ok = errors = invalid = internal = 0
    rules: dict[str, int] = {}
    notes: dict[str, int] = {}
    parts: list[str] = []
    append = parts.append
    number: int | None = None
    check = engine.check
    margin = "  " if many else ""
    for number, data in _task_records(task):
        result: BatchResult
        if data is None:
            result = BatchResult(number, errors=_TOO_LONG)
        else:
            try:
                report = check(load_session(data), payer)
            except InvalidSessionError as exc:
                result = BatchResult(number, errors=exc.errors)
            except CptRulesError as exc:
                result = BatchResult(number, errors=(("", str(exc)),))
            except Exception as exc:  # every record must be accounted for, even on a bug
                message = f"internal error ({type(exc).__name__}); please report this bug"
                result = BatchResult(number, errors=(("", message),), internal=True)
            else:
                try:
                    if fmt == "jsonl":
                        append(encode_report(report))
                    elif fmt == "json":
                        append(encode_report(report, 2, margin))
                    else:
                        append(render_text(report, f"{name}, record {number}" if many else name))
                except Exception as exc:  # a finding that cannot be rendered is a bug
                    message = f"internal error ({type(exc).__name__}); please report this bug"
                    result = BatchResult(number, errors=(("", message),), internal=True)
                else:
                    has_error = False
                    for f in report.findings:
                        severity, rule = f.severity, f.rule
                        if severity == "info":
                            notes[rule] = notes.get(rule, 0) + 1
                        else:
                            rules[rule] = rules.get(rule, 0) + 1
                            if severity == "error":
                                has_error = True
                    if has_error:
                        errors += 1
                    else:
                        ok += 1
                    continue
        invalid += 1
        internal += result.internal
        if fmt == "text":
            append(render_invalid_text(name, number if many else None, result.errors))
        else:
            text = _dump(invalid_report(number, result.errors), fmt)
            append(text.replace("\n", "\n" + margin) if fmt == "json" and many else text)
    if fmt == "json":
        text = ("  " + ",\n  ".join(parts)) if many else ",\n".join(parts)
    else:
        text = "\n".join(parts) + "\n" if parts else ""
    return text, (ok, errors, invalid, internal, rules, notes, number)


# What json.dumps(doc, separators=(",", ":")) and json.dumps(doc, indent=2) use,
# built once instead of per record.
_COMPACT = json.JSONEncoder(separators=(",", ":"))
_INDENTED = json.JSONEncoder(indent=2)


def _dump(doc: dict[str, Any], fmt: Format) -> str:
    return (_COMPACT if fmt == "jsonl" else _INDENTED).encode(doc)


def _jsonl_chunk(task: _Task) -> tuple[str, _Tally]:
    s = _STATE
    return _render_chunk(s["engine"], task, s["payer"], s["fmt"], s["name"], s["many"])


class _Interrupt:
    """Turn the first Ctrl-C into a flag checked between chunks (main thread only)."""

    def __init__(self) -> None:
        self.flag = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> _Interrupt:
        if threading.current_thread() is threading.main_thread():
            try:
                self._previous = signal.signal(signal.SIGINT, self._handle)
                self._installed = True
            except ValueError:  # pragma: no cover - e.g. an embedded interpreter
                pass
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.flag = True
        signal.signal(signal.SIGINT, self._previous)  # a second Ctrl-C is not gentle

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)


class _Progress:
    """A one-line progress display on a terminal; silent elsewhere."""

    def __init__(self, stream: IO[str] | None, total: int | None) -> None:
        self._stream = stream
        self._total = total
        self._start = time.monotonic()
        self._next = self._start + 1.0  # short runs show nothing
        self._shown = False

    def update(self, records: int, position: int) -> None:
        if self._stream is None:
            return
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + 0.2
        rate = records / (now - self._start)
        line = f"{records:,} records, {rate:,.0f}/s"
        if self._total:
            line = f"{min(100.0, 100.0 * position / self._total):5.1f}%  " + line
        self._stream.write(f"\r{line}\x1b[K")
        self._stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown and self._stream is not None:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def _stream_size(stream: IO[Any]) -> int | None:
    try:
        st = os.fstat(stream.fileno())
    except (OSError, AttributeError, ValueError):
        return None
    import stat

    return st.st_size if stat.S_ISREG(st.st_mode) else None


def check_jsonl(
    in_stream: IO[bytes] | IO[str],
    out_stream: IO[str],
    *,
    jobs: int = 1,
    engine: Engine | EngineSettings | None = None,
    payer: str | None = None,
    format: Format = "jsonl",
    name: str = "<input>",
    progress: IO[str] | None = None,
    chunk_size: int = CHUNK_SIZE,
    start_method: str | None = None,
) -> Summary:
    """Check a JSON Lines stream (or one JSON document), writing one report per record.

    Records are read line by line (see :func:`iter_records`), checked, and
    written to ``out_stream`` in input order, whatever ``jobs``: the output is
    the same byte for byte. ``format``:

    - ``jsonl``: one compact JSON report per line; a record that cannot be
      checked gives ``{"ok": false, "invalid": true, "record": N, "errors":
      [{"path", "message"}]}`` with its line number N;
    - ``json``: the reports as one indented JSON array (a lone record: the
      report object itself), written as it goes;
    - ``text``: reports for people, ``name`` naming the input.

    ``engine``, ``jobs``, ``payer`` and ``start_method`` work as in
    :func:`check_many` (an unknown ``payer`` raises ``ConfigError`` first).
    ``progress``: a stream (a terminal) for a progress line on long runs.

    Ctrl-C, when this runs in the main thread, stops the run between chunks:
    the output holds whole records only (a ``json`` array is closed), is
    flushed, and the returned summary has ``interrupted`` set. A worker process
    that dies raises :class:`~cptrules.CptRulesError` after the records before it.
    """
    if jobs < 1:
        raise ConfigError("jobs must be at least 1")
    if format not in ("jsonl", "json", "text"):
        raise ConfigError("format must be jsonl, json or text")
    if isinstance(engine, Engine):
        if jobs > 1:
            raise ConfigError(
                "with jobs > 1, pass EngineSettings (an Engine object stays in-process)"
            )
        eng: Engine | None = engine
        settings = EngineSettings()
    else:
        settings = engine or EngineSettings()
        eng = None
    summary = Summary()
    start = time.monotonic()
    with _Interrupt() as interrupt:
        reader = _Reader(in_stream)
        records = iter(reader)
        head = [r for _, r in zip(range(2), records, strict=False)]
        many = len(head) > 1
        options = {"payer": payer, "fmt": format, "name": name, "many": many}
        tasks: Iterator[_Task]
        if reader.plain and not reader.text:
            tasks = reader.tasks(head, chunk_size)
        else:  # one JSON document, text streams: record by record
            tasks = ((chunk, 0, b"") for chunk in _chunks(_chain(head, records), chunk_size))
        # Two tasks read ahead: one chunk's worth of input is not worth a process pool.
        first_tasks = list(itertools.islice(tasks, 2))
        parallel = jobs > 1 and len(first_tasks) == 2
        if eng is None:
            # The default engine in-process; settings built here (before any fork) in
            # parallel too, so bad settings fail once, with one message.
            eng = default_engine() if engine is None and not parallel else settings.build()
        _check_payer(eng, payer)
        bar = _Progress(progress, _stream_size(in_stream))
        write = out_stream.write
        wrote_any = False
        if format == "json" and many:
            write("[\n")
        results: Iterator[tuple[str, _Tally]]
        if not first_tasks:
            results = iter(())
        elif parallel:
            results = _ordered(
                _jsonl_chunk,
                _chain(first_tasks, tasks),
                jobs=jobs,
                settings=settings,
                options=options,
                start_method=start_method,
            )
        else:
            assert eng is not None
            engine_ = eng
            results = (
                _render_chunk(engine_, task, payer, format, name, many)
                for task in _chain(first_tasks, tasks)
            )
        try:
            for text, tally in results:
                if format == "json" and many and wrote_any and text:
                    write(",\n")
                write(text)
                wrote_any = wrote_any or bool(text)
                summary.add(tally)
                bar.update(summary.records, reader.position)
                if interrupt.flag:
                    summary.interrupted = True
                    break
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
            bar.clear()
        if format == "json":
            if many:
                write("\n]\n")
            else:
                write("\n" if wrote_any else "[]\n")
        out_stream.flush()
        summary.seconds = time.monotonic() - start
    return summary


def _chain(head: Iterable[_T], rest: Iterable[_T]) -> Iterator[_T]:
    yield from head
    yield from rest
