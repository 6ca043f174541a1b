"""The one cache kind: bounded, oldest entries dropped first, O(1) per store when full."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from cptrules._memo import Memo


@given(st.integers(1, 40), st.lists(st.integers(0, 60), max_size=300))
def test_a_memo_stays_bounded_keeps_the_newest_and_answers_what_it_was_given(
    size: int, keys: list[int]
) -> None:
    memo: Memo[int, int] = Memo("test bounded", size=size)
    for k in keys:
        assert memo.put(k, k * k) == k * k
        assert len(memo) <= size
        assert memo[k] == k * k  # the entry just stored is always there
    for k, v in memo.items():
        assert v == k * k


def test_a_full_memo_stores_in_constant_time() -> None:
    """Dropping the oldest entry one at a time from the front of a dict leaves the
    dict's entry array with ever more dead slots before its first live one, and each
    next drop scans them: a full memo of 65,536 entries cost about 10 us per store,
    80 times a dict's. Stores into a full memo must cost about what they do into a
    small one."""

    def per_store(size: int) -> float:
        memo: Memo[int, int] = Memo("test timing", size=size)
        for i in range(size):
            memo.put(i, i)
        best = float("inf")
        for r in range(3):
            start = time.perf_counter()
            for i in range(size * (r + 2), size * (r + 2) + 20_000):
                memo.put(i, i)
            best = min(best, time.perf_counter() - start)
        return best

    small, large = per_store(64), per_store(65_536)
    assert large < 5 * small, (small, large)


def test_a_full_memo_hashes_only_the_keys_it_drops() -> None:
    """A drop that rebuilt the dict from its kept items hashed every kept key again:
    for tuple keys whose parts had left the CPU caches, about 6 ms per drop of the
    8,192 unit allocations, 5 us per record of a batch."""
    hashed: list[int] = []

    class Key:
        def __init__(self, n: int) -> None:
            self.n = n

        def __hash__(self) -> int:
            hashed.append(self.n)
            return self.n

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Key) and other.n == self.n

    memo: Memo[Key, int] = Memo("test hashes", size=64)
    for i in range(64):
        memo.put(Key(i), i)
    hashed.clear()
    memo.put(Key(64), 64)
    assert sorted(hashed) == [*range(8), 64]  # the oldest eighth, and the new key
    assert [k.n for k in memo] == list(range(8, 65))
