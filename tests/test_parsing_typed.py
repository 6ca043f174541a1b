"""The typed decode of the [fast] extra: a shortcut that never changes an answer.

With msgspec importable, JSON text is first decoded into Structs mirroring the
format and checked there (``parsing._typed``); what it is unsure of goes down the
one path. These tests hold the shortcut to that path: it accepts a subset of
what the path accepts, and gives the same Session.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cptrules import InvalidSessionError, Session, dump_session, load_session, parsing, strategies
from test_parsing import VALID as ONE_PATH_VALID

pytest.importorskip("msgspec")

# the one path's valid session (tests/test_parsing.py), with an id holding a colon and
# lines of the shapes the typed decode reads
VALID: dict[str, Any] = {
    **{k: v for k, v in copy.deepcopy(ONE_PATH_VALID).items() if k != "lines"},
    "id": "visit:1",
    "lines": [
        {
            "code": "97140",
            "minutes": 23,
            "units": 2,
            "modifiers": ["GP"],
            "regions": ["lumbar"],
            "start": "10:00",
            "end": "10:23",
            "diagnosis_pointers": [1],
            "documentation": {"response": "a: b", "goals": None},
        },
        {"code": "97110", "minutes": 15, "modifiers": ["GP", "59"]},
    ],
}
TEXT = json.dumps(VALID)


@contextmanager
def _one_path() -> Iterator[None]:
    """The parser without the typed decode (msgspec still decodes, as before)."""
    typed = parsing._TYPED
    parsing._TYPED = None
    try:
        yield
    finally:
        parsing._TYPED = typed


def _pure(data: str | bytes) -> Session | tuple[tuple[str, str], ...]:
    with _one_path():
        try:
            return load_session(data)
        except InvalidSessionError as exc:
            return exc.errors


def assert_shortcut_agrees(data: str | bytes) -> Session | None:
    """``_typed(data)`` is None or the one path's Session; load_session answers as it."""
    fast = parsing._typed(data)
    pure = _pure(data)
    if fast is not None:
        assert isinstance(pure, Session), "the shortcut accepted what the path rejects"
        assert fast == pure
        assert dump_session(fast) == dump_session(pure)
    try:
        got: object = load_session(data)
    except InvalidSessionError as exc:
        got = exc.errors
    assert got == pure
    return fast


def test_the_usual_session_takes_the_shortcut() -> None:
    assert assert_shortcut_agrees(TEXT) is not None
    assert assert_shortcut_agrees(TEXT.encode()) is not None
    assert assert_shortcut_agrees(json.dumps(VALID, separators=(",", ":"))) is not None


_LINE = '"minutes": 23'


@pytest.mark.parametrize(
    "text",
    [
        # a key given twice, at every level, with the same value, another one or null
        TEXT.replace('"payer": "medicare"', '"payer": "medicare", "payer": "medicare"'),
        TEXT.replace(_LINE, _LINE + ", " + _LINE),
        TEXT.replace(_LINE, '"minutes": null, ' + _LINE),
        TEXT.replace(_LINE, _LINE + ', "minutes": null'),
        TEXT.replace('"npi"', '"npi": "1234567893", "npi"'),
        TEXT.replace('"signed"', '"signed": null, "signed"'),
        TEXT.replace('"goals": null', '"goals": null, "goals": null'),
        TEXT.replace('"response"', '"rationale": null, "rationale": "x", "response"'),
        # a key given twice where an escaped colon would hide it from a plain count
        TEXT.replace(_LINE, _LINE + ", " + _LINE).replace('"a: b"', '"a\\u003a b"'),
        # numbers and types msgspec reads its own way, or json does
        TEXT.replace(_LINE, '"minutes": 23.0'),
        TEXT.replace(_LINE, '"minutes": 2.3e1'),
        TEXT.replace(_LINE, '"minutes": -0'),
        TEXT.replace(_LINE, '"minutes": true'),
        TEXT.replace(_LINE, '"minutes": ' + "9" * 40),
        TEXT.replace("1820.5", "1e2"),
        TEXT.replace("1820.5", "1025.170"),
        TEXT.replace("1820.5", "1820.499999999999999999"),
        TEXT.replace("1820.5", "-0.0"),
        TEXT.replace("1820.5", "1e400"),
        TEXT.replace("1820.5", "NaN"),
        TEXT.replace("1820.5", "true"),
        TEXT.replace("1820.5", "0.001"),
        TEXT.replace("1820.5", "9" * 30),
        TEXT.replace('"progress_report": false', '"progress_report": 0'),
        # nulls, unknown keys, strings, whitespace
        TEXT.replace('"plan_of_care": {', '"plan_of_care": null, "x": {'),
        TEXT.replace('"treatment_day": 4', '"treatment_day": null'),
        TEXT.replace('"lines": [', '"lines": [null, '),
        TEXT.replace('"code": "97140"', '"code": "97140", "extra": 1'),
        TEXT.replace('"a: b"', '"\\ud800"'),
        TEXT.replace('"a: b"', '"a\ud800b"'),  # a lone surrogate in the str itself
        TEXT.replace('"a: b"', '"\\n\\"null: \\\\"'),
        TEXT.replace('"visit:1"', '"' + "x" * 65 + '"'),
        TEXT.replace('"visit:1"', '"' + "\U0001f600" * 64 + '"'),
        TEXT.replace('"visit:1"', '""'),
        TEXT.replace('"10:23"', '"09:59"'),
        TEXT.replace('"10:23"', '"24:00"'),
        TEXT.replace('"2026-04-30"', '"2026-02-30"'),
        TEXT.replace('"2026-04-30"', '"2026-01-30"'),
        TEXT.replace('"diagnosis_pointers": [1]', '"diagnosis_pointers": [3]'),
        TEXT.replace('["GP", "59"]', '["GP", "GP"]'),
        TEXT.replace('"1234567893"', '"1234567890"'),
        TEXT.replace('"start": "10:00", ', ""),
        TEXT.replace('"minutes": 15', '"minutes": 15, "assistant_minutes": 16'),
        TEXT.replace('"minutes": 15', '"assistant_minutes": 1'),
        "\ufeff" + TEXT,
        " \t\r\n" + TEXT + "\n\n",
        TEXT + "\x0b",
        TEXT + " {}",
    ],
)
def test_edges_agree(text: str) -> None:
    assert_shortcut_agrees(text)
    assert_shortcut_agrees(text.encode("utf-8", "surrogatepass"))


def test_a_key_given_twice_is_never_taken() -> None:
    """Each such text is answered by the one path (which reports the key)."""
    for text in (
        TEXT.replace(_LINE, '"minutes": null, ' + _LINE),
        TEXT.replace('"signed"', '"signed": null, "signed"'),
        TEXT.replace(_LINE, _LINE + ", " + _LINE),
    ):
        assert parsing._typed(text) is None
        assert parsing._typed(text.encode()) is None
        with pytest.raises(InvalidSessionError, match="has a key twice"):
            load_session(text)


def test_a_unicode_escape_is_left_to_the_path() -> None:
    """An escaped colon in a string would offset the count of a key given twice."""
    for text in (
        TEXT.replace('"a: b"', '"a\\u003a b"'),
        TEXT.replace(_LINE, _LINE + ", " + _LINE).replace('"a: b"', '"a\\u003a b"'),
    ):
        assert parsing._typed(text) is None
        assert parsing._typed(text.encode()) is None
    for text in (TEXT.replace('"a: b"', '"a\\n b"'), TEXT.replace('"a: b"', '"a\\"b"')):
        assert parsing._typed(text) is not None
        assert parsing._typed(text.encode()) is not None


# -- generated: sessions as JSON text, as they are and changed ------------------------

_EDITS: list[tuple[str, str]] = [
    (r'("minutes": )(\d+)', r"\1\2, \1\2"),  # a key twice, same value
    (r'("minutes": )(\d+)', r"\1null, \1\2"),  # a key twice, null first
    (r'("units": )(\d+)', r"\1\2.0"),  # a whole number with a fraction
    (r'("minutes": )(\d+)', r"\1\2e0"),  # ... or an exponent
    (r'("units": )(\d+)', r"\1-0"),
    (r'("treatment_day": )(\d+)', r"\g<1>123456789012345678901234567890"),
    (r'("pt_slp": )([\d.e+-]+)', r"\1\2e0"),
    (r'("ot": )([\d.e+-]+)', r"\g<1>1e2"),
    (r'("progress_report": )(\w+)', r"\g<1>1"),
    (r'("signed": )("[^"]*")', r"\1null"),
    (r'("code": )("[^"]*")', r'\1\2, "note": 1'),  # an unknown key
    (r'("response": )("[^"]*")', r'\1"\\ud83d"'),  # a lone surrogate
    (r'("id": )("[^"]*")', r'\1"a\\u003ab"'),  # an escaped colon
    (r"^", "\ufeff"),
    (r"^", " \n"),
    (r"$", "\t\r\n"),
    (r"(\[)", r"\1 "),
    (r"(\})$", r"\1,"),
]


@st.composite
def session_texts(draw: st.DrawFn) -> str:
    doc = draw(strategies.session_dicts() | strategies.invalid_session_dicts())
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    for pattern, replacement in draw(st.lists(st.sampled_from(_EDITS), max_size=3)):
        text = re.sub(pattern, replacement, text, count=1)
    if draw(st.booleans()):  # compact (strings may change too: both paths see the same)
        text = text.replace(", ", ",").replace(": ", ":")
    return text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(session_texts(), st.booleans())
def test_generated_texts_agree(text: str, as_bytes: bool) -> None:
    assert_shortcut_agrees(text.encode("utf-8", "surrogatepass") if as_bytes else text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.session_dicts())
def test_generated_valid_sessions_take_the_shortcut_or_say_why(doc: dict[str, Any]) -> None:
    """A valid session without a ``\\u`` escape is taken, and equals the path's."""
    text = json.dumps(doc, ensure_ascii=False)
    fast = assert_shortcut_agrees(text)
    assert fast is not None or "\\u" in text


def test_without_msgspec_the_one_path_gives_the_same_answers() -> None:
    """msgspec not importable: no shortcut, no compiled decoder, the same answers."""
    import subprocess
    import sys

    texts = [TEXT, TEXT.replace(_LINE, _LINE + ", " + _LINE), TEXT.replace("1820.5", "1e2")]
    script = (
        "import json, sys\n"
        "sys.modules['msgspec'] = None\n"
        "from cptrules import InvalidSessionError, dump_session, load_session, parsing\n"
        "assert parsing._TYPED is None and parsing._FAST is None\n"
        "out = []\n"
        "for text in json.load(sys.stdin):\n"
        "    try:\n"
        "        out.append(dump_session(load_session(text)))\n"
        "    except InvalidSessionError as exc:\n"
        "        out.append([list(e) for e in exc.errors])\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
    )
    expected: list[Any] = []
    for text in texts:
        try:
            expected.append(dump_session(load_session(text)))
        except InvalidSessionError as exc:
            expected.append([list(e) for e in exc.errors])
    assert json.loads(done.stdout) == expected


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _no_recount(data: str | bytes) -> Any:
    raise AssertionError("the keys were counted again")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.session_dicts(), st.booleans())
def test_the_keys_of_a_session_without_null_are_counted_once(
    doc: dict[str, Any], compact: bool
) -> None:
    """Without a null, every key is counted in one pass: no second decode."""
    doc = _without_nulls(doc)
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":") if compact else None)
    if "null" in text or "\\u" in text:
        return
    keys = parsing._TYPED_KEYS
    parsing._TYPED_KEYS = _no_recount
    try:
        assert parsing._typed(text) == load_session(doc)
    finally:
        parsing._TYPED_KEYS = keys


def test_a_key_given_twice_beside_an_escaped_colon_is_an_error() -> None:
    """The escaped colon decodes to a colon the text does not show, so the colon
    count alone would balance the key given twice: the text is read pair by pair."""
    text = TEXT.replace(_LINE, _LINE + ", " + _LINE).replace('"a: b"', '"a\\u003a b"')
    assert text.count(":") == TEXT.count(":")  # the count balances
    for data in (text, text.encode()):
        with pytest.raises(InvalidSessionError, match="has a key twice"):
            load_session(data)
