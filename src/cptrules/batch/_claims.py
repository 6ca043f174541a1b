"""Claim files in a batch: telling an 837P or a FHIR claim from sessions, and checking them.

``cptrules check`` reads three kinds of input. :func:`sniff_input` tells them
apart from the first bytes: an X12 interchange starts with its ``ISA`` header;
a FHIR input is one ``Claim``, ``ExplanationOfBenefit`` or ``Bundle`` (or FHIR
NDJSON, one such resource a line, as a bulk export writes it); anything else is
sessions (JSON Lines or one JSON document), read exactly as before.

:func:`check_claims` checks a claim file: one report per claim and date of
service, in the order the reader yields them, each numbered (``record``) from 1
in the file. A claim the reader cannot read is an invalid report in its place
and the rest of the file is still checked. The 837P is read as it streams, in
one process (the claims of one interchange are not worth a process pool), so
memory stays the same whatever the file's size.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Iterator, Mapping
from typing import IO, Any, Literal

import attrs

from .._interop import ClaimReport, ClaimVisit, Minutes, PayerMap, check_visit
from ..engine import Engine, default_engine
from ..errors import ConfigError, CptRulesError
from ..report import _printable, invalid_report, render_invalid_text, render_text
from ._pool import EngineSettings, _check_payer
from ._stream import Format, _chain, _Interrupt, _Progress, check_jsonl
from ._tally import Summary

__all__ = ["ClaimOptions", "InputKind", "check_claims", "check_input", "sniff_input"]

#: What an input holds: sessions (JSON Lines or one JSON document), an X12 837P
#: interchange, a FHIR document (Claim, ExplanationOfBenefit, Bundle) or FHIR NDJSON.
InputKind = Literal["sessions", "x12", "fhir", "fhir-ndjson"]

#: Bytes read ahead to tell the kinds apart.
_HEAD = 64 * 1024
_BLANK = b"\xef\xbb\xbf \t\r\n"
_FHIR_TYPES = frozenset(("Claim", "ExplanationOfBenefit", "Bundle"))
_FHIR_KEY = re.compile(rb'^\s*"resourceType"\s*:\s*"(?:Claim|ExplanationOfBenefit|Bundle)"', re.M)


class _Rewound(io.RawIOBase):
    """A binary stream that gives ``head`` again, then reads on (stdin, a pipe)."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)


def _read_head(stream: IO[bytes] | IO[str]) -> bytes:
    head = stream.read(_HEAD)
    return head.encode("utf-8") if isinstance(head, str) else head


def _rewind(stream: IO[bytes] | IO[str], at: int | None, head: bytes) -> IO[bytes] | IO[str]:
    if at is not None:
        stream.seek(at)
        return stream
    if isinstance(stream, io.TextIOBase):
        rest = stream.read()
        return io.StringIO(head.decode("utf-8", "replace") + rest)
    return io.BufferedReader(_Rewound(head, stream), buffer_size=1 << 20)  # type: ignore[arg-type]


def _fhir_value(data: bytes) -> bool:
    """True when ``data`` parses as JSON of a FHIR resource this library reads."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and doc.get("resourceType") in _FHIR_TYPES


def sniff_input(stream: IO[bytes] | IO[str]) -> tuple[InputKind, IO[bytes] | IO[str]]:
    """What ``stream`` holds, and a stream to read it from (from its start).

    Reads up to 64 KiB ahead: a seekable stream is put back where it was, any
    other is wrapped so that nothing read ahead is lost. An input of sessions
    comes back untouched in content, so it reads exactly as it did before.
    """
    try:
        at: int | None = stream.tell() if stream.seekable() else None
    except (OSError, ValueError, AttributeError):
        at = None
    head = _read_head(stream)
    kind = _kind(head)
    return kind, _rewind(stream, at, head)


def _kind(head: bytes) -> InputKind:
    text = head.lstrip(_BLANK)
    if text.startswith(b"ISA"):
        return "x12"
    if not text.startswith(b"{") or b'"resourceType"' not in text:
        return "sessions"
    first, newline, _ = text.partition(b"\n")
    if newline and _fhir_value(first):
        return "fhir-ndjson"
    if _fhir_value(text) or (len(head) == _HEAD and _FHIR_KEY.search(text)):
        # One document, or one longer than what was read ahead that names a
        # resource type the FHIR reader reads (a session has no such key).
        return "fhir"
    return "sessions"


# --------------------------------------------------------------------------- checking


def _visits(
    kind: InputKind,
    stream: IO[bytes] | IO[str],
    *,
    payer: str | None,
    payer_map: PayerMap | Mapping[str, str] | None,
    discipline: str | None,
    minutes: Minutes | None = None,
) -> Iterator[ClaimVisit | CptRulesError]:
    options: dict[str, Any] = {
        "payer": payer,
        "payer_map": payer_map,
        "discipline": discipline,
        "minutes": minutes,
    }
    if kind == "x12":
        from .. import x12

        yield from x12.read_837(stream, **options)
        return
    from .. import fhir

    if kind == "fhir":
        from ..fhir._reader import MAX_JSON

        data = stream.read(MAX_JSON + 1)
        yield from fhir.read_fhir(data, **options)
        return
    for number, raw in enumerate(stream, 1):
        line = raw if isinstance(raw, bytes) else str(raw).encode("utf-8")
        if not line.strip(_BLANK):
            continue
        for result in fhir.read_fhir(line, **options):
            if isinstance(result, fhir.FhirError):
                result = fhir.FhirError(
                    [(f"line {number}" + (f" {p}" if p else ""), m) for p, m in result.errors],
                    result.claim,
                )
            yield result


def claim_line_names(visit: ClaimVisit) -> tuple[str, ...]:
    """How a biller finds each session line in the claim: ``LX 3`` (837P) or ``item 3`` (FHIR)."""
    word = "LX" if visit.format == "x12" else "item"
    return tuple(f"{word} {n}" for n in visit.positions)


def _claim_name(name: str, claim: str | None, number: int) -> str:
    what = f"claim {_printable(claim)}" if claim else "interchange"
    return f"{name}, {what} (record {number})"


def check_claims(
    kind: InputKind,
    in_stream: IO[bytes] | IO[str],
    out_stream: IO[str],
    *,
    engine: Engine | EngineSettings | None = None,
    payer: str | None = None,
    payer_map: PayerMap | Mapping[str, str] | None = None,
    discipline: str | None = None,
    minutes: Minutes | None = None,
    format: Format = "jsonl",
    name: str = "<input>",
    label: str | None = None,
    progress: IO[str] | None = None,
) -> Summary:
    """Check a claim file (``kind`` from :func:`sniff_input`), one report per claim visit.

    Reports are written as :func:`~cptrules.batch.check_jsonl` writes them, in
    the reader's order, each with ``claim`` (CLM01 or the FHIR id), ``format``
    and ``record`` (its 1-based number in the file); findings and units carry
    ``claim_line``. A claim that cannot be read (or checked) is an invalid
    report naming the claim and locating every problem. In one process: the
    reader streams, so memory does not grow with the file. ``minutes`` (claim id,
    line position) -> minutes fills in minutes the claims do not carry.
    """
    if kind == "sessions":
        raise ConfigError("check_claims reads claim files; sessions go to check_jsonl")
    if format not in ("jsonl", "json", "text"):
        raise ConfigError("format must be jsonl, json or text")
    eng = engine.build() if isinstance(engine, EngineSettings) else engine or default_engine()
    _check_payer(eng, payer)
    summary = Summary()
    start = time.monotonic()
    results = _visits(
        kind, in_stream, payer=payer, payer_map=payer_map, discipline=discipline, minutes=minutes
    )
    write = out_stream.write
    bar = _Progress(progress, None)
    with _Interrupt() as interrupt:
        head = [r for _, r in zip(range(2), results, strict=False)]
        many = len(head) > 1
        margin = "  " if many else ""
        if format == "json" and many:
            write("[\n")
        number = 0
        try:
            for result in _chain(head, results):
                number += 1
                text, tally = _one(eng, result, number, payer, format, name, label, margin)
                if format == "json" and many and number > 1:
                    write(",\n")
                write(text if format == "json" else text + "\n")
                summary.add(tally)
                bar.update(summary.records, 0)
                if interrupt.flag:
                    summary.interrupted = True
                    break
        finally:
            bar.clear()
        if format == "json":
            write("\n]\n" if many else ("\n" if number else "[]\n"))
    out_stream.flush()
    summary.seconds = time.monotonic() - start
    return summary


def _one(
    engine: Engine,
    result: ClaimVisit | CptRulesError,
    number: int,
    payer: str | None,
    fmt: Format,
    name: str,
    label: str | None,
    margin: str,
) -> tuple[str, Any]:
    """One claim visit checked and rendered: its text and its tally."""
    claim: str | None = getattr(result, "claim", None)
    errors: tuple[tuple[str, str], ...]
    internal = 0
    if isinstance(result, ClaimVisit):
        try:
            report = check_visit(result, engine=engine, payer=payer)
            text = _render(report, number, fmt, name, label, margin)
        except CptRulesError as exc:
            errors = getattr(exc, "errors", None) or (("", str(exc)),)
        except Exception as exc:  # every claim must be accounted for, even on a bug
            errors = (("", f"internal error ({type(exc).__name__}); please report this bug"),)
            internal = 1
        else:
            rules: dict[str, int] = {}
            notes: dict[str, int] = {}
            for f in report.report.findings:
                counts = notes if f.severity == "info" else rules
                counts[f.rule] = counts.get(f.rule, 0) + 1
            ok = report.ok
            return text, (int(ok), int(not ok), 0, 0, rules, notes, number)
    else:
        errors = getattr(result, "errors", None) or (("", str(result)),)
    if fmt == "text":
        text = render_invalid_text(_claim_name(name, claim, number), None, errors)
    else:
        doc = {"claim": claim, "format": _format_of(result)}
        doc.update(invalid_report(number, errors, file=label))
        text = _dump(doc, fmt, margin)
    return text, (0, 0, 1, internal, {}, {}, number)


def _format_of(result: ClaimVisit | CptRulesError) -> str:
    if isinstance(result, ClaimVisit):
        return result.format
    from ..x12 import X12Error

    return "x12" if isinstance(result, X12Error) else "fhir"


def _render(
    report: ClaimReport, number: int, fmt: Format, name: str, label: str | None, margin: str
) -> str:
    if fmt == "text":
        visit = report.visit
        return render_text(
            report.report, _claim_name(name, visit.claim, number), claim_line_names(visit)
        )
    return _dump(report.to_dict(record=number, file=label), fmt, margin)


def _dump(doc: dict[str, Any], fmt: Format, margin: str) -> str:
    if fmt == "jsonl":
        return json.dumps(doc, separators=(",", ":"))
    text = json.dumps(doc, indent=2)
    return margin + text.replace("\n", "\n" + margin) if margin else text


# --------------------------------------------------------------------------- any input


@attrs.frozen
class ClaimOptions:
    """How claim files (837P, FHIR) are read: ``cptrules check --payer-map/--discipline/--minutes``.

    ``payer_map`` maps payer ids and claim filing codes to profiles (None: the
    bundled map); ``discipline`` is the provider's where the taxonomy does not
    tell it; ``minutes`` (claim id, line position) -> minutes fills in what the
    claims do not carry. Picklable, so a worker process or a Dask worker can
    read claims exactly as ``cptrules check`` does. Sessions ignore it.
    """

    payer_map: PayerMap | None = None
    discipline: str | None = None
    minutes: Minutes | None = attrs.field(default=None, hash=False)


def check_input(
    in_stream: IO[bytes] | IO[str],
    out_stream: IO[str],
    *,
    engine: Engine | EngineSettings | None = None,
    payer: str | None = None,
    claims: ClaimOptions | None = None,
    episodes: bool = False,
    window: int | None = None,
    format: Format = "jsonl",
    name: str = "<input>",
    label: str | None = None,
    progress: IO[str] | None = None,
    jobs: int = 1,
) -> Summary:
    """Check one input of any kind ``cptrules check FILE`` reads, exactly as it reads it.

    The kind is told by :func:`sniff_input`: a claim file goes to
    :func:`check_claims` (with ``claims``), sessions to
    :func:`~cptrules.batch.check_jsonl` (over ``jobs`` processes), or, with
    ``episodes``, to :func:`cptrules.episodes.check_jsonl_episodes` (``window``:
    its default when None). ``cptrules check`` and ``cptrules.dask.check_files``
    both check a file through here, so their output is the same.
    """
    kind, stream = sniff_input(in_stream)
    if episodes and kind == "sessions":
        from ..episodes import DEFAULT_WINDOW, check_jsonl_episodes  # only episodes load it

        return check_jsonl_episodes(
            stream,
            out_stream,
            engine=engine,
            payer=payer,
            format=format,
            name=name,
            window=DEFAULT_WINDOW if window is None else window,
        )
    if kind != "sessions":
        opts = claims or ClaimOptions()
        return check_claims(
            kind,
            stream,
            out_stream,
            engine=engine,
            payer=payer,
            payer_map=opts.payer_map,
            discipline=opts.discipline,
            minutes=opts.minutes,
            format=format,
            name=name,
            label=label,
            progress=progress,
        )
    return check_jsonl(
        stream,
        out_stream,
        jobs=jobs,
        engine=engine,
        payer=payer,
        format=format,
        name=name,
        progress=progress,
        label=label,
    )
