"""Streaming JSON Lines in, rendered reports out: :func:`check_jsonl`."""

from __future__ import annotations

import itertools
import json
import os
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from types import FrameType
from typing import IO, Any, Literal, TypeVar

from ..engine import Engine, default_engine
from ..errors import ConfigError, CptRulesError, InvalidSessionError
from ..parsing import load_session
from ..report import encode_report, invalid_report, render_invalid_text, render_text
from ._check import BatchResult
from ._pool import _STATE, CHUNK_SIZE, EngineSettings, _check_payer, _chunks, _ordered
from ._reading import _TOO_LONG, _Reader, _Task, _task_records
from ._tally import Summary, _Tally

__all__ = ["Format", "check_jsonl"]

_T = TypeVar("_T")

#: Output formats of :func:`check_jsonl`.
Format = Literal["jsonl", "json", "text"]


def _render_chunk(
    engine: Engine,
    task: _Task,
    payer: str | None,
    fmt: Format,
    name: str,
    many: bool,
    label: str | None = None,
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
                        append(encode_report(report, record=number, file=label))
                    elif fmt == "json":
                        append(encode_report(report, 2, margin, record=number, file=label))
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
            text = _dump(invalid_report(number, result.errors, file=label), fmt)
            append(text.replace("\n", "\n" + margin) if fmt == "json" and many else text)
    if fmt == "json":
        text = ("  " + ",\n  ".join(parts)) if many else ",\n".join(parts)
    elif parts:
        append("")  # the last report's newline: one text of about 1 KB a record, not two
        text = "\n".join(parts)
    else:
        text = ""
    return text, (ok, errors, invalid, internal, rules, notes, number)


# What json.dumps(doc, separators=(",", ":")) and json.dumps(doc, indent=2) use,
# built once instead of per record.
_COMPACT = json.JSONEncoder(separators=(",", ":"))
_INDENTED = json.JSONEncoder(indent=2)


def _dump(doc: dict[str, Any], fmt: Format) -> str:
    return (_COMPACT if fmt == "jsonl" else _INDENTED).encode(doc)


def _jsonl_chunk(task: _Task) -> tuple[str, _Tally]:
    s = _STATE
    return _render_chunk(s["engine"], task, s["payer"], s["fmt"], s["name"], s["many"], s["label"])


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
    label: str | None = None,
) -> Summary:
    """Check a JSON Lines stream (or one JSON document), writing one report per record.

    Records are read line by line (see :func:`iter_records`), checked, and
    written to ``out_stream`` in input order, whatever ``jobs``: the output is
    the same byte for byte. ``format``:

    - ``jsonl``: one compact JSON report per line, each with ``record``, the
      1-based line number its session starts on (and ``file``: ``label``, when
      given); a record that cannot be checked gives ``{"ok": false, "invalid":
      true, "record": N, "errors": [{"path", "message"}]}``;
    - ``json``: the reports as one indented JSON array (a lone record: the
      report object itself), written as it goes;
    - ``text``: reports for people, ``name`` naming the input.

    ``engine``, ``jobs``, ``payer`` and ``start_method`` work as in
    :func:`check_many` (an unknown ``payer`` raises ``ConfigError`` first).
    ``progress``: a stream (a terminal) for a progress line on long runs.
    Empty input (nothing but blank lines) writes no report (``[]`` for
    ``json``) and gives a summary of 0 records, whose exit code is 2.

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
        options = {"payer": payer, "fmt": format, "name": name, "many": many, "label": label}
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
                _render_chunk(engine_, task, payer, format, name, many, label)
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
