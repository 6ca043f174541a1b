"""One bounded memo table, the only kind of cache in the package.

Every cache in cptrules is a :class:`Memo`: a dict with a size bound that drops
its oldest entries first when full. Each memo registers itself (weakly), so
:func:`clear_caches` empties all of them at once: the engine's, the parser's
and any module's. A memo owned by an object (an :class:`~cptrules.Engine`)
lives and dies with it; a module-level memo is declared with its bound beside
the code that fills it.

Thread safety: lookups and stores are single dict operations (atomic under the
GIL). A racing eviction may drop an extra entry or clear the table; both only
cost a recomputation, never a wrong answer, since a memo stores pure results.

>>> squares: Memo[int, int] = Memo("doctest squares", size=2)
>>> squares.put(2, 4), squares.put(3, 9), squares.put(4, 16)
(4, 9, 16)
>>> squares.get(2) is None, squares.get(4)
(True, 16)
>>> clear_caches()
>>> len(squares)
0
"""

from __future__ import annotations

import weakref
from itertools import islice
from typing import TypeVar

__all__ = ["Memo", "clear_caches"]

K = TypeVar("K")
V = TypeVar("V")

_ALL: weakref.WeakSet[Memo[object, object]] = weakref.WeakSet()


class Memo(dict[K, V]):
    """A dict of at most ``size`` entries; the oldest are dropped first when full.

    Reads are plain dict reads (``get``, ``in``, ``len``), done in C; writes
    go through :meth:`put`, which keeps the bound.
    """

    __slots__ = ("__weakref__", "name", "size")

    def __init__(self, name: str, *, size: int) -> None:
        if size < 1:
            raise ValueError("a memo holds at least one entry")
        super().__init__()
        self.name = name
        self.size = size
        _ALL.add(self)  # type: ignore[arg-type]  # variance: the set only calls clear()

    def put(self, key: K, value: V) -> V:
        """Remember ``value`` for ``key`` (dropping the oldest entries when full); return it."""
        if len(self) >= self.size:
            self._drop_oldest()
        self[key] = value
        return value

    def _drop_oldest(self) -> None:
        """Drop the oldest eighth of the entries (at least one), in place.

        Only the dropped keys are hashed again (to delete them). Rebuilding the
        dict from its kept items instead hashes every kept key afresh, which for
        a memo keyed by tuples of tuples (the unit allocations) cost about 6 ms per
        drop of an 8,192-entry memo: 5 us per record of a batch. Deleting one entry
        per store instead would leave ever more dead slots before the first live
        one, each scanned by the next drop: about 10 us per store into a full memo
        of 65,536 entries. An eighth at once pays that scan once per eighth, and
        the dict compacts its dead slots itself when it next grows (reusing the
        stored hashes).
        """
        pop = self.pop
        try:
            oldest = list(islice(self, max(1, self.size // 8)))
        except RuntimeError:  # raced with another thread: start afresh
            self.clear()
            return
        for key in oldest:
            pop(key, None)  # None: another thread may have dropped it already

    def __repr__(self) -> str:
        return f"Memo({self.name!r}, size={self.size}, entries={len(self)})"

    # a memo is a cache, not a value: identity, not contents, decides equality
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__  # type: ignore[assignment]


def clear_caches() -> None:
    """Empty every memo table in cptrules (engines', the parser's, modules').

    Answers never change because of a cache, so this is only ever needed to
    free memory or to time cold runs.
    """
    for memo in list(_ALL):
        memo.clear()
