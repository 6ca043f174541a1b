"""Strict parsing: every problem at once, with paths, never echoing input values."""

from __future__ import annotations

import copy
import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cptrules
from cptrules import InvalidSessionError, dump_session, load_session

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
    assert ("lines[0].minuts", "unknown key") in errs
    assert ("<key>", "unknown key") in errs
    assert "Jane" not in repr(errs)


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
