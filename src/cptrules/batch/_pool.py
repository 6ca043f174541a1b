"""Worker processes: the engine settings they build from, and ordered results."""

from __future__ import annotations

import collections
import gc
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ..engine import Engine, default_engine
from ..errors import ConfigError, CptRulesError

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = ["CHUNK_SIZE", "EngineSettings", "default_jobs"]

#: Records per task sent to a worker process (JSON Lines: lines, blank ones included).
CHUNK_SIZE = 512

_T = TypeVar("_T")
_R = TypeVar("_R")


def default_jobs() -> int:
    """The number of CPUs this process may run on (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


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
    present, else the bundled pairs), ``disabled`` rule ids and ``severities``;
    ``fees``, the path of a fee store (``""``: the default one) whose Medicare
    fee schedule and contract rates price every report (``estimate``), for
    ``locality``. None (the default) prices nothing.
    """

    profiles: tuple[str, ...] = attrs.field(default=(), converter=_paths)
    tables: str | None = attrs.field(default=None, converter=_optional_path)
    disabled: tuple[str, ...] = attrs.field(default=(), converter=_sorted_ids)
    severities: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_sorted_items)
    fees: str | None = attrs.field(default=None, converter=_optional_path)
    locality: str = "national"

    def build(self) -> Engine:
        """A new engine with these settings.

        With ``tables=None`` the local store is opened afresh (a new connection,
        never one inherited from a parent process), else the bundled pairs are used.
        """
        from .. import ncci

        tables: Any = self.tables
        if tables is None:
            path = ncci.default_store_path()
            tables = path if path.is_file() else ncci.bundled_tables()
        fees: dict[str, Any] = {}
        if self.fees is not None:
            from ..fees.store import open_contracts, open_schedule

            store = self.fees or None
            fees = {
                "fees": open_schedule(store),
                "contracts": open_contracts(store),
                "locality": self.locality,
            }
        return Engine(
            profiles=self.profiles or None,
            tables=tables,
            disabled=self.disabled,
            severities=dict(self.severities),
            **fees,
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

#: The cyclic collector's young-generation threshold while a process checks a
#: batch (CPython's default is 700 allocations). A record allocates hundreds of
#: container objects and leaves no cycles behind, so at 700 the collector walked
#: each record's live objects about twice: 8% of a record's CPU time (57 against
#: 53 us per record at 20,000, alternating, in one process). Cycles, should a
#: record leave any, are still collected.
BATCH_YOUNG_THRESHOLD = 20_000


#: glibc malloc's thresholds in a worker: blocks up to 4 MiB come from the heap (not
#: a fresh mmap each), and up to 8 MiB of freed heap is kept for the next task. See
#: :func:`keep_freed_memory`.
_MMAP_THRESHOLD = 4 * 1024 * 1024
_TRIM_THRESHOLD = 8 * 1024 * 1024


def _glibc() -> bool:
    """Whether this process runs on glibc (whose malloc :func:`keep_freed_memory` tunes)."""
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError, AttributeError):  # not POSIX, or not glibc
        return False


def keep_freed_memory() -> None:
    """Let glibc's malloc keep the memory a worker's tasks free, for the next task.

    Each task passes through a worker as a few buffers of about 600 KB (the task's
    lines as received and unpickled, its reports joined and pickled). glibc gives
    such a block back to the kernel when it is freed (an mmap of its own, or the
    top of the heap trimmed), so the next task's buffers fault their pages in
    afresh: about 450 page faults a task, 3 us of system time a record, 5% of a
    worker's CPU time. With these thresholds the pages stay mapped. Only in the
    worker processes the pool starts and in the ``cptrules`` command's own
    process, and only with glibc (elsewhere: nothing).
    """
    if not _glibc():
        return
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (ImportError, OSError, AttributeError):  # pragma: no cover - a Python without
        return  # ctypes (its libffi left out), or a glibc without mallopt
    mallopt(-3, _MMAP_THRESHOLD)  # M_MMAP_THRESHOLD
    mallopt(-1, _TRIM_THRESHOLD)  # M_TRIM_THRESHOLD


def batch_collector() -> tuple[int, int, int]:
    """Set the cyclic collector for checking a batch in this process; the thresholds before.

    Everything alive now (the engine's tables) is moved out of the collector's
    sight (``gc.freeze``), so that collections do not walk it each time, and the
    young generation is collected every :data:`BATCH_YOUNG_THRESHOLD`
    allocations. A caller that goes on after the batch restores the thresholds
    and unfreezes.
    """
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(BATCH_YOUNG_THRESHOLD, *before[1:])
    return before


def _init_worker(settings: EngineSettings, options: Mapping[str, Any]) -> None:
    """Worker initializer: ignore Ctrl-C (the parent handles it) and build one engine.

    Everything alive once the engine is built lives as long as the worker, and
    the worker checks records until it ends: :func:`batch_collector`.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _STATE.clear()
    _STATE.update(options)
    _STATE["engine"] = settings.build()
    batch_collector()
    keep_freed_memory()


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
