"""Hypothesis strategies that know therapy billing, for your own property-based tests.

Needs the ``[hypothesis]`` extra (``pip install cptrules[hypothesis]``);
``import cptrules`` alone never imports Hypothesis.

Building blocks (each draws well-formed values, not necessarily clean ones):
:func:`codes`, :func:`modifiers`, :func:`regions`, :func:`techniques`,
:func:`minutes`, :func:`npis`, :func:`providers`, :func:`documentations`,
:func:`plans_of_care`, :func:`service_lines`, :func:`sessions`.

Domain strategies:

- :func:`clean_sessions`: every draw passes :func:`cptrules.check` with no error
  finding. Built constructively, never filtered (fast, shrinks well).
- :func:`faulty_sessions`: every draw trips one named rule (and only the rules
  that rule implies; see the table in ``cptrules.strategies._faults``).
- :func:`session_dicts` / :func:`invalid_session_dicts`: raw JSON-shaped input,
  valid and invalid, for testing your own intake code.

Options are keyword-only; bad arguments raise
:class:`hypothesis.errors.InvalidArgument` when the strategy is created.

>>> from cptrules import strategies
>>> strategies.clean_sessions(payer="aetna")
clean_sessions(payer='aetna')
>>> strategies.faulty_sessions(rule="no.such-rule")
Traceback (most recent call last):
...
hypothesis.errors.InvalidArgument: rule='no.such-rule' is not a rule id (see `cptrules rules`)
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection
from typing import Any

import hypothesis.strategies as st
from hypothesis.errors import InvalidArgument

from ..engine import Engine
from ..models import Documentation, PlanOfCare, Provider, ServiceLine, Session
from . import _data as D
from . import _impl
from ._build import Env, env_of
from ._faults import FAULTS

__all__ = [
    "CONTRACT_RULES",
    "clean_sessions",
    "codes",
    "documentations",
    "fault_implies",
    "faulty_sessions",
    "invalid_session_dicts",
    "minutes",
    "modifiers",
    "npis",
    "plans_of_care",
    "providers",
    "regions",
    "service_lines",
    "session_dicts",
    "sessions",
    "techniques",
]

#: The stable rule ids of CONTRACT.md section 5, in contract order.
CONTRACT_RULES: tuple[str, ...] = (
    "units.total-time",
    "units.per-code",
    "units.untimed",
    "units.single-line",
    "units.missing-minutes",
    "ncci.ptp",
    "ncci.mue",
    "modifier.therapy",
    "modifier.assistant",
    "modifier.kx",
    "modifier.distinct",
    "modifier.at",
    "modifier.unknown",
    "coverage.chiropractor",
    "coverage.replaced-code",
    "coverage.bundled",
    "coverage.acupuncture",
    "code.technique",
    "code.same-region",
    "code.cmt-regions",
    "doc.manual-therapy",
    "doc.timed-minutes",
    "poc.missing",
    "poc.expired",
    "poc.unsigned",
    "poc.progress-report",
    "time.overlap",
)


_LAST_DAY_OF_DATA = D.DEFAULT_MAX_DATE

# ------------------------------------------------------------------ validation


def _check_payer(payer: object, *, optional: bool, env: Env | None = None) -> None:
    if payer is None and optional:
        return
    ids = D.payer_ids() if env is None else env.profiles.ids()
    if not isinstance(payer, str) or payer not in ids:
        raise InvalidArgument(
            f"payer={payer!r} must be one of {', '.join(ids)}" + (" or None" if optional else "")
        )


def _check_bool(name: str, value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise InvalidArgument(f"{name}={value!r} must be True, False or None")


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    if type(value) is not int or not lo <= value <= hi:
        raise InvalidArgument(f"{name}={value!r} must be a whole number from {lo} to {hi}")
    return value


def _check_choices(name: str, value: object, allowed: Collection[str]) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Collection) or not value:
        raise InvalidArgument(f"{name}={value!r} must be a non-empty collection of strings")
    bad = [v for v in value if v not in allowed]
    if bad:
        raise InvalidArgument(f"{name}: {bad!r} not among {', '.join(sorted(allowed))}")
    return tuple(sorted(set(value)))


def _kwargs(**given: Any) -> dict[str, Any]:
    """Only the options the caller set, so a strategy's repr reads like the call."""
    return {k: v for k, v in given.items() if v is not None}


# ---------------------------------------------------------------- vocabularies


def codes(*, timed: bool | None = None, payer: str | None = None) -> st.SearchStrategy[str]:
    """Codes from the cptrules catalog.

    ``timed`` keeps only timed (True) or untimed (False) codes. ``payer`` keeps
    the codes that payer pays as billed: Medicare never gets 97010 (bundled) or
    97014 (G0283 instead); other payers never get G0283.
    """
    _check_bool("timed", timed)
    _check_payer(payer, optional=True)
    return _codes(timed, payer)


@functools.cache
def _codes(timed: bool | None, payer: str | None) -> st.SearchStrategy[str]:
    cat = D.cat()
    out = []
    medicare = payer is not None and D.profile(payer, _LAST_DAY_OF_DATA).is_a("medicare")
    for code, info in cat.codes.items():
        if timed is not None and info.timed != timed:
            continue
        if payer is not None and (
            (medicare and code in D.MEDICARE_UNPAID) or (not medicare and code in D.MEDICARE_ONLY)
        ):
            continue
        out.append(code)
    return st.sampled_from(sorted(out))


def modifiers(
    *, kinds: Collection[str] | None = None, known: bool = True
) -> st.SearchStrategy[str]:
    """Modifiers: from the catalog (``kinds`` such as ``{"therapy", "distinct"}``),
    or with ``known=False`` well-formed two-character modifiers the catalog does not know."""
    cat = D.cat()
    all_kinds = {m.kind for m in cat.modifiers.values()}
    wanted = _check_choices("kinds", kinds, all_kinds)
    if not isinstance(known, bool):
        raise InvalidArgument(f"known={known!r} must be True or False")
    if not known and wanted is not None:
        raise InvalidArgument("kinds= only applies to known modifiers")
    return _modifiers(wanted, known)


@functools.cache
def _modifiers(wanted: tuple[str, ...] | None, known: bool) -> st.SearchStrategy[str]:
    cat = D.cat()
    if not known:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        unknown = sorted(a + b for a in alphabet for b in alphabet if a + b not in cat.modifiers)
        return st.sampled_from(unknown)
    return st.sampled_from(
        sorted(m for m, info in cat.modifiers.items() if wanted is None or info.kind in wanted)
    )


def regions(*, spinal: bool | None = None) -> st.SearchStrategy[str]:
    """Body regions of the session format; ``spinal`` keeps spinal or non-spinal ones."""
    _check_bool("spinal", spinal)
    cat = D.cat()
    return st.sampled_from([r for r, sp in cat.regions.items() if spinal is None or sp == spinal])


def techniques(*, code: str | None = None) -> st.SearchStrategy[str]:
    """Techniques of the session format; ``code`` keeps those that belong to that code."""
    cat = D.cat()
    if code is None:
        return st.sampled_from(list(cat.techniques))
    if not isinstance(code, str) or code not in cat.codes:
        raise InvalidArgument(f"code={code!r} is not a code the catalog knows")
    found = D.techniques_for(code)
    if not found:
        raise InvalidArgument(f"code={code!r} has no techniques of its own")
    return st.sampled_from(found)


def minutes(*, min_value: int = 0, max_value: int = 120) -> st.SearchStrategy[int]:
    """Minutes of one service (the session format accepts 0-1440)."""
    lo = _check_int("min_value", min_value, 0, 1440)
    hi = _check_int("max_value", max_value, 0, 1440)
    if lo > hi:
        raise InvalidArgument(f"min_value={lo} is greater than max_value={hi}")
    return st.integers(lo, hi)


def npis() -> st.SearchStrategy[str]:
    """Ten-digit NPIs with a valid check digit (made up: they name nobody)."""
    return _impl.npis()


def providers(
    *, disciplines: Collection[str] | None = None, npi: bool | None = None
) -> st.SearchStrategy[Provider]:
    """Providers; ``npi`` True/False forces an NPI on or off (None: either)."""
    from ..models import DISCIPLINES

    chosen = _check_choices("disciplines", disciplines, DISCIPLINES) or DISCIPLINES
    _check_bool("npi", npi)
    npi_strategy: st.SearchStrategy[str | None]
    if npi is None:
        npi_strategy = st.none() | npis()
    elif npi:
        npi_strategy = npis()
    else:
        npi_strategy = st.none()
    return st.builds(Provider, discipline=st.sampled_from(chosen), npi=npi_strategy)


def documentations() -> st.SearchStrategy[Documentation]:
    """Line documentation with generic phrases (never patient data)."""
    return st.builds(
        Documentation,
        response=st.none() | st.sampled_from(D.DOC_RESPONSES),
        rationale=st.none() | st.sampled_from(D.DOC_RATIONALES),
        goals=st.none() | st.sampled_from(D.DOC_GOALS),
    )


def plans_of_care() -> st.SearchStrategy[PlanOfCare]:
    """Well-formed plans of care (end on or after start; signed any day or not at all)."""
    return _impl.plans_of_care()


def service_lines(
    *, code: str | None = None, payer: str | None = None, diagnoses: int = 0
) -> st.SearchStrategy[ServiceLine]:
    """Well-formed service lines (not necessarily billable as they stand).

    ``code`` fixes the code; ``payer`` draws codes that payer pays;
    ``diagnoses`` is how many diagnoses the pointers may point into (0-12).
    """
    if code is not None:
        from .._schema import CODE

        if not isinstance(code, str) or not CODE.fullmatch(code):
            raise InvalidArgument(f"code={code!r} is not a well-formed CPT/HCPCS code")
    _check_payer(payer, optional=True)
    _check_int("diagnoses", diagnoses, 0, 12)
    return _impl.service_lines(**_kwargs(code=code, payer=payer), diagnoses=diagnoses)


def sessions(
    *, payer: str | None = None, min_lines: int = 1, max_lines: int = 6
) -> st.SearchStrategy[Session]:
    """Any well-formed session: it parses with :func:`cptrules.load_session` and
    round-trips through :func:`cptrules.dump_session`. Not necessarily clean.

    Dates of service fall in cptrules' data period, so :func:`cptrules.check`
    can always run on a draw.
    """
    _check_payer(payer, optional=True)
    lo = _check_int("min_lines", min_lines, 1, 200)
    hi = _check_int("max_lines", max_lines, 1, 200)
    if lo > hi:
        raise InvalidArgument(f"min_lines={lo} is greater than max_lines={hi}")
    return _impl.sessions(**_kwargs(payer=payer), min_lines=min_lines, max_lines=max_lines)


# ------------------------------------------------------------- domain strategies


def clean_sessions(
    *,
    payer: str = "medicare",
    disciplines: Collection[str] | None = None,
    min_date: dt.date | None = None,
    max_date: dt.date | None = None,
    engine: Engine | None = None,
) -> st.SearchStrategy[Session]:
    """Sessions that pass :func:`cptrules.check` under ``payer`` with no error finding.

    Built constructively (see ``cptrules.strategies._build``): units from the
    payer's unit method, GP/GO where the payer wants them, plan of care in force
    and signed, treatment day under 8, 97140 with technique, region and notes,
    assistant minutes within 10% or CQ/CO, KX past the threshold, AT on Medicare
    CMT, NCCI pairs with the right bypass modifier and distinct regions (or not
    billed together where the edit or the payer forbids it).

    ``disciplines`` picks among PT, OT, SLP and DC. Dates of service default to
    2022-2026 (the years whose therapy thresholds are sourced); ``min_date`` and
    ``max_date`` narrow them. ``engine``: sessions clean for that
    :class:`~cptrules.Engine` (its payer profiles and NCCI/MUE tables) rather
    than the default one.
    """
    env = _env(engine)
    _check_payer(payer, optional=False, env=env)
    chosen = _check_choices("disciplines", disciplines, ("PT", "OT", "SLP", "DC"))
    for name, value in (("min_date", min_date), ("max_date", max_date)):
        if value is not None and (
            not isinstance(value, dt.date)
            or isinstance(value, dt.datetime)
            or not D.DEFAULT_MIN_DATE <= value <= D.DEFAULT_MAX_DATE
        ):
            raise InvalidArgument(
                f"{name}={value!r} must be a date from {D.DEFAULT_MIN_DATE} to {D.DEFAULT_MAX_DATE}"
            )
    if min_date is not None and max_date is not None and min_date > max_date:
        raise InvalidArgument(f"min_date={min_date} is after max_date={max_date}")
    for day in (min_date or D.DEFAULT_MIN_DATE, max_date or D.DEFAULT_MAX_DATE):
        if env.profiles.get(payer, day) is None:
            raise InvalidArgument(f"payer={payer!r} has no profile version in force on {day}")
    return _impl.clean_sessions(
        payer=payer,
        **_kwargs(disciplines=chosen, min_date=min_date, max_date=max_date, engine=engine),
    )


def _env(engine: object) -> Env:
    from ..engine import Engine

    if engine is not None and not isinstance(engine, Engine):
        raise InvalidArgument(f"engine={engine!r} must be a cptrules.Engine or None")
    return env_of(engine)


def _rule_payers(rule: str, env: Env | None = None) -> tuple[str, ...]:
    """The payer ids (the default engine's, or ``env``'s) the rule and its fault apply to."""
    env = env or env_of(None)
    fault = FAULTS[rule]
    out = []
    for pid in env.profiles.ids():
        lo = env.profiles.get(pid, D.DEFAULT_MIN_DATE)
        hi = env.profiles.get(pid, D.DEFAULT_MAX_DATE)
        if lo is None or hi is None or rule in env.disabled:
            continue
        if all(fault.payers(p) and D.rule_applies(rule, p, fault.payers) for p in (lo, hi)):
            out.append(pid)
    return tuple(out)


def fault_implies(rule: str) -> frozenset[str]:
    """Rule ids a faulty session for ``rule`` may trip besides ``rule`` itself."""
    if rule not in FAULTS:
        raise InvalidArgument(f"rule={rule!r} has no faulty-session strategy")
    return FAULTS[rule].implies


def faulty_sessions(
    *, rule: str, payer: str | None = None, engine: Engine | None = None
) -> st.SearchStrategy[Session]:
    """Sessions that trip ``rule`` (and only the rules it implies, see :func:`fault_implies`).

    Each draw is a clean session with one fault injected. ``payer`` None draws
    among the bundled payers the rule applies to. A rule id unknown to the
    contract and the registry, a rule without a fault strategy, or a payer the
    rule does not apply to raise :class:`~hypothesis.errors.InvalidArgument`.
    ``engine``: faults against that :class:`~cptrules.Engine`'s profiles and
    tables (``ncci.mue`` needs tables with MUE values).
    """
    from ..rules import REGISTRY

    env = _env(engine)
    if not isinstance(rule, str) or (rule not in CONTRACT_RULES and rule not in REGISTRY):
        raise InvalidArgument(f"rule={rule!r} is not a rule id (see `cptrules rules`)")
    if rule not in FAULTS:
        raise InvalidArgument(f"rule={rule!r} has no faulty-session strategy yet")
    if not FAULTS[rule].available(env):
        raise InvalidArgument(
            f"rule={rule!r} cannot fire with the engine's current data "
            "(load the official tables it needs first)"
        )
    _check_payer(payer, optional=True, env=env)
    applies = _rule_payers(rule, env)
    if not applies:
        raise InvalidArgument(f"rule={rule!r} applies to none of the engine's payers")
    if payer is not None and payer not in applies:
        raise InvalidArgument(
            f"rule={rule!r} does not apply to payer={payer!r}; it applies to " + ", ".join(applies)
        )
    return _impl.faulty_sessions(rule=rule, **_kwargs(payer=payer, engine=engine))


def session_dicts(*, payer: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """JSON-shaped session input that :func:`cptrules.load_session` accepts.

    The canonical form of :func:`sessions`, sometimes with explicit ``null``
    for optional fields (which the format allows).
    """
    _check_payer(payer, optional=True)
    return _impl.session_dicts(**_kwargs(payer=payer))


def invalid_session_dicts(*, payer: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """JSON-shaped input :func:`cptrules.load_session` rejects with InvalidSessionError.

    A valid dict with one corruption: a missing or unknown key, a wrong type, a
    bad date, code, modifier, region or NPI, minutes or units out of range, a
    diagnosis pointer past the diagnoses, assistant minutes over the minutes,
    clock times out of order, a plan ending before it starts, and more.
    """
    _check_payer(payer, optional=True)
    return _impl.invalid_session_dicts(**_kwargs(payer=payer))
