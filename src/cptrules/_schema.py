"""The session format, declared once.

Every key of a session, its kind, whether it is required, its bounds and its
vocabulary live in the tables below. The parser (:mod:`cptrules.parsing`) reads
its limits and messages from them, :func:`~cptrules.dump_session` walks them,
:func:`json_schema` turns them into the published ``docs/session.schema.json``
(``tools/gen_session_schema.py`` writes the file; a test holds it to this
module), and the Hypothesis strategies read their bounds from here.

The order of the fields of an object is the order of its model's attributes;
``dump_session`` writes them in that order, ``lines`` last.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import attrs

__all__ = [
    "DOCUMENTATION",
    "LINE",
    "MAX_DOLLARS",
    "MAX_ID",
    "MAX_INPUT_BYTES",
    "MAX_LINES",
    "MAX_MINUTES",
    "MAX_TEXT",
    "MAX_UNITS",
    "OBJECTS",
    "PLAN_OF_CARE",
    "PROVIDER",
    "SESSION",
    "THERAPY_YTD",
    "Field",
    "Obj",
    "json_schema",
]

#: Most minutes one field may hold: a whole day.
MAX_MINUTES = 1440
#: Most service lines in one session.
MAX_LINES = 200
#: Longest free-text documentation field, in characters.
MAX_TEXT = 20_000
#: Most units one line may bill.
MAX_UNITS = 999
#: Largest year-to-date allowed amount accepted (exclusive), in dollars.
MAX_DOLLARS = Decimal(10_000_000)
#: Longest opaque ``id`` or ``patient`` key, in characters.
MAX_ID = 64
#: Largest JSON document (one session, one JSON Lines record) ``load_session``
#: decodes, in bytes (UTF-8) or characters (str): 200 lines with every
#: documentation field full fit with room to spare.
MAX_INPUT_BYTES = 16 * 1024 * 1024

DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)", re.ASCII)
# CPT (5 digits, or 4 digits + F/T/U/M for category II/III, PLA, MAAA) and HCPCS II.
CODE = re.compile(r"\d{4}[0-9FTUM]|[A-V]\d{4}", re.ASCII)
MODIFIER = re.compile(r"[A-Z0-9]{2}", re.ASCII)
# ICD-10-CM: letter (not U), digit, alphanumeric, optional dot and up to 4 more.
ICD10 = re.compile(r"[A-TV-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?", re.ASCII)
NPI = re.compile(r"\d{10}", re.ASCII)
PAYER = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}", re.ASCII)


@attrs.frozen
class Field:
    """One key of a session object.

    ``kind`` says how the parser reads it: ``date``, ``time``, ``int`` (``lo`` to
    ``hi``), ``bool``, ``id`` (opaque string of 1 to ``hi`` characters),
    ``text`` (free text of at most ``hi`` characters), ``pattern`` (string
    matching ``pattern``), ``enum`` (one of ``vocab``), ``strs`` (list of at most
    ``hi`` distinct strings, each matching ``pattern`` or in ``vocab``),
    ``pointers`` (list of at most ``hi`` distinct whole numbers from ``lo``),
    ``dollars``, ``object`` (the object ``obj``) or ``lines`` (``lo`` to ``hi``
    service lines). ``message`` is the error of a value of the wrong shape.
    """

    name: str
    kind: str
    doc: str
    message: str
    required: bool = False
    lo: int = 0
    hi: int = 0
    pattern: re.Pattern[str] | None = None
    vocab: str | None = None
    obj: str | None = None
    private: bool = False


@attrs.frozen
class Obj:
    """A JSON object of the format: its name, fields and description."""

    name: str
    doc: str
    fields: tuple[Field, ...]

    @property
    def keys(self) -> frozenset[str]:
        """The names of every field: any other key is an error."""
        return frozenset(f.name for f in self.fields)

    def __getitem__(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def _int(name: str, lo: int, hi: int, doc: str) -> Field:
    return Field(name, "int", doc, f"must be a whole number from {lo} to {hi}", lo=lo, hi=hi)


def _date(name: str, doc: str, *, required: bool = False) -> Field:
    return Field(name, "date", doc, "must be an ISO date YYYY-MM-DD", required=required)


def _time(name: str, doc: str) -> Field:
    return Field(name, "time", doc, "must be a 24-hour clock time HH:MM")


def _text(name: str) -> Field:
    return Field(name, "text", "", "must be a string or null", hi=MAX_TEXT)


def _dollars(name: str) -> Field:
    return Field(name, "dollars", "", "must be a number of dollars")


PROVIDER = Obj(
    "provider",
    "Who furnished the services.",
    (
        Field(
            "discipline",
            "enum",
            "The provider's discipline.",
            "must be one of ",  # the vocabulary is appended by the parser
            required=True,
            vocab="disciplines",
        ),
        Field(
            "npi",
            "pattern",
            "10-digit NPI; its check digit (Luhn over 80840 + NPI) is validated by cptrules.",
            "must be a 10-digit string",
            pattern=NPI,
        ),
    ),
)

PLAN_OF_CARE = Obj(
    "plan_of_care",
    "The certification period: first and last day certified, and the day the "
    "physician/NPP signed (null = unsigned).",
    (
        _date("start", "First day certified (the evaluation day).", required=True),
        _date("end", "Last day certified; not before `start`.", required=True),
        _date("signed", "Day the physician/NPP signed; null = unsigned."),
    ),
)

THERAPY_YTD = Obj(
    "therapy_ytd_allowed",
    "Medicare allowed dollars accrued this calendar year before the date of service, "
    "in whole cents (checked by cptrules, see the schema's description).",
    (_dollars("pt_slp"), _dollars("ot")),
)

DOCUMENTATION = Obj(
    "documentation",
    "Free-text notes; only their presence is read, never their text.",
    (_text("response"), _text("rationale"), _text("goals")),
)

LINE = Obj(
    "line",
    "One claim line.",
    (
        Field(
            "code",
            "pattern",
            "CPT (5 digits, or 4 digits and F/T/U/M) or HCPCS Level II code. "
            "A well-formed code the catalog does not know is accepted.",
            "must be a CPT or HCPCS code such as 97140 or G0283",
            required=True,
            pattern=CODE,
        ),
        _int(
            "minutes",
            0,
            MAX_MINUTES,
            "Direct one-on-one minutes; needed for timed codes "
            "(a finding, not a parse error, when missing).",
        ),
        _int("units", 0, MAX_UNITS, "Billed units; left out, the engine computes them."),
        Field(
            "modifiers",
            "strs",
            "Two-character modifiers. More than four is a finding (modifier.unknown), "
            "not a parse error.",
            "a two-character modifier such as GP or 59",
            hi=12,
            pattern=MODIFIER,
        ),
        Field(
            "regions",
            "strs",
            "Body regions treated.",
            "a known region (see the session format)",
            hi=10,
            vocab="regions",
        ),
        Field(
            "techniques",
            "strs",
            "Techniques documented on the line.",
            "a known technique (see the session format)",
            hi=32,
            vocab="techniques",
        ),
        _int(
            "assistant_minutes",
            0,
            MAX_MINUTES,
            "Of `minutes`, the minutes furnished by a PTA/OTA; needs `minutes` on the "
            "same line and must not exceed it.",
        ),
        Field(
            "diagnosis_pointers",
            "pointers",
            "1-based pointers into `diagnoses`; none may point past the last diagnosis.",
            "must be a list of at most 4 pointers",
            lo=1,
            hi=4,
        ),
        _int("muscles", 1, 200, "Muscles needled (20560/20561)."),
        _time("start", "Clock time HH:MM (24-hour) the service began; goes with `end`."),
        _time(
            "end",
            "Clock time HH:MM (24-hour) the service ended; goes with `start`, not before it.",
        ),
        Field(
            "documentation",
            "object",
            "",
            "must be an object or null",
            obj="documentation",
        ),
    ),
)

SESSION = Obj(
    "session",
    "One visit (session) as cptrules.load_session reads it.",
    (
        _date(
            "date_of_service",
            "Date of service (ISO date). Rule data is chosen by this date.",
            required=True,
        ),
        Field(
            "payer",
            "pattern",
            "A payer profile id (`cptrules payers`). Whether the profile exists is "
            "checked by the engine, not here.",
            "must be a payer profile id such as medicare (see `cptrules payers`)",
            required=True,
            pattern=PAYER,
        ),
        Field("provider", "object", "", "must be an object", required=True, obj="provider"),
        Field(
            "lines",
            "lines",
            "The service lines, at least one.",
            "must be a non-empty list",
            required=True,
            lo=1,
            hi=MAX_LINES,
        ),
        Field(
            "diagnoses",
            "strs",
            "ICD-10-CM codes, dot optional (M54.50).",
            "an ICD-10-CM code such as M54.50",
            hi=12,
            pattern=ICD10,
        ),
        Field("plan_of_care", "object", "", "must be an object or null", obj="plan_of_care"),
        _int(
            "treatment_day",
            1,
            10_000,
            "Treatment days since the last progress report or evaluation, this visit included.",
        ),
        Field(
            "progress_report",
            "bool",
            "This visit includes a progress report.",
            "must be true, false or null",
        ),
        Field(
            "therapy_ytd_allowed",
            "object",
            "",
            "must be an object or null",
            obj="therapy_ytd_allowed",
        ),
        _int("total_treatment_minutes", 0, MAX_MINUTES, "Minutes of the whole visit."),
        Field(
            "id",
            "id",
            "The caller's own opaque visit or claim id; echoed as `id` in the report, "
            "never in a message.",
            f"must be a string of 1 to {MAX_ID} characters",
            lo=1,
            hi=MAX_ID,
            private=True,
        ),
        Field(
            "patient",
            "id",
            "An opaque key grouping one patient's visits (never a name or a record "
            "number in clear); never echoed.",
            f"must be a string of 1 to {MAX_ID} characters",
            lo=1,
            hi=MAX_ID,
            private=True,
        ),
    ),
)

#: Every object of the format by name (a field's ``obj`` names one).
OBJECTS: dict[str, Obj] = {
    o.name: o for o in (SESSION, PROVIDER, PLAN_OF_CARE, THERAPY_YTD, DOCUMENTATION, LINE)
}


def walk() -> Iterator[tuple[Obj, Field]]:
    """Every (object, field) of the format."""
    for obj in OBJECTS.values():
        for f in obj.fields:
            yield obj, f


# -- JSON Schema ------------------------------------------------------------------------

_CANNOT = (
    "(1) plan_of_care.end before plan_of_care.start; "
    "(2) lines[].end before lines[].start; "
    "(3) lines[].diagnosis_pointers pointing past the last diagnosis; "
    "(4) lines[].assistant_minutes greater than lines[].minutes; "
    "(5) an NPI failing its check digit (Luhn over 80840 and the NPI); "
    "(6) a whole number written with a fraction or exponent (5.0 for 5: JSON Schema "
    "counts it as an integer); "
    "(7) a date that is not a calendar date (2026-02-30), unless your validator asserts "
    "the format keyword; "
    "(8) a dollar amount in therapy_ytd_allowed not in whole cents (multipleOf 0.01 is "
    "left out on purpose: validators computing in binary floating point reject valid "
    "amounts such as 0.07); "
    "(9) a JSON object with the same key twice; "
    f"(10) a document over {MAX_INPUT_BYTES} bytes."
)


def _pattern(p: re.Pattern[str]) -> str:
    """The JSON Schema pattern of a fully matched Python regex (ASCII digits)."""
    depth = 0
    top_level_or = False
    for c in p.pattern:
        depth += (c == "(") - (c == ")")
        top_level_or |= c == "|" and depth == 0
    body = f"({p.pattern})" if top_level_or else p.pattern
    return "^" + body.replace(r"\d", "[0-9]") + "$"


def _nullable(kind: str | list[str], nullable: bool) -> str | list[str]:
    if not nullable or isinstance(kind, list):
        return kind
    return [kind, "null"]


def _field_schema(f: Field, vocabs: dict[str, list[str]]) -> dict[str, Any]:
    null = not f.required
    out: dict[str, Any]
    if f.kind in ("date", "time"):
        out = {"type": _nullable("string", null)}
        if f.kind == "date":
            out["format"] = "date"
        out["pattern"] = _pattern(DATE if f.kind == "date" else TIME)
    elif f.kind == "int":
        out = {"type": _nullable("integer", null), "minimum": f.lo, "maximum": f.hi}
    elif f.kind == "bool":
        out = {"type": _nullable("boolean", null)}
    elif f.kind in ("id", "text"):
        out = {"type": _nullable("string", null)}
        if f.kind == "id":
            out["minLength"] = f.lo
        out["maxLength"] = f.hi
    elif f.kind == "pattern":
        assert f.pattern is not None
        out = {"type": _nullable("string", null), "pattern": _pattern(f.pattern)}
    elif f.kind == "enum":
        assert f.vocab is not None
        out = {"enum": vocabs[f.vocab] + ([] if f.required else [None])}
    elif f.kind in ("strs", "pointers"):
        out = {"type": _nullable("array", null), "maxItems": f.hi, "uniqueItems": True}
        if f.kind == "pointers":
            out["items"] = {"type": "integer", "minimum": f.lo}
        elif f.vocab is not None:
            out["items"] = {"enum": vocabs[f.vocab]}
        else:
            assert f.pattern is not None
            out["items"] = {"type": "string", "pattern": _pattern(f.pattern)}
    elif f.kind == "dollars":
        out = {
            "type": _nullable("number", null),
            "minimum": 0,
            "exclusiveMaximum": int(MAX_DOLLARS),
        }
    elif f.kind == "lines":
        out = {
            "type": "array",
            "minItems": f.lo,
            "maxItems": f.hi,
            "items": {"$ref": "#/$defs/line"},
        }
    else:
        assert f.kind == "object"
        assert f.obj is not None
        obj = OBJECTS[f.obj]
        out = {"type": _nullable("object", null), "description": obj.doc}
        out.update(_object_schema(obj, vocabs, with_doc=False))
        return out
    if f.doc:
        out["description"] = f.doc
    return out


def _object_schema(obj: Obj, vocabs: dict[str, list[str]], *, with_doc: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if with_doc:
        out["type"] = "object"
        out["description"] = obj.doc
    out["additionalProperties"] = False
    required = [f.name for f in obj.fields if f.required]
    if required:
        out["required"] = required
    out["properties"] = {f.name: _field_schema(f, vocabs) for f in obj.fields}
    return out


def _together(a: str, b: str) -> dict[str, Any]:
    return {
        "anyOf": [
            {"properties": {a: {"type": "null"}}},
            {"required": [b], "properties": {b: {"not": {"type": "null"}}}},
        ]
    }


def json_schema(vocabs: dict[str, list[str]]) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a session.

    ``vocabs`` gives each vocabulary's values (``disciplines``, ``regions``,
    ``techniques``); the catalog holds them.
    """
    top = _object_schema(SESSION, vocabs, with_doc=False)
    line = _object_schema(LINE, vocabs, with_doc=True)
    line["dependentSchemas"] = {
        "assistant_minutes": _together("assistant_minutes", "minutes"),
        "start": _together("start", "end"),
        "end": _together("end", "start"),
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "cptrules session",
        "description": (
            "One visit (session) as cptrules.load_session reads it. This schema is "
            "generated from the format's one declaration in cptrules and expresses every "
            "key, type, range, pattern and vocabulary of the parser. Problems it cannot "
            "catch, which load_session rejects in addition: "
            + _CANNOT
            + ". Whether the payer profile exists is checked by the engine, not the parser. "
            "Unknown but well-formed codes and modifiers are accepted: they become findings."
        ),
        "type": "object",
        **top,
        "$defs": {"line": line},
    }
