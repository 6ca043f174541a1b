"""Strict session parsing: :func:`load_session` and :func:`dump_session`.

The parser reports every problem of one input at once, each as ``(path, message)``
(``lines[2].minutes``), and never echoes the offending value: only field names,
codes, modifiers, minutes and units may appear in a message. Unknown keys are
errors, so a typo cannot silently drop data.

A well-formed code or modifier the catalog does not know is *not* a parse error:
sessions carry E/M, imaging and other codes, and unknown modifiers become the
``modifier.unknown`` finding. Regions and techniques are closed vocabularies.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from .catalog import catalog
from .errors import InvalidSessionError
from .models import (
    DISCIPLINES,
    Documentation,
    PlanOfCare,
    Provider,
    ServiceLine,
    Session,
    TherapyYtd,
)

__all__ = ["MAX_LINES", "MAX_MINUTES", "MAX_TEXT", "dump_session", "load_session"]

#: Most minutes one field may hold: a whole day.
MAX_MINUTES = 1440
#: Most service lines in one session.
MAX_LINES = 200
#: Longest free-text documentation field, in characters.
MAX_TEXT = 20_000
#: Most units one line may bill.
MAX_UNITS = 999
#: Largest year-to-date allowed amount accepted, in dollars.
MAX_DOLLARS = Decimal(10_000_000)

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)", re.ASCII)
# CPT (5 digits, or 4 digits + F/T/U/M for category II/III, PLA, MAAA) and HCPCS II.
_CODE = re.compile(r"\d{4}[0-9FTUM]|[A-V]\d{4}", re.ASCII)
_MODIFIER = re.compile(r"[A-Z0-9]{2}", re.ASCII)
# ICD-10-CM: letter (not U), digit, alphanumeric, optional dot and up to 4 more.
_ICD10 = re.compile(r"[A-TV-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?", re.ASCII)
_NPI = re.compile(r"\d{10}", re.ASCII)
_PAYER = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}", re.ASCII)
_SAFE_KEY = re.compile(r"[A-Za-z0-9_]{1,40}", re.ASCII)

_TOP_KEYS = frozenset(
    (
        "date_of_service",
        "payer",
        "provider",
        "diagnoses",
        "plan_of_care",
        "treatment_day",
        "progress_report",
        "therapy_ytd_allowed",
        "total_treatment_minutes",
        "lines",
    )
)
_LINE_KEYS = frozenset(
    (
        "code",
        "minutes",
        "units",
        "modifiers",
        "regions",
        "techniques",
        "assistant_minutes",
        "diagnosis_pointers",
        "muscles",
        "start",
        "end",
        "documentation",
    )
)
_PROVIDER_KEYS = frozenset(("discipline", "npi"))
_POC_KEYS = frozenset(("start", "end", "signed"))
_DOC_KEYS = frozenset(("response", "rationale", "goals"))
_YTD_KEYS = frozenset(("pt_slp", "ot"))

_Errors = list[tuple[str, str]]

_WHAT_MODIFIER = "a two-character modifier such as GP or 59"
_WHAT_REGION = "a known region (see the session format)"
_WHAT_TECH = "a known technique (see the session format)"


def _key_path(prefix: str, key: object) -> str:
    # A key may itself be patient data (a name typed as a key): echo only safe shapes.
    name = key if isinstance(key, str) and _SAFE_KEY.fullmatch(key) else "<key>"
    return f"{prefix}.{name}" if prefix else name


def _check_keys(
    obj: Mapping[Any, Any], allowed: frozenset[str], prefix: str, errs: _Errors
) -> None:
    if obj.keys() <= allowed:
        return
    for key in obj:
        if key not in allowed:
            errs.append((_key_path(prefix, key), "unknown key"))


def _int(value: object, path: str, lo: int, hi: int, errs: _Errors) -> int | None:
    if type(value) is not int or not lo <= value <= hi:
        errs.append((path, f"must be a whole number from {lo} to {hi}"))
        return None
    return value


_CACHE_MAX = 65536

# Memo tables of the fast path (and of the careful helpers where they help). A
# table holds only exact ``str`` values that the careful check accepted, so a hit
# answers "valid" exactly as the regex would; the open-ended ones are bounded.
# They fill as input arrives rather than at import, which they would slow down.
_DATES: dict[str, dt.date] = {}
_TIMES: dict[str, dt.time] = {}  # at most the 1,440 valid clock times
_MODIFIERS: set[str] = set()  # at most the 1,296 valid modifiers
_PAYERS: set[str] = set()
_CODES: set[str] = set()
_ICD10S: set[str] = set()
_DISCIPLINES = frozenset(DISCIPLINES)


def _new_date(value: str) -> dt.date | None:
    """The date of a ``str`` not yet in :data:`_DATES`, remembered; None if not a date."""
    if not _DATE.fullmatch(value):
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:  # well-formed but impossible, such as 2026-02-30
        return None
    if type(value) is str:
        if len(_DATES) >= _CACHE_MAX:
            _DATES.clear()
        _DATES[value] = day
    return day


def _new_time(value: str) -> dt.time | None:
    """The time of a ``str`` not yet in :data:`_TIMES`, remembered; None if not HH:MM."""
    m = _TIME.fullmatch(value)
    if not m:
        return None
    t = dt.time(int(m.group(1)), int(m.group(2)))
    if type(value) is str:
        _TIMES[value] = t
    return t


def _remember(value: str, pattern: re.Pattern[str], seen: set[str]) -> bool:
    """Whether ``value`` fully matches ``pattern``; a match is added to ``seen``."""
    if not pattern.fullmatch(value):
        return False
    if len(seen) >= _CACHE_MAX:
        seen.clear()
    seen.add(value)
    return True


def _date(value: object, path: str, errs: _Errors) -> dt.date | None:
    if type(value) is str:
        hit = _DATES.get(value)
        if hit is not None:
            return hit
    if isinstance(value, str):
        day = _new_date(value)
        if day is not None:
            return day
    errs.append((path, "must be an ISO date YYYY-MM-DD"))
    return None


def _time(value: object, prefix: str, name: str, errs: _Errors) -> dt.time | None:
    if type(value) is str:
        hit = _TIMES.get(value)
        if hit is not None:
            return hit
    if isinstance(value, str):
        t = _new_time(value)
        if t is not None:
            return t
    errs.append((f"{prefix}.{name}", "must be a 24-hour clock time HH:MM"))
    return None


def _str_list(
    value: object,
    prefix: str,
    name: str,
    errs: _Errors,
    check: Callable[[str], object],
    what: str,
    limit: int,
) -> tuple[str, ...]:
    if type(value) is list and len(value) <= limit:
        for item in value:
            if type(item) is not str or not check(item):
                break
        else:
            if len(set(value)) == len(value):
                return tuple(value)
    path = f"{prefix}.{name}" if prefix else name
    if not isinstance(value, list):
        errs.append((path, "must be a list"))
        return ()
    if len(value) > limit:
        errs.append((path, f"must hold at most {limit} items"))
        return ()
    out: list[str] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        if not isinstance(item, str) or not check(item):
            errs.append((f"{path}[{i}]", f"must be {what}"))
        elif item in seen:
            errs.append((f"{path}[{i}]", f"duplicate {item}" if len(item) <= 40 else "duplicate"))
        else:
            seen.add(item)
            out.append(item)
    return tuple(out)


_NPIS: dict[str, bool] = {}


def _npi_ok(npi: str) -> bool:
    """Luhn check over the NPI with the 80840 health-industry prefix (memoised)."""
    got = _NPIS.get(npi)
    if got is None:
        got = _npi_luhn(npi)
        if len(_NPIS) >= _CACHE_MAX:
            _NPIS.clear()
        _NPIS[npi] = got
    return got


def _npi_luhn(npi: str) -> bool:
    digits = [int(c) for c in "80840" + npi]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _provider(value: object, errs: _Errors) -> Provider | None:
    if not isinstance(value, dict):
        errs.append(("provider", "must be an object"))
        return None
    _check_keys(value, _PROVIDER_KEYS, "provider", errs)
    discipline = value.get("discipline")
    ok = True
    if "discipline" not in value:
        errs.append(("provider.discipline", "is required"))
        ok = False
    elif discipline not in DISCIPLINES:
        errs.append(("provider.discipline", "must be one of " + " ".join(DISCIPLINES)))
        ok = False
    npi = value.get("npi")
    if npi is not None:
        if not isinstance(npi, str) or not _NPI.fullmatch(npi):
            errs.append(("provider.npi", "must be a 10-digit string"))
            ok = False
        elif not _npi_ok(npi):
            errs.append(("provider.npi", "fails the NPI check digit"))
            ok = False
    if not ok:
        return None
    assert isinstance(discipline, str)
    return Provider(discipline=discipline, npi=npi)


def _plan_of_care(value: object, errs: _Errors) -> PlanOfCare | None:
    if not isinstance(value, dict):
        errs.append(("plan_of_care", "must be an object or null"))
        return None
    _check_keys(value, _POC_KEYS, "plan_of_care", errs)
    n = len(errs)
    start = end = None
    for key in ("start", "end"):
        if key not in value:
            errs.append((f"plan_of_care.{key}", "is required"))
    if "start" in value:
        start = _date(value["start"], "plan_of_care.start", errs)
    if "end" in value:
        end = _date(value["end"], "plan_of_care.end", errs)
    signed_raw = value.get("signed")
    signed = None if signed_raw is None else _date(signed_raw, "plan_of_care.signed", errs)
    if start is not None and end is not None and end < start:
        errs.append(("plan_of_care.end", "is before plan_of_care.start"))
    if len(errs) != n or start is None or end is None:
        return None
    return PlanOfCare(start=start, end=end, signed=signed)


def _dollars(value: object, path: str, errs: _Errors) -> Decimal | None:
    if value is None:
        return None
    if type(value) is int:
        amount = Decimal(value)
    elif type(value) is float:
        amount = Decimal(repr(value))
    else:
        errs.append((path, "must be a number of dollars"))
        return None
    exponent = amount.as_tuple().exponent
    if not amount.is_finite() or amount < 0 or amount >= MAX_DOLLARS:
        errs.append((path, f"must be from 0 to less than {MAX_DOLLARS} dollars"))
        return None
    if isinstance(exponent, int) and exponent < -2:
        errs.append((path, "must be in whole cents"))
        return None
    return amount


def _ytd(value: object, errs: _Errors) -> TherapyYtd | None:
    if not isinstance(value, dict):
        errs.append(("therapy_ytd_allowed", "must be an object or null"))
        return None
    _check_keys(value, _YTD_KEYS, "therapy_ytd_allowed", errs)
    n = len(errs)
    pt = _dollars(value.get("pt_slp"), "therapy_ytd_allowed.pt_slp", errs)
    ot = _dollars(value.get("ot"), "therapy_ytd_allowed.ot", errs)
    return None if len(errs) != n else TherapyYtd(pt_slp=pt, ot=ot)


def _documentation(value: object, path: str, errs: _Errors) -> Documentation | None:
    if not isinstance(value, dict):
        errs.append((path, "must be an object or null"))
        return None
    _check_keys(value, _DOC_KEYS, path, errs)
    fields: dict[str, str | None] = {}
    for key in ("response", "rationale", "goals"):
        text = value.get(key)
        if text is None:
            fields[key] = None
        elif not isinstance(text, str):
            errs.append((f"{path}.{key}", "must be a string or null"))
        elif len(text) > MAX_TEXT:
            errs.append((f"{path}.{key}", f"must be at most {MAX_TEXT} characters"))
        else:
            fields[key] = text
    if len(fields) != 3:
        return None
    return Documentation(**fields)


def _int_at(value: object, p: str, name: str, lo: int, hi: int, errs: _Errors) -> int | None:
    """``value`` when a whole number in [lo, hi]; else an error at ``p.name`` (built only then)."""
    if type(value) is int and lo <= value <= hi:
        return value
    errs.append((f"{p}.{name}", f"must be a whole number from {lo} to {hi}"))
    return None


def _line(value: object, i: int, n_diagnoses: int | None, errs: _Errors) -> ServiceLine | None:
    p = f"lines[{i}]"
    if not isinstance(value, dict):
        errs.append((p, "must be an object"))
        return None
    _check_keys(value, _LINE_KEYS, p, errs)
    n = len(errs)
    cat = catalog()
    get = value.get
    code = get("code")
    if "code" not in value:
        errs.append((f"{p}.code", "is required"))
    elif not isinstance(code, str) or not _CODE.fullmatch(code):
        errs.append((f"{p}.code", "must be a CPT or HCPCS code such as 97140 or G0283"))
    raw = get("minutes")
    minutes = None if raw is None else _int_at(raw, p, "minutes", 0, MAX_MINUTES, errs)
    minutes_given = raw is not None
    raw = get("units")
    units = None if raw is None else _int_at(raw, p, "units", 0, MAX_UNITS, errs)
    raw = get("modifiers")
    modifiers: tuple[str, ...] = ()
    if raw is not None:
        modifiers = _str_list(raw, p, "modifiers", errs, _MODIFIER.fullmatch, _WHAT_MODIFIER, 12)
    raw = get("regions")
    regions: tuple[str, ...] = ()
    if raw is not None:
        regions = _str_list(raw, p, "regions", errs, cat.regions.__contains__, _WHAT_REGION, 10)
    raw = get("techniques")
    techniques: tuple[str, ...] = ()
    if raw is not None:
        techniques = _str_list(
            raw, p, "techniques", errs, cat.techniques.__contains__, _WHAT_TECH, 32
        )
    raw = get("assistant_minutes")
    assistant_minutes = None
    if raw is not None:
        assistant_minutes = _int_at(raw, p, "assistant_minutes", 0, MAX_MINUTES, errs)
        if assistant_minutes is not None:
            if not minutes_given:
                errs.append((f"{p}.assistant_minutes", "needs minutes on the same line"))
            elif minutes is not None and assistant_minutes > minutes:
                errs.append((f"{p}.assistant_minutes", "must not exceed minutes"))
    pointers: tuple[int, ...] = ()
    raw = get("diagnosis_pointers")
    if raw is not None:
        if not isinstance(raw, list) or len(raw) > 4:
            errs.append((f"{p}.diagnosis_pointers", "must be a list of at most 4 pointers"))
        else:
            out: list[int] = []
            for j, ptr in enumerate(raw):
                if type(ptr) is not int or ptr < 1:
                    errs.append((f"{p}.diagnosis_pointers[{j}]", "must be a whole number from 1"))
                elif n_diagnoses is not None and ptr > n_diagnoses:
                    errs.append(
                        (f"{p}.diagnosis_pointers[{j}]", f"points past the {n_diagnoses} diagnoses")
                    )
                elif ptr in out:
                    errs.append((f"{p}.diagnosis_pointers[{j}]", "duplicate pointer"))
                else:
                    out.append(ptr)
            pointers = tuple(out)
    raw = get("muscles")
    muscles = None if raw is None else _int_at(raw, p, "muscles", 1, 200, errs)
    start_raw = get("start")
    end_raw = get("end")
    start = end = None
    if start_raw is not None or end_raw is not None:
        start = None if start_raw is None else _time(start_raw, p, "start", errs)
        end = None if end_raw is None else _time(end_raw, p, "end", errs)
        if start_raw is None or end_raw is None:
            missing = "end" if end_raw is None else "start"
            errs.append((f"{p}.{missing}", "start and end go together"))
        elif start is not None and end is not None and end < start:
            errs.append((f"{p}.end", "is before start"))
    raw = get("documentation")
    documentation = None if raw is None else _documentation(raw, f"{p}.documentation", errs)
    if len(errs) != n or not isinstance(code, str):
        return None
    return ServiceLine(
        code,
        minutes,
        units,
        modifiers,
        regions,
        techniques,
        assistant_minutes,
        pointers,
        muscles,
        start,
        end,
        documentation,
    )


def _decode(data: object) -> object:
    if isinstance(data, str):  # tested first: JSON text is the common non-dict input
        text = data
    elif isinstance(data, bytes | bytearray | memoryview):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidSessionError([("", f"not UTF-8 text (byte {exc.start})")]) from None
    else:
        return data
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise InvalidSessionError(
            [("", f"not valid JSON (line {exc.lineno}, column {exc.colno})")]
        ) from None
    except ValueError:
        raise InvalidSessionError([("", "not valid JSON (NaN or Infinity)")]) from None
    except RecursionError:
        raise InvalidSessionError([("", "JSON nested too deeply")]) from None


def _reject_constant(name: str) -> object:
    raise ValueError(name)


# json.loads(text, parse_constant=...) builds a decoder per call; build it once.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def load_session(data: Mapping[str, Any] | str | bytes) -> Session:
    """Parse and validate one session from a dict, a JSON string or JSON bytes.

    Raises :class:`~cptrules.InvalidSessionError` listing every problem with its
    path; never another exception for bad input.

    >>> s = load_session({"date_of_service": "2026-03-04", "payer": "medicare",
    ...     "provider": {"discipline": "PT"}, "lines": [{"code": "97140", "minutes": 23}]})
    >>> s.lines[0].minutes
    23
    >>> load_session({"payer": "medicare"})
    Traceback (most recent call last):
    ...
    cptrules.errors.InvalidSessionError: invalid session, 3 problems: date_of_service: is required; provider: is required; lines: is required
    """  # noqa: E501  (a doctest line cannot be wrapped)
    obj = data if type(data) is dict else _decode(data)
    if type(obj) is dict:
        session = _fast_session(obj)
        if session is not None:
            return session
    return _careful_session(obj)


# -- fast path --------------------------------------------------------------------------
#
# Most input is valid, and the careful path below spends most of its time on what
# an error would need (paths, messages, every problem at once) and on general
# checks (isinstance, regexes, helper calls per field). The fast path accepts only
# the plainest shapes (exact dict, list, str, int, float, bool; see the memo tables
# above) and returns None the moment anything is off or merely unusual; the careful
# path then parses the input again from scratch, so every error and every odd but
# valid input still goes through the one careful path. When the fast path returns a
# Session it is the one the careful path would build (tests/test_parsing.py checks
# this with Hypothesis). It must never raise: every membership or comparison below
# comes after an exact type test.


def _fast_session(obj: dict[Any, Any]) -> Session | None:
    """The Session of ``obj`` when plainly valid, else None (then parse carefully)."""
    if not _TOP_KEYS.issuperset(obj):
        return None
    get = obj.get
    raw = get("date_of_service")
    if type(raw) is not str:
        return None
    dos = _DATES.get(raw) or _new_date(raw)
    if dos is None:
        return None
    payer = get("payer")
    if type(payer) is not str or (payer not in _PAYERS and not _remember(payer, _PAYER, _PAYERS)):
        return None

    raw = get("provider")
    if type(raw) is not dict or not _PROVIDER_KEYS.issuperset(raw):
        return None
    discipline = raw.get("discipline")
    npi = raw.get("npi")
    if type(discipline) is not str or (npi is not None and type(npi) is not str):
        return None
    provider = _PROVIDERS.get((discipline, npi)) or _new_provider(discipline, npi)
    if provider is None:
        return None

    raw = get("diagnoses")
    diagnoses: tuple[str, ...] = ()
    if raw is not None:
        if type(raw) is not list or len(raw) > 12:
            return None
        for code in raw:
            if type(code) is not str or (
                code not in _ICD10S and not _remember(code, _ICD10, _ICD10S)
            ):
                return None
        if len(raw) > 1 and len(set(raw)) != len(raw):
            return None
        diagnoses = tuple(raw)

    raw = get("plan_of_care")
    plan = None
    if raw is not None:
        if type(raw) is not dict or not _POC_KEYS.issuperset(raw):
            return None
        start = raw.get("start")
        end = raw.get("end")
        signed = raw.get("signed")
        if type(start) is not str or type(end) is not str:
            return None
        if signed is not None and type(signed) is not str:
            return None
        start = _DATES.get(start) or _new_date(start)
        end = _DATES.get(end) or _new_date(end)
        if start is None or end is None or end < start:
            return None
        if signed is not None:
            signed = _DATES.get(signed) or _new_date(signed)
            if signed is None:
                return None
        plan = PlanOfCare(start, end, signed)

    treatment_day = get("treatment_day")
    if treatment_day is not None and (
        type(treatment_day) is not int or not 1 <= treatment_day <= 10_000
    ):
        return None
    progress = get("progress_report")
    if progress is not None and type(progress) is not bool:
        return None

    raw = get("therapy_ytd_allowed")
    ytd = None
    if raw is not None:
        if type(raw) is not dict or not _YTD_KEYS.issuperset(raw):
            return None
        pt = raw.get("pt_slp")
        ot = raw.get("ot")
        if pt is not None:
            pt = _fast_dollars(pt)
            if pt is None:
                return None
        if ot is not None:
            ot = _fast_dollars(ot)
            if ot is None:
                return None
        ytd = TherapyYtd(pt, ot)

    total = get("total_treatment_minutes")
    if total is not None and (type(total) is not int or not 0 <= total <= MAX_MINUTES):
        return None

    raw = get("lines")
    if type(raw) is not list or not 0 < len(raw) <= MAX_LINES:
        return None
    cat = catalog()
    regions = cat.regions
    techniques = cat.techniques
    n_diagnoses = len(diagnoses)
    lines = []
    for item in raw:
        line = _fast_line(item, n_diagnoses, regions, techniques)
        if line is None:
            return None
        lines.append(line)

    return Session(
        dos,
        payer,
        provider,
        tuple(lines),
        diagnoses,
        plan,
        treatment_day,
        progress,
        ytd,
        total,
    )


# Frozen models are values, so one instance can serve every session that has the
# same provider (a clinic bills the same few all day).
_PROVIDERS: dict[tuple[str, str | None], Provider] = {}


def _new_provider(discipline: str, npi: str | None) -> Provider | None:
    """The Provider of plain strings not yet in :data:`_PROVIDERS`, remembered; or None."""
    if discipline not in _DISCIPLINES:
        return None
    if npi is not None:
        ok = _NPIS.get(npi)  # holds only strings that matched _NPI
        if ok is None:
            ok = _NPI.fullmatch(npi) is not None and _npi_ok(npi)
        if not ok:
            return None
    provider = Provider(discipline, npi)
    if len(_PROVIDERS) >= _CACHE_MAX:
        _PROVIDERS.clear()
    _PROVIDERS[discipline, npi] = provider
    return provider


def _fast_dollars(value: object) -> Decimal | None:
    """:func:`_dollars` of a plain int or float when valid, else None."""
    if type(value) is int:
        # Decimal(int) is finite with exponent 0: only the range can be wrong.
        return Decimal(value) if 0 <= value < 10_000_000 else None
    if type(value) is float and 0.0 <= value < 1e7:  # False for NaN; no infinity
        # repr() is the shortest string that reads back as the float, so its Decimal
        # is in range too (rounding is monotonic and 0 and 1e7 are exact floats;
        # -0.0 gives Decimal("-0.0"), not below 0, as in _dollars). That repr is
        # plain "digits.digits" from 1e-4 up (exponent -2 or more exactly when the
        # "." is among the last 3 characters) and "...e-05" and the like below 1e-4
        # (never a "." among the last 3): cheaper than Decimal.as_tuple().
        text = repr(value)
        if "." in text[-3:]:
            return Decimal(text)
    return None


def _fast_line(
    value: object,
    n_diagnoses: int,
    regions: Mapping[str, bool],
    techniques: Mapping[str, str],
) -> ServiceLine | None:
    """The ServiceLine of ``value`` when plainly valid, else None (see the fast path)."""
    if type(value) is not dict or not _LINE_KEYS.issuperset(value):
        return None
    get = value.get
    code = get("code")
    if type(code) is not str or (code not in _CODES and not _remember(code, _CODE, _CODES)):
        return None
    minutes = get("minutes")
    if minutes is not None and (type(minutes) is not int or not 0 <= minutes <= MAX_MINUTES):
        return None
    units = get("units")
    if units is not None and (type(units) is not int or not 0 <= units <= MAX_UNITS):
        return None

    raw = get("modifiers")
    modifiers: tuple[str, ...] = ()
    if raw is not None:
        if type(raw) is not list:
            return None
        if len(raw) == 1:
            item = raw[0]
            if type(item) is not str or (
                item not in _MODIFIERS and not _remember(item, _MODIFIER, _MODIFIERS)
            ):
                return None
            modifiers = (item,)
        else:
            if len(raw) > 12:
                return None
            for item in raw:
                if type(item) is not str or (
                    item not in _MODIFIERS and not _remember(item, _MODIFIER, _MODIFIERS)
                ):
                    return None
            if len(set(raw)) != len(raw):
                return None
            modifiers = tuple(raw)
    raw = get("regions")
    line_regions: tuple[str, ...] = ()
    if raw is not None:
        if type(raw) is not list or len(raw) > 10:
            return None
        for item in raw:
            if type(item) is not str or item not in regions:
                return None
        if len(raw) > 1 and len(set(raw)) != len(raw):
            return None
        line_regions = tuple(raw)
    raw = get("techniques")
    line_techniques: tuple[str, ...] = ()
    if raw is not None:
        if type(raw) is not list or len(raw) > 32:
            return None
        for item in raw:
            if type(item) is not str or item not in techniques:
                return None
        if len(raw) > 1 and len(set(raw)) != len(raw):
            return None
        line_techniques = tuple(raw)

    assistant = get("assistant_minutes")
    if assistant is not None and (
        type(assistant) is not int or minutes is None or not 0 <= assistant <= minutes
    ):
        return None
    raw = get("diagnosis_pointers")
    pointers: tuple[int, ...] = ()
    if raw is not None:
        if type(raw) is not list:
            return None
        if len(raw) == 1:
            item = raw[0]
            if type(item) is not int or not 1 <= item <= n_diagnoses:
                return None
            pointers = (item,)
        else:
            if len(raw) > 4:
                return None
            for item in raw:
                if type(item) is not int or not 1 <= item <= n_diagnoses:
                    return None
            if len(set(raw)) != len(raw):
                return None
            pointers = tuple(raw)
    muscles = get("muscles")
    if muscles is not None and (type(muscles) is not int or not 1 <= muscles <= 200):
        return None

    start = get("start")
    end = get("end")
    if start is not None or end is not None:
        if type(start) is not str or type(end) is not str:
            return None
        start = _TIMES.get(start) or _new_time(start)
        end = _TIMES.get(end) or _new_time(end)
        if start is None or end is None or end < start:
            return None

    raw = get("documentation")
    documentation = None
    if raw is not None:
        if type(raw) is not dict or not _DOC_KEYS.issuperset(raw):
            return None
        response = raw.get("response")
        rationale = raw.get("rationale")
        goals = raw.get("goals")
        for text in (response, rationale, goals):
            if text is not None and (type(text) is not str or len(text) > MAX_TEXT):
                return None
        documentation = Documentation(response, rationale, goals)

    return ServiceLine(
        code,
        minutes,
        units,
        modifiers,
        line_regions,
        line_techniques,
        assistant,
        pointers,
        muscles,
        start,
        end,
        documentation,
    )


# -- careful path -----------------------------------------------------------------------


def _careful_session(obj: object) -> Session:
    """Validate ``obj`` field by field, raising InvalidSessionError with every problem."""
    if not isinstance(obj, dict):
        raise InvalidSessionError([("", "a session must be a JSON object")])
    errs: _Errors = []
    _check_keys(obj, _TOP_KEYS, "", errs)
    get = obj.get

    dos = None
    if "date_of_service" not in obj:
        errs.append(("date_of_service", "is required"))
    else:
        dos = _date(obj["date_of_service"], "date_of_service", errs)

    payer = get("payer")
    if "payer" not in obj:
        errs.append(("payer", "is required"))
    elif not isinstance(payer, str) or not _PAYER.fullmatch(payer):
        errs.append(
            ("payer", "must be a payer profile id such as medicare (see `cptrules payers`)")
        )

    provider = None
    if "provider" not in obj:
        errs.append(("provider", "is required"))
    else:
        provider = _provider(obj["provider"], errs)

    diagnoses: tuple[str, ...] = ()
    n_diagnoses: int | None = 0
    if get("diagnoses") is not None:
        n_before = len(errs)
        diagnoses = _str_list(
            obj["diagnoses"],
            "",
            "diagnoses",
            errs,
            _ICD10.fullmatch,
            "an ICD-10-CM code such as M54.50",
            12,
        )
        n_diagnoses = len(diagnoses) if len(errs) == n_before else None

    plan = None if get("plan_of_care") is None else _plan_of_care(obj["plan_of_care"], errs)
    treatment_day = None
    if get("treatment_day") is not None:
        treatment_day = _int(obj["treatment_day"], "treatment_day", 1, 10_000, errs)
    progress = get("progress_report")
    if progress is not None and type(progress) is not bool:
        errs.append(("progress_report", "must be true, false or null"))
        progress = None
    ytd = None if get("therapy_ytd_allowed") is None else _ytd(obj["therapy_ytd_allowed"], errs)
    total = None
    if get("total_treatment_minutes") is not None:
        total = _int(
            obj["total_treatment_minutes"], "total_treatment_minutes", 0, MAX_MINUTES, errs
        )

    lines: list[ServiceLine] = []
    raw_lines = get("lines")
    if "lines" not in obj:
        errs.append(("lines", "is required"))
    elif not isinstance(raw_lines, list) or not raw_lines:
        errs.append(("lines", "must be a non-empty list"))
    elif len(raw_lines) > MAX_LINES:
        errs.append(("lines", f"must hold at most {MAX_LINES} lines"))
    else:
        for i, raw in enumerate(raw_lines):
            line = _line(raw, i, n_diagnoses, errs)
            if line is not None:
                lines.append(line)

    if errs:
        raise InvalidSessionError(errs)
    assert dos is not None
    assert provider is not None
    assert isinstance(payer, str)
    return Session(
        date_of_service=dos,
        payer=payer,
        provider=provider,
        lines=tuple(lines),
        diagnoses=diagnoses,
        plan_of_care=plan,
        treatment_day=treatment_day,
        progress_report=progress,
        therapy_ytd_allowed=ytd,
        total_treatment_minutes=total,
    )


def _money(amount: Decimal) -> int | float:
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _dump_line(line: ServiceLine) -> dict[str, Any]:
    out: dict[str, Any] = {"code": line.code}
    if line.minutes is not None:
        out["minutes"] = line.minutes
    if line.units is not None:
        out["units"] = line.units
    if line.modifiers:
        out["modifiers"] = list(line.modifiers)
    if line.regions:
        out["regions"] = list(line.regions)
    if line.techniques:
        out["techniques"] = list(line.techniques)
    if line.assistant_minutes is not None:
        out["assistant_minutes"] = line.assistant_minutes
    if line.diagnosis_pointers:
        out["diagnosis_pointers"] = list(line.diagnosis_pointers)
    if line.muscles is not None:
        out["muscles"] = line.muscles
    if line.start is not None and line.end is not None:
        out["start"] = line.start.strftime("%H:%M")
        out["end"] = line.end.strftime("%H:%M")
    doc = line.documentation
    if doc is not None:
        out["documentation"] = {
            k: v
            for k, v in (
                ("response", doc.response),
                ("rationale", doc.rationale),
                ("goals", doc.goals),
            )
            if v is not None
        }
    return out


def dump_session(session: Session) -> dict[str, Any]:
    """The JSON-ready dict of a session; ``load_session(dump_session(s)) == s``.

    Absent optional fields are left out, so the output is canonical.
    """
    out: dict[str, Any] = {
        "date_of_service": session.date_of_service.isoformat(),
        "payer": session.payer,
        "provider": {"discipline": session.provider.discipline},
    }
    if session.provider.npi is not None:
        out["provider"]["npi"] = session.provider.npi
    if session.diagnoses:
        out["diagnoses"] = list(session.diagnoses)
    poc = session.plan_of_care
    if poc is not None:
        out["plan_of_care"] = {
            "start": poc.start.isoformat(),
            "end": poc.end.isoformat(),
            "signed": None if poc.signed is None else poc.signed.isoformat(),
        }
    if session.treatment_day is not None:
        out["treatment_day"] = session.treatment_day
    if session.progress_report is not None:
        out["progress_report"] = session.progress_report
    ytd = session.therapy_ytd_allowed
    if ytd is not None:
        out["therapy_ytd_allowed"] = {
            k: _money(v) for k, v in (("pt_slp", ytd.pt_slp), ("ot", ytd.ot)) if v is not None
        }
    if session.total_treatment_minutes is not None:
        out["total_treatment_minutes"] = session.total_treatment_minutes
    out["lines"] = [_dump_line(line) for line in session.lines]
    return out
