"""Checking an iterable of sessions: one result per input, in order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import attrs

from ..engine import Engine
from ..errors import ConfigError, CptRulesError, InvalidSessionError
from ..models import Session
from ..parsing import load_session
from ..report import Report
from ._pool import (
    _STATE,
    CHUNK_SIZE,
    EngineSettings,
    _check_payer,
    _chunks,
    _ordered,
    _resolve_engine,
)
from ._reading import _TOO_LONG

__all__ = ["BatchResult", "Record", "check_many"]

#: A session in any form :func:`cptrules.load_session` takes, or a ready ``Session``.
Record = Session | Mapping[str, Any] | str | bytes

_Errors = tuple[tuple[str, str], ...]


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
