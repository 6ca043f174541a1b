"""docs/session.schema.json and the parser agree.

EMR developers in other languages validate sessions with the JSON Schema; the
Python library validates them with :func:`cptrules.load_session`. These tests
keep the two from drifting apart:

(a) the schema's vocabularies are the catalog's (regions, techniques) and the
    models' (disciplines);
(b) its property names are the parser's key sets, and its patterns and limits
    are the parser's;
(c) on generated input, valid and invalid, "schema-valid and no cross-field rule
    broken" holds exactly when ``load_session`` accepts.

jsonschema is not a dependency, so a small validator for the subset of draft
2020-12 the schema uses lives here; it refuses any keyword it does not know, so
the schema cannot grow a keyword these tests silently ignore.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib.util
import json
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import cptrules
from cptrules import _schema, parsing
from cptrules.catalog import catalog
from cptrules.models import DISCIPLINES

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "session.schema.json"
GENERATOR = Path(__file__).resolve().parents[1] / "tools" / "gen_session_schema.py"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
LINE: dict[str, Any] = SCHEMA["$defs"]["line"]

Json = Any
Path_ = tuple[str | int, ...]

# --------------------------------------------------------------------------
# A validator for the subset of JSON Schema 2020-12 the session schema uses.
# --------------------------------------------------------------------------

_ANNOTATIONS = frozenset(("$schema", "$id", "title", "description", "$comment", "$defs"))
_KEYWORDS = frozenset(
    (
        "type",
        "enum",
        "pattern",
        "format",
        "minimum",
        "maximum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "uniqueItems",
        "items",
        "required",
        "properties",
        "additionalProperties",
        "dependentSchemas",
        "anyOf",
        "not",
        "$ref",
    )
)


def _json_type(value: Json) -> str:
    """The JSON type of a Python value (bool is not a number, as in JSON)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "unknown"


def _is_type(value: Json, name: str) -> bool:
    got = _json_type(value)
    return got == name or (name == "number" and got == "integer")


def _json_key(value: Json) -> Json:
    """A hashable key with JSON equality (1 == 1.0, true != 1, object key order ignored)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, int | float):
        return ("number", Fraction(value) if value == value else "nan")
    if isinstance(value, list):
        return ("array", tuple(_json_key(v) for v in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, _json_key(v)) for k, v in value.items()))
    return ("unknown", repr(value))


def _is_date(text: str) -> bool:
    # RFC 3339 full-date, as the parser reads it.
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _resolve(ref: str) -> dict[str, Any]:
    assert ref.startswith("#/"), ref
    node: Any = SCHEMA
    for part in ref[2:].split("/"):
        node = node[part]
    assert isinstance(node, dict)
    return node


def validate(schema: dict[str, Any], value: Json, path: str = "") -> list[str]:
    """Every error of ``value`` against ``schema``, as ``path: keyword`` strings."""
    unknown = set(schema) - _KEYWORDS - _ANNOTATIONS
    assert not unknown, f"validator does not implement {sorted(unknown)}"
    errs: list[str] = []

    def bad(keyword: str) -> None:
        errs.append(f"{path or '<root>'}: {keyword}")

    if "$ref" in schema:
        errs += validate(_resolve(schema["$ref"]), value, path)
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is_type(value, t) for t in types):
            bad("type")
            return errs
    if "enum" in schema and _json_key(value) not in {_json_key(e) for e in schema["enum"]}:
        bad("enum")
    if "not" in schema and not validate(schema["not"], value, path):
        bad("not")
    if "anyOf" in schema and all(validate(s, value, path) for s in schema["anyOf"]):
        bad("anyOf")
    if isinstance(value, str):
        pattern = schema.get("pattern")
        if pattern is not None:
            # ECMA-262 semantics for our anchored patterns: ASCII classes, and $ is the end.
            assert pattern.startswith("^"), pattern
            assert pattern.endswith("$"), pattern
            if not re.fullmatch(pattern[1:-1], value, flags=re.ASCII):
                bad("pattern")
        if schema.get("format") == "date" and not _is_date(value):
            bad("format")
        if "minLength" in schema and len(value) < schema["minLength"]:
            bad("minLength")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            bad("maxLength")
    if _is_type(value, "number"):
        if "minimum" in schema and not value >= schema["minimum"]:
            bad("minimum")
        if "maximum" in schema and not value <= schema["maximum"]:
            bad("maximum")
        if "exclusiveMaximum" in schema and not value < schema["exclusiveMaximum"]:
            bad("exclusiveMaximum")
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            bad("minItems")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            bad("maxItems")
        if schema.get("uniqueItems"):
            keys = [_json_key(v) for v in value]
            if len(set(keys)) != len(keys):
                bad("uniqueItems")
        if "items" in schema:
            for i, item in enumerate(value):
                errs += validate(schema["items"], item, f"{path}[{i}]")
    if isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties", {})
        for key in schema.get("required", ()):
            if key not in value:
                bad(f"required {key}")
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            if key in props:
                errs += validate(props[key], item, sub)
            elif schema.get("additionalProperties") is False:
                errs.append(f"{sub}: additionalProperties")
        for key, sub_schema in schema.get("dependentSchemas", {}).items():
            if key in value:
                errs += validate(sub_schema, value, path)
    return errs


# --------------------------------------------------------------------------
# (a) vocabularies and (b) keys, patterns and limits
# --------------------------------------------------------------------------


def _props(schema: dict[str, Any]) -> set[str]:
    return set(schema["properties"])


def test_schema_file_is_generated_from_the_declaration() -> None:
    spec = importlib.util.spec_from_file_location("gen_session_schema", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.render() == SCHEMA_PATH.read_text(encoding="utf-8"), (
        "run `python tools/gen_session_schema.py`"
    )


def test_schema_is_draft_2020_12_and_uses_only_known_keywords() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            yield node
            for key, value in node.items():
                if key in ("properties", "$defs", "dependentSchemas"):
                    for sub in value.values():
                        yield from walk(sub)
                elif key in ("items", "not", "additionalProperties"):
                    yield from walk(value)
                elif key == "anyOf":
                    for sub in value:
                        yield from walk(sub)

    for node in walk(SCHEMA):
        assert set(node) <= _KEYWORDS | _ANNOTATIONS, sorted(set(node) - _KEYWORDS - _ANNOTATIONS)


def test_vocabularies_match_the_catalog_and_models() -> None:
    cat = catalog()
    assert LINE["properties"]["regions"]["items"]["enum"] == list(cat.regions)
    assert LINE["properties"]["techniques"]["items"]["enum"] == list(cat.techniques)
    assert SCHEMA["properties"]["provider"]["properties"]["discipline"]["enum"] == list(DISCIPLINES)


def test_property_names_match_the_parser_key_sets() -> None:
    top = SCHEMA["properties"]
    assert _props(SCHEMA) == _schema.SESSION.keys
    assert _props(LINE) == _schema.LINE.keys
    assert _props(top["provider"]) == _schema.PROVIDER.keys
    assert _props(top["plan_of_care"]) == _schema.PLAN_OF_CARE.keys
    assert _props(top["therapy_ytd_allowed"]) == _schema.THERAPY_YTD.keys
    assert _props(LINE["properties"]["documentation"]) == _schema.DOCUMENTATION.keys


def test_every_object_is_closed() -> None:
    top = SCHEMA["properties"]
    for obj in (
        SCHEMA,
        LINE,
        top["provider"],
        top["plan_of_care"],
        top["therapy_ytd_allowed"],
        LINE["properties"]["documentation"],
    ):
        assert obj["additionalProperties"] is False


def _same_pattern(schema_pattern: str, parser_regex: re.Pattern[str]) -> bool:
    core = parser_regex.pattern.replace(r"\d", "[0-9]")
    return schema_pattern in (f"^{core}$", f"^({core})$")


@pytest.mark.parametrize(
    ("where", "regex"),
    [
        (lambda: SCHEMA["properties"]["date_of_service"], _schema.DATE),
        (lambda: SCHEMA["properties"]["plan_of_care"]["properties"]["start"], _schema.DATE),
        (lambda: SCHEMA["properties"]["plan_of_care"]["properties"]["end"], _schema.DATE),
        (lambda: SCHEMA["properties"]["plan_of_care"]["properties"]["signed"], _schema.DATE),
        (lambda: SCHEMA["properties"]["payer"], _schema.PAYER),
        (lambda: SCHEMA["properties"]["provider"]["properties"]["npi"], _schema.NPI),
        (lambda: SCHEMA["properties"]["diagnoses"]["items"], _schema.ICD10),
        (lambda: LINE["properties"]["code"], _schema.CODE),
        (lambda: LINE["properties"]["modifiers"]["items"], _schema.MODIFIER),
        (lambda: LINE["properties"]["start"], _schema.TIME),
        (lambda: LINE["properties"]["end"], _schema.TIME),
    ],
)
def test_patterns_match_the_parser(
    where: Callable[[], dict[str, Any]], regex: re.Pattern[str]
) -> None:
    assert _same_pattern(where()["pattern"], regex), (where()["pattern"], regex.pattern)


def test_limits_match_the_parser() -> None:
    top = SCHEMA["properties"]
    lp = LINE["properties"]
    assert top["lines"]["maxItems"] == parsing.MAX_LINES
    for node in (top["total_treatment_minutes"], lp["minutes"], lp["assistant_minutes"]):
        assert (node["minimum"], node["maximum"]) == (0, parsing.MAX_MINUTES)
    assert (lp["units"]["minimum"], lp["units"]["maximum"]) == (0, parsing.MAX_UNITS)
    for key in _schema.DOCUMENTATION.keys:
        assert lp["documentation"]["properties"][key]["maxLength"] == parsing.MAX_TEXT
    for key in _schema.THERAPY_YTD.keys:
        money = top["therapy_ytd_allowed"]["properties"][key]
        assert Decimal(money["exclusiveMaximum"]) == parsing.MAX_DOLLARS
        assert money["minimum"] == 0


def test_description_lists_the_cross_field_rules() -> None:
    text = SCHEMA["description"]
    for phrase in (
        "plan_of_care.end before plan_of_care.start",
        "lines[].end before lines[].start",
        "diagnosis_pointers pointing past the last diagnosis",
        "assistant_minutes greater than",
        "NPI failing its check digit",
        "5.0 for 5",
        "not a calendar date",
        "not in whole cents",
    ):
        assert phrase in text


# --------------------------------------------------------------------------
# (c) schema-valid (and no cross-field rule broken) iff load_session accepts
# --------------------------------------------------------------------------


def _npi_ok(npi: str) -> bool:
    # Luhn over the 80840 prefix, written out independently of the parser.
    total = 0
    for i, ch in enumerate(reversed("80840" + npi)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _with_check_digit(nine: str) -> str:
    return next(nine + d for d in "0123456789" if _npi_ok(nine + d))


def _whole_cents(amount: float | int | None) -> bool:
    if amount is None or isinstance(amount, int):
        return True
    exponent = Decimal(repr(amount)).as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -2


def cross_field_broken(doc: dict[str, Any]) -> bool:
    """The problems the schema's description excludes, on a schema-valid document."""
    npi = doc["provider"].get("npi")
    if npi is not None and not _npi_ok(npi):
        return True
    ytd = doc.get("therapy_ytd_allowed") or {}
    if not all(_whole_cents(ytd.get(key)) for key in ("pt_slp", "ot")):
        return True
    poc = doc.get("plan_of_care")
    if poc is not None and poc["end"] < poc["start"]:
        return True
    n_diagnoses = len(doc.get("diagnoses") or ())
    for line in doc["lines"]:
        if any(p > n_diagnoses for p in line.get("diagnosis_pointers") or ()):
            return True
        assistant = line.get("assistant_minutes")
        if assistant is not None and assistant > line["minutes"]:
            return True
        if line.get("start") is not None and line["end"] < line["start"]:
            return True
    return False


def _accepts(doc: Json) -> bool:
    try:
        cptrules.load_session(doc)
    except cptrules.InvalidSessionError:
        return False
    return True


# Junk text: ASCII plus a few non-ASCII letters and spaces. Non-ASCII digits have
# their own test below (the parser rejects them; the schema's patterns are ASCII).
_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=32, max_codepoint=126), st.sampled_from("é\n\u00a0ß")
    ),
    max_size=8,
)
_JUNK: st.SearchStrategy[Json] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.integers(),
    # integral floats (5.0) are exclusion (6) of the schema: tested on their own below
    st.integers(-(10**6), 10**6).map(lambda n: n + 0.5),
    st.sampled_from([-0.01, 0.001, 3.14159, 1e-7, 1.5e300]),
    _TEXT,
    st.sampled_from(["", "97140", "GP", "lumbar", "2026-03-04", "10:05", "PT", "M54.50"]),
    # fresh containers every draw: a shared one could end up inside itself
    st.builds(list),
    st.builds(dict),
    st.builds(lambda: [None]),
    st.builds(lambda: {"x": 1}),
)


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type", [])
    return t if isinstance(t, list) else [t]


def _regex(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    return st.from_regex(schema["pattern"][1:-1], fullmatch=True)


def valid_for(schema: dict[str, Any]) -> st.SearchStrategy[Json]:
    """Values meant to satisfy ``schema`` (cross-object rules aside)."""
    if "$ref" in schema:
        return valid_for(_resolve(schema["$ref"]))
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    types = [t for t in _types(schema) if t != "null"]
    base = _valid_of_type(schema, types[0])
    return st.one_of(base, st.none()) if "null" in _types(schema) else base


def _valid_of_type(schema: dict[str, Any], kind: str) -> st.SearchStrategy[Json]:
    if kind == "string":
        if schema.get("format") == "date":
            return st.dates().map(dt.date.isoformat)
        if "pattern" in schema:
            return _regex(schema)
        return st.text(max_size=20)
    if kind == "integer":
        return st.integers(schema.get("minimum", -(10**6)), schema.get("maximum", 10**6))
    if kind == "number":
        return st.integers(0, 10**9 - 1).map(lambda cents: cents / 100) | st.integers(0, 10**6)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        item = valid_for(schema["items"])
        low = schema.get("minItems", 0)
        high = min(schema.get("maxItems", 3), low + 3)
        if schema.get("uniqueItems"):
            return st.lists(item, min_size=low, max_size=high, unique_by=_json_key)
        return st.lists(item, min_size=low, max_size=high)
    assert kind == "object", kind
    props: dict[str, Any] = schema.get("properties", {})
    required = {k: valid_for(props[k]) for k in schema.get("required", ())}
    optional = {k: valid_for(v) for k, v in props.items() if k not in required}
    return st.fixed_dictionaries(required, optional=optional)


def near(schema: dict[str, Any] | None) -> st.SearchStrategy[Json]:
    """Values around the edges of ``schema``: some valid, most not."""
    if schema is None:
        return _JUNK
    if "$ref" in schema:
        return near(_resolve(schema["$ref"]))
    options: list[st.SearchStrategy[Json]] = [_JUNK, valid_for(schema)]
    if "enum" in schema:
        words = [str(e) for e in schema["enum"]]
        options.append(st.sampled_from(words).map(str.upper))
        options.append(st.sampled_from(words).map(lambda w: w + "s"))
    if "pattern" in schema:
        options.append(_regex(schema).map(lambda s: s[:-1]))
        options.append(_regex(schema).map(lambda s: s + "0"))
        options.append(_regex(schema).map(str.lower))
    if schema.get("format") == "date":
        options.append(_regex(schema))  # any digits: mostly not calendar dates
    for key in ("minimum", "maximum", "exclusiveMaximum"):
        if key in schema:
            edge = schema[key]
            options.append(st.integers(int(edge) - 2, int(edge) + 2))
    if "number" in _types(schema):
        options.append(st.integers(0, 10**6).map(lambda n: n / 1000))
        options.append(st.sampled_from([-0.01, 0.001, 0.07, 9999999.99, 1e7, 1e-7, 1e22]))
    if "maxLength" in schema:
        n = schema["maxLength"]
        options.append(st.sampled_from(["x" * n, "x" * (n + 1)]))
    if "maxItems" in schema and "items" in schema:
        n = schema["maxItems"]
        options.append(
            valid_for(schema["items"]).map(
                lambda v: [copy.deepcopy(v) for _ in range(n + 1 if n < 50 else n)]
            )
        )
    if "items" in schema:
        options.append(st.lists(near(schema["items"]), max_size=3))
    return st.one_of(options)


def _walk(value: Json, schema: dict[str, Any] | None, path: Path_) -> Iterator[Any]:
    """(path, schema of the node) for every node of ``value``."""
    yield path, schema
    if schema is not None and "$ref" in schema:
        schema = _resolve(schema["$ref"])
    if isinstance(value, dict):
        props = schema.get("properties", {}) if schema else {}
        for key, item in value.items():
            yield from _walk(item, props.get(key), (*path, key))
    elif isinstance(value, list):
        items = schema.get("items") if schema else None
        for i, item in enumerate(value):
            yield from _walk(item, items, (*path, i))


def _parent(doc: Json, path: Path_) -> Any:
    node = doc
    for part in path[:-1]:
        node = node[part]
    return node


_KEY_NAMES = sorted(
    _schema.SESSION.keys | _schema.LINE.keys | _schema.PROVIDER.keys | {"minute", "Code", "notes"}
)


@st.composite
def documents(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    """A session dict from the schema, repaired or not, then mutated 0-3 times."""
    doc: dict[str, Any] = draw(valid_for(SCHEMA))
    log: list[str] = []
    if draw(st.booleans()):
        _repair(doc, draw)
        log.append("repaired")
    for _ in range(draw(st.integers(0, 3))):
        nodes = list(_walk(doc, SCHEMA, ()))
        path, schema = draw(st.sampled_from(nodes))
        op = draw(st.sampled_from(["replace", "replace", "delete", "add_key"]))
        if op == "add_key" or not path:
            node = _parent(doc, path)[path[-1]] if path else doc
            target = node if isinstance(node, dict) else doc
            key = draw(st.sampled_from(_KEY_NAMES) | _TEXT)
            target.setdefault(key, draw(near(None)))
            log.append(f"add {key!r}")
        elif op == "delete" and isinstance(_parent(doc, path), dict):
            del _parent(doc, path)[path[-1]]
            log.append(f"delete {path}")
        else:
            _parent(doc, path)[path[-1]] = draw(near(schema))
            log.append(f"replace {path}")
    return doc, log


def _repair(doc: dict[str, Any], draw: st.DrawFn) -> None:
    """Fix what the schema cannot say, so clean documents are common."""
    provider = doc["provider"]
    if provider.get("npi") is not None:
        provider["npi"] = _with_check_digit(provider["npi"][:9])
    poc = doc.get("plan_of_care")
    if poc is not None and poc["end"] < poc["start"]:
        poc["start"], poc["end"] = poc["end"], poc["start"]
    n = len(doc.get("diagnoses") or ())
    for line in doc["lines"]:
        if line.get("diagnosis_pointers"):
            line["diagnosis_pointers"] = [p for p in line["diagnosis_pointers"] if p <= n]
        if line.get("assistant_minutes") is not None:
            line["minutes"] = max(line.get("minutes") or 0, line["assistant_minutes"])
        start, end = line.get("start"), line.get("end")
        if (start is None) != (end is None):
            line.pop("start", None)
            line.pop("end", None)
        elif start is not None and end < start:
            line["start"], line["end"] = end, start


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(documents())
def test_schema_valid_iff_load_session_accepts(case: tuple[dict[str, Any], list[str]]) -> None:
    doc, log = case
    errors = validate(SCHEMA, doc)
    expected = not errors and not cross_field_broken(doc)
    event(f"schema {'valid' if not errors else 'invalid'}; expected {expected}")
    assert _accepts(copy.deepcopy(doc)) == expected, (log, errors)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("treatment_day",), 5.0),
        (("total_treatment_minutes",), 60.0),
        (("lines", 0, "minutes"), 23.0),
    ],
)
def test_integral_floats_are_the_documented_gap(path: Path_, value: float) -> None:
    # Exclusion (6): JSON Schema counts 5.0 as an integer; the parser wants 5.
    doc = _clean()
    _parent(doc, path)[path[-1]] = value
    assert validate(SCHEMA, doc) == []
    assert not _accepts(doc)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("lines", 0, "start"), "1\u0665:30"),
        (("diagnoses",), ["M\u06654.50"]),
    ],
)
def test_non_ascii_digits_are_rejected(path: Path_, value: Json) -> None:
    doc = _clean()
    doc["lines"][0]["end"] = "23:00"
    doc["lines"][0].setdefault("start", "10:00")
    _parent(doc, path)[path[-1]] = value
    assert validate(SCHEMA, doc) != []
    assert not _accepts(doc)


def _clean() -> dict[str, Any]:
    return {
        "date_of_service": "2026-03-04",
        "payer": "medicare",
        "provider": {"discipline": "PT", "npi": "1234567893"},
        "diagnoses": ["M54.50"],
        "plan_of_care": {"start": "2026-02-01", "end": "2026-04-30", "signed": "2026-02-10"},
        "treatment_day": 3,
        "progress_report": False,
        "therapy_ytd_allowed": {"pt_slp": 1820.5, "ot": 0},
        "total_treatment_minutes": 60,
        "lines": [
            {
                "code": "97140",
                "minutes": 23,
                "units": 2,
                "modifiers": ["GP"],
                "regions": ["lumbar"],
                "techniques": ["joint_mobilization"],
                "assistant_minutes": 0,
                "diagnosis_pointers": [1],
                "muscles": 2,
                "start": "10:05",
                "end": "10:28",
                "documentation": {"response": "r", "rationale": "s", "goals": None},
            }
        ],
    }


def test_a_full_clean_session_is_valid_both_ways() -> None:
    doc = _clean()
    assert validate(SCHEMA, doc) == []
    assert not cross_field_broken(doc)
    assert _accepts(doc)


@pytest.mark.parametrize(
    ("mutate", "keyword"),
    [
        (lambda d: d.pop("lines"), "required lines"),
        (lambda d: d.update(extra=1), "additionalProperties"),
        (lambda d: d["lines"][0].update(start=None), "anyOf"),
        (lambda d: d["lines"][0].pop("minutes"), "anyOf"),
        (lambda d: d["lines"][0].update(regions=["lumbar", "lumbar"]), "uniqueItems"),
        (lambda d: d.update(date_of_service="2026-02-30"), "format"),
        (lambda d: d.update(progress_report=1), "type"),
    ],
)
def test_validator_catches_each_keyword(mutate: Callable[[Any], object], keyword: str) -> None:
    # The home-made validator must be able to fail on every keyword it relies on.
    doc = _clean()
    mutate(doc)
    errors = validate(SCHEMA, doc)
    assert any(keyword in e for e in errors), errors
    assert not _accepts(doc)


def test_rule_examples_validate() -> None:
    # Every example session a rule ships is schema-valid: the docs reuse them.
    from cptrules.rules import REGISTRY

    for rule in REGISTRY.values():
        for example in rule.examples:
            doc = json.loads(json.dumps(example.session))
            assert validate(SCHEMA, doc) == [], rule.id


# Distinct well-formed items for arrays of patterned strings (edge sizes need them).
_DISTINCT = {
    "^[A-Z0-9]{2}$": [f"A{i}" for i in range(10)] + [f"B{i}" for i in range(10)],
    SCHEMA["properties"]["diagnoses"]["items"]["pattern"]: [f"M{i:02d}" for i in range(20)],
}


def edges(schema: dict[str, Any]) -> list[Json]:
    """Deterministic values on and just past every edge of ``schema``."""
    values: list[Json] = [None, True, 1.5, "x", [], {}]
    for e in schema.get("enum", ()):
        values += [e, str(e).upper(), f"{e}s"]
    lo, hi = schema.get("minimum"), schema.get("maximum")
    if lo is not None:
        values += [lo - 1, lo, lo - 0.01]
    if hi is not None:
        values += [hi, hi + 1]
    if "exclusiveMaximum" in schema:
        top = schema["exclusiveMaximum"]
        values += [top, top - 0.01, top - 1]
    if "number" in _types(schema):
        values += [0.01, 0.07, 0.005, 12.34, 12.345, 1e-7]
    if "maxLength" in schema:
        values += ["x" * schema["maxLength"], "x" * (schema["maxLength"] + 1)]
    if "items" in schema:
        items = schema["items"]
        if "enum" in items:
            pool: list[Json] = list(items["enum"])
        elif items.get("type") == "integer":
            pool = list(range(items["minimum"], items["minimum"] + 20))
        elif items.get("pattern") in _DISTINCT:
            pool = list(_DISTINCT[items["pattern"]])
        else:
            pool = []
        if pool:
            n = min(schema.get("maxItems", 3), len(pool))
            values += [pool[:n], pool[: n + 1], [pool[0], pool[0]], pool[:1]]
    return values


def _leaves() -> list[tuple[Path_, Json]]:
    doc = _clean()
    doc["diagnoses"] = [f"M{i:02d}" for i in range(12)]
    out = []
    for path, schema in _walk(doc, SCHEMA, ()):
        if path and schema is not None:
            out += [(path, value) for value in edges(schema)]
    return out


@pytest.mark.parametrize(("path", "value"), _leaves())
def test_edges_agree(path: Path_, value: Json) -> None:
    doc = _clean()
    doc["diagnoses"] = [f"M{i:02d}" for i in range(12)]
    _parent(doc, path)[path[-1]] = copy.deepcopy(value)
    errors = validate(SCHEMA, doc)
    if not errors and _json_type(value) == "integer" and isinstance(value, float):
        pytest.skip("integral float: exclusion (6)")
    expected = not errors and not cross_field_broken(doc)
    assert _accepts(doc) == expected, errors
