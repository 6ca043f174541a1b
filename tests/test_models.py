"""The public models validate on construction and accept the Python types a caller has.

Each test here is a reproducer of a trust problem of version 0.1 (it failed there).
"""

from __future__ import annotations

import datetime as dt
import json
import types
from decimal import Decimal
from typing import Any

import attrs
import pytest

import cptrules
from cptrules import (
    Documentation,
    Fix,
    InvalidSessionError,
    PlanOfCare,
    Provider,
    ServiceLine,
    Session,
    TherapyYtd,
    apply_fixes,
    check,
    dump_session,
    load_session,
)
from cptrules._schema import MAX_ID, MAX_INPUT_BYTES
from cptrules.errors import CptRulesError, InvalidFixError, NoRuleDataError

VISIT: dict[str, Any] = {
    "date_of_service": "2026-03-04",
    "payer": "medicare",
    "provider": {"discipline": "PT"},
    "lines": [{"code": "97110", "minutes": 33, "modifiers": ["GP"]}],
}


def _errors(call: Any) -> tuple[tuple[str, str], ...]:
    with pytest.raises(InvalidSessionError) as info:
        call()
    return info.value.errors


def test_a_hand_built_line_with_nonsense_is_rejected_with_paths() -> None:
    errs = _errors(lambda: ServiceLine(code="nonsense", minutes=-30, units=-2))
    assert [p for p, _ in errs] == ["code", "minutes", "units"]


def test_a_hand_built_session_of_wrong_types_raises_invalid_session_not_type_error() -> None:
    line = ServiceLine("97110", minutes=33)
    errs = _errors(
        lambda: Session(
            date_of_service=20260304,  # type: ignore[arg-type]  # the point
            payer="medicare",
            provider=Provider("PT"),
            lines=(line,),
            treatment_day="9",  # type: ignore[arg-type]
        )
    )
    assert [p for p, _ in errs] == ["date_of_service", "treatment_day"]


def test_an_iso_string_date_is_taken_as_the_date() -> None:
    session = Session("2026-03-04", "medicare", Provider("PT"), (ServiceLine("97110", 33),))  # type: ignore[arg-type]
    assert session.date_of_service == dt.date(2026, 3, 4)
    assert check(session).units[0].expected == 2


def test_lists_are_taken_for_tuples_and_the_models_stay_hashable() -> None:
    line = ServiceLine("97140", minutes=8, modifiers=["GP"], regions=["lumbar"])  # type: ignore[arg-type]
    session = Session(dt.date(2026, 3, 4), "medicare", Provider("PT"), [line], diagnoses=["M54.50"])  # type: ignore[arg-type]
    assert line.modifiers == ("GP",)
    assert isinstance(session.lines, tuple)
    assert hash(session) == hash(load_session(dump_session(session)))
    assert check(session).units[0].expected == 1


def test_cross_field_rules_hold_for_hand_built_sessions() -> None:
    line = ServiceLine("97110", minutes=33, diagnosis_pointers=(3,))
    errs = _errors(lambda: Session(dt.date(2026, 3, 4), "medicare", Provider("PT"), (line,)))
    assert errs == (("lines[0].diagnosis_pointers[0]", "points past the 0 diagnoses"),)
    assert _errors(lambda: PlanOfCare(dt.date(2026, 3, 4), dt.date(2026, 3, 1)))
    assert _errors(lambda: ServiceLine("97110", minutes=5, assistant_minutes=6))
    assert _errors(lambda: Provider("PT", "1234567890"))
    assert _errors(lambda: TherapyYtd(pt_slp=Decimal("0.001")))
    assert _errors(lambda: Documentation(goals=3))  # type: ignore[arg-type]


def test_evolve_validates_too() -> None:
    line = ServiceLine("97110", minutes=33)
    assert _errors(lambda: attrs.evolve(line, units=5000)) == (
        ("units", "must be a whole number from 0 to 999"),
    )


def test_load_session_takes_the_python_types_a_caller_has() -> None:
    data = {
        "date_of_service": dt.date(2026, 3, 4),
        "payer": "medicare",
        "provider": types.MappingProxyType({"discipline": "PT"}),
        "therapy_ytd_allowed": {"pt_slp": Decimal("1820.50")},
        "plan_of_care": {"start": dt.date(2026, 2, 1), "end": dt.date(2026, 4, 30)},
        "lines": ({"code": "97110", "minutes": 33, "modifiers": ("GP",)},),
    }
    session = load_session(data)  # type: ignore[arg-type]
    assert session == load_session(
        {
            **VISIT,
            "therapy_ytd_allowed": {"pt_slp": 1820.5},
            "plan_of_care": {"start": "2026-02-01", "end": "2026-04-30"},
        }
    )


def test_duplicate_json_keys_are_an_error() -> None:
    text = json.dumps(VISIT)[:-1] + ', "payer": "aetna"}'
    assert ("", "has a key twice") in _errors(lambda: load_session(text))
    nested = json.dumps(VISIT).replace('"minutes": 33', '"minutes": 33, "minutes": 8')
    assert _errors(lambda: load_session(nested)) == (("lines[0]", "has a key twice"),)
    # A colon inside documentation text does not hide or invent a duplicate.
    doc = {**VISIT, "lines": [{**VISIT["lines"][0], "documentation": {"goals": "a: b"}}]}
    assert load_session(json.dumps(doc)) == load_session(doc)


class _Hostile:
    """Hashes like "payer", so the dict compares it with "payer"; then raises."""

    armed = False

    def __eq__(self, other: object) -> bool:
        if self.armed:
            raise RuntimeError("boom")
        return False

    def __hash__(self) -> int:
        return hash("payer")


def test_objects_that_raise_on_comparison_are_input_errors() -> None:
    key = _Hostile()
    data: dict[Any, Any] = {**VISIT, key: 1}
    key.armed = True
    assert ("", "unknown key") in _errors(lambda: load_session(data))
    assert _errors(lambda: load_session({**VISIT, "payer": _Hostile()}))


class _BrokenMapping(dict):  # type: ignore[type-arg]
    def items(self) -> Any:
        raise RuntimeError("boom")


def test_a_mapping_that_raises_is_an_input_error() -> None:
    assert _errors(lambda: load_session({**VISIT, "provider": _BrokenMapping(discipline="PT")}))


def test_unknown_keys_are_named_by_their_parent_only() -> None:
    data = {**VISIT, "MRN8675309Q": 1, "provider": {"discipline": "PT", "Zyxwvut_Canaryson": 1}}
    errs = _errors(lambda: load_session(data))
    assert errs == (("", "unknown key"), ("provider", "unknown key"))
    assert "MRN" not in repr(errs)
    assert "Zyxwvut" not in repr(errs)


def test_a_date_before_the_rule_data_is_not_echoed() -> None:
    with pytest.raises(NoRuleDataError) as info:
        check({**VISIT, "date_of_service": "2019-05-06"})
    assert "2019" not in str(info.value)


def test_repr_hides_free_text_and_ids() -> None:
    line = {**VISIT["lines"][0], "documentation": {"response": "Canary Q. Patient felt better"}}
    session = load_session(
        {**VISIT, "id": "visit-Canary1", "patient": "pat-Canary2", "lines": [line]}
    )
    report = check(session)
    for text in (repr(session), str(session), repr(report), str(report), repr(session.lines[0])):
        assert "Canary" not in text
    assert "<hidden>" in repr(session)


def test_the_callers_id_is_echoed_as_id_in_the_report_only() -> None:
    report = check({**VISIT, "id": "visit-8812", "patient": "p-19"})
    doc = report.to_dict()
    assert list(doc)[:2] == ["ok", "id"]
    assert doc["id"] == "visit-8812"
    assert "p-19" not in json.dumps(doc)
    assert json.loads(cptrules.report.encode_report(report)) == doc
    assert "id" not in check(VISIT).to_dict()


@pytest.mark.parametrize("key", ["id", "patient"])
@pytest.mark.parametrize("value", ["", "x" * (MAX_ID + 1), 12, ["a"]])
def test_ids_are_bounded_strings(key: str, value: object) -> None:
    assert _errors(lambda: load_session({**VISIT, key: value})) == (
        (key, f"must be a string of 1 to {MAX_ID} characters"),
    )


def test_utf8_with_a_byte_order_mark_is_read() -> None:
    data = b"\xef\xbb\xbf" + json.dumps(VISIT).encode()
    assert load_session(data) == load_session(VISIT)
    assert load_session(data.decode("utf-8")) == load_session(VISIT)


def test_a_very_long_number_is_not_called_nan() -> None:
    errs = _errors(lambda: load_session('{"treatment_day": ' + "9" * 5000 + "}"))
    assert errs == (("", "not valid JSON (a number has too many digits)"),)


def test_input_over_the_size_bound_is_refused_before_decoding() -> None:
    big = " " * (MAX_INPUT_BYTES + 1)
    assert _errors(lambda: load_session(big)) == (("", f"more than {MAX_INPUT_BYTES} characters"),)
    assert _errors(lambda: load_session(big.encode())) == (
        ("", f"more than {MAX_INPUT_BYTES} bytes"),
    )


def test_fix_values_are_bounded_and_bad_fixes_are_library_errors() -> None:
    with pytest.raises(InvalidFixError):
        Fix("set_units", 0, 10**9)
    with pytest.raises(InvalidFixError):
        Fix("add_modifier", 0, "Jane Doe")
    session = load_session(VISIT)
    with pytest.raises(InvalidFixError):
        apply_fixes(session, [Fix("set_units", 5, 1)])
    with pytest.raises(InvalidFixError):
        apply_fixes(session, [Fix("remove_line", 0)])
    with pytest.raises(CptRulesError):
        apply_fixes(session, ["not a fix"])  # type: ignore[list-item]
    with pytest.raises(IndexError):  # as before
        apply_fixes(session, [Fix("set_units", 5, 1)])


def test_a_time_is_not_a_date_nor_a_date_a_time() -> None:
    assert _errors(lambda: load_session({**VISIT, "date_of_service": dt.time(0, 0)})) == (
        ("date_of_service", "must be an ISO date YYYY-MM-DD"),
    )
    line = {**VISIT["lines"][0], "start": dt.date(2026, 3, 4), "end": dt.time(10, 30)}
    assert _errors(lambda: load_session({**VISIT, "lines": [line]})) == (
        ("lines[0].start", "must be a 24-hour clock time HH:MM"),
    )
    line = {**VISIT["lines"][0], "start": dt.time(10, 0), "end": dt.time(10, 30, 5)}
    assert _errors(lambda: load_session({**VISIT, "lines": [line]})) == (
        ("lines[0].end", "must be a 24-hour clock time HH:MM"),
    )
    line = {**VISIT["lines"][0], "start": dt.time(10, 0), "end": dt.time(10, 30)}
    assert load_session({**VISIT, "lines": [line]}).lines[0].end == dt.time(10, 30)


def test_parsed_models_are_exactly_the_models_built_by_hand() -> None:
    """The parser builds models without their ``__init__``: the result is the same."""
    data = {
        **VISIT,
        "diagnoses": ["M54.50"],
        "plan_of_care": {"start": "2026-02-01", "end": "2026-04-30"},
        "therapy_ytd_allowed": {"pt_slp": 10.5},
        "lines": [
            {
                "code": "97140",
                "minutes": 23,
                "modifiers": ["GP"],
                "diagnosis_pointers": [1],
                "documentation": {"response": "r"},
            }
        ],
    }
    parsed = load_session(data)
    line = ServiceLine(
        "97140", 23, modifiers=["GP"], diagnosis_pointers=[1], documentation=Documentation("r")
    )
    by_hand = Session(
        dt.date(2026, 3, 4),
        "medicare",
        Provider("PT"),
        [line],
        diagnoses=["M54.50"],
        plan_of_care=PlanOfCare(dt.date(2026, 2, 1), dt.date(2026, 4, 30)),
        therapy_ytd_allowed=TherapyYtd(Decimal("10.5")),
    )
    assert parsed == by_hand
    assert hash(parsed) == hash(by_hand)
    assert repr(parsed) == repr(by_hand)
    for got in (
        parsed,
        parsed.provider,
        parsed.plan_of_care,
        parsed.therapy_ytd_allowed,
        parsed.lines[0],
        parsed.lines[0].documentation,
    ):
        assert type(got) in (Session, Provider, PlanOfCare, TherapyYtd, ServiceLine, Documentation)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(got, "payer", "x")  # noqa: B010  (a frozen model refuses any store)
