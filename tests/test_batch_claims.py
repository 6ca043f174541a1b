"""Telling claim files from sessions (sniff_input), and check_claims as a library call."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

import cptrules
from cptrules import batch, fhir, x12
from cptrules.errors import ConfigError

VISIT: dict[str, Any] = {
    "date_of_service": "2026-03-04",
    "payer": "medicare",
    "provider": {"discipline": "PT", "npi": "1234567893"},
    "diagnoses": ["M54.50"],
    "lines": [{"code": "97140", "units": 1}],
}


class Pipe(io.RawIOBase):
    """A stream that cannot seek, like standard input from a pipe."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self._data.read(min(len(buffer), 1000))  # short reads, as pipes give
        buffer[: len(chunk)] = chunk
        return len(chunk)


def sniffed(data: bytes, seekable: bool) -> tuple[str, bytes]:
    stream: Any = io.BytesIO(data) if seekable else io.BufferedReader(Pipe(data))
    kind, again = batch.sniff_input(stream)
    rest = again.read()
    return kind, rest if isinstance(rest, bytes) else rest.encode()


X12_TEXT = x12.dump_837([("C-1", cptrules.load_session(VISIT))])
FHIR_DOC = fhir.dump_claim(cptrules.load_session(VISIT))


@pytest.mark.parametrize("seekable", [True, False])
@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (X12_TEXT.encode(), "x12"),
        (b"\xef\xbb\xbf\r\n  " + X12_TEXT.encode(), "x12"),
        (json.dumps(FHIR_DOC, indent=2).encode(), "fhir"),
        (json.dumps({"resourceType": "Bundle", "entry": []}).encode(), "fhir"),
        ((json.dumps(FHIR_DOC) + "\n") * 3, "fhir-ndjson"),
        (json.dumps(VISIT).encode() + b"\n" + json.dumps(VISIT).encode(), "sessions"),
        (json.dumps(VISIT, indent=2).encode(), "sessions"),
        # A session whose text mentions resourceType is still a session.
        (json.dumps(VISIT | {"note": '"resourceType": "Claim"'}).encode(), "sessions"),
        (b"", "sessions"),
        # Longer than what is read ahead: told by its resourceType line.
        (json.dumps(FHIR_DOC | {"text": "x" * 70_000}, indent=2).encode(), "fhir"),
        (json.dumps(VISIT | {"note": "x" * 70_000}, indent=2).encode(), "sessions"),
        (b"ISX*", "sessions"),
        (b"x" * 200_000, "sessions"),
    ],
)
def test_sniff_tells_the_kind_and_loses_nothing(
    data: bytes | str, kind: str, seekable: bool
) -> None:
    raw = data.encode() if isinstance(data, str) else data
    assert sniffed(raw, seekable) == (kind, raw)


def test_sniff_puts_a_seekable_stream_back_where_it_was() -> None:
    stream = io.BytesIO(b"junk" + X12_TEXT.encode())
    stream.read(4)
    kind, again = batch.sniff_input(stream)
    assert kind == "x12"
    assert again is stream
    assert stream.tell() == 4


def test_check_claims_refuses_sessions_and_unknown_formats() -> None:
    with pytest.raises(ConfigError):
        batch.check_claims("sessions", io.BytesIO(b""), io.StringIO())
    with pytest.raises(ConfigError):
        batch.check_claims("x12", io.BytesIO(b""), io.StringIO(), format="xml")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown payer profile"):
        batch.check_claims("x12", io.BytesIO(X12_TEXT.encode()), io.StringIO(), payer="nope")


def test_check_claims_counts_every_claim_once() -> None:
    out = io.StringIO()
    summary = batch.check_claims("x12", io.BytesIO(X12_TEXT.encode()), out, format="jsonl")
    [report] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert (summary.records, summary.with_errors, summary.last_record) == (1, 1, 1)
    assert summary.rules["modifier.therapy"] == 1
    assert report["claim"] == "C-1"
    assert report["record"] == 1


def test_an_empty_claim_file_is_an_invalid_report() -> None:
    out = io.StringIO()
    summary = batch.check_claims("fhir", io.BytesIO(b"{}"), out, format="json")
    assert summary.invalid == 1
    assert summary.exit_code == 2
    assert json.loads(out.getvalue())["invalid"] is True
