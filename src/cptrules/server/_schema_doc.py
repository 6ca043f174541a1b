"""The OpenAPI document of the HTTP API, built around the published session JSON Schema.

The session schema is not written here: it is ``docs/session.schema.json``, the
schema the parser's own declaration produces. A built wheel carries it beside
this module (hatch copies it in at build time, see ``pyproject.toml``); a source
checkout or an editable install reads it from ``docs/``.
"""

from __future__ import annotations

import json
import pathlib
from importlib import resources
from typing import Any

from .._version import DATA_VERSION, __version__
from ..errors import DataError

__all__ = ["openapi", "session_schema"]

_NAME = "session.schema.json"


def session_schema() -> dict[str, Any]:
    """The published session JSON Schema (draft 2020-12), read from its file.

    Not cached here: the app reads it once, when it is created.
    """
    packaged = resources.files("cptrules.server").joinpath(_NAME)
    source = pathlib.Path(__file__).resolve().parents[3] / "docs" / _NAME
    for place in (packaged, source):
        try:
            text = place.read_text("utf-8")
        except (FileNotFoundError, NotADirectoryError):
            continue
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise DataError(f"not valid JSON: {exc}", source=_NAME) from None
        if not isinstance(doc, dict):
            raise DataError("not a JSON Schema object", source=_NAME)
        return doc
    raise DataError("the session JSON Schema is missing from this installation", source=_NAME)


_ERRORS = {
    "type": "object",
    "required": ["error", "errors"],
    "properties": {
        "error": {"type": "string", "description": "What went wrong, in one line."},
        "errors": {
            "type": "array",
            "description": "Every problem at once, each with where it is.",
            "items": {
                "type": "object",
                "required": ["path", "message"],
                "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

_REPORT = {
    "type": "object",
    "description": "The report of one visit (the report format of the documentation).",
    "required": ["ok", "payer", "date_of_service", "data_version", "units", "findings"],
    "properties": {
        "ok": {"type": "boolean", "description": "No finding has severity error."},
        "id": {"type": "string", "description": "The session's id, when it had one."},
        "record": {
            "type": "integer",
            "description": (
                "Where the report's input is: JSON Lines, the 1-based input line; X12 837P "
                "and FHIR, the 1-based position of the claim visit (one claim on one date "
                "of service) in the input, as `cptrules check` numbers them."
            ),
        },
        "claim": {"type": "string", "description": "X12 CLM01 or the FHIR Claim id."},
        "format": {"enum": ["x12", "fhir"]},
        "invalid": {"type": "boolean", "description": "The input could not be checked."},
        "errors": _ERRORS["properties"]["errors"],  # type: ignore[index]
        "payer": {"type": "string"},
        "date_of_service": {"type": "string", "format": "date"},
        "data_version": {"type": "string"},
        "units": {"type": "array", "items": {"type": "object"}},
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["rule", "severity", "line", "message", "citation", "fixes"],
                "properties": {
                    "rule": {"type": "string"},
                    "severity": {"enum": ["error", "warning", "info"]},
                    "line": {"type": ["integer", "null"]},
                    "message": {"type": "string"},
                    "citation": {"type": "string"},
                    "fixes": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
        "estimate": {"type": "object", "description": "With fee data: what the visit pays."},
    },
}


def _body(kinds: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"required": True, "content": kinds}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}},
    }


_FAILURES = {
    "400": _error("The body is not JSON, not UTF-8, or not readable at all."),
    "408": _error("The body did not arrive within the read time limit."),
    "413": _error("The body is larger than the server's size limit."),
    "415": _error("A content type this endpoint does not take."),
    "422": _error("Well-formed but invalid: every problem with its path."),
    "503": _error("The work took longer than the server's time limit."),
}

_COUNT = {"schema": {"type": "integer", "minimum": 0}}
#: The counts of an 837P fix, as ``cptrules fix`` prints them.
_FIX_COUNTS = {
    "X-Cptrules-Visits": {"description": "837P: claim visits checked.", **_COUNT},
    "X-Cptrules-Changed": {"description": "837P: claim visits with lines changed.", **_COUNT},
    "X-Cptrules-Unsettled": {
        "description": "837P: claim visits still with errors the fixes cannot settle.",
        **_COUNT,
    },
}

_SESSION = {"schema": {"$ref": "#/components/schemas/Session"}}
_TEXT = {"schema": {"type": "string"}}
_PAYER = {
    "name": "payer",
    "in": "query",
    "required": False,
    "description": "A payer profile id overriding each session's payer.",
    "schema": {"type": "string"},
}


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the service (the app builds it once, at creation)."""
    schema = dict(session_schema())
    schema.pop("$schema", None)  # OpenAPI 3.1's own dialect is JSON Schema 2020-12
    reports = {"schema": {"$ref": "#/components/schemas/Report"}}
    listing = {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}
    check_in = _body(
        {
            "application/json": _SESSION,
            "application/x-ndjson": _TEXT,
            "application/edi-x12": _TEXT,
            "application/fhir+json": {"schema": {"type": "object"}},
        }
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cptrules",
            "version": __version__,
            "description": (
                "Check outpatient therapy and chiropractic billing before a claim goes out. "
                f"Rule data {DATA_VERSION}."
            ),
        },
        "paths": {
            "/v1/check": {
                "post": {
                    "summary": "Check a session, JSON Lines, an X12 837P or a FHIR claim",
                    "description": (
                        "The content type says what the body is: application/json (one "
                        "session; a FHIR Claim, ExplanationOfBenefit or Bundle is recognised "
                        "by its resourceType), application/fhir+json, application/x-ndjson "
                        "(JSON Lines: one report per input line, in order, the same bytes as "
                        "`cptrules check --format jsonl`), application/edi-x12 (an 837P "
                        "interchange). Findings never change the status: a report with "
                        "errors is still 200."
                    ),
                    "parameters": [_PAYER],
                    "requestBody": check_in,
                    "responses": {
                        "200": {
                            "description": "One report (a session), reports (JSON Lines), "
                            'or {"reports": [...]} (X12, FHIR: one per claim and day).',
                            "content": {"application/json": reports, "application/x-ndjson": _TEXT},
                        },
                        **_FAILURES,
                    },
                }
            },
            "/v1/fix": {
                "post": {
                    "summary": "Apply every finding's fixes: the corrected session or 837P",
                    "description": (
                        "Fixes are applied and the result checked again until it settles. An "
                        "837P is answered with what `cptrules fix` writes for it (only the "
                        "changed service lines and claim totals are rewritten). All or "
                        "nothing: a record or claim that cannot be read is a 422 naming it."
                    ),
                    "parameters": [_PAYER],
                    "requestBody": check_in,
                    "responses": {
                        "200": {
                            "description": "The corrected input in the same format (FHIR: the "
                            "corrected sessions as JSON Lines).",
                            "headers": _FIX_COUNTS,
                            "content": {
                                "application/json": _SESSION,
                                "application/x-ndjson": _TEXT,
                                "application/edi-x12": _TEXT,
                            },
                        },
                        **_FAILURES,
                    },
                }
            },
            "/v1/estimate": {
                "post": {
                    "summary": "What one visit pays, line by line (needs fee data on the server)",
                    "parameters": [_PAYER],
                    "requestBody": _body({"application/json": _SESSION}),
                    "responses": {
                        "200": {
                            "description": "The estimate (amounts are decimal strings).",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        **_FAILURES,
                    },
                }
            },
            "/v1/rules": {
                "get": {
                    "summary": "The rule catalog",
                    "responses": {"200": {"description": "Rules", "content": listing}},
                }
            },
            "/v1/payers": {
                "get": {
                    "summary": "Payer profiles and their effective dates",
                    "responses": {"200": {"description": "Profiles", "content": listing}},
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Liveness: the engine is built and answers",
                    "responses": {"200": {"description": "Healthy"}},
                }
            },
        },
        "components": {"schemas": {"Session": schema, "Report": _REPORT, "Errors": _ERRORS}},
    }
