"""Canary sweep: no patient data in any message, error, repr or CLI output.

Sessions carry a canary string in every position where patient data can hide:
documentation text, the opaque id and patient key, unknown keys at every level,
and junk values in every field. Whatever happens to them (load_session's errors,
check(), the report's messages, repr/str of models and reports, the CLI's text,
json and jsonl formats), no canary may appear; the caller's id may appear only
as the report's ``id``.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cptrules
from cptrules import InvalidSessionError, check, load_session
from cptrules._schema import OBJECTS, SESSION
from cptrules.cli import main
from cptrules.errors import CptRulesError

CANARY = "Zq7Canary"
ID_CANARY = "Zq7VisitId"

BASE: dict[str, Any] = {
    "date_of_service": "2026-03-04",
    "payer": "medicare",
    "provider": {"discipline": "PT"},
    "plan_of_care": {"start": "2026-02-01", "end": "2026-04-30", "signed": "2026-02-02"},
    "lines": [
        {"code": "97110", "minutes": 33, "units": 3, "modifiers": ["GP"]},
        {"code": "97140", "minutes": 7, "regions": ["lumbar"]},
    ],
}

#: Where an object of the format sits in BASE (lines and documentation: line 1).
_WHERE = {
    "session": (),
    "provider": ("provider",),
    "plan_of_care": ("plan_of_care",),
    "therapy_ytd_allowed": ("therapy_ytd_allowed",),
    "line": ("lines", 1),
    "documentation": ("lines", 1, "documentation"),
}


def _at(data: dict[str, Any], path: tuple[str | int, ...]) -> Any:
    node: Any = data
    for step in path:
        if isinstance(node, dict) and step not in node:
            node[step] = {}
        node = node[step]
    return node


@st.composite
def canary_sessions(draw: st.DrawFn) -> dict[str, Any]:
    data = json.loads(json.dumps(BASE))
    data["id"] = ID_CANARY
    data["patient"] = f"{CANARY}-patient"
    _at(data, _WHERE["documentation"]).update(
        {k: f"{CANARY} {k} text: DOB 1950-01-01" for k in ("response", "rationale", "goals")}
    )
    for name in draw(st.lists(st.sampled_from(sorted(_WHERE)), max_size=3)):
        # an unknown key shaped like a name or a record number, at that level
        key = draw(st.sampled_from([CANARY, f"MRN{CANARY}99", f"{CANARY}_Smith", f"x {CANARY}"]))
        _at(data, _WHERE[name])[key] = CANARY
    for _ in range(draw(st.integers(0, 3))):
        obj = OBJECTS[draw(st.sampled_from(sorted(_WHERE)))]
        field = draw(st.sampled_from(obj.fields))
        value = draw(
            st.sampled_from(
                [
                    CANARY,
                    [CANARY],
                    {CANARY: CANARY},
                    f"{CANARY}:{CANARY}",
                    CANARY * 5000,
                    f"1950-01-01 {CANARY}",
                ]
            )
        )
        # (an earlier draw may have replaced the parent: then there is no slot)
        with contextlib.suppress(TypeError, IndexError, KeyError):
            _at(data, _WHERE[obj.name])[field.name] = value
    return data


def _texts_of_report(report: cptrules.Report) -> list[str]:
    doc = report.to_dict()
    # the caller's id as given (a drawn field may have set it to another canary value)
    assert doc.get("id") == report.session.id
    doc.pop("id", None)
    return [json.dumps(doc), repr(report), str(report), repr(report.session)]


def _outputs(data: dict[str, Any]) -> list[str]:
    """Every text a caller or a log could see for ``data``."""
    out: list[str] = []
    try:
        session = load_session(data)
    except InvalidSessionError as exc:
        out += [str(exc), repr(exc), repr(exc.errors)]
        return out
    out += [repr(session), str(session), repr(session.lines)]
    try:
        report = check(session)
    except CptRulesError as exc:
        out += [str(exc), repr(exc)]
    else:
        out += _texts_of_report(report)
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(canary_sessions())
def test_no_canary_in_any_message_repr_or_error(data: dict[str, Any]) -> None:
    for text in _outputs(data) + _outputs(json.loads(json.dumps(data))):
        assert CANARY not in text
        assert ID_CANARY not in text
        assert "1950" not in text


def test_the_sweep_reaches_valid_sessions_with_every_free_text_position() -> None:
    clean = json.loads(json.dumps(BASE))
    clean["id"] = ID_CANARY
    clean["patient"] = f"{CANARY}-patient"
    _at(clean, _WHERE["documentation"])["goals"] = f"{CANARY} goals"
    report = check(clean)
    assert report.findings  # 3 units billed for 33 minutes: there are messages to read
    assert report.to_dict()["id"] == ID_CANARY
    for text in _texts_of_report(report):
        assert CANARY not in text
        assert ID_CANARY not in text
    assert {f.name for f in SESSION.fields if f.private} == {"id", "patient"}


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl"])
@pytest.mark.parametrize("valid", [True, False])
def test_cli_formats_carry_no_canary(
    fmt: str, valid: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(json.dumps(BASE))
    data["patient"] = f"{CANARY}-patient"
    _at(data, _WHERE["documentation"])["goals"] = f"{CANARY} goals"
    if not valid:
        data[f"MRN{CANARY}"] = CANARY
        data["lines"][0]["minutes"] = f"{CANARY}"
    text = json.dumps(data) + "\n"
    stdin = io.TextIOWrapper(io.BytesIO((text * (2 if fmt == "jsonl" else 1)).encode()))
    monkeypatch.setattr(sys, "stdin", stdin)
    code = main(["check", "-", "--format", fmt])
    out, err = capsys.readouterr()
    assert code == (1 if valid else 2) or (fmt == "jsonl" and code in (1, 2))
    assert out
    assert CANARY not in out + err
