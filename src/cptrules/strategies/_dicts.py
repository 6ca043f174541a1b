"""Corruptions that turn a valid session dict into one :func:`cptrules.load_session` rejects.

Each corruption is a small function of (draw, data) that edits the dict in
place and is guaranteed to produce at least one parse error; :func:`corrupt`
picks one. The list covers every kind of input problem the parser reports:
missing and unknown keys, wrong types, bad dates, codes, modifiers, regions,
techniques and NPIs, numbers out of range, pointers past the diagnoses,
assistant minutes over the minutes, clock times out of order, plans of care
ending before they start, duplicates and over-long lists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hypothesis.strategies as st

from .. import _schema as S

__all__: list[str] = []

Data = dict[str, Any]
Corruption = Callable[[st.DrawFn, Data], None]

CORRUPTIONS: list[Corruption] = []


def _corruption(func: Corruption) -> Corruption:
    CORRUPTIONS.append(func)
    return func


def _line(draw: st.DrawFn, data: Data) -> Data:
    lines: list[Data] = data["lines"]
    return lines[draw(st.integers(0, len(lines) - 1))]


_NOT_INT = st.sampled_from(["12", 12.5, True, [], {}, "twelve"])


def _out_of_range(f: S.Field) -> st.SearchStrategy[object]:
    """Whole numbers just outside, or far outside, the bounds of field ``f``; or no number."""
    return st.integers(f.lo - 1000, f.lo - 1) | st.integers(f.hi + 1, f.hi + 10**6) | _NOT_INT


@_corruption
def _missing_required(draw: st.DrawFn, data: Data) -> None:
    del data[draw(st.sampled_from(("date_of_service", "payer", "provider", "lines")))]


@_corruption
def _unknown_top_key(draw: st.DrawFn, data: Data) -> None:
    names = ("dos", "Payer", "line", "notes", "visit_id", "MRN")
    data[draw(st.sampled_from([n for n in names if n not in S.SESSION.keys]))] = "x"


@_corruption
def _unknown_line_key(draw: st.DrawFn, data: Data) -> None:
    _line(draw, data)[draw(st.sampled_from(("unit", "mins", "modifier", "cpt")))] = 1


@_corruption
def _unknown_provider_key(draw: st.DrawFn, data: Data) -> None:
    data["provider"][draw(st.sampled_from(("name", "taxonomy", "NPI")))] = "x"


@_corruption
def _bad_date(draw: st.DrawFn, data: Data) -> None:
    data["date_of_service"] = draw(
        st.sampled_from(["2026-02-30", "2026/03/04", "20260304", "04-03-2026", "", 20260304, None])
    )


@_corruption
def _bad_payer(draw: st.DrawFn, data: Data) -> None:
    data["payer"] = draw(st.sampled_from(["Medicare!", "", 7, None, " medicare"]))


@_corruption
def _bad_provider(draw: st.DrawFn, data: Data) -> None:
    which = draw(st.integers(0, 3))
    if which == 0:
        data["provider"] = draw(st.sampled_from(["PT", [], None, 1]))
    elif which == 1:
        data["provider"]["discipline"] = draw(st.sampled_from(["pt", "RN", "", 3]))
    elif which == 2:
        data["provider"]["npi"] = draw(st.sampled_from(["123", "12345678901", 1234567893, "abc"]))
    else:
        data["provider"]["npi"] = "1234567890"  # fails the check digit (1234567893 passes)


@_corruption
def _bad_code(draw: st.DrawFn, data: Data) -> None:
    _line(draw, data)["code"] = draw(
        st.sampled_from(["9714", "ABCDE", "97140-59", "971400", "", 97140, None])
    )


@_corruption
def _missing_code(draw: st.DrawFn, data: Data) -> None:
    del _line(draw, data)["code"]


@_corruption
def _minutes_out_of_range(draw: st.DrawFn, data: Data) -> None:
    line = _line(draw, data)
    line.pop("assistant_minutes", None)
    line["minutes"] = draw(_out_of_range(S.LINE["minutes"]))


@_corruption
def _units_out_of_range(draw: st.DrawFn, data: Data) -> None:
    _line(draw, data)["units"] = draw(_out_of_range(S.LINE["units"]))


@_corruption
def _assistant_over_minutes(draw: st.DrawFn, data: Data) -> None:
    line = _line(draw, data)
    line["minutes"] = draw(st.integers(0, 100))
    line["assistant_minutes"] = line["minutes"] + draw(st.integers(1, 50))


@_corruption
def _assistant_without_minutes(draw: st.DrawFn, data: Data) -> None:
    line = _line(draw, data)
    line.pop("minutes", None)
    line["assistant_minutes"] = draw(st.integers(0, 20))


@_corruption
def _pointer_past_diagnoses(draw: st.DrawFn, data: Data) -> None:
    n = len(data.get("diagnoses") or [])
    _line(draw, data)["diagnosis_pointers"] = [n + draw(st.integers(1, 5))]


@_corruption
def _bad_pointer(draw: st.DrawFn, data: Data) -> None:
    _line(draw, data)["diagnosis_pointers"] = draw(
        st.sampled_from([[0], [-1], ["1"], 1, [1, 1, 1, 1, 1]])
    )


@_corruption
def _bad_diagnosis(draw: st.DrawFn, data: Data) -> None:
    data["diagnoses"] = [draw(st.sampled_from(["M5450", "m54.50", "U07.1", "12345", "", 54]))]


@_corruption
def _bad_modifiers(draw: st.DrawFn, data: Data) -> None:
    line = _line(draw, data)
    line["modifiers"] = draw(
        st.sampled_from(
            [
                "GP",
                ["gp"],
                ["G"],
                ["GPX"],
                ["GP", "GP"],
                [59],
                [f"{i:02d}" for i in range(S.LINE["modifiers"].hi + 1)],
            ]
        )
    )


@_corruption
def _bad_region(draw: st.DrawFn, data: Data) -> None:
    _line(draw, data)["regions"] = [draw(st.sampled_from(["low_back", "Lumbar", "neck", 3]))]


@_corruption
def _bad_technique(draw: st.DrawFn, data: Data) -> None:
    _line(draw, data)["techniques"] = [
        draw(st.sampled_from(["cupping", "effleurage", "Dry Needling", ""]))
    ]


@_corruption
def _bad_times(draw: st.DrawFn, data: Data) -> None:
    line = _line(draw, data)
    which = draw(st.integers(0, 2))
    if which == 0:
        line["start"], line["end"] = "10:30", "10:05"
    elif which == 1:
        line.pop("end", None)
        line["start"] = "10:05"
    else:
        line["start"], line["end"] = draw(st.sampled_from([("25:00", "25:30"), ("9:5", "10:0")]))


@_corruption
def _bad_plan(draw: st.DrawFn, data: Data) -> None:
    which = draw(st.integers(0, 2))
    if which == 0:
        data["plan_of_care"] = {"start": "2026-04-30", "end": "2026-02-01", "signed": None}
    elif which == 1:
        data["plan_of_care"] = {"start": "2026-02-01"}
    else:
        data["plan_of_care"] = {"start": "2026-02-01", "end": "2026-04-31"}


@_corruption
def _bad_numbers(draw: st.DrawFn, data: Data) -> None:
    key = draw(st.sampled_from(("treatment_day", "total_treatment_minutes")))
    data[key] = draw(_out_of_range(S.SESSION[key]))


@_corruption
def _bad_ids(draw: st.DrawFn, data: Data) -> None:
    key = draw(st.sampled_from(("id", "patient")))
    f = S.SESSION[key]
    data[key] = draw(st.sampled_from(["", "x" * (f.hi + 1), 7, ["a"], {"a": 1}]))


@_corruption
def _bad_ytd(draw: st.DrawFn, data: Data) -> None:
    data["therapy_ytd_allowed"] = draw(
        st.sampled_from(
            [{"pt_slp": -1}, {"pt_slp": 10.001}, {"ot": "2000"}, {"total": 5}, [1820.5]]
        )
    )


@_corruption
def _bad_flags(draw: st.DrawFn, data: Data) -> None:
    data["progress_report"] = draw(st.sampled_from(["yes", 1, 0, "false"]))


@_corruption
def _bad_lines(draw: st.DrawFn, data: Data) -> None:
    data["lines"] = draw(st.sampled_from([[], {}, "97140", [None], [["97140", 23]]]))


@_corruption
def _bad_documentation(draw: st.DrawFn, data: Data) -> None:
    _line(draw, data)["documentation"] = draw(
        st.sampled_from(["tolerated well", {"response": 3}, {"summary": "x"}])
    )


@_corruption
def _bad_muscles(draw: st.DrawFn, data: Data) -> None:
    f = S.LINE["muscles"]
    _line(draw, data)["muscles"] = draw(st.sampled_from([f.lo - 1, f.hi + 1, "2", 2.0]))


def corrupt(draw: st.DrawFn, data: Data) -> Data:
    """Apply one drawn corruption to ``data`` (a fresh dict from dump_session) and return it."""
    draw(st.sampled_from(CORRUPTIONS))(draw, data)
    return data
