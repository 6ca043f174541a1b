"""Reading JSON Lines (or one JSON document) into numbered records, and into tasks."""

from __future__ import annotations

import collections
import functools
import itertools
import json
from collections.abc import Callable, Iterator
from typing import IO, Literal, cast

from ..errors import CptRulesError

__all__ = ["MAX_LINE_BYTES", "MAX_RECORD_BYTES", "iter_records"]

#: Longest record read, in bytes (1 MiB); a longer line is an invalid record, skipped
#: without being held whole. A 200-line session with long notes stays well within it;
#: it bounds what one record can cost in memory once parsed (a few tens of MB at most).
MAX_RECORD_BYTES = 1024 * 1024
#: The former name of :data:`MAX_RECORD_BYTES`.
MAX_LINE_BYTES = MAX_RECORD_BYTES
#: Most bytes of input one task holds (besides one record that alone is longer):
#: with a few tasks in flight per worker, memory stays bounded whatever the lines.
_TASK_BYTES = 2 * 1024 * 1024

_Errors = tuple[tuple[str, str], ...]

_BOM = b"\xef\xbb\xbf"
_TOO_LONG: _Errors = (("", f"record longer than {MAX_RECORD_BYTES} bytes (not read)"),)
#: Bytes per read of JSON Lines in C (see ``_Reader.tasks``); a line this long
#: or longer makes its chunk go through the line-by-line reader.
_PIECE = 64 * 1024
#: A chunk of JSON Lines for a worker: records already split off as ``(line
#: number, data)``, then a block of raw lines whose first is line ``start + 1``.
_Task = tuple[list[tuple[int, bytes | None]], int, bytes]


class _Reader:
    """Records of a JSON Lines stream, or of one JSON document, read line by line.

    JSON Lines unless the input is one JSON document spread over several lines:
    every non-blank line is a record, numbered by its line (blank lines are
    skipped but counted). The input is one document only when its first
    non-blank line is the unfinished start of a JSON value (``{`` of a
    pretty-printed session) *and* the input as a whole parses as one JSON value
    (read ahead at most ``MAX_LINE_BYTES``). Anything else, a cut-short first
    line followed by good records for one, is JSON Lines: no line is ever
    swallowed into another's record.
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
        pieces = _take(pieces_of, max(0, size - len(head)))
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
            pieces = _take(pieces_of, size)

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
            if _parses(whole):
                yield 1, whole
                return
        # JSON Lines whose first line is cut short (or a document too big to be one).
        yield from _nonblank(iter(buffered))
        yield from _nonblank(lines)


def _take(pieces: Iterator[bytes], size: int) -> list[bytes]:
    """Up to ``size`` pieces, fewer once they hold ``_TASK_BYTES``.

    Pieces shorter than ``_PIECE`` end a line; a task whose last piece does not
    goes through :meth:`_Reader._long_lines`, which reads on to the line's end.
    """
    out = list(itertools.islice(pieces, min(size, 64)))
    total = sum(map(len, out))
    while len(out) < size and total < _TASK_BYTES:
        more = list(itertools.islice(pieces, min(size - len(out), 64)))
        if not more:
            break
        out += more
        total += sum(map(len, more))
    return out


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


def iter_records(stream: IO[bytes] | IO[str]) -> Iterator[tuple[int, bytes | None]]:
    """Yield ``(record number, data)`` from a JSON Lines stream or one JSON document.

    JSON Lines: one record per non-blank line, numbered by its 1-based line.
    One multi-line JSON document: a single record numbered 1. ``data`` is None
    for a line longer than ``MAX_LINE_BYTES`` (an invalid record). Reads one
    line at a time: memory does not grow with the stream (see ``_Reader``).
    """
    return iter(_Reader(stream))


def _task_records(task: _Task) -> Iterator[tuple[int, bytes | None]]:
    """The ``(line number, data)`` of every record of a task, blank lines skipped."""
    records, start, block = task
    yield from records
    # The block cut after each newline, as readline cuts it: ``find`` looks for the
    # next newline with memchr, about half the CPU time of ``split`` (or
    # ``splitlines``, which also tests every byte for ``\r``) on 1 KiB lines.
    find, number, at, end = block.find, start, 0, len(block)
    while at < end:
        cut = find(b"\n", at) + 1 or end
        line = block[at:cut]
        number += 1
        at = cut
        if not line.isspace():
            yield number, line
