"""The engine: payer profiles, edit tables and rules, applied to one session.

:class:`Engine` is built once (profiles resolved, rule plans prepared per
profile version, edit tables opened) and is then immutable and safe to share
between threads. :func:`check` uses a default engine built on first use.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import attrs

from ._context import Context, Shape
from ._memo import Memo
from ._version import DATA_VERSION
from .catalog import catalog
from .errors import ConfigError, InvalidSessionError, NoRuleDataError, ProfileError
from .models import Session, _builder
from .parsing import load_session
from .payers import PayerProfile, ProfileSet, bundled_profiles
from .report import SEVERITIES, Finding, LineUnits, Report, Severity, _build_finding, _wrap_recheck
from .report import _Recheck as _ReportRecheck
from .rules import REGISTRY, Rule
from .rules._base import NEEDS, RuleFunc

if TYPE_CHECKING:
    from decimal import Decimal

    from .fees import ContractSchedule, Estimate, FeeSchedule
    from .fees.estimate import RoutePrices
    from .ncci import EditTables

__all__ = ["Engine", "check", "default_engine"]

SessionInput = Session | Mapping[str, Any] | str | bytes


_Step = tuple[RuleFunc, Rule, frozenset[str] | None]
#: the rules to run with their functions, in order
_Run = tuple[tuple[RuleFunc, Rule], ...]
#: id of a visit's shape -> the shape and the rules to run on it (see :func:`_run_for`)
_Runs = Memo[int, tuple[Shape, _Run]]


@attrs.frozen
class _Plan:
    """The rules one profile version runs, its severity overrides and data version.

    ``in_force(day)`` is the hot path's rule list: the rules in force on a date
    of service with their functions, worked out once per day and kept (a
    bounded memo; a plan lives as long as its engine).
    """

    rules: tuple[Rule, ...]
    severities: Mapping[str, Severity]
    data_version: str = ""
    #: which data answers, in words (a report's ``data``): codes, NCCI pairs, MUEs
    data: Mapping[str, str] = attrs.field(factory=dict)
    _days: Memo[dt.date, tuple[_Step, ...]] = attrs.field(
        init=False,
        factory=lambda: Memo("engine: rules in force by day", size=_DAYS_CACHED),
        eq=False,
        repr=False,
    )
    _runs: Memo[tuple[str, ...], _Runs] = attrs.field(
        init=False,
        factory=lambda: Memo("engine: rule lists", size=_DAYS_CACHED),
        eq=False,
        repr=False,
    )

    def runs(self, steps: tuple[_Step, ...]) -> _Runs:
        """The memo of rules to run by visit shape, one per distinct list of rules in force."""
        key = tuple(r.id for _, r, _ in steps)
        found = self._runs.get(key)
        if found is None:
            found = self._runs.put(key, Memo("engine: rules by visit shape", size=_RUNS_CACHED))
        return found

    def in_force(self, day: dt.date) -> tuple[_Step, ...]:
        """``(function, rule, triggers)`` of every rule of the plan in force on ``day``."""
        got = self._days.get(day)
        if got is None:
            got = self._days.put(
                day, tuple((r.func, r, r.triggers) for r in self.rules if r.in_force(day))
            )
        return got


_DAYS_CACHED = 4096


class Engine:
    """Checks sessions against payer profiles, rule data and edit tables.

    All options are keyword-only:

    - ``profiles``: extra profile files (paths) on top of the bundled ones, or a
      ready :class:`~cptrules.payers.ProfileSet`;
    - ``tables``: NCCI edit tables (an ``EditTables`` object or the path of a
      store made by ``cptrules data import``); default: the local store when
      present, else the bundled therapy pairs;
    - ``disabled``: rule ids switched off;
    - ``severities``: rule id -> severity, re-grading every finding of that rule
      (wins over a profile's own re-grading);
    - ``fees``: a :class:`~cptrules.fees.FeeSchedule` (Medicare profiles) and
      ``contracts``, payer id -> :class:`~cptrules.fees.ContractSchedule`: with
      them every report carries an ``estimate`` of what the visit pays, priced
      for ``locality`` (``MAC-LL``, default ``national``) and ``place_of_service``.

    Unknown rule ids or severities raise :class:`~cptrules.errors.ConfigError`;
    a profile naming an unknown rule id raises :class:`~cptrules.errors.ProfileError`.
    """

    def __init__(
        self,
        *,
        profiles: Iterable[str | os.PathLike[str]] | ProfileSet | None = None,
        tables: EditTables | str | os.PathLike[str] | None = None,
        disabled: Iterable[str] = (),
        severities: Mapping[str, str] | None = None,
        fees: FeeSchedule | None = None,
        contracts: Mapping[str, ContractSchedule] | None = None,
        locality: str = "national",
        place_of_service: str = "11",
    ) -> None:
        if profiles is None:
            self.profiles = bundled_profiles()
        elif isinstance(profiles, ProfileSet):
            self.profiles = profiles
        else:
            self.profiles = bundled_profiles().with_files(profiles)
        self.disabled = frozenset(disabled)
        self.severities: dict[str, Severity] = {}
        for rid, sev in (severities or {}).items():
            if sev not in SEVERITIES:
                raise ConfigError(f"severity for {rid} must be error, warning or info")
            self.severities[rid] = sev  # type: ignore[assignment]  # checked just above
        for rid in (*self.disabled, *self.severities):
            if rid not in REGISTRY:
                raise ConfigError(f"unknown rule id {rid} (see `cptrules rules`)")
        _check_profile_rule_ids(self.profiles)
        self.tables = _open_tables(tables)
        self.catalog = catalog()
        # Engine-owned memos: they live and die with the engine, and
        # cptrules.clear_caches() empties them (answers never depend on them).
        self._plans: Memo[int, _Plan] = Memo("engine: plans by profile", size=1024)
        self._routes: Memo[tuple[str, int], _Route] = Memo(
            "engine: routes by payer and period", size=_DAYS_CACHED
        )
        self._periods = _periods(self.profiles, self.catalog.data_start)
        self._unit_rows: Memo[_UnitsKey, tuple[LineUnits, ...]] = Memo(
            "engine: units rows", size=_UNIT_ROWS_CACHED
        )
        #: what every report of this engine keeps to check a fixed session again
        self._recheck = _ReportRecheck(self.check)
        self.fees = fees
        self.contracts = dict(contracts or {})
        self.fee_options = (locality, place_of_service)
        if fees is not None or self.contracts:
            # only engines with fee data load it
            from .fees.estimate import price_contract_lines, price_days, price_visit, route_prices

            self._fee_functions = (price_visit, price_contract_lines)
            self._route_prices = route_prices
            if fees is not None:
                # a route then also holds the day's fee table: its period prices alike
                days = price_days(fees, self.catalog.data_start)
                self._periods = sorted({*self._periods, *days})
        #: (id of a finding, amount) -> (the finding, it with the amount): see _amounts
        self._with_amounts: Memo[tuple[int, Decimal], tuple[Finding, Finding]] = Memo(
            "engine: findings with amounts", size=_WITH_AMOUNTS_CACHED
        )

    def plan(self, profile: PayerProfile) -> _Plan:
        """The rules ``profile`` runs (before dates), prepared once per profile version."""
        plan = self._plans.get(id(profile))
        if plan is None:
            rules = tuple(
                r
                for r in REGISTRY.values()
                # an episode rule needs a series of visits: only check_episode words it
                if not r.episode and r.id not in self.disabled and r.for_profile(profile)
            )
            sev = dict(profile.severities)
            sev.update(self.severities)
            tables_version = self.tables.version if profile.ncci else "ncci:off"
            version = (
                f"cptrules-data {DATA_VERSION}; "
                f"profile {profile.id}@{profile.effective.isoformat()}; {tables_version}"
            )
            plan = _Plan(rules, sev, version, self._data(profile))  # type: ignore[arg-type]  # profile severities are validated on load
            self._plans.put(id(profile), plan)
        return plan

    def _data(self, profile: PayerProfile) -> Mapping[str, str]:
        """Which data answers for ``profile``, in words (the report's ``data`` section)."""
        version = self.tables.version
        if not profile.ncci:
            ptp = mue = f"off: payer profile {profile.id} runs no NCCI edits"
        else:
            ptp = (
                "bundled: therapy pairs of the CMS practitioner PTP edits, quarter "
                "beginning 2024-07-01 (import the official files for every pair)"
                if version.startswith("ncci:bundled")
                else f"imported: {version}"
            )
            if not self.tables.has_mue:
                mue = "none loaded: units were not checked against medically unlikely edits"
            elif version.startswith("ncci:bundled"):
                mue = (
                    "bundled: CMS practitioner MUE values of the quarter beginning 2024-07-01 "
                    "for the therapy codes of the catalog, applied to every date (import the "
                    "quarter's table for other codes and quarters)"
                )
            else:
                mue = f"imported: {version}"
        return {
            "codes": (
                f"code catalog of {len(self.catalog.codes)} codes (cptrules-data {DATA_VERSION}); "
                f"a code outside it is named as not checked"
            ),
            "ncci_ptp": ptp,
            "ncci_mue": mue,
        }

    def profile_for(self, payer: str, session: Session) -> PayerProfile:
        """The version of profile ``payer`` in force on the session's date of service."""
        dos = session.date_of_service
        if dos < self.catalog.data_start:
            raise NoRuleDataError(  # the date itself is not echoed: it is patient data
                f"the date of service is before {self.catalog.data_start.isoformat()}, "
                "where cptrules rule data begins"
            )
        profile = self.profiles.get(payer, dos)
        if profile is None:
            if not self.profiles.knows(payer):
                raise InvalidSessionError(
                    [("payer", "unknown payer profile (see `cptrules payers`)")]
                )
            raise NoRuleDataError(
                f"no version of payer profile {payer} is in force on the date of service"
            )
        return profile

    def rules_for(self, payer: str, session: Session) -> tuple[Rule, ...]:
        """The rules that run for ``session`` under ``payer`` (profile and dates applied)."""
        profile = self.profile_for(payer, session)
        dos = session.date_of_service
        return tuple(r for r in self.plan(profile).rules if r.in_force(dos))

    def _route(self, payer: str, session: Session, period: int) -> _Route:
        """Profile, plan, rules in force and tables for ``payer`` on the session's date.

        Worked out once per payer and ``period`` (see :func:`_periods`) and kept in
        a bounded cache; a date before our data or an unknown payer raises every time.
        """
        profile = self.profile_for(payer, session)
        plan = self.plan(profile)
        dos = session.date_of_service
        steps = plan.in_force(dos)
        prices = None
        fees = self.fees
        if (
            fees is not None
            and period < len(self._periods)  # the last period is open-ended: priced per visit
            and self.contracts.get(profile.id) is None
            and "medicare" in profile.lineage
        ):
            locality, pos = self.fee_options
            prices = self._route_prices(fees, dos, locality, pos, profile.id)
        route = _Route(
            profile,
            plan,
            steps,
            self.tables if profile.ncci else None,
            payer,
            plan.runs(steps),
            prices,
        )
        return self._routes.put((payer, period), route)

    def check(
        self,
        session: SessionInput,
        payer: str | None = None,
        *,
        carries: Iterable[str] | None = None,
    ) -> Report:
        """Check one session; ``payer`` overrides ``session.payer``.

        ``session`` may be a :class:`~cptrules.Session` or anything
        :func:`~cptrules.load_session` takes. ``carries`` names what of
        ``minutes``, ``clock`` and ``documentation`` the input holds (None: all
        of it, as a session does; a claim read by :mod:`cptrules.x12` or
        :mod:`cptrules.fhir` holds less): rules that need what it lacks are not
        run and one ``claim.not-checked`` info names them, and billed units of
        timed codes are taken as given when minutes are lacking. Raises
        :class:`~cptrules.InvalidSessionError` for bad input or an unknown payer,
        :class:`~cptrules.errors.NoRuleDataError` for a date before our data.
        """
        if not isinstance(session, Session):
            session = load_session(session)
        dos = session.date_of_service
        pid = session.payer if payer is None else payer
        period = bisect_right(self._periods, dos)
        route = self._routes.get((pid, period))
        if route is None:
            route = self._route(pid, session, period)
        profile, plan, steps, tables, pid, runs, prices = route
        ctx = Context(session, profile, self.catalog, tables)
        shape = ctx.shape
        got = runs.get(id(shape))
        run = (
            got[1] if got is not None and got[0] is shape else _run_for(runs, steps, shape, profile)
        )
        findings: list[Finding] = []
        expected = ctx.expected
        if carries is not None:
            lacking = frozenset(NEEDS.keys() - frozenset(carries))
            if lacking:
                run, skipped = _without(run, lacking)
                named = next((r for _, r, _ in steps if r.id == NOT_CHECKED), None)
                if skipped and named is not None:  # None: switched off for this payer
                    findings.append(_not_checked(named, skipped, lacking, profile))
                if "minutes" in lacking:
                    expected = ctx.billed
        extend = findings.extend
        for func, r in run:
            found = func(ctx, r)
            if found:  # most rules find nothing: no call to extend with an empty answer
                extend(found)
        if findings:
            if plan.severities:
                regrade = plan.severities
                findings = [
                    attrs.evolve(f, severity=regrade[f.rule]) if f.rule in regrade else f
                    for f in findings
                ]
            if len(findings) > 1:
                findings.sort(key=Finding.sort_key)
        units = self._unit_rows.get((ctx.line_codes, ctx.billed, expected))
        if units is None:
            units = self._units(ctx, expected)
        estimate = None
        if prices is not None:
            # the units priced per line: billed, or else expected (= the context's billed);
            # one lookup by the shape's identity and the units (see RoutePrices)
            shape = ctx.shape
            billed = ctx.billed
            hit = prices.get((id(shape), billed))
            if hit is None or hit[0] is not shape:
                hit = prices.price(shape, session.lines, ctx.line_codes, billed)
            estimate = hit[1]
            if findings:
                findings = self._amounts(findings, ctx, estimate, hit[2], prices)
        elif self.fees is not None or self.contracts:
            estimate = self._estimate(session, profile, ctx.line_codes, ctx.billed)
            if estimate is not None and findings:
                findings = self._amounts(findings, ctx, estimate)
        # built directly (see models._builder): the attrs __init__'s frozen stores and
        # recheck converter cost about a microsecond; self._recheck is already wrapped
        return _build_report(
            session,
            pid,
            dos,
            plan.data_version,
            tuple(findings),
            units,
            estimate,
            plan.data,
            self._recheck if carries is None else _wrap_recheck(_Recheck(self, frozenset(carries))),
        )

    def _amounts(
        self,
        findings: list[Finding],
        ctx: Context,
        estimate: Estimate,
        complete: bool | None = None,
        prices: RoutePrices | None = None,
    ) -> list[Finding]:
        """The findings with the money at stake, where the estimate tells it (docs/money.md).

        A finding whose ``set_units`` fixes raise the units gets ``amount``: what
        the visit priced with those units adds (left behind). An error on a line
        without such fixes gets the line's allowed amount (what it would lose).
        Nothing where a line involved is not priced. The estimate priced the
        context's billed units; ``complete`` is ``estimate.complete`` when the
        caller knows it, ``prices`` the route's estimates (the visit with other
        units is looked up there). ``findings`` is changed in place and returned.
        """
        lines = estimate.lines
        for i, f in enumerate(findings):
            fixes = f.fixes
            line = f.line
            if not fixes:
                # most findings: no fixes and not an error on a line, nothing to price
                if line is None or f.severity != "error" or not 0 <= line < len(lines):
                    continue
                amount = lines[line].allowed  # what the line in error would lose
            else:
                raising = up = False
                priced = ctx.billed
                for x in fixes:
                    if x.action == "set_units":
                        raising = True
                        value = x.value
                        if isinstance(value, int) and 0 <= x.line < len(priced):
                            was = priced[x.line]
                            if was is None or value > was:
                                up = True
                if raising:
                    if complete is None:
                        complete = estimate.complete
                    if complete:
                        # only more units can leave money behind: lowering them prices nothing
                        if not up:
                            continue
                        amount = self._left_behind(f, ctx, estimate, prices)
                if not raising or not complete:
                    # an error on a line the estimate holds would lose the line's amount
                    if line is None or f.severity != "error" or not 0 <= line < len(lines):
                        continue
                    amount = lines[line].allowed
            if amount is None:
                continue
            # Rules hand out shared finding objects: the one with this amount is
            # made once per (finding, amount) and kept (checked by identity).
            key = (id(f), amount)
            hit = self._with_amounts.get(key)
            if hit is None or hit[0] is not f:
                # built directly: attrs.evolve, even the frozen __init__, cost several times more
                hit = self._with_amounts.put(
                    key,
                    (
                        f,
                        _build_finding(
                            f.rule, f.severity, line, f.message, f.citation, fixes, amount
                        ),
                    ),
                )
            findings[i] = hit[1]
        return findings

    def _left_behind(
        self, f: Finding, ctx: Context, estimate: Estimate, prices: RoutePrices | None
    ) -> Decimal | None:
        """What the visit priced with ``f``'s ``set_units`` fixes adds, when it adds anything."""
        priced = ctx.billed
        fixed = list(priced)
        for x in f.fixes:
            if x.action == "set_units" and 0 <= x.line < len(fixed) and isinstance(x.value, int):
                fixed[x.line] = x.value
        if not any(
            b is not None and (a is None or b > a) for a, b in zip(priced, fixed, strict=True)
        ):
            return None
        units = tuple(fixed)
        if prices is None:
            again = self._estimate(ctx.session, ctx.profile, ctx.line_codes, units)
        else:  # the same shape with other units: the route's estimates hold it
            again = prices.price(ctx.shape, ctx.lines, ctx.line_codes, units)[1]
        if again is not None and again.complete and again.total > estimate.total:
            return again.total - estimate.total
        return None

    def _units(self, ctx: Context, expected: tuple[int | None, ...]) -> tuple[LineUnits, ...]:
        """The report's units rows: one shared immutable tuple per distinct set of rows.

        Rows repeat (97110 x2 billed, 2 expected on line 0, ...); looking the
        whole tuple up costs a fraction of building it. Called where
        :meth:`check` did not find the whole tuple: a visit of unseen minutes
        mostly repeats rows seen before, so each row is looked up on its own
        (a lookup costs a fraction of building the row).
        """
        billed = ctx.billed
        line_codes = ctx.line_codes
        get = _ROWS.get
        rows: list[LineUnits] = []
        for row in zip(range(len(line_codes)), line_codes, billed, expected, strict=True):
            got = get(row)
            if got is None:
                got = _ROWS.put(row, LineUnits(*row))
            rows.append(got)
        return self._unit_rows.put((line_codes, billed, expected), tuple(rows))

    def _estimate(
        self,
        session: Session,
        profile: PayerProfile,
        codes: tuple[str, ...],
        priced: tuple[int | None, ...],
    ) -> Estimate | None:
        """What the visit pays under ``profile``, when the engine has its fee data.

        ``codes`` are the lines' codes and ``priced`` every line's units as
        priced (the report's billed units, or a fix's), in order.
        """
        if self.contracts:
            rates = self.contracts.get(profile.id)
            if rates is not None:
                return self._fee_functions[1](session, rates, priced, payer=profile.id)
        fees = self.fees
        if fees is not None and "medicare" in profile.lineage:  # profile.is_a, inlined
            locality, pos = self.fee_options
            return self._fee_functions[0](
                fees,
                session.date_of_service,
                session.lines,
                codes,
                priced,
                locality,
                pos,
                profile.id,
            )
        return None


#: a Report from all its fields, in order; ``recheck`` given already wrapped
_build_report: Callable[..., Report] = _builder(Report)
_UNIT_ROWS_CACHED = 4096
_WITH_AMOUNTS_CACHED = 4096
#: the lines' codes, billed and expected units: what a report's units rows say
_UnitsKey = tuple[tuple[str, ...], tuple[int | None, ...], tuple[int | None, ...]]
#: (line, code, billed, expected) -> the immutable units row, shared by every report
_ROWS: Memo[tuple[int, str, int | None, int | None], LineUnits] = Memo(
    "units rows by line", size=_UNIT_ROWS_CACHED
)


def _periods(profiles: ProfileSet, data_start: dt.date) -> list[dt.date]:
    """The days on which what a route holds may change, sorted.

    A route (profile version, rules in force) is the same for every date of
    service between two of these days: the first day of the data, and the
    first and the day after the last day of every profile version and rule.
    ``bisect_right`` of a date of service gives its period. An engine with a fee
    schedule adds the days its prices change (``fees.estimate.price_days``), so a
    route also holds one fee table.
    """
    days = {data_start}
    dated: list[tuple[dt.date | None, dt.date | None]] = [
        (p.effective, p.until) for p in profiles.all()
    ]
    dated += [(r.starts, r.until) for r in REGISTRY.values()]
    for first, last in dated:
        if first is not None:
            days.add(first)
        if last is not None and last < dt.date.max:
            days.add(last + dt.timedelta(days=1))
    return sorted(days)


class _Route(NamedTuple):
    """What checking under one payer on one date of service needs, looked up once."""

    profile: PayerProfile
    plan: _Plan
    steps: tuple[_Step, ...]
    tables: EditTables | None
    payer: str  # the id as given, shared by every report of the route
    #: the visit's shape -> the rules to run (see :func:`_run_for`), shared by every
    #: date of service that has the same rules in force
    runs: _Runs
    #: the route's estimates by visit shape and units, when the engine prices this
    #: payer from a fee schedule and the period has one table (see _periods)
    prices: RoutePrices | None


#: Most shapes remembered per list of rules; visits repeat a few code combinations.
_RUNS_CACHED = 1024


def _run_for(runs: _Runs, steps: tuple[_Step, ...], shape: Shape, profile: PayerProfile) -> _Run:
    """The rules of ``steps`` to run on the visits of ``shape`` under ``profile``.

    Those without triggers and those with one present (``shape.present``), less
    those whose ``quiet`` guard proves them silent on the shape. Remembered in
    ``runs`` by the shape's id, the shape kept beside (a reused id is told apart).
    """
    present = shape.present
    run = tuple(
        (func, r)
        for func, r, triggers in steps
        if (triggers is None or triggers & present)
        and (r.quiet is None or not r.quiet(shape, profile))
    )
    runs.put(id(shape), (shape, run))
    return run


#: the id of the one info a check of a claim gives for the rules it could not run
#: (registered, with its citation, in :mod:`cptrules.rules.claims`)
NOT_CHECKED = "claim.not-checked"


def _without(run: _Run, lacking: frozenset[str]) -> tuple[_Run, tuple[Rule, ...]]:
    """``run`` without the rules that need what the input lacks, and those rules."""
    kept: list[tuple[RuleFunc, Rule]] = []
    skipped: list[Rule] = []
    for step in run:
        if step[1].needs.isdisjoint(lacking):
            kept.append(step)
        else:
            skipped.append(step[1])
    return tuple(kept), tuple(skipped)


def _not_checked(
    rule: Rule, skipped: tuple[Rule, ...], lacking: frozenset[str], profile: PayerProfile
) -> Finding:
    """The one info naming the rules a claim's input could not feed, and why."""
    needed = frozenset().union(*(r.needs for r in skipped))
    what = [n for n in NEEDS if n in needed and n in lacking]
    ids = ", ".join(sorted(r.id for r in skipped))
    words = "; ".join(NEEDS[n] for n in what)
    message = (
        f"Not checked for {profile.name}: the claim does not carry {words}, so these rules "
        f"did not run: {ids}."
    )
    if "minutes" in what:
        message += (
            " Billed units of timed codes are taken as given; pass the visit's minutes "
            "beside the claim to check them."
        )
    return rule.finding(None, message)


@attrs.frozen
class _Recheck:
    """``engine.check`` for a report's ``fixed()``, keeping what the input carries."""

    engine: Engine
    carries: frozenset[str]

    def __call__(self, session: Session, payer: str | None) -> Report:
        return self.engine.check(session, payer, carries=self.carries)


def _check_profile_rule_ids(profiles: ProfileSet) -> None:
    """A typo in a profile's rule ids must not silently do nothing."""
    for p in profiles.all():
        for key, ids in (
            ("rules.on", p.rules_on),
            ("rules.off", p.rules_off),
            ("severities", p.severities),
        ):
            for rid in sorted(ids):
                if rid not in REGISTRY:
                    raise ProfileError(
                        f"unknown rule id {rid} (see `cptrules rules`)", source=p.origin, key=key
                    )


def _open_tables(tables: EditTables | str | os.PathLike[str] | None) -> EditTables:
    from . import ncci

    if tables is None:
        return ncci.default_tables()
    if isinstance(tables, str | os.PathLike):
        return ncci.open_store(tables)
    if not hasattr(tables, "ptp") or not hasattr(tables, "mue"):
        raise ConfigError("tables must be an EditTables object or the path of a store")
    return tables


_default: Engine | None = None
_default_lock = threading.Lock()


def default_engine() -> Engine:
    """The shared engine with bundled profiles and default tables, built once."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Engine()
    return _default


def check(session: SessionInput, payer: str | None = None) -> Report:
    """Check one session on the default engine; ``payer`` overrides ``session.payer``.

    >>> import cptrules
    >>> report = cptrules.check({"date_of_service": "2026-03-04", "payer": "medicare",
    ...     "provider": {"discipline": "PT"},
    ...     "lines": [{"code": "97110", "minutes": 33, "units": 3, "modifiers": ["GP"]}]})
    >>> [(f.rule, f.severity) for f in report.findings if f.rule.startswith("units")]
    [('units.total-time', 'error')]
    >>> report.units[0].expected
    2
    """
    return default_engine().check(session, payer)
