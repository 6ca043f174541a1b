"""Checking on a Dask cluster: a bag of visits, or many JSON Lines files (``[dask]`` extra).

Two entry points:

- :func:`check_bag` maps a :class:`dask.bag.Bag` of sessions (JSON Lines text
  from :func:`dask.bag.read_text`, dicts, JSON strings or bytes, or
  :class:`~cptrules.Session` objects) to a bag of reports in the report format
  (a dict per input, in the bag's order; an input that cannot be checked gives
  an ``invalid`` report). Each partition builds one engine.
- :func:`check_files` checks every file matching some glob patterns (JSON
  Lines of sessions, X12 837P or FHIR claims) on a cluster and writes one report
  file per input into ``output_dir``: the same bytes as ``cptrules check FILE
  --jobs 1 --format jsonl`` on that file, with the same options (fees, claim
  options, episodes).
  Big files are cut into blocks at line ends; each block is checked on a worker
  (one engine per block) and written to a part file, and the parts are joined in
  order. Only small tallies travel through the scheduler, never the reports.
  ``cptrules check 'visits-*.jsonl' --scheduler ADDRESS --output-dir DIR`` runs it.

Workers and the client must see the same files (a shared file system):
inputs are read and parts written by the workers.

Importing :mod:`cptrules` never imports this module or Dask.
"""

from __future__ import annotations

import glob
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs

from .batch import CHUNK_SIZE, ClaimOptions, EngineSettings, Summary, check_input, sniff_input
from .batch._reading import _BOM, _first_line_kind, _Reader
from .batch._stream import _render_chunk
from .batch._tally import _Tally
from .errors import ConfigError, CptRulesError, InvalidSessionError
from .models import Session
from .parsing import load_session
from .report import invalid_report

if TYPE_CHECKING:
    import dask.bag
    import distributed

__all__ = ["BLOCK_BYTES", "FileResult", "FilesResult", "check_bag", "check_files"]

#: Bytes of input per task of :func:`check_files` (cut at the next line end).
BLOCK_BYTES = 8 * 1024 * 1024

FileFormat = Literal["jsonl", "text"]
_SUFFIX = {"jsonl": ".reports.jsonl", "text": ".reports.txt"}


# --- a bag of sessions ------------------------------------------------------------------


def _check_partition(
    items: Iterable[Any], settings: EngineSettings, payer: str | None
) -> list[dict[str, Any]]:
    """One partition: one engine, one report dict per non-blank item, in order."""
    engine = settings.build()
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, str | bytes) and not item.strip():
            continue  # a blank line of JSON Lines text is not a record
        try:
            session = item if isinstance(item, Session) else load_session(item)
            out.append(engine.check(session, payer).to_dict())
        except InvalidSessionError as exc:
            out.append(invalid_report(None, exc.errors))
        except CptRulesError as exc:
            out.append(invalid_report(None, (("", str(exc)),)))
        except Exception as exc:  # every record is accounted for, even on a bug
            message = f"internal error ({type(exc).__name__}); please report this bug"
            out.append(invalid_report(None, (("", message),)))
    return out


def check_bag(
    bag: dask.bag.Bag,
    *,
    engine: EngineSettings | None = None,
    payer: str | None = None,
) -> dask.bag.Bag:
    """A bag of report dicts, one per non-blank input of ``bag``, in the bag's order.

    ``bag`` holds sessions in any form :func:`cptrules.load_session` takes (a
    line of JSON Lines text included) or ``Session`` objects; blank lines are
    skipped, as JSON Lines readers skip them. ``engine`` is the
    :class:`~cptrules.batch.EngineSettings` each partition builds its engine
    from (default: the default engine's settings); ``payer`` overrides every
    session's payer. Nothing is computed until the bag is::

        import dask.bag as db
        reports = check_bag(db.read_text("visits-*.jsonl", blocksize="16MiB"))
        reports.map(json.dumps).to_textfiles("out/*.jsonl")
    """
    settings = engine or EngineSettings()
    settings.build()  # bad settings fail here, once, not on every worker
    mapped: dask.bag.Bag = bag.map_partitions(  # type: ignore[no-untyped-call]  # dask is untyped
        _check_partition, settings, payer
    )
    return mapped


# --- files ------------------------------------------------------------------------------


@attrs.frozen
class FileResult:
    """One input file of :func:`check_files`: where its reports went, and its counts."""

    input: str
    output: str
    summary: Summary


@attrs.frozen
class FilesResult:
    """What :func:`check_files` did: per file, and in all (``total``)."""

    files: tuple[FileResult, ...]
    total: Summary

    @property
    def exit_code(self) -> int:
        """The CLI exit code of the run (as ``cptrules check``)."""
        return self.total.exit_code


def _expand(patterns: Sequence[str]) -> list[str]:
    files: list[str] = []
    for pattern in patterns:
        hits = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        hits = [h for h in hits if os.path.isfile(h)]
        if not hits:
            raise ConfigError(f"no input file matches {pattern!r}")
        files += [h for h in hits if h not in files]
    return files


def _blocks(path: str, size: int) -> list[tuple[int, int, int]]:
    """``(start, end, lines before start)`` of each block of ``path``, cut at line ends."""
    blocks: list[tuple[int, int, int]] = []
    offset = lines = 0
    with open(path, "rb") as fh:
        while True:
            data = fh.read(size)
            if not data:
                return blocks
            n = len(data)
            count = data.count(b"\n")
            del data
            if not _ends_line(fh, n, offset):
                while True:  # read on to the end of the line the block stops in
                    piece = fh.readline(1 << 20)
                    n += len(piece)
                    if not piece or piece.endswith(b"\n"):
                        count += piece.count(b"\n")
                        break
            blocks.append((offset, offset + n, lines))
            offset += n
            lines += count


def _ends_line(fh: Any, n: int, offset: int) -> bool:
    fh.seek(offset + n - 1)
    last = fh.read(1)
    return bool(last == b"\n")


def _whole_file(path: str) -> bool:
    """True when ``path`` must be read as ``cptrules check`` reads it, in one task.

    A claim file (837P, FHIR: read as it streams, claim by claim), a byte order
    mark, or a first line that starts a JSON document spread over several lines:
    the line-block path reads none of them.
    """
    with open(path, "rb") as fh:
        if sniff_input(fh)[0] != "sessions":
            return True
        fh.seek(0)
        head = fh.read(len(_BOM))
        if head == _BOM:
            return True
        fh.seek(0)
        for line in iter(lambda: fh.readline(1 << 20), b""):
            if line.strip():
                return _first_line_kind(line) == "unfinished"
    return False


def _tally_of(summary: Summary) -> _Tally:
    return (
        summary.ok,
        summary.with_errors,
        summary.invalid,
        summary.internal,
        summary.rules,
        summary.notes,
        summary.last_record,
    )


def _check_block(
    path: str,
    start: int,
    end: int,
    lines_before: int,
    part: str,
    settings: EngineSettings,
    payer: str | None,
) -> _Tally:
    """A worker's task: check one block of JSON Lines, write its reports to ``part``."""
    engine = settings.build()
    with open(path, "rb") as fh:
        fh.seek(start)
        block = fh.read(end - start)
    import io

    reader = _Reader(io.BytesIO(block))
    reader.number = lines_before
    reader.plain = True
    total = Summary()
    with open(part, "w", encoding="utf-8", newline="") as out:
        for task in reader.tasks([], CHUNK_SIZE):
            text, tally = _render_chunk(engine, task, payer, "jsonl", path, True)
            out.write(text)
            _fold(total, tally)
    return _tally_of(total)


@attrs.frozen
class _Options:
    """What a whole-file task needs beyond the engine settings (picklable)."""

    payer: str | None
    claims: ClaimOptions
    episodes: bool
    window: int | None


def _check_whole(
    path: str, output: str, fmt: FileFormat, settings: EngineSettings, opts: _Options
) -> _Tally:
    """A worker's task: one whole file, as ``cptrules check FILE --jobs 1`` checks it
    (the same function: sessions, episodes or a claim file, told by its first bytes)."""
    engine = settings.build()
    with (
        open(path, "rb", buffering=1 << 20) as src,
        open(output, "w", encoding="utf-8", newline="") as out,
    ):
        summary = check_input(
            src,
            out,
            engine=engine,
            payer=opts.payer,
            claims=opts.claims,
            episodes=opts.episodes,
            window=opts.window,
            format=fmt,
            name=path,
        )
    return _tally_of(summary)


def _fold(summary: Summary, tally: _Tally) -> None:
    last = summary.last_record
    summary.add(tally)
    if tally[6] is None:
        summary.last_record = last


def _client(scheduler: str | distributed.Client | None) -> tuple[Any, bool]:
    """The client to submit to, and whether it is ours to close (distributed is untyped)."""
    from distributed import Client

    if isinstance(scheduler, Client):
        return scheduler, False
    if scheduler is None:
        raise ConfigError("a scheduler address (or a distributed.Client) is required")
    client: Any = Client
    return client(scheduler, set_as_default=False), True


def check_files(
    patterns: Sequence[str] | str,
    *,
    scheduler: str | distributed.Client | None,
    output_dir: str | os.PathLike[str],
    engine: EngineSettings | None = None,
    payer: str | None = None,
    format: FileFormat = "jsonl",
    block_bytes: int = BLOCK_BYTES,
    claims: ClaimOptions | None = None,
    episodes: bool = False,
    window: int | None = None,
) -> FilesResult:
    """Check every file matching ``patterns`` on a Dask cluster; one report file per input.

    ``scheduler``: the scheduler's address (``tcp://host:8786``) or a
    ``distributed.Client``. Each input ``visits-1.jsonl`` gives
    ``output_dir/visits-1.jsonl.reports.jsonl`` (``.reports.txt`` for ``text``),
    holding exactly what ``cptrules check FILE --jobs 1 --format FORMAT``
    writes with the same options. Inputs are what ``cptrules check`` reads:
    JSON Lines of sessions, an X12 837P or FHIR claims (read with ``claims``,
    the payer map, discipline and minutes), told apart by their first bytes.
    ``engine`` carries the rest (profiles, NCCI store, fee store and locality:
    with fee data every report has its ``estimate``); ``episodes`` checks
    sessions as episodes grouped by patient, one task per file, with ``window``.
    Two inputs with the same file name raise :class:`~cptrules.errors.ConfigError`,
    as does a pattern matching nothing. Every record is counted once in the
    result's summaries.
    """
    if isinstance(patterns, str):
        patterns = [patterns]
    if format not in _SUFFIX:
        raise ConfigError("format must be jsonl or text (json is one array per run)")
    if block_bytes < 1:
        raise ConfigError("block_bytes must be at least 1")
    if window is not None and window < 1:
        raise ConfigError("the episode window must be at least 1")
    opts = _Options(payer, claims or ClaimOptions(), episodes, window)
    settings = engine or EngineSettings()
    settings.build()  # bad settings fail here, once
    files = _expand(list(patterns))
    outdir = os.fspath(output_dir)
    outputs = [os.path.join(outdir, os.path.basename(f) + _SUFFIX[format]) for f in files]
    if len(set(outputs)) < len(outputs):
        raise ConfigError("two inputs have the same file name: their reports would collide")
    os.makedirs(outdir, exist_ok=True)
    parts_dir = os.path.join(outdir, ".cptrules-parts")
    client, own = _client(scheduler)
    began = time.monotonic()
    try:
        plans = [
            _plan(f, o, format, block_bytes, parts_dir, episodes)
            for f, o in zip(files, outputs, strict=True)
        ]
        futures = [_submit(client, plan, format, settings, opts) for plan in plans]
        results: list[FileResult] = []
        total = Summary()
        for plan, batch in zip(plans, futures, strict=True):
            summary = Summary()
            for tally in client.gather(batch):
                _fold(summary, tally)
            if plan.parts:
                _join(plan.parts, plan.output)
            results.append(FileResult(plan.input, plan.output, summary))
            last = total.last_record
            total.merge(summary)
            if summary.last_record is None:
                total.last_record = last
        total.seconds = time.monotonic() - began
    finally:
        if own:
            client.close()
        shutil.rmtree(parts_dir, ignore_errors=True)
    return FilesResult(tuple(results), total)


@attrs.frozen
class _Plan:
    input: str
    output: str
    blocks: tuple[tuple[int, int, int], ...]
    parts: tuple[str, ...]


def _plan(path: str, output: str, fmt: str, size: int, parts_dir: str, episodes: bool) -> _Plan:
    if fmt != "jsonl" or episodes or _whole_file(path):
        return _Plan(path, output, (), ())
    blocks = tuple(_blocks(path, size))
    if len(blocks) <= 1:
        return _Plan(path, output, (), ())
    os.makedirs(parts_dir, exist_ok=True)
    stem = os.path.basename(output)
    parts = tuple(os.path.join(parts_dir, f"{stem}.{i:06d}") for i in range(len(blocks)))
    return _Plan(path, output, blocks, parts)


def _submit(
    client: Any,
    plan: _Plan,
    fmt: FileFormat,
    settings: EngineSettings,
    opts: _Options,
) -> list[Any]:
    if not plan.blocks:
        return [
            client.submit(_check_whole, plan.input, plan.output, fmt, settings, opts, pure=False)
        ]
    payer = opts.payer
    return [
        client.submit(_check_block, plan.input, s, e, n, part, settings, payer, pure=False)
        for (s, e, n), part in zip(plan.blocks, plan.parts, strict=True)
    ]


def _join(parts: Iterable[str], output: str) -> None:
    with open(output, "wb") as out:
        for part in parts:
            with open(part, "rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 20)
            os.remove(part)


def _cli_check(args: Any, settings: EngineSettings, claims: ClaimOptions) -> int:
    """``cptrules check PATTERN... --scheduler ADDRESS --output-dir DIR`` (the CLI calls this).

    ``settings`` and ``claims`` are the options the ``--jobs`` path uses, prepared
    once by the CLI: every option of ``check`` works the same here, or is refused.
    """
    import sys

    if args.scheduler is None or args.output_dir is None:
        print("cptrules check: --scheduler and --output-dir go together", file=sys.stderr)
        return 2
    if args.format == "json" or "-" in args.files:
        print(
            "cptrules check: with --scheduler, inputs are files (not -) and the format "
            "is jsonl or text",
            file=sys.stderr,
        )
        return 2
    if args.jobs is not None:
        print(
            "cptrules check: --jobs does not go with --scheduler (the cluster's workers "
            "check the files)",
            file=sys.stderr,
        )
        return 2
    try:
        import distributed  # noqa: F401
    except ImportError:
        print(
            "cptrules check: --scheduler needs the dask extra: pip install 'cptrules[dask]'",
            file=sys.stderr,
        )
        return 2
    try:
        result = check_files(
            args.files,
            scheduler=args.scheduler,
            output_dir=args.output_dir,
            engine=settings,
            payer=args.payer,
            format=args.format,
            claims=claims,
            episodes=args.episodes,
            window=args.window if args.episodes else None,
        )
    except CptRulesError as exc:
        print(f"cptrules: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"cptrules: {exc.strerror or exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        for r in result.files:
            print(f"{r.output}: {r.summary.records:,} records", file=sys.stderr)
        print(result.total.format(), file=sys.stderr)
    return result.exit_code
