"""Batch checking: many sessions, in order, every record accounted for.

Two entry points:

- :func:`check_many` checks an iterable of sessions (``Session`` objects, dicts,
  JSON strings or bytes) and yields one :class:`BatchResult` per input, in input
  order: a report, or the errors that made the input unusable. Nothing is dropped.
- :func:`check_jsonl` streams a JSON Lines file (or one JSON document) to an
  output stream, one rendered report per record, and returns a :class:`Summary`.
  ``cptrules check`` is built on it.
- :func:`check_claims` checks a claim file (X12 837P, FHIR), one report per
  claim and date of service; :func:`sniff_input` tells a claim file from
  sessions by its first bytes.

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

from ..report import invalid_report, render_invalid_text, render_text
from ._check import BatchResult, Record, check_many
from ._claims import (
    ClaimOptions,
    InputKind,
    check_claims,
    check_input,
    claim_line_names,
    sniff_input,
)
from ._pool import CHUNK_SIZE, EngineSettings, default_jobs
from ._reading import MAX_LINE_BYTES, MAX_RECORD_BYTES, iter_records
from ._stream import Format, check_jsonl
from ._tally import Summary

__all__ = [
    "CHUNK_SIZE",
    "MAX_LINE_BYTES",
    "MAX_RECORD_BYTES",
    "BatchResult",
    "ClaimOptions",
    "EngineSettings",
    "Format",
    "InputKind",
    "Record",
    "Summary",
    "check_claims",
    "check_input",
    "check_jsonl",
    "check_many",
    "claim_line_names",
    "default_jobs",
    "invalid_report",
    "iter_records",
    "render_invalid_text",
    "render_text",
    "sniff_input",
]
