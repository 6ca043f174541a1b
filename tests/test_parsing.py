"""Strict parsing: every problem at once, with paths, never echoing input values."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import math
import re
from collections.abc import Collection
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cptrules
from cptrules import InvalidSessionError, _schema, dump_session, load_session, parsing, strategies

VALID: dict[str, Any] = {
    "date_of_service": "2026-03-04",
    "payer": "medicare",
    "provider": {"discipline": "PT", "npi": "1234567893"},
    "diagnoses": ["M54.50", "M62.81"],
    "plan_of_care": {"start": "2026-02-01", "end": "2026-04-30", "signed": "2026-02-10"},
    "treatment_day": 4,
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
            "start": "10:05",
            "end": "10:28",
            "documentation": {"response": "r", "rationale": "s", "goals": "g"},
        },
        {"code": "20561", "muscles": 3, "modifiers": ["GP"]},
    ],
}


def errors_of(data: object) -> tuple[tuple[str, str], ...]:
    with pytest.raises(InvalidSessionError) as info:
        load_session(data)  # type: ignore[arg-type]  # junk on purpose
    assert info.value.errors, "an InvalidSessionError must list its problems"
    return info.value.errors


def with_(path: list[str | int], value: object) -> dict[str, Any]:
    data = copy.deepcopy(VALID)
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


_DELETE = object()


def test_valid_session_parses_every_field() -> None:
    s = load_session(VALID)
    assert s.date_of_service == dt.date(2026, 3, 4)
    assert s.provider.npi == "1234567893"
    assert s.therapy_ytd_allowed is not None
    assert s.therapy_ytd_allowed.pt_slp == Decimal("1820.5")
    line = s.lines[0]
    assert line.modifiers == ("GP",)
    assert line.start == dt.time(10, 5)
    assert line.documentation is not None
    assert line.documentation.goals == "g"
    assert s.lines[1].muscles == 3


@pytest.mark.parametrize("form", ["dict", "str", "bytes"])
def test_input_forms_agree(form: str) -> None:
    text = json.dumps(VALID)
    data: object = {"dict": VALID, "str": text, "bytes": text.encode()}[form]
    assert load_session(data) == load_session(VALID)  # type: ignore[arg-type]  # all three forms


def test_round_trip_of_full_session() -> None:
    s = load_session(VALID)
    assert load_session(dump_session(s)) == s
    assert load_session(json.dumps(dump_session(s))) == s


@pytest.mark.parametrize(
    ("path", "value", "where"),
    [
        (["date_of_service"], "2026-02-30", "date_of_service"),
        (["date_of_service"], "20260304", "date_of_service"),
        (["date_of_service"], _DELETE, "date_of_service"),
        (["payer"], 7, "payer"),
        (["provider", "discipline"], "XX", "provider.discipline"),
        (["provider", "npi"], "1234567890", "provider.npi"),
        (["provider", "npi"], 1234567893, "provider.npi"),
        (["diagnoses", 0], "m54.5", "diagnoses[0]"),
        (["diagnoses", 1], "M54.50", "diagnoses[1]"),
        (["plan_of_care", "end"], "2026-01-01", "plan_of_care.end"),
        (["plan_of_care", "start"], _DELETE, "plan_of_care.start"),
        (["treatment_day"], 0, "treatment_day"),
        (["progress_report"], "no", "progress_report"),
        (["therapy_ytd_allowed", "pt_slp"], -1, "therapy_ytd_allowed.pt_slp"),
        (["therapy_ytd_allowed", "pt_slp"], 10.001, "therapy_ytd_allowed.pt_slp"),
        (["therapy_ytd_allowed", "pt_slp"], "100", "therapy_ytd_allowed.pt_slp"),
        (["total_treatment_minutes"], 1441, "total_treatment_minutes"),
        (["lines"], [], "lines"),
        (["lines", 0, "code"], "9714", "lines[0].code"),
        (["lines", 0, "code"], _DELETE, "lines[0].code"),
        (["lines", 0, "minutes"], -1, "lines[0].minutes"),
        (["lines", 0, "minutes"], 1441, "lines[0].minutes"),
        (["lines", 0, "minutes"], 2.5, "lines[0].minutes"),
        (["lines", 0, "minutes"], True, "lines[0].minutes"),
        (["lines", 0, "units"], "2", "lines[0].units"),
        (["lines", 0, "modifiers"], ["gp"], "lines[0].modifiers[0]"),
        (["lines", 0, "modifiers"], ["GP", "GP"], "lines[0].modifiers[1]"),
        (["lines", 0, "regions"], ["neck"], "lines[0].regions[0]"),
        (["lines", 0, "techniques"], ["cupping"], "lines[0].techniques[0]"),
        (["lines", 0, "assistant_minutes"], 24, "lines[0].assistant_minutes"),
        (["lines", 0, "diagnosis_pointers"], [3], "lines[0].diagnosis_pointers[0]"),
        (["lines", 0, "diagnosis_pointers"], [0], "lines[0].diagnosis_pointers[0]"),
        (["lines", 0, "end"], "10:00", "lines[0].end"),
        (["lines", 0, "end"], "25:00", "lines[0].end"),
        (["lines", 0, "end"], _DELETE, "lines[0].end"),
        (["lines", 0, "documentation"], {"response": 5}, "lines[0].documentation.response"),
        (["lines", 1, "muscles"], 0, "lines[1].muscles"),
    ],
)
def test_each_problem_names_its_path(path: list[str | int], value: object, where: str) -> None:
    errs = errors_of(with_(path, value))
    assert where in [p for p, _ in errs], errs


def test_every_problem_reported_at_once() -> None:
    data = with_(["lines", 0, "minutes"], -5)
    data["date_of_service"] = "yesterday"
    data["provider"]["discipline"] = "Chef"
    data["lines"][1]["code"] = "x"
    paths = {p for p, _ in errors_of(data)}
    assert {"date_of_service", "provider.discipline", "lines[0].minutes", "lines[1].code"} <= paths


def test_unknown_keys_are_errors_and_do_not_echo_names() -> None:
    data = copy.deepcopy(VALID)
    data["lines"][0]["minuts"] = 23
    data["Jane Q. Patient"] = "DOB 1950-01-01"
    errs = errors_of(data)
    assert ("lines[0]", "unknown key") in errs
    assert ("", "unknown key") in errs
    assert "Jane" not in repr(errs)
    assert "minuts" not in repr(errs)


def test_messages_never_echo_patient_text() -> None:
    secret = "Jane Q. Patient 1950-01-01 SSN"
    data = copy.deepcopy(VALID)
    data["payer"] = secret
    data["provider"]["npi"] = secret
    data["diagnoses"] = [secret]
    data["lines"][0]["documentation"] = {"response": 12, "rationale": secret * 2000}
    data["lines"][0]["regions"] = [secret]
    with pytest.raises(InvalidSessionError) as info:
        load_session(data)
    assert "Jane" not in str(info.value)
    assert "Jane" not in repr(info.value.errors)


def test_unknown_but_well_formed_codes_and_modifiers_parse() -> None:
    data = copy.deepcopy(VALID)
    data["lines"].append({"code": "99213", "modifiers": ["25", "ZZ"]})
    s = load_session(data)
    assert s.lines[-1].modifiers == ("25", "ZZ")


@pytest.mark.parametrize(
    "junk",
    [
        None,
        0,
        1.5,
        "",
        "null",
        "[]",
        "{",
        b"\xff\xfe",
        "NaN",
        '{"a": NaN}',
        [],
        [{}],
        "[" * 100_000,
    ],
)
def test_junk_documents_are_invalid_session_errors(junk: object) -> None:
    errors_of(junk)


def test_error_is_a_value_error_and_cptrules_error() -> None:
    with pytest.raises(ValueError, match="invalid session"):
        load_session({})
    with pytest.raises(cptrules.CptRulesError):
        load_session({})


def test_ten_thousand_lines_is_a_clear_error() -> None:
    data = copy.deepcopy(VALID)
    data["lines"] = [{"code": "97110", "minutes": 1}] * 10_000
    assert errors_of(data) == (("lines", "must hold at most 200 lines"),)


def test_cents_round_trip() -> None:
    data = with_(["therapy_ytd_allowed"], {"pt_slp": 2480.01})
    s = load_session(data)
    assert s.therapy_ytd_allowed is not None
    assert s.therapy_ytd_allowed.pt_slp == Decimal("2480.01")
    assert load_session(dump_session(s)) == s


# -- junk sweep: any shape of input gives a Session or InvalidSessionError -------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4)
    ),
    max_leaves=20,
)

TOP_FIELDS = list(VALID)
LINE_FIELDS = list(VALID["lines"][0])


@st.composite
def mutated(draw: st.DrawFn) -> object:
    """A valid session with some fields replaced by junk of any type."""
    data = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(0, 3))):
        line = data["lines"][draw(st.integers(0, 1))]
        line[draw(st.sampled_from(LINE_FIELDS))] = draw(json_values)
    for _ in range(draw(st.integers(0, 2))):
        data[draw(st.sampled_from(TOP_FIELDS))] = draw(json_values)
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, mutated(), json_values.map(json.dumps), st.binary(max_size=50)))
def test_junk_sweep(data: object) -> None:
    session, errors = _outcome(data)
    if session is None:
        assert errors
        assert all(isinstance(p, str) and isinstance(m, str) for p, m in errors)
    else:
        assert load_session(dump_session(session)) == session


def _outcome(data: object) -> tuple[cptrules.Session | None, tuple[tuple[str, str], ...]]:
    """A Session, or the errors of InvalidSessionError; any other exception propagates."""
    try:
        return load_session(data), ()  # type: ignore[arg-type]  # junk on purpose
    except InvalidSessionError as exc:
        return None, exc.errors


# -- odd shapes: a valid session with values in unusual shapes -----------------------
#
# Whatever the shape, load_session gives a Session or InvalidSessionError, leaves its
# input alone, and a Session it gives round-trips through dump_session.


class _Str(str):
    pass


class _Dict(dict):  # type: ignore[type-arg]  # any dict
    pass


class _List(list):  # type: ignore[type-arg]  # any list
    pass


def assert_sound(data: object) -> cptrules.Session | None:
    """load_session's answer, checked: input untouched, a Session round-trips."""
    before = repr(data)
    session, errors = _outcome(data)
    assert repr(data) == before, "parsing must not change its input"
    if session is None:
        assert errors
    else:
        assert load_session(dump_session(session)) == session
        assert session == _outcome(data)[0], "memo tables must not change an answer"
    return session


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.session_dicts())
def test_generated_valid_dicts_parse(data: dict[str, Any]) -> None:
    assert assert_sound(data) is not None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.invalid_session_dicts())
def test_generated_invalid_dicts_are_rejected(data: dict[str, Any]) -> None:
    assert assert_sound(data) is None


_ODD_FLOATS = [
    -0.0,
    0.0,
    float("nan"),
    float("inf"),
    -float("inf"),
    1e-05,
    0.0001,
    5e-324,
    0.1 + 0.2,
    9999999.999999998,
    1e7,
    2480.01,
    1.5e16,
]
_ODD_INTS = [0, 1, -1, 10**7, 10**30, -(10**30), 2**64, 1440, 1441, 200, 201]


def _nonascii_digit(text: str, draw: st.DrawFn) -> str:
    spots = [i for i, c in enumerate(text) if c.isdigit()]
    if not spots:
        return text + "\u0663"
    i = draw(st.sampled_from(spots))
    other = draw(st.sampled_from(["\u0660", "\u0663", "\uff11", "\u096b", "\U0001d7d8"]))
    return text[:i] + other + text[i + 1 :]


def _odd(value: object, draw: st.DrawFn) -> object:
    """``value`` in an unusual but maybe still valid shape, or a near miss."""
    if type(value) is str:
        return draw(
            st.sampled_from(
                [
                    _Str(value),
                    value + " ",
                    value.lower(),
                    value.upper(),
                    _nonascii_digit(value, draw),
                    value * 2,
                    "",
                    value.encode(),
                ]
            )
        )
    if type(value) is bool:
        return draw(st.sampled_from([int(value), not value, None, "true"]))
    if type(value) is int:
        return draw(
            st.sampled_from([True, False, float(value), value + 1, value - 1, str(value)])
            | st.sampled_from(_ODD_INTS)
        )
    if type(value) is float:
        whole = st.just(int(value)) if math.isfinite(value) else st.nothing()  # NaN: drawn before
        return draw(st.sampled_from(_ODD_FLOATS) | whole)
    if type(value) is dict:
        pick = draw(st.integers(0, 2))
        if pick == 0:
            return dict(reversed(list(value.items())))  # key order never matters
        if pick == 1:
            return _Dict(value)
        return {**value, draw(st.sampled_from(["note", 1, "Code"])): 1}
    if type(value) is list:
        pick = draw(st.integers(0, 3))
        if pick == 0:
            return _List(value)
        if pick == 1:
            return value + value[:1]  # a duplicate, or the same list when empty
        if pick == 2:
            return list(reversed(value))
        return value * 20  # over a limit
    return draw(st.sampled_from([1, "x", [], {}, True]))


def _slots(node: object, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) in a JSON-shaped tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            out.append((node, key))
            _slots(value, out)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.append((node, i))
            _slots(value, out)
    return out


@st.composite
def odd_sessions(draw: st.DrawFn) -> dict[str, Any]:
    """A valid session dict with one to three values in an odd shape (see _odd)."""
    data = draw(strategies.session_dicts())
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(data, [])
        container, key = draw(st.sampled_from(slots))
        container[key] = _odd(container[key], draw)
    return data


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(odd_sessions())
def test_odd_shapes_parse_or_fail_cleanly(data: dict[str, Any]) -> None:
    assert_sound(data)


@pytest.mark.parametrize(
    ("path", "value", "valid"),
    [
        # Odd but valid.
        (["date_of_service"], _Str("2026-03-04"), True),
        (["payer"], _Str("medicare"), True),
        (["provider"], _Dict(discipline="PT"), True),
        (["provider", "npi"], _Str("1234567893"), True),
        (["lines", 0, "code"], _Str("97140"), True),
        (["lines", 0, "modifiers"], [_Str("GP")], True),
        (["lines", 0, "modifiers"], _List(["GP"]), True),
        (["lines", 0, "start"], _Str("10:05"), True),
        (["lines", 0, "documentation", "goals"], _Str("g"), True),
        (["therapy_ytd_allowed", "pt_slp"], 10**6, True),
        (["therapy_ytd_allowed", "pt_slp"], -0.0, True),
        (["therapy_ytd_allowed", "pt_slp"], 0.0001 * 100, True),
        (["therapy_ytd_allowed", "pt_slp"], 9999999.99, True),
        (["date_of_service"], "2024-02-29", True),
        (["lines", 0, "start"], "00:00", True),
        (["lines", 0, "end"], "23:59", True),
        (["lines", 0, "end"], "10:05", True),
        (["lines", 0, "assistant_minutes"], 23, True),
        (["lines", 0, "modifiers"], [], True),
        (["lines", 0, "modifiers"], ["GP", "59", "XU"], True),
        (["lines", 0, "diagnosis_pointers"], [2, 1], True),
        (["lines", 0, "documentation"], {"goals": "g" * parsing.MAX_TEXT}, True),
        # Invalid.
        (["date_of_service"], "2026-02-30", False),
        (["date_of_service"], "2026-3-04", False),
        (["date_of_service"], "\uff12\uff10\uff12\uff16-03-04", False),
        (["date_of_service"], "\u0662026-03-04", False),
        (["date_of_service"], "2026-03-04\n", False),
        (["lines", 0, "start"], "\u0661\u0660:05", False),
        (["lines", 0, "start"], "24:00", False),
        (["lines", 0, "code"], "\uff197140", False),
        (["provider", "npi"], "\uff11234567893", False),
        (["provider", "npi"], "1234567890", False),
        (["lines", 0, "minutes"], True, False),
        (["lines", 0, "minutes"], 23.0, False),
        (["lines", 0, "minutes"], 10**100, False),
        (["lines", 0, "diagnosis_pointers"], [True], False),
        (["lines", 0, "diagnosis_pointers"], [1.0], False),
        (["lines", 0, "diagnosis_pointers"], [1, 1], False),
        (["lines", 0, "diagnosis_pointers"], [10**30], False),
        (["lines", 0, "modifiers"], ["GP", "GP"], False),
        (["lines", 0, "modifiers"], ["G\u0660"], False),
        (["lines", 0, "modifiers"], [["GP"]], False),
        (["lines", 0, "regions"], ["lumbar", "lumbar"], False),
        (["diagnoses"], ["M54.50", "M54.50"], False),
        (["treatment_day"], 2**64, False),
        (["progress_report"], 0, False),
        (["therapy_ytd_allowed", "pt_slp"], float("nan"), False),
        (["therapy_ytd_allowed", "pt_slp"], float("inf"), False),
        (["therapy_ytd_allowed", "pt_slp"], 1e-05, False),
        (["therapy_ytd_allowed", "pt_slp"], 0.1 + 0.2, False),
        (["therapy_ytd_allowed", "pt_slp"], 1e7, False),
        (["therapy_ytd_allowed", "pt_slp"], 10**30, False),
        (["therapy_ytd_allowed", "pt_slp"], True, False),
        (["lines", 0, "assistant_minutes"], 24, False),
        (["lines", 0, "documentation"], {"goals": "g" * (parsing.MAX_TEXT + 1)}, False),
        (["lines", 0, "end"], None, False),
        (["lines", 0, "end"], "10:04", False),
        (["lines"], [], False),
        (["lines", 0], [], False),
        (["lines", 0, "units"], parsing.MAX_UNITS + 1, False),
        (["lines", 1, "muscles"], 201, False),
        (["total_treatment_minutes"], parsing.MAX_MINUTES + 1, False),
        (["treatment_day"], 0, False),
        (["treatment_day"], 10_001, False),
        (["plan_of_care", "end"], "2026-01-31", False),
        (["plan_of_care", "signed"], "2026-02-31", False),
        (["provider", "discipline"], "pt", False),
        (["payer"], "Medicare", False),
        (["diagnoses", 0], "U07.1", False),
        (["lines", 0, "code"], "97140 ", False),
        (["lines", 0, "regions"], ["Lumbar"], False),
        (["lines", 0, "techniques"], ["joint_mobilization"] * 2, False),
        (["lines"], [{"code": "97110"}] * (parsing.MAX_LINES + 1), False),
    ],
)
def test_subtle_values(path: list[str | int], value: object, valid: bool) -> None:
    data = with_(path, value)
    for _ in range(2):  # twice: the second time the memo tables are warm
        assert (assert_sound(data) is not None) == valid


def test_dict_subclasses_parse_and_key_order_does_not_matter() -> None:
    assert assert_sound(_Dict(VALID)) == load_session(VALID)
    backwards = dict(reversed(list(VALID.items())))
    assert assert_sound(backwards) == load_session(VALID)


def test_memo_tables_hold_only_what_the_patterns_accept() -> None:
    digits = [str(d) for d in range(10)] + ["\u0660", "\uff11"]
    for h1, h2, m1, m2 in itertools.product(digits, repeat=4):
        text = f"{h1}{h2}:{m1}{m2}"
        match = _schema.TIME.fullmatch(text)
        errs: list[tuple[str, str]] = []
        got = parsing._time(text, _schema.LINE["start"], 0, errs)
        assert got == (dt.time(int(match[1]), int(match[2])) if match else None), text
    load_session(VALID)  # so that no table is empty
    tables: list[tuple[Collection[str], re.Pattern[str]]] = [
        (parsing._DATES, _schema.DATE),
        (parsing._TIMES, _schema.TIME),
        *((memo, pattern) for pattern, memo in parsing._VALID.items()),
    ]
    for table, pattern in tables:
        if pattern is not _schema.PAYER or table:
            assert table, pattern
        for key in table:
            assert type(key) is str
            assert pattern.fullmatch(key), key


_TEXT = json.dumps(VALID)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("\n" + _TEXT, None),
        (" " + _TEXT + " \t\r\n", None),
        (_TEXT + "\n\n", None),
        ("", "not valid JSON (line 1, column 1)"),
        (" ", "not valid JSON (line 1, column 2)"),
        (_TEXT + "\n{}", "not valid JSON (line 2, column 1)"),
        (_TEXT + "x", f"not valid JSON (line 1, column {len(_TEXT) + 1})"),
        (_TEXT + "\x0b", f"not valid JSON (line 1, column {len(_TEXT) + 1})"),  # not JSON space
        (_TEXT[:-1], f"not valid JSON (line 1, column {len(_TEXT)})"),
    ],
)
def test_json_text_around_the_value(text: str, error: str | None) -> None:
    """Whitespace before and after the value is JSON's; anything else is an error at its place."""
    if error is None:
        assert load_session(text) == load_session(VALID)
    else:
        with pytest.raises(InvalidSessionError) as exc:
            load_session(text)
        assert exc.value.errors == (("", error),)


def _answer(text: str) -> object:
    try:
        return dump_session(load_session(text))
    except InvalidSessionError as exc:
        return exc.errors


def test_the_compiled_decoder_changes_no_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the [fast] extra (msgspec) or json alone: the same sessions and errors."""
    pytest.importorskip("msgspec")
    assert parsing._FAST is not None
    texts = [
        _TEXT,
        _TEXT.replace('"minutes": 23', '"minutes": 23, "minutes": 24'),
        _TEXT.replace('"minutes": 23', '"minutes": 1e400'),
        _TEXT.replace('"minutes": 23', '"minutes": NaN'),
        _TEXT.replace('"minutes": 23', f'"minutes": {"9" * 30}'),
        _TEXT.replace('"response": "', '"response": "\\ud800'),
        _TEXT.replace("1820.5", "1820.499999999999999999"),
        _TEXT + "\x0b",
        " " + _TEXT,
    ]
    # msgspec reads a few levels deeper than json before giving up: json's answer holds
    texts += [
        _TEXT.replace('"minutes": 23', '"minutes": ' + "[" * n + "]" * n) for n in range(900, 1010)
    ]
    fast = [_answer(t) for t in texts]
    monkeypatch.setattr(parsing, "_FAST", None)
    monkeypatch.setattr(parsing, "_TYPED", None)
    assert [_answer(t) for t in texts] == fast
