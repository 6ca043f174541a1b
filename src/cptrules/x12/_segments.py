"""Reading an X12 interchange as a stream of segments, delimiters from its ISA header.

The ISA segment declares the delimiters: the character after ``ISA`` separates
elements, ISA11 repeats (from version 00501), ISA16 separates components, and
the character after ISA16 ends segments. Line breaks after segment terminators
are allowed and dropped. The input is read in chunks: a huge file is never held
in memory, and a segment longer than :data:`MAX_SEGMENT` characters is an error.
"""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Iterator
from typing import IO, NamedTuple

import attrs

from ..errors import CptRulesError

__all__ = [
    "CHUNK",
    "MAX_SEGMENT",
    "Delimiters",
    "Problem",
    "Source",
    "X12Error",
    "chunks",
    "segments",
]

#: Longest segment read, in characters (837P segments are far shorter).
MAX_SEGMENT = 4096
#: Characters read at a time.
CHUNK = 1 << 16

Source = str | bytes | bytearray | memoryview | os.PathLike[str] | IO[bytes] | IO[str]


@attrs.frozen
class Problem:
    """One problem in an X12 input: where (segment index from 1 at ISA, its id, an
    element reference such as ``SV101-2``) and what."""

    segment: int | None
    segment_id: str | None
    element: str | None
    message: str

    @property
    def path(self) -> str:
        """Where, as text: ``segment 27 SV1``, ``segment 27 SV101-2``, or ``interchange``."""
        if self.segment is None:
            return "interchange"
        return f"segment {self.segment} {self.element or self.segment_id or '?'}"


class X12Error(CptRulesError, ValueError):
    """An X12 input (or one claim in it) that cannot be read.

    ``problems`` holds every problem found, each located by segment; ``errors``
    gives them as ``(path, message)`` pairs like
    :class:`~cptrules.InvalidSessionError`. ``claim`` is the claim's id (CLM01)
    where known: it is kept out of the message text, which never holds patient
    data or the caller's own ids.
    """

    problems: tuple[Problem, ...]
    claim: str | None

    def __init__(self, problems: tuple[Problem, ...] | list[Problem], claim: str | None = None):
        self.problems = tuple(problems)
        self.claim = claim
        count = len(self.problems)
        head = "; ".join(f"{p.path}: {p.message}" for p in self.problems[:5])
        more = f" (and {count - 5} more)" if count > 5 else ""
        what = "claim" if claim is not None else "837P input"
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{what} not read, {count} {noun}: {head}{more}")

    @property
    def errors(self) -> tuple[tuple[str, str], ...]:
        """Every problem as ``(path, message)``."""
        return tuple((p.path, p.message) for p in self.problems)

    def __repr__(self) -> str:
        return f"X12Error({len(self.problems)} problems)"


class Delimiters(NamedTuple):
    """The delimiters of one interchange, and whether segments end with a line break."""

    element: str
    component: str
    repetition: str | None
    segment: str
    newline: str


class _Fatal(Exception):
    """The stream cannot be read further (carries the problem)."""

    def __init__(self, problem: Problem):
        self.problem = problem


def chunks(source: Source) -> Iterator[str]:
    """The text of ``source`` in chunks: str/bytes content, a path, or a file object.

    Bytes are decoded as UTF-8 (X12's basic and extended character sets fit it);
    anything else raises :class:`X12Error`.
    """
    if isinstance(source, str):
        for i in range(0, len(source), CHUNK):
            yield source[i : i + CHUNK]
        return
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield from _decode(io.BytesIO(bytes(source)))
        return
    if isinstance(source, os.PathLike):
        try:
            fh = open(os.fspath(source), "rb")  # noqa: SIM115 - closed below, generator
        except OSError as exc:
            raise X12Error([Problem(None, None, None, f"cannot open: {exc.strerror}")]) from None
        with fh:
            yield from _decode(fh)
        return
    read = getattr(source, "read", None)
    if read is None:
        raise X12Error([Problem(None, None, None, "not text, bytes, a path or a file")])
    first = read(CHUNK)
    if isinstance(first, str):
        while first:
            yield first
            first = read(CHUNK)
        return
    if not isinstance(first, (bytes, bytearray)):
        raise X12Error([Problem(None, None, None, "the file gave neither text nor bytes")])
    yield from _decode(_Prepend(bytes(first), source))


class _Prepend:
    """A binary reader that gives ``head`` first, then reads on from ``rest``."""

    def __init__(self, head: bytes, rest: IO[bytes] | IO[str]):
        self.head, self.rest = head, rest

    def read(self, n: int) -> bytes:
        if self.head:
            out, self.head = self.head, b""
            return out
        data = self.rest.read(n)
        return data if isinstance(data, bytes) else b""


def _decode(fh: io.BytesIO | IO[bytes] | _Prepend) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    while True:
        data = fh.read(CHUNK)
        try:
            text = decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            at = offset + exc.start
            raise X12Error([Problem(None, None, None, f"byte {at} is not UTF-8 text")]) from None
        offset += len(data)
        if text:
            yield text
        if not data:
            return


def _header(text: str) -> tuple[Delimiters, int] | None:
    """The delimiters and where the first segment after ISA starts, or None if no ISA yet."""
    if len(text) < 4:
        return None
    elem = text[3]
    pos = 3
    for _ in range(15):
        pos = text.find(elem, pos + 1)
        if pos < 0:
            return None
    # pos is the separator before ISA16; ISA16 is one character, then the terminator.
    if len(text) < pos + 3:
        return None
    component, term = text[pos + 1], text[pos + 2]
    fields = text[: pos + 1].split(elem)
    version = fields[12] if len(fields) > 12 else ""
    rep = fields[11] if version >= "00501" and len(fields) > 11 else ""
    after = pos + 3
    newline = ""
    if text.startswith("\r\n", after):
        newline = "\r\n"
    elif text.startswith("\n", after):
        newline = "\n"
    bad = {elem, component, term}
    if len(bad) < 3 or any(c.isalnum() or c == " " for c in (elem, component)) or term.isalnum():
        raise _Fatal(Problem(1, "ISA", "ISA16", "the ISA header declares unusable delimiters"))
    repetition = rep if len(rep) == 1 and not rep.isalnum() and rep not in bad else None
    return Delimiters(elem, component, repetition, term, newline), after


def segments(source: Source) -> Iterator[tuple[Delimiters, int, list[str]]]:
    """Yield ``(delimiters, index, elements)`` per segment; index 1 is the ISA segment.

    ``elements[0]`` is the segment id. Raises :class:`_Fatal` when the stream
    cannot be read on (no ISA, a segment without end, bytes that are not text).
    """
    stream = chunks(source)
    buf = ""
    found: tuple[Delimiters, int] | None = None
    for chunk in stream:
        buf += chunk
        stripped = buf.lstrip("\ufeff \r\n\t")
        if len(stripped) >= 3 and not stripped.startswith("ISA"):
            break
        found = _header(stripped)
        if found is not None or len(stripped) > MAX_SEGMENT:
            buf = stripped
            break
    else:
        buf = buf.lstrip("\ufeff \r\n\t")
        if buf.startswith("ISA"):
            found = _header(buf)
    if found is None:
        if not buf.lstrip("\ufeff \r\n\t").startswith("ISA"):
            hint = ""
            if isinstance(source, str) and len(source) < 4096 and os.path.isfile(source):
                hint = " (a str is the file's text: pass a path as pathlib.Path)"
            raise _Fatal(Problem(None, None, None, f"not an X12 interchange: no ISA header{hint}"))
        raise _Fatal(Problem(1, "ISA", None, "the ISA header is incomplete"))
    delims, start = found
    term, elem = delims.segment, delims.element
    yield delims, 1, buf[: start - 1].split(elem)
    buf = buf[start:]
    index = 1
    ws = "\r\n"
    while True:
        parts = buf.split(term)
        buf = parts.pop()
        for part in parts:
            seg = part.strip(ws)
            if not seg:
                continue
            index += 1
            if len(seg) > MAX_SEGMENT:
                raise _Fatal(Problem(index, None, None, f"segment longer than {MAX_SEGMENT}"))
            yield delims, index, seg.split(elem)
        if len(buf) > MAX_SEGMENT:
            raise _Fatal(
                Problem(index + 1, None, None, f"no segment terminator in {MAX_SEGMENT} characters")
            )
        more = next(stream, None)
        if more is None:
            break
        buf += more
    if buf.strip(ws + " \t\x1a"):
        raise _Fatal(Problem(index + 1, None, None, "the last segment has no terminator"))
