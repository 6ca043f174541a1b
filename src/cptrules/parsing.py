"""Strict session parsing: :func:`load_session` and :func:`dump_session`.

The parser reports every problem of one input at once, each as ``(path, message)``
(``lines[2].minutes``), and never echoes the offending value: only field names,
codes, modifiers, minutes and units may appear in a message, and an unknown key
is reported at its parent's path without its name. Unknown keys are errors, so a
typo cannot silently drop data. The fields, bounds and messages come from the
format's one declaration (:mod:`cptrules._schema`).

There is one path. Each reader tests the plain shape first (an exact ``str``,
``int``, ``list`` or ``dict`` within bounds, or a memo hit) and returns; only a
value that fails it goes on to the general tests, which accept the other Python
types a caller has (``datetime.date``, ``Decimal``, tuples, any ``Mapping``) and
build the error with its path. The models' constructors run the same readers
(:func:`validate`).

With the ``[fast]`` extra (msgspec), JSON text (``str`` or ``bytes``) is first
decoded straight into Structs mirroring the format, generated from the same
declaration, and only what msgspec cannot check is checked in Python, with the
memos and readers of the one path (see :func:`_typed`). That is a shortcut, not a
second parser: any doubt sends the input down the one path, which alone words
errors, so its sessions and errors are the same with the extra or without it.

A well-formed code or modifier the catalog does not know is *not* a parse error:
sessions carry E/M, imaging and other codes, and unknown modifiers become the
``modifier.unknown`` finding. Regions and techniques are closed vocabularies.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from types import GenericAlias
from typing import Annotated, Any

from . import _schema as S
from ._memo import Memo
from .catalog import catalog
from .errors import CptRulesError, InvalidSessionError
from .models import (
    BUILD,
    DISCIPLINES,
    VALIDATOR,
    Documentation,
    PlanOfCare,
    Provider,
    ServiceLine,
    Session,
    TherapyYtd,
)

__all__ = [
    "MAX_INPUT_BYTES",
    "MAX_LINES",
    "MAX_MINUTES",
    "MAX_TEXT",
    "MAX_UNITS",
    "dump_session",
    "load_session",
    "validate",
]

MAX_MINUTES = S.MAX_MINUTES
MAX_LINES = S.MAX_LINES
MAX_TEXT = S.MAX_TEXT
MAX_UNITS = S.MAX_UNITS
MAX_DOLLARS = S.MAX_DOLLARS
MAX_INPUT_BYTES = S.MAX_INPUT_BYTES

_Errors = list[tuple[str, str]]
#: Where a value sits: a path string, or the index of the line it belongs to.
_At = str | int

_TOP_KEYS = S.SESSION.keys
_LINE_KEYS = S.LINE.keys
_PROVIDER_KEYS = S.PROVIDER.keys
_POC_KEYS = S.PLAN_OF_CARE.keys
_DOC_KEYS = S.DOCUMENTATION.keys
_YTD_KEYS = S.THERAPY_YTD.keys

_DISCIPLINES = frozenset(DISCIPLINES)
_MUST_DISCIPLINE = S.PROVIDER["discipline"].message + " ".join(DISCIPLINES)

# Memo tables: each holds only exact ``str`` values the full check accepted, so a
# hit answers "valid" exactly as the check would. They fill as input arrives.
_MEMO = 65536
_DATES: Memo[str, dt.date] = Memo("parser dates", size=_MEMO)
_TIMES: Memo[str, dt.time] = Memo("parser clock times", size=1440)
_VALID: dict[re.Pattern[str], Memo[str, bool]] = {
    p: Memo(f"parser {name}", size=_MEMO)
    for p, name in (
        (S.CODE, "codes"),
        (S.MODIFIER, "modifiers"),
        (S.ICD10, "diagnoses"),
        (S.PAYER, "payers"),
    )
}
#: The same memos by their pattern's text: a compiled pattern's hash is computed
#: afresh on every lookup, over its compiled code, its text's is cached.
_SEEN: dict[str, Memo[str, bool]] = {p.pattern: memo for p, memo in _VALID.items()}
_NPIS: Memo[str, bool] = Memo("parser NPIs", size=_MEMO)
_MAX_DOLLARS_INT = int(MAX_DOLLARS)
# The hot path reads the memos' dicts directly: a hit is its commonest step, and
# clear_caches() empties these same dicts.
_DATE_HITS = _DATES
_TIME_HITS = _TIMES
_CODE_HITS = _VALID[S.CODE]
_MODIFIER_HITS = _VALID[S.MODIFIER]
_PAYER_HITS = _VALID[S.PAYER]

# Each model made from its fields' values without the model's own validation: the
# parser builds a model only from values it has just validated.
_build_provider = BUILD[Provider]
_build_plan = BUILD[PlanOfCare]
_build_ytd = BUILD[TherapyYtd]
_build_doc = BUILD[Documentation]
_build_line = BUILD[ServiceLine]
_build_session = BUILD[Session]


def _path(at: _At, name: str) -> str:
    """The path of ``name`` inside ``at`` (a path, or a line's index)."""
    if type(at) is int:
        return f"lines[{at}].{name}"
    return f"{at}.{name}" if at else name


def _plain(value: object) -> object:
    """A ``str`` subclass as a plain ``str`` (its own methods are never called)."""
    return str.__str__(value) if isinstance(value, str) else value


# -- objects ----------------------------------------------------------------------------


class _DupDict(dict[str, Any]):
    """A decoded JSON object that had some key twice (the parser reports it)."""


def _where(at: _At, name: str) -> str:
    """The path of object ``name`` inside ``at`` ("" names ``at`` itself)."""
    if name:
        return _path(at, name)
    return f"lines[{at}]" if type(at) is int else str(at)


def _object(
    value: object, keys: frozenset[str], at: _At, name: str, errs: _Errors
) -> dict[str, Any] | None:
    """``value`` as a dict holding only ``keys`` (errors for the rest); None if no mapping.

    The object sits at ``name`` inside ``at`` (see :func:`_where`).
    """
    if type(value) is dict:
        try:
            if keys.issuperset(value):
                return value
        except Exception:  # a key whose __hash__ or __eq__ raises is an unknown key
            pass
        items: list[tuple[object, object]] = list(value.items())
    elif isinstance(value, Mapping):
        try:
            items = list(value.items())
        except Exception:
            errs.append((_where(at, name), "could not be read"))
            return {}
        if type(value) is _DupDict:
            errs.append((_where(at, name), "has a key twice"))
    else:
        return None
    out: dict[str, Any] = {}
    unknown = 0
    for key, item in items:
        if type(key) is str and key in keys:
            out[key] = item
        else:
            unknown += 1
    if unknown:
        message = "unknown key" if unknown == 1 else f"{unknown} unknown keys"
        errs.append((_where(at, name), message))
    return out


# -- scalar readers: (value, field, where, errors) -> value or None ---------------------


def _text_to_day(text: str) -> dt.date | None:
    if S.DATE.fullmatch(text) is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:  # well-formed but impossible, such as 2026-02-30
        return None


def _text_to_clock(text: str) -> dt.time | None:
    m = S.TIME.fullmatch(text)
    return None if m is None else dt.time(int(m.group(1)), int(m.group(2)))


def _day_or_clock(value: object, f: S.Field, at: _At, errs: _Errors) -> Any:
    """A date (``f.kind`` "date") or a clock time: ISO text, or the Python value itself."""
    is_date = f.kind == "date"
    memo: Memo[str, Any] = _DATES if is_date else _TIMES
    if type(value) is str:
        hit = memo.get(value)
        if hit is not None:
            return hit
    elif is_date:
        if type(value) is dt.date:
            return value
    elif type(value) is dt.time and value.second == value.microsecond == 0 and not value.tzinfo:
        return value
    value = _plain(value)
    if type(value) is str:
        got = _text_to_day(value) if is_date else _text_to_clock(value)
        if got is not None:
            return memo.put(value, got)
    errs.append((_path(at, f.name), f.message))
    return None


_date = _day_or_clock
_time = _day_or_clock


def _int(value: object, f: S.Field, at: _At, errs: _Errors) -> int | None:
    if type(value) is int and f.lo <= value <= f.hi:
        return value
    errs.append((_path(at, f.name), f.message))
    return None


def _matches(value: str, pattern: re.Pattern[str]) -> bool:
    """Whether ``value`` fully matches ``pattern`` (memoised per pattern)."""
    seen = _SEEN.get(pattern.pattern)
    if seen is None:
        return pattern.fullmatch(value) is not None
    if value in seen:
        return True
    if pattern.fullmatch(value) is None:
        return False
    seen.put(value, True)
    return True


def _pattern(value: object, f: S.Field, at: _At, errs: _Errors) -> str | None:
    assert f.pattern is not None
    value = _plain(value)
    if type(value) is str and _matches(value, f.pattern):
        return value
    errs.append((_path(at, f.name), f.message))
    return None


def _text(value: object, f: S.Field, at: _At, errs: _Errors) -> str | None:
    if type(value) is str and len(value) <= f.hi:
        return value
    value = _plain(value)
    if type(value) is not str:
        errs.append((_path(at, f.name), f.message))
    elif len(value) > f.hi:
        errs.append((_path(at, f.name), f"must be at most {f.hi} characters"))
    else:
        return value
    return None


def _id(value: object, f: S.Field, at: _At, errs: _Errors) -> str | None:
    value = _plain(value)
    if type(value) is str and f.lo <= len(value) <= f.hi:
        return value
    errs.append((_path(at, f.name), f.message))
    return None


def _optional(value: object, f: S.Field, read: Any, errs: _Errors) -> Any:
    """``read`` of a session-level value that may be absent or null."""
    return None if value is None else read(value, f, "", errs)


_VOCABS: dict[str, Mapping[str, object]] = {}


def _vocab(f: S.Field) -> Mapping[str, object]:
    """The catalog's vocabulary of ``f`` (read on first use: importing reads no data)."""
    assert f.vocab is not None
    vocab = _VOCABS.get(f.vocab)
    if vocab is None:
        cat = catalog()
        vocab = _VOCABS[f.vocab] = cat.regions if f.vocab == "regions" else cat.techniques
    return vocab


#: What a list field's items are known to be, by field name: the memo of its
#: pattern (strings seen valid so far) or its vocabulary.
_KNOWN: dict[str, Mapping[str, object]] = {}


def _known(f: S.Field) -> Mapping[str, object]:
    known = _KNOWN[f.name] = _vocab(f) if f.pattern is None else _SEEN[f.pattern.pattern]
    return known


def _strs(value: object, f: S.Field, at: _At, errs: _Errors) -> tuple[str, ...]:
    """A list of distinct strings, each matching the field's pattern or vocabulary."""
    known = _KNOWN.get(f.name) or _known(f)
    if (type(value) is list or type(value) is tuple) and len(value) <= f.hi:
        for item in value:
            if type(item) is not str or (
                item not in known and (f.pattern is None or not _matches(item, f.pattern))
            ):
                break
        else:
            if len(value) < 2 or len(set(value)) == len(value):
                return tuple(value)
    path = _path(at, f.name)
    if not isinstance(value, list | tuple):
        errs.append((path, "must be a list"))
        return ()
    if len(value) > f.hi:
        errs.append((path, f"must hold at most {f.hi} items"))
        return ()
    out: list[str] = []
    for i, item in enumerate(value):
        text = _plain(item)
        if type(text) is not str or not (
            _matches(text, f.pattern) if f.pattern is not None else text in _vocab(f)
        ):
            errs.append((f"{path}[{i}]", f"must be {f.message}"))
        elif text in out:
            errs.append((f"{path}[{i}]", f"duplicate {text}" if len(text) <= 40 else "duplicate"))
        else:
            out.append(text)
    return tuple(out)


def _pointers(value: object, f: S.Field, at: _At, n: int | None, errs: _Errors) -> tuple[int, ...]:
    """Distinct 1-based pointers into ``n`` diagnoses (None: the diagnoses were bad)."""
    if (type(value) is list or type(value) is tuple) and len(value) <= f.hi:
        top = n if n is not None else 0
        for item in value:
            if type(item) is not int or not f.lo <= item <= top:
                break
        else:
            if len(value) < 2 or len(set(value)) == len(value):
                return tuple(value)
    path = _path(at, f.name)
    if not isinstance(value, list | tuple) or len(value) > f.hi:
        errs.append((path, f.message))
        return ()
    out: list[int] = []
    for j, ptr in enumerate(value):
        if type(ptr) is not int or ptr < f.lo:
            errs.append((f"{path}[{j}]", f"must be a whole number from {f.lo}"))
        elif n is not None and ptr > n:
            errs.append((f"{path}[{j}]", f"points past the {n} diagnoses"))
        elif ptr in out:
            errs.append((f"{path}[{j}]", "duplicate pointer"))
        else:
            out.append(ptr)
    return tuple(out)


def _dollars(value: object, f: S.Field, at: _At, errs: _Errors) -> Decimal | None:
    if type(value) is float and 0.0 <= value < 1e7:  # False for NaN
        # repr() is the shortest text that reads back as the float: plain
        # "digits.digits" from 1e-4 up, in whole cents exactly when the "." is among
        # its last 3 characters (below 1e-4 it is "...e-05", never whole cents).
        text = repr(value)
        if "." in text[-3:]:
            return Decimal(text)
    if type(value) is int:
        if 0 <= value < _MAX_DOLLARS_INT:
            return Decimal(value)  # exponent 0: whole cents
        amount = Decimal(value) if -1 < value < 10**12 else None
    elif type(value) is float:
        amount = Decimal(repr(value))
    elif type(value) is Decimal:
        amount = value
    else:
        amount = None
    if amount is None and type(value) is not int:
        errs.append((_path(at, f.name), f.message))
        return None
    if amount is None or not amount.is_finite() or amount < 0 or amount >= MAX_DOLLARS:
        errs.append((_path(at, f.name), f"must be from 0 to less than {MAX_DOLLARS} dollars"))
        return None
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        errs.append((_path(at, f.name), "must be in whole cents"))
        return None
    return amount


def _npi_ok(npi: str) -> bool:
    """Luhn check over the NPI with the 80840 health-industry prefix (memoised)."""
    got = _NPIS.get(npi)
    if got is None:
        total = 0
        for i, c in enumerate(reversed("80840" + npi)):
            d = int(c)
            if i % 2 == 1:
                d = d * 2 - 9 if d > 4 else d * 2
            total += d
        got = _NPIS.put(npi, total % 10 == 0)
    return got


# -- objects of the format --------------------------------------------------------------

(
    _F_DOS,
    _F_PAYER,
    _F_PROVIDER,
    _F_LINES,
    _F_DIAGNOSES,
    _F_POC,
    _F_DAY,
    _F_PROGRESS,
    _F_YTD,
    _F_TOTAL,
    _F_ID,
    _F_PATIENT,
) = S.SESSION.fields
_F_NPI = S.PROVIDER["npi"]
_F_POC_DATES = S.PLAN_OF_CARE.fields
_F_PT, _F_OT = S.THERAPY_YTD.fields
_F_DOC_TEXT = S.DOCUMENTATION.fields
(
    _F_CODE,
    _F_MINUTES,
    _F_UNITS,
    _F_MODIFIERS,
    _F_REGIONS,
    _F_TECHNIQUES,
    _F_ASSISTANT,
    _F_POINTERS,
    _F_MUSCLES,
    _F_LSTART,
    _F_LEND,
    _F_DOC,
) = S.LINE.fields

_PROVIDERS: Memo[tuple[str, str | None], Provider] = Memo("parser providers", size=4096)
_MAX_MIN = _F_MINUTES.hi
_MAX_UNITS = _F_UNITS.hi


def _provider(value: object, errs: _Errors) -> Provider | None:
    if type(value) is dict and len(value) <= 2:
        d, npi = value.get("discipline"), value.get("npi")
        if type(d) is str and (npi is None or type(npi) is str):
            hit = _PROVIDERS.get((d, npi))
            if hit is not None and len(value) == 1 + ("npi" in value):
                return hit
    if isinstance(value, Provider):
        return value
    obj = _object(value, _PROVIDER_KEYS, "", "provider", errs)
    if obj is None:
        errs.append(("provider", _F_PROVIDER.message))
        return None
    n = len(errs)
    discipline: Any = _plain(obj.get("discipline"))
    if "discipline" not in obj:
        errs.append(("provider.discipline", "is required"))
    elif type(discipline) is not str or discipline not in _DISCIPLINES:
        errs.append(("provider.discipline", _MUST_DISCIPLINE))
    npi = obj.get("npi")
    if npi is not None:
        npi = _pattern(npi, _F_NPI, "provider", errs)
        if npi is not None and not _npi_ok(npi):
            errs.append(("provider.npi", "fails the NPI check digit"))
    if len(errs) != n:
        return None
    assert type(discipline) is str
    return _PROVIDERS.put((discipline, npi), _build_provider(discipline, npi))


def _plan_of_care(value: object, errs: _Errors) -> PlanOfCare | None:
    if type(value) is dict:  # the usual plan: known dates in order, no other key
        raw_start, raw_end, raw_signed = value.get("start"), value.get("end"), value.get("signed")
        if (
            type(raw_start) is str
            and type(raw_end) is str
            and (raw_signed is None or type(raw_signed) is str)
            and len(value) == 2 + ("signed" in value)
        ):
            start, end = _DATE_HITS.get(raw_start), _DATE_HITS.get(raw_end)
            signed = None if raw_signed is None else _DATE_HITS.get(raw_signed)
            if (
                start is not None
                and end is not None
                and start <= end
                and (signed is not None or raw_signed is None)
            ):
                plan: PlanOfCare = _build_plan(start, end, signed)
                return plan
    obj = _object(value, _POC_KEYS, "", "plan_of_care", errs)
    if obj is None:
        if isinstance(value, PlanOfCare):
            obj = {"start": value.start, "end": value.end, "signed": value.signed}
        else:
            errs.append(("plan_of_care", _F_POC.message))
            return None
    n = len(errs)
    dates = []
    for f in _F_POC_DATES:
        raw = obj.get(f.name)
        day = _DATE_HITS.get(raw) if type(raw) is str else None
        if day is None:
            if raw is not None or (f.required and f.name in obj):
                day = _date(raw, f, "plan_of_care", errs)
            elif f.required:
                errs.append((f"plan_of_care.{f.name}", "is required"))
        dates.append(day)
    start, end, signed = dates
    if start is not None and end is not None and end < start:
        errs.append(("plan_of_care.end", "is before plan_of_care.start"))
    if len(errs) != n or start is None or end is None:
        return None
    made: PlanOfCare = _build_plan(start, end, signed)
    return made


def _ytd(value: object, errs: _Errors) -> TherapyYtd | None:
    obj = _object(value, _YTD_KEYS, "", "therapy_ytd_allowed", errs)
    if obj is None:
        if isinstance(value, TherapyYtd):
            obj = {"pt_slp": value.pt_slp, "ot": value.ot}
        else:
            errs.append(("therapy_ytd_allowed", _F_YTD.message))
            return None
    n = len(errs)
    pt = obj.get("pt_slp")
    if pt is not None:
        pt = _dollars(pt, _F_PT, "therapy_ytd_allowed", errs)
    ot = obj.get("ot")
    if ot is not None:
        ot = _dollars(ot, _F_OT, "therapy_ytd_allowed", errs)
    if len(errs) != n:
        return None
    ytd: TherapyYtd = _build_ytd(pt, ot)
    return ytd


_HI_RESPONSE, _HI_RATIONALE, _HI_GOALS = (f.hi for f in _F_DOC_TEXT)


def _documentation(value: object, at: _At, errs: _Errors) -> Documentation | None:
    if type(value) is dict:  # the usual notes: strings within bounds, no other key
        response, rationale, goals = (
            value.get("response"),
            value.get("rationale"),
            value.get("goals"),
        )
        if (
            (response is None or (type(response) is str and len(response) <= _HI_RESPONSE))
            and (rationale is None or (type(rationale) is str and len(rationale) <= _HI_RATIONALE))
            and (goals is None or (type(goals) is str and len(goals) <= _HI_GOALS))
            and len(value) == ("response" in value) + ("rationale" in value) + ("goals" in value)
        ):
            doc: Documentation = _build_doc(response, rationale, goals)
            return doc
    obj = _object(value, _DOC_KEYS, at, "documentation", errs)
    if obj is None:
        if isinstance(value, Documentation):
            obj = {"response": value.response, "rationale": value.rationale, "goals": value.goals}
        else:
            errs.append((_path(at, "documentation"), _F_DOC.message))
            return None
    n = len(errs)
    texts = []
    for f in _F_DOC_TEXT:
        text = obj.get(f.name)
        if text is not None and not (type(text) is str and len(text) <= f.hi):
            text = _text(text, f, _path(at, "documentation"), errs)
        texts.append(text)
    if len(errs) != n:
        return None
    made: Documentation = _build_doc(*texts)
    return made


def _line(value: object, at: _At, n_diagnoses: int | None, errs: _Errors) -> ServiceLine | None:
    """One service line; ``at`` is its index in the session ("" for a line on its own)."""
    if isinstance(value, ServiceLine):  # valid on its own: check it against the session
        if value.diagnosis_pointers:
            _pointers(value.diagnosis_pointers, _F_POINTERS, at, n_diagnoses, errs)
        return value
    n = len(errs)
    try:
        plain = type(value) is dict and _LINE_KEYS.issuperset(value)
    except Exception:  # a key whose __hash__ or __eq__ raises: _object says so
        plain = False
    if plain:
        obj: dict[str, Any] = value  # type: ignore[assignment]  # a dict, tested above
    else:
        got = _object(value, _LINE_KEYS, at, "", errs)
        if got is None:
            errs.append((_where(at, ""), "must be an object"))
            return None
        obj = got
    get = obj.get
    code = get("code")
    if type(code) is not str or (code not in _CODE_HITS and not _matches(code, S.CODE)):
        if "code" not in obj:
            errs.append((_path(at, "code"), "is required"))
        else:
            code = _pattern(code, _F_CODE, at, errs)
    minutes = get("minutes")
    if minutes is not None and not (type(minutes) is int and 0 <= minutes <= _MAX_MIN):
        minutes = _int(minutes, _F_MINUTES, at, errs)
    units = get("units")
    if units is not None and not (type(units) is int and 0 <= units <= _MAX_UNITS):
        units = _int(units, _F_UNITS, at, errs)
    modifiers = get("modifiers")
    if modifiers is None:
        modifiers = ()
    elif (
        type(modifiers) is list
        and len(modifiers) == 1
        and type(modifiers[0]) is str
        and modifiers[0] in _MODIFIER_HITS
    ):  # one known modifier: the commonest line of all
        modifiers = (modifiers[0],)
    else:
        modifiers = _strs(modifiers, _F_MODIFIERS, at, errs)
    regions = get("regions")
    regions = () if regions is None else _strs(regions, _F_REGIONS, at, errs)
    techniques = get("techniques")
    techniques = () if techniques is None else _strs(techniques, _F_TECHNIQUES, at, errs)
    assistant = get("assistant_minutes")
    if assistant is not None:
        assistant = _int(assistant, _F_ASSISTANT, at, errs)
        if assistant is not None:
            if get("minutes") is None:
                errs.append((_path(at, "assistant_minutes"), "needs minutes on the same line"))
            elif minutes is not None and assistant > minutes:
                errs.append((_path(at, "assistant_minutes"), "must not exceed minutes"))
    pointers = get("diagnosis_pointers")
    if pointers is not None:
        if (
            type(pointers) is list
            and len(pointers) == 1
            and type(pointers[0]) is int
            and n_diagnoses is not None
            and 1 <= pointers[0] <= n_diagnoses
        ):
            pointers = (pointers[0],)
        else:
            pointers = _pointers(pointers, _F_POINTERS, at, n_diagnoses, errs)
    muscles = get("muscles")
    if muscles is not None:
        muscles = _int(muscles, _F_MUSCLES, at, errs)
    raw_start = get("start")
    raw_end = get("end")
    start = end = None
    if raw_start is not None or raw_end is not None:
        start = _TIME_HITS.get(raw_start) if type(raw_start) is str else None
        if start is None and raw_start is not None:
            start = _time(raw_start, _F_LSTART, at, errs)
        end = _TIME_HITS.get(raw_end) if type(raw_end) is str else None
        if end is None and raw_end is not None:
            end = _time(raw_end, _F_LEND, at, errs)
        if raw_start is None or raw_end is None:
            missing = "end" if raw_end is None else "start"
            errs.append((_path(at, missing), "start and end go together"))
        elif start is not None and end is not None and end < start:
            errs.append((_path(at, "end"), "is before start"))
    doc = get("documentation")
    if doc is not None:
        doc = _documentation(doc, at, errs)
    if len(errs) != n:
        return None
    line: ServiceLine = _build_line(
        code,
        minutes,
        units,
        modifiers,
        regions,
        techniques,
        assistant,
        () if pointers is None else pointers,
        muscles,
        start,
        end,
        doc,
    )
    return line


def _session(value: object, errs: _Errors) -> Session | None:
    obj = _object(value, _TOP_KEYS, "", "", errs)
    if obj is None:
        errs.append(("", "a session must be a JSON object"))
        return None
    get = obj.get
    dos = get("date_of_service")
    hit = _DATE_HITS.get(dos) if type(dos) is str else None
    if hit is not None:
        dos = hit
    elif dos is not None or "date_of_service" in obj:
        dos = _date(dos, _F_DOS, "", errs)
    else:
        errs.append(("date_of_service", "is required"))
    payer = get("payer")
    if type(payer) is not str or (payer not in _PAYER_HITS and not _matches(payer, S.PAYER)):
        if "payer" not in obj:
            errs.append(("payer", "is required"))
        else:
            payer = _pattern(payer, _F_PAYER, "", errs)
    provider = get("provider")
    if provider is not None or "provider" in obj:
        provider = _provider(provider, errs)
    else:
        errs.append(("provider", "is required"))

    diagnoses = get("diagnoses")
    n_diagnoses: int | None = 0
    if diagnoses is not None:
        n = len(errs)
        diagnoses = _strs(diagnoses, _F_DIAGNOSES, "", errs)
        n_diagnoses = len(diagnoses) if len(errs) == n else None
    plan = get("plan_of_care")
    if plan is not None:
        plan = _plan_of_care(plan, errs)
    day = _optional(get("treatment_day"), _F_DAY, _int, errs)
    progress = get("progress_report")
    if progress is not None and type(progress) is not bool:
        errs.append(("progress_report", _F_PROGRESS.message))
        progress = None
    ytd = get("therapy_ytd_allowed")
    if ytd is not None:
        ytd = _ytd(ytd, errs)
    total = _optional(get("total_treatment_minutes"), _F_TOTAL, _int, errs)
    sid = _optional(get("id"), _F_ID, _id, errs)
    patient = _optional(get("patient"), _F_PATIENT, _id, errs)

    raw = get("lines")
    lines = []
    if (type(raw) is list or type(raw) is tuple) and 0 < len(raw) <= MAX_LINES:
        for i, item in enumerate(raw):
            lines.append(_line(item, i, n_diagnoses, errs))
    elif "lines" not in obj:
        errs.append(("lines", "is required"))
    elif not isinstance(raw, list | tuple) or not raw:
        errs.append(("lines", _F_LINES.message))
    else:
        errs.append(("lines", f"must hold at most {MAX_LINES} lines"))

    if errs:
        return None
    session: Session = _build_session(
        dos,
        payer,
        provider,
        tuple(lines),
        () if diagnoses is None else diagnoses,
        plan,
        day,
        progress,
        ytd,
        total,
        sid,
        patient,
    )
    return session


# -- entry points -----------------------------------------------------------------------


class _Constant(ValueError):
    """NaN, Infinity or -Infinity in JSON text."""


def _reject_constant(name: str) -> object:
    raise _Constant(name)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    return out if len(out) == len(pairs) else _DupDict(pairs)


try:  # the [fast] extra: a compiled decoder tried first on JSON text
    from msgspec.json import Decoder as _FastDecoder
except ImportError:  # pragma: no cover - json alone
    _FAST: Any = None
else:
    _FAST = _FastDecoder().decode

# json.loads(text, ...) builds a decoder per call; build them once. The second sees
# every JSON object's pairs, so it finds a key given twice, at twice the cost.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_PAIRS_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_pairs)


def _text_of(data: str | bytes | bytearray | memoryview) -> str:
    """The JSON text of ``data``, bounded, UTF-8 checked, byte order mark dropped."""
    if isinstance(data, str):
        text = str.__str__(data)
        if len(text) > MAX_INPUT_BYTES:
            raise InvalidSessionError([("", f"more than {MAX_INPUT_BYTES} characters")])
    else:
        raw = bytes(data)
        if len(raw) > MAX_INPUT_BYTES:
            raise InvalidSessionError([("", f"more than {MAX_INPUT_BYTES} bytes")])
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidSessionError([("", f"not UTF-8 text (byte {exc.start})")]) from None
    return text[1:] if text.startswith("\ufeff") else text


_JSON_SPACE = " \t\n\r"


def _decode(text: str, decoder: json.JSONDecoder) -> object:
    """The JSON value of ``text``, scanned by ``decoder``'s C scanner.

    The scanner is called directly (``decode`` first and last matches a regular
    expression in Python); text that does not start with a value (leading
    whitespace, nothing) or has more than whitespace after it is left to
    ``decode``, which skips the whitespace or raises its own error.
    """
    scan: Any = decoder.scan_once  # type: ignore[attr-defined]  # set by __init__, not typed
    try:
        try:
            obj, end = scan(text, 0)
        except StopIteration:
            return decoder.decode(text)
        if end != len(text) and text[end:].strip(_JSON_SPACE):
            return decoder.decode(text)
        return obj
    except json.JSONDecodeError as exc:
        raise InvalidSessionError(
            [("", f"not valid JSON (line {exc.lineno}, column {exc.colno})")]
        ) from None
    except _Constant:
        raise InvalidSessionError([("", "not valid JSON (NaN or Infinity)")]) from None
    except ValueError:  # int(): more digits than the interpreter converts
        raise InvalidSessionError([("", "not valid JSON (a number has too many digits)")]) from None
    except RecursionError:
        raise InvalidSessionError([("", "JSON nested too deeply")]) from None


def _keys_given(obj: dict[str, Any], session: Session) -> int:
    """The colons the JSON text of valid ``session`` has if no key came twice.

    Every key in JSON text is followed by one ``:``, and in a valid session no other
    ``:`` stands outside the clock times, the documentation and the opaque ids. The
    decoded dicts hold each key once: their keys plus those colons is the text's
    count exactly when no key was given twice (a mismatch means "look closer").
    """
    keys = len(obj)
    colons = 0
    for name in ("provider", "plan_of_care", "therapy_ytd_allowed"):
        sub = obj.get(name)
        if type(sub) is dict:
            keys += len(sub)
    if session.id is not None:
        colons += session.id.count(":")
    if session.patient is not None:
        colons += session.patient.count(":")
    for raw in obj["lines"]:  # valid: every line a dict, every text a str or None
        keys += len(raw)
        if raw.get("start") is not None:  # with its end: "HH:MM" twice
            colons += 2
        doc = raw.get("documentation")
        if doc:
            keys += len(doc)
            for text in doc.values():
                if text:
                    colons += text.count(":")
    return keys + colons


# -- the typed decode (the [fast] extra) ------------------------------------------------
#
# With msgspec importable, JSON text is first decoded straight into Structs that
# mirror the format (built below from the one declaration in _schema, never typed
# here): msgspec checks the keys, the JSON types, the whole-number bounds and the
# lengths while it decodes. _typed then runs the checks msgspec cannot do, with the
# memos and readers above, and builds the models. It is a shortcut only: it gives a
# session or None, and None (any doubt at all) sends the input down the one path
# that words errors, so what it accepts is a subset of what that path accepts, with
# the same models.


def _struct_type(f: S.Field, struct: Any) -> Any:
    """The msgspec type of field ``f`` (``struct`` makes an object's Struct), or None."""
    import msgspec

    meta = msgspec.Meta
    kind = f.kind
    if kind in ("date", "time", "pattern", "enum"):
        return str
    if kind == "text":
        return Annotated[str, meta(max_length=f.hi)]  # code points, as len()
    if kind == "id":
        return Annotated[str, meta(min_length=f.lo, max_length=f.hi)]
    if kind == "int":
        return Annotated[int, meta(ge=f.lo, le=f.hi)]  # a float or a bool is refused
    if kind == "bool":
        return bool
    if kind == "strs":
        return Annotated[tuple[str, ...], meta(max_length=f.hi)]
    if kind == "pointers":
        return Annotated[tuple[Annotated[int, meta(ge=f.lo)], ...], meta(max_length=f.hi)]
    if kind == "dollars":  # numbers as floats and ints: _dollars reads them as the path does
        return int | float
    if kind == "object" and f.obj is not None:
        return struct(S.OBJECTS[f.obj])
    if kind == "lines":
        lines = GenericAlias(tuple, (struct(S.LINE), ...))
        return Annotated[lines, meta(min_length=f.lo, max_length=f.hi)]
    return None


#: Each Struct class of the decoders below: its fields holding Structs, by index,
#: with whether the field is a list of them (the service lines).
_NESTED: dict[type, tuple[tuple[int, bool], ...]] = {}


def _typed_decoders() -> tuple[Any, Any]:
    """msgspec's decoders of a session into Structs mirroring the format; Nones without it.

    The first decodes into Structs whose optional fields default to None, lists
    included: when the text holds no ``null``, their fields that are not None are
    exactly the keys given. The second, for text with a ``null``, into Structs whose
    optional fields default to UNSET, which tells an explicit null from a key left
    out: it only counts the keys given (see :func:`_typed`).
    """
    try:
        import msgspec
    except ImportError:  # pragma: no cover - json alone
        return None, None

    def decoder(missing: Any) -> Any:
        made: dict[str, Any] = {}

        def struct(obj: S.Obj) -> Any:
            if obj.name not in made:
                fields: list[Any] = []
                for f in obj.fields:
                    kind = _struct_type(f, struct)
                    if kind is None:  # a kind this mirror does not know: no shortcut
                        raise LookupError(f.kind)
                    if f.required:
                        fields.append((f.name, kind))
                    elif missing is None:
                        fields.append((f.name, kind | None, None))
                    else:
                        fields.append((f.name, kind | None | msgspec.UnsetType, missing))
                cls = msgspec.defstruct(
                    f"_{obj.name}", fields, kw_only=True, forbid_unknown_fields=True, gc=False
                )
                if tuple(cls.__struct_fields__) != tuple(f.name for f in obj.fields):
                    raise LookupError(obj.name)  # pragma: no cover - the models' order
                _NESTED[cls] = tuple(
                    (i, f.kind == "lines")
                    for i, f in enumerate(obj.fields)
                    if f.kind in ("object", "lines")
                )
                made[obj.name] = cls
            return made[obj.name]

        return msgspec.json.Decoder(struct(S.SESSION)).decode

    try:
        return decoder(None), decoder(msgspec.UNSET)
    except Exception:  # pragma: no cover - a kind this mirror lacks, an older msgspec
        return None, None


_TYPED, _TYPED_KEYS = _typed_decoders()
if _TYPED is not None:
    from msgspec import UNSET as _UNSET
    from msgspec.structs import astuple as _astuple
_BACKSLASH = ord("\\")
_N_TOP = len(S.SESSION.fields)
if (_N_TOP, len(S.LINE.fields)) != (12, 12):  # pragma: no cover - _typed unpacks 12 and 12
    _TYPED = None
#: Whether no vocabulary word holds a ":" (checked on first use): the duplicate-key
#: test counts the colons of the text and assumes a vocabulary word has none.
_VOCAB_PLAIN: list[bool] = []


def _vocab_plain() -> bool:
    if not _VOCAB_PLAIN:
        words = [*_vocab(_F_REGIONS), *_vocab(_F_TECHNIQUES), *DISCIPLINES]
        _VOCAB_PLAIN.append(not any(":" in w for w in words))
    return _VOCAB_PLAIN[0]


def _struct_keys(top: Any) -> int:
    """The keys given in the text of ``top``, decoded by ``_TYPED_KEYS`` (null kept)."""
    values = _astuple(top)
    n = len(values) - values.count(_UNSET)
    for i, many in _NESTED[type(top)]:
        value = values[i]
        if many:
            for item in value:
                n += _struct_keys(item)
        elif value is not None and value is not _UNSET:
            n += _struct_keys(value)
    return n


#: Plans of care found valid, by their dates' text (a model is immutable: shared).
_PLANS: Memo[tuple[str, str, str | None], PlanOfCare] = Memo("parser plans", size=4096)

#: Lists of strings found valid, by field: the whole tuple is looked up at once.
_LISTS: dict[str, Memo[tuple[str, ...], bool]] = {
    f.name: Memo(f"parser {f.name} lists", size=_MEMO)
    for f in (_F_DIAGNOSES, _F_MODIFIERS, _F_REGIONS, _F_TECHNIQUES)
}
_DIAGNOSIS_LISTS = _LISTS[_F_DIAGNOSES.name]
_MODIFIER_LISTS = _LISTS[_F_MODIFIERS.name]
_REGION_LISTS = _LISTS[_F_REGIONS.name]
_TECHNIQUE_LISTS = _LISTS[_F_TECHNIQUES.name]


def _strs_seen(value: tuple[str, ...], f: S.Field, errs: _Errors) -> tuple[str, ...]:
    """:func:`_strs` of a tuple not in its field's list memo, which it joins if valid."""
    n = len(errs)
    got = _strs(value, f, "", errs)
    if len(errs) == n:
        _LISTS[f.name].put(got, True)
    return got


def _typed(data: str | bytes) -> Session | None:
    """The session of JSON text ``data`` by the typed decode, or None for any doubt.

    A key given twice is found as the one path finds it: every ``:`` outside a
    string ends a key, so the text's colons are the keys given plus the colons
    inside strings (clock times, ids, documentation). The keys given are the
    Structs' fields that are not None, unless a key was given twice or with an
    explicit ``null``: then the text is decoded again into Structs that tell a null
    from a key left out, and counted exactly. Text with a ``\\u`` escape (which may
    hide a ``:`` inside a string) is left to the path.
    """
    if isinstance(data, str):
        if "\\" in data and "\\u" in data:
            return None
        colons = data.count(":")
    else:
        if _BACKSLASH in data and b"\\u" in data:  # an int in bytes: memchr, not a search
            return None
        colons = data.count(b":")
    if not (_VOCAB_PLAIN[0] if _VOCAB_PLAIN else _vocab_plain()):
        return None
    try:
        top = _TYPED(data)
    except Exception:  # the path says what is wrong, or reads it
        return None
    errs: _Errors = []  # scratch: any entry means "not by this path"
    values = _astuple(top)
    dos, payer, prov, raw_lines, diagnoses, plan, day, progress, ytd, total, sid, patient = values
    given = _N_TOP - values.count(None)
    in_strings = 0  # colons inside the strings that may hold one
    day_of_service = _DATE_HITS.get(dos)
    if day_of_service is None:
        day_of_service = _date(dos, _F_DOS, "", errs)
        if day_of_service is None:
            return None
    if payer not in _PAYER_HITS and not _matches(payer, S.PAYER):
        return None
    discipline, npi = prov.discipline, prov.npi
    given += 1 if npi is None else 2
    provider = _PROVIDERS.get((discipline, npi))
    if provider is None:
        if discipline not in _DISCIPLINES:
            return None
        if npi is not None and (S.NPI.fullmatch(npi) is None or not _npi_ok(npi)):
            return None
        provider = _PROVIDERS.put((discipline, npi), _build_provider(discipline, npi))
    if diagnoses is None:
        diagnoses = ()
    elif diagnoses not in _DIAGNOSIS_LISTS:
        diagnoses = _strs_seen(diagnoses, _F_DIAGNOSES, errs)
    n_diagnoses = len(diagnoses)
    if plan is not None:
        dates = _astuple(plan)
        given += 3 - dates.count(None)
        made = _PLANS.get(dates)
        if made is None:
            start, end, signed = dates
            start = _DATE_HITS.get(start) or _date(start, _F_POC_DATES[0], "", errs)
            end = _DATE_HITS.get(end) or _date(end, _F_POC_DATES[1], "", errs)
            if signed is not None:
                signed = _DATE_HITS.get(signed) or _date(signed, _F_POC_DATES[2], "", errs)
            if errs or end < start:
                return None
            made = _PLANS.put(dates, _build_plan(start, end, signed))
        plan = made
    if ytd is not None:
        pt, ot = ytd.pt_slp, ytd.ot
        if pt is not None:
            given += 1
            pt = _dollars(pt, _F_PT, "", errs)
        if ot is not None:
            given += 1
            ot = _dollars(ot, _F_OT, "", errs)
        ytd = _build_ytd(pt, ot)
    if sid is not None:
        in_strings += sid.count(":")
    if patient is not None:
        in_strings += patient.count(":")
    lines = []
    for raw in raw_lines:
        # the fields in the model's order (plain unpacking and a plain call: slices
        # and star-calls cost about 3,000 instructions a line)
        # fmt: off
        (code, minutes, units, modifiers, regions, techniques,
         assistant, pointers, muscles, start, end, doc) = _astuple(raw)
        # fmt: on
        # the line's keys given: code and each field not None (counted where tested)
        given += 1 + (minutes is not None) + (units is not None) + (muscles is not None)
        if code not in _CODE_HITS and not _matches(code, S.CODE):
            return None
        # each list given, a tuple of items found valid before, or checked now
        given += (modifiers is not None) + (regions is not None) + (techniques is not None)
        if modifiers is None:
            modifiers = ()
        elif modifiers not in _MODIFIER_LISTS:
            modifiers = _strs_seen(modifiers, _F_MODIFIERS, errs)
        if regions is None:
            regions = ()
        elif regions not in _REGION_LISTS:
            regions = _strs_seen(regions, _F_REGIONS, errs)
        if techniques is None:
            techniques = ()
        elif techniques not in _TECHNIQUE_LISTS:
            techniques = _strs_seen(techniques, _F_TECHNIQUES, errs)
        if assistant is not None:
            given += 1
            if minutes is None or assistant > minutes:
                return None
        if pointers is None:
            pointers = ()
        else:
            given += 1
            if not (len(pointers) == 1 and pointers[0] <= n_diagnoses):
                pointers = _pointers(pointers, _F_POINTERS, "", n_diagnoses, errs)
        if start is not None or end is not None:
            if start is None or end is None:
                return None
            start = _TIME_HITS.get(start) or _time(start, _F_LSTART, "", errs)
            end = _TIME_HITS.get(end) or _time(end, _F_LEND, "", errs)
            if errs or end < start:
                return None
            given += 2
            in_strings += 2  # "HH:MM" twice
        if doc is not None:
            texts = _astuple(doc)
            given += 4 - texts.count(None)  # the key and its texts not None
            for text in texts:
                if text:
                    in_strings += text.count(":")
            doc = _build_doc(*texts)
        # fmt: off
        lines.append(_build_line(code, minutes, units, modifiers, regions, techniques,
                                 assistant, pointers, muscles, start, end, doc))
        # fmt: on
    if errs:
        return None
    if colons != given + in_strings:
        # A key given twice, or an explicit null, which the Structs cannot tell from a
        # key left out: count the keys again, nulls kept apart.
        try:
            given = _struct_keys(_TYPED_KEYS(data))
        except Exception:  # pragma: no cover - both decoders read the same format
            return None
        if colons != given + in_strings:
            return None
    # fmt: off
    session: Session = _build_session(day_of_service, payer, provider, tuple(lines),
                                      diagnoses, plan, day, progress, ytd, total, sid, patient)
    # fmt: on
    return session


def _parse(data: object, errs: _Errors) -> Session | None:
    if (
        (type(data) is bytes or type(data) is str)
        and _TYPED is not None
        and len(data) <= MAX_INPUT_BYTES
    ):
        session = _typed(data)
        if session is not None:
            return session
    if type(data) is dict:
        return _session(data, errs)
    if not isinstance(data, str | bytes | bytearray | memoryview):
        return _session(data, errs)
    text = _text_of(data)
    # The compiled decoder (the [fast] extra) first. Its value is used only for a
    # session found valid: any other input is decoded again by json below, whose
    # errors and values (Infinity for 1e400, lone surrogates, its depth limit, met
    # a few levels sooner) are the parser's. What it refuses goes to json at once,
    # called from here as if it were alone (same stack depth, same depth limit).
    if _FAST is None:
        obj = _decode(text, _DECODER)
    else:
        try:
            obj = _FAST(text)
        except Exception:  # json says what is wrong, or reads it
            obj = _decode(text, _DECODER)
    session = _session(obj, errs)
    if (
        session is not None
        and type(obj) is dict
        and text.count(":") == _keys_given(obj, session)
        # an escape may hide a colon of the decoded strings from the count
        and "\\u" not in text
    ):
        return session
    # An error, colons unaccounted for or an escape: decode again, seeing every
    # object's pairs.
    errs.clear()
    return _session(_decode(text, _PAIRS_DECODER), errs)


def load_session(data: Mapping[str, Any] | str | bytes) -> Session:
    """Parse and validate one session from a mapping, a JSON string or JSON bytes.

    Raises :class:`~cptrules.InvalidSessionError` listing every problem with its
    path; never another exception, whatever the input. Besides JSON types it
    accepts ``datetime.date`` and ``datetime.time`` values, ``Decimal`` dollars,
    tuples for lists and any ``Mapping`` for objects. JSON text may start with a
    byte order mark; an object with the same key twice is an error.

    >>> s = load_session({"date_of_service": "2026-03-04", "payer": "medicare",
    ...     "provider": {"discipline": "PT"}, "lines": [{"code": "97140", "minutes": 23}]})
    >>> s.lines[0].minutes
    23
    >>> load_session({"payer": "medicare"})
    Traceback (most recent call last):
    ...
    cptrules.errors.InvalidSessionError: invalid session, 3 problems: date_of_service: is required; provider: is required; lines: is required
    """  # noqa: E501  (a doctest line cannot be wrapped)
    errs: _Errors = []
    try:
        session = _parse(data, errs)
    except CptRulesError:
        raise
    except Exception:  # a foreign object misbehaving (a Mapping whose items() raises, ...)
        errs.append(("", "could not be read"))
        session = None
    if session is None:
        raise InvalidSessionError(errs)
    return session


def validate(model: object) -> Any:
    """``model`` checked as the parser checks input; a valid copy (lists as tuples).

    The models' constructors call this; it raises
    :class:`~cptrules.InvalidSessionError` with every problem and its path.
    """
    errs: _Errors = []
    out = None
    try:
        out = _validate(model, errs)
    except CptRulesError:
        raise
    except Exception:
        errs.append(("", "could not be read"))
    if errs or out is None:
        raise InvalidSessionError(errs)
    return out


def _fields(model: object) -> dict[str, Any]:
    names = next(v for k, v in _ATTRS.items() if isinstance(model, k))
    return {name: getattr(model, name) for name in names}


_ATTRS: dict[type, tuple[str, ...]] = {
    cls: tuple(o.name for o in obj.fields)
    for cls, obj in (
        (Session, S.SESSION),
        (ServiceLine, S.LINE),
        (Provider, S.PROVIDER),
        (PlanOfCare, S.PLAN_OF_CARE),
        (TherapyYtd, S.THERAPY_YTD),
        (Documentation, S.DOCUMENTATION),
    )
}


def _validate(model: object, errs: _Errors) -> Any:
    fields = _fields(model)
    if isinstance(model, Session):
        return _session(fields, errs)
    if isinstance(model, ServiceLine):
        return _line(fields, "", None, errs)
    if isinstance(model, Provider):
        return _provider(fields, errs)
    if isinstance(model, PlanOfCare):
        return _plan_of_care(fields, errs)
    if isinstance(model, TherapyYtd):
        return _ytd(fields, errs)
    return _documentation(fields, "", errs)


# -- dump -------------------------------------------------------------------------------


def _dump_value(f: S.Field, value: Any) -> Any:
    kind = f.kind
    if kind == "date":
        return value.isoformat()
    if kind == "time":
        return value.strftime("%H:%M")
    if kind == "dollars":
        return int(value) if value == value.to_integral_value() else float(value)
    if kind in ("strs", "pointers"):
        return list(value)
    if kind == "lines":
        return [_dump(S.LINE, line) for line in value]
    if kind == "object":
        assert f.obj is not None
        return _dump(S.OBJECTS[f.obj], value)
    return value


def _dump(obj: S.Obj, model: object) -> dict[str, Any]:
    out: dict[str, Any] = {}
    last = None
    for f in obj.fields:
        value = getattr(model, f.name)
        if f.kind == "lines":
            last = f, value
        elif obj is S.PLAN_OF_CARE or (value is not None and value != ()):
            out[f.name] = None if value is None else _dump_value(f, value)
    if last is not None:
        out[last[0].name] = _dump_value(*last)
    return out


def dump_session(session: Session) -> dict[str, Any]:
    """The JSON-ready dict of a session; ``load_session(dump_session(s)) == s``.

    Absent optional fields are left out, so the output is canonical.
    """
    return _dump(S.SESSION, session)


VALIDATOR[:] = [validate]  # the models' constructors validate through it
