"""Episodes: one patient's visits checked together (docs/episodes.md).

Some rules cannot be checked from one visit alone: the KX threshold needs the
year's allowed amount so far, the progress report the treatment day count, and
NCD 30.3.3 counts acupuncture and dry needling visits. :func:`check_episode`
takes a patient's visits, derives those values visit by visit, fills them in,
checks each visit with :meth:`Engine.check <cptrules.Engine.check>` and adds the
findings of the ``episode.*`` rules. Each visit's report is exactly what
``check()`` gives for the filled-in session, plus episode findings.

The limits are data (``cptrules/data/episodes.toml``); the KX threshold is the
one :func:`cptrules.rules.modifiers.kx_thresholds` reads. Messages never echo the
patient key, the caller's ids or the accrued amounts.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import tomllib
from collections.abc import Iterable, Mapping
from decimal import Decimal
from importlib import resources
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, Any

import attrs

from ._memo import Memo
from .catalog import catalog
from .engine import Engine, default_engine
from .errors import ConfigError, DataError, InvalidSessionError
from .models import PlanOfCare, Session, TherapyYtd
from .parsing import load_session
from .report import (
    Finding,
    Fix,
    Report,
    encode_report,
    invalid_report,
    render_invalid_text,
    render_text,
)
from .rules._base import REGISTRY, Example, Rule
from .rules.coverage import NCD_30_3_3_START
from .rules.episode import EPISODE_RULE_IDS

if TYPE_CHECKING:
    from .batch import EngineSettings, Summary
    from .payers import PayerProfile

__all__ = [
    "DEFAULT_WINDOW",
    "EPISODE_RULES",
    "Episode",
    "EpisodeVisit",
    "check_episode",
    "check_example",
    "check_jsonl_episodes",
]

_BUCKETS = ("pt_slp", "ot")
_LABEL = {"pt_slp": "PT and SLP", "ot": "OT"}


#: the episode rules, by id: registered in :data:`cptrules.rules.REGISTRY` with
#: ``episode=True`` (``cptrules rules`` lists them); findings only
#: :func:`check_episode` can make
EPISODE_RULES: Mapping[str, Rule] = MappingProxyType({i: REGISTRY[i] for i in EPISODE_RULE_IDS})


@attrs.frozen
class _Limits:
    acu_start: dt.date
    window_days: int
    window_visits: int
    improvement_visits: int
    year_visits: int
    acu_codes: frozenset[str]
    reset_codes: frozenset[str]


_LIMITS: Memo[str, _Limits] = Memo("episode limits", size=1)


def _limits() -> _Limits:
    """The episode limits of ``data/episodes.toml``, read once."""
    got = _LIMITS.get("")
    if got is not None:
        return got
    name = "episodes.toml"
    try:
        raw = tomllib.loads(
            resources.files("cptrules.data").joinpath(name).read_text(encoding="utf-8")
        )
        acu, td = raw["acupuncture"], raw["treatment_day"]
        fams = catalog().families
        limits = _Limits(
            acu_start=NCD_30_3_3_START,
            window_days=int(acu["window_days"]),
            window_visits=int(acu["window_visits"]),
            improvement_visits=int(acu["improvement_visits"]),
            year_visits=int(acu["year_visits"]),
            acu_codes=frozenset(c for f in acu["families"] for c in fams[f]),
            reset_codes=frozenset(c for f in td["reset_families"] for c in fams[f]),
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise DataError(f"cannot read bundled episode data: {exc}", source=name) from exc
    return _LIMITS.put("", limits)


@attrs.frozen
class EpisodeVisit:
    """One visit of an episode: its input position, the values derived and its report.

    ``index`` is the 0-based position in the input; ``treatment_day`` and
    ``therapy_ytd_allowed`` are the values the report was checked with (derived,
    or the caller's where given), None where neither is known.
    """

    index: int
    report: Report
    treatment_day: int | None
    therapy_ytd_allowed: TherapyYtd | None


@attrs.frozen
class Episode:
    """The visits of one patient, in input order, each with its report."""

    visits: tuple[EpisodeVisit, ...]

    @property
    def ok(self) -> bool:
        """True when no visit's report has an error."""
        return all(v.report.ok for v in self.visits)

    @property
    def reports(self) -> tuple[Report, ...]:
        """The visits' reports, in input order."""
        return tuple(v.report for v in self.visits)


def _line_bucket(session: Session, i: int) -> str | None:
    """The KX bucket of line ``i``: GO -> ot, GP/GN -> pt_slp; else the therapist's own."""
    line = session.lines[i]
    mods = line.modifiers
    if "GO" in mods:
        return "ot"
    if "GP" in mods or "GN" in mods:
        return "pt_slp"
    info = catalog().codes.get(line.code)
    if info is None or info.therapy == "never":
        return None
    d = session.provider.discipline
    return "ot" if d == "OT" else "pt_slp" if d in ("PT", "SLP") else None


def _with_amount(amount: Decimal, finding: Finding) -> Finding:
    """The finding with what its line would lose (its allowed amount)."""
    return attrs.evolve(finding, amount=amount)


def _is_therapy_visit(session: Session) -> bool:
    return any(_line_bucket(session, i) is not None for i in range(len(session.lines)))


def _ytd_start(start: TherapyYtd | Mapping[str, Any] | None) -> TherapyYtd | None:
    if start is None or isinstance(start, TherapyYtd):
        return start
    if not isinstance(start, Mapping):
        raise InvalidSessionError([("start", "must be an object with pt_slp and ot, or null")])
    try:
        s = load_session(
            {
                "date_of_service": "2026-01-01",
                "payer": "medicare",
                "provider": {"discipline": "PT"},
                "lines": [{"code": "97110"}],
                "therapy_ytd_allowed": dict(start),
            }
        )
    except InvalidSessionError as exc:
        cut = len("therapy_ytd_allowed")
        raise InvalidSessionError([("start" + p[cut:], m) for p, m in exc.errors]) from None
    return s.therapy_ytd_allowed


def check_episode(
    sessions: Iterable[Any],
    *,
    engine: Engine | None = None,
    start: TherapyYtd | Mapping[str, Any] | None = None,
    payer: str | None = None,
) -> Episode:
    """Check one patient's visits together, deriving what one visit cannot know.

    ``sessions`` are :class:`~cptrules.Session` objects or anything
    :func:`~cptrules.load_session` takes, in any order (they are taken in date
    order; on one day a visit with an evaluation first, the others in input
    order). Every session's ``patient`` must be the same (or absent on all).
    ``start`` is the Medicare therapy
    allowed amount of the first visit's year before it (``pt_slp`` and ``ot``);
    without it the first visit's own ``therapy_ytd_allowed`` is the start, and
    without either the amount is not derived (an ``episode.not-checked`` info).
    The allowed amounts come from the engine's fee estimates (``Engine(fees=...)``):
    an engine without fee data derives none. A value the caller put on a
    session wins over the derived one (``episode.given-value`` info when they
    differ). ``payer`` overrides every session's payer, as in
    :func:`~cptrules.check`. The episode rules follow the engine's
    ``disabled`` and ``severities`` and the payer profile's, like every rule.
    Raises :class:`~cptrules.InvalidSessionError` for bad input, with paths
    ``[n].key`` (n the input position).
    """
    eng = default_engine() if engine is None else engine
    loaded: list[Session] = []
    errors: list[tuple[str, str]] = []
    for n, raw in enumerate(sessions):
        try:
            loaded.append(raw if isinstance(raw, Session) else load_session(raw))
        except InvalidSessionError as exc:
            errors.extend((f"[{n}].{p}" if p else f"[{n}]", m) for p, m in exc.errors)
    if not errors and len({s.patient for s in loaded}) > 1:
        errors.append(("patient", "the visits of one episode must share one patient key"))
    try:
        first_ytd = _ytd_start(start)
    except InvalidSessionError as exc:
        errors.extend(exc.errors)
        first_ytd = None
    if errors:
        raise InvalidSessionError(errors)
    limits = _limits()
    resets = limits.reset_codes

    def when(n: int) -> tuple[dt.date, bool, int]:
        # date order; on one day an evaluation's visit first, then input order
        s = loaded[n]
        return (s.date_of_service, not any(ln.code in resets for ln in s.lines), n)

    order = sorted(range(len(loaded)), key=when)
    out: dict[int, EpisodeVisit] = {}
    walk = _Walk(eng, limits, first_ytd, payer)
    for n in order:
        out[n] = walk.visit(n, loaded[n])
    return Episode(tuple(out[n] for n in range(len(loaded))))


class _Walk:
    """The running state of an episode, visit by visit in date order."""

    def __init__(
        self, engine: Engine, limits: _Limits, start: TherapyYtd | None, payer: str | None = None
    ) -> None:
        self.engine = engine
        self.payer = payer
        self.limits = limits
        self.day: int | None = None  # treatment day of the last therapy visit
        self.day_date: dt.date | None = None
        self.reset_next = False
        self.year: int | None = None
        self.ytd: dict[str, Decimal | None] | None = (
            None if start is None else {"pt_slp": start.pt_slp, "ot": start.ot}
        )
        self.start_given = start is not None
        self.plan: PlanOfCare | None = None
        self.acu_days: list[dt.date] = []

    def visit(self, n: int, s: Session) -> EpisodeVisit:
        extra: list[Finding] = []
        profile = self.engine.profile_for(s.payer if self.payer is None else self.payer, s)
        medicare = profile.is_a("medicare")
        therapy = _is_therapy_visit(s)
        # treatment day
        day = self._treatment_day(s, therapy, extra)
        # the year's allowed amount before this visit (Medicare therapy visits)
        ytd = self._ytd_before(s, extra) if medicare and therapy else None
        plan = s.plan_of_care if s.plan_of_care is not None else self.plan
        if s.plan_of_care is not None:
            self.plan = s.plan_of_care
        filled = s
        changes: dict[str, Any] = {}
        if day is not None and day != s.treatment_day:
            changes["treatment_day"] = day
        if ytd is not None and ytd != s.therapy_ytd_allowed:
            changes["therapy_ytd_allowed"] = ytd
        if plan is not None and s.plan_of_care is None and therapy:
            changes["plan_of_care"] = plan
        if changes:
            filled = attrs.evolve(s, **changes)
        report = self.engine.check(filled, self.payer)
        if medicare and therapy:
            self._accrue(filled, report, profile.name, extra)
        if medicare:
            self._acupuncture(s, extra)
        if extra:
            extra = _graded(self.engine, profile, extra)
        if extra:
            findings = sorted((*report.findings, *extra), key=Finding.sort_key)
            report = attrs.evolve(report, findings=tuple(findings))
        return EpisodeVisit(n, report, filled.treatment_day, filled.therapy_ytd_allowed)

    def _treatment_day(self, s: Session, therapy: bool, extra: list[Finding]) -> int | None:
        if not therapy:
            return s.treatment_day
        dos = s.date_of_service
        if any(line.code in self.limits.reset_codes for line in s.lines):
            derived: int | None = 1
        elif self.day is None:
            derived = None
        elif dos == self.day_date:
            derived = self.day
        else:
            derived = 1 if self.reset_next else self.day + 1
        given = s.treatment_day
        if given is not None and derived is not None and given != derived:
            extra.append(
                EPISODE_RULES["episode.given-value"].finding(
                    None,
                    f"The session gives treatment day {given}; the episode counts day {derived} "
                    "since the last evaluation or progress report. The session's value is used.",
                )
            )
        day = given if given is not None else derived
        if day is None:
            extra.append(
                EPISODE_RULES["episode.not-checked"].finding(
                    None,
                    "The treatment day could not be derived (no evaluation, re-evaluation or "
                    "progress report earlier in the episode, and none given), so the progress "
                    "report was not checked.",
                )
            )
            return None
        if dos != self.day_date:
            self.reset_next = bool(s.progress_report)
        else:
            self.reset_next = self.reset_next or bool(s.progress_report)
        self.day, self.day_date = day, dos
        return day

    def _ytd_before(self, s: Session, extra: list[Finding]) -> TherapyYtd | None:
        year = s.date_of_service.year
        if self.year is not None and year != self.year:
            # a new calendar year in the episode: the amount starts again at zero
            self.ytd = {"pt_slp": Decimal(0), "ot": Decimal(0)}
        self.year = year
        given = s.therapy_ytd_allowed
        if self.ytd is None:
            self.ytd = {"pt_slp": None, "ot": None}
        for b in _BUCKETS:
            mine = None if given is None else getattr(given, b)
            derived = self.ytd[b]
            if mine is not None:
                if derived is not None and derived != mine:
                    extra.append(
                        EPISODE_RULES["episode.given-value"].finding(
                            None,
                            f"The session's {'PT and SLP' if b == 'pt_slp' else 'OT'} allowed "
                            "amount so far this year differs from the one the episode derives "
                            "from its estimates; the session's value is used.",
                        )
                    )
                self.ytd[b] = mine
        buckets = {_line_bucket(s, i) for i in range(len(s.lines))}
        for b in _BUCKETS:
            if b not in buckets:
                continue
            if self.ytd[b] is None:
                extra.append(
                    EPISODE_RULES["episode.not-checked"].finding(
                        None,
                        f"The {'PT and SLP' if b == 'pt_slp' else 'OT'} allowed amount so far "
                        "this year could not be derived (no starting amount, or no fee data for "
                        "an earlier visit), so KX was not checked from the episode.",
                    )
                )
        if all(v is None for v in self.ytd.values()):
            return given
        return TherapyYtd(pt_slp=self.ytd["pt_slp"], ot=self.ytd["ot"])

    def _accrue(self, s: Session, report: Report, payer_name: str, extra: list[Finding]) -> None:
        """Add this visit's allowed amounts; find the line where KX becomes required."""
        from .rules.modifiers import kx_thresholds

        assert self.ytd is not None
        est = report.estimate
        limits = kx_thresholds().get(s.date_of_service.year)
        for b in _BUCKETS:
            running = self.ytd[b]
            lines = [i for i in range(len(s.lines)) if _line_bucket(s, i) == b]
            if running is None or not lines:
                continue
            if est is None:
                self.ytd[b] = None
                continue
            allowed = {ln.line: ln.allowed for ln in est.lines}
            crossed = False
            for i in lines:
                amount = allowed.get(i)
                if amount is None:
                    running = None
                    break
                before = running
                running += amount
                if limits is None:
                    continue
                if before < limits.kx < running or crossed:
                    first = not crossed
                    crossed = True
                    if "KX" not in s.lines[i].modifiers:
                        extra.append(
                            _with_amount(
                                amount,
                                EPISODE_RULES["episode.kx-crossed"].finding(
                                    i,
                                    f"The {_LABEL[b]} therapy threshold of {payer_name} "
                                    f"(${limits.kx:,.2f} for {s.date_of_service.year}) is crossed "
                                    + (
                                        "on this line: it needs KX."
                                        if first
                                        else "earlier in this visit: this line is above it and "
                                        "needs KX."
                                    ),
                                    fixes=(Fix("add_modifier", i, "KX"),),
                                ),
                            )
                        )
            self.ytd[b] = running

    def _acupuncture(self, s: Session, extra: list[Finding]) -> None:
        lim = self.limits
        dos = s.date_of_service
        if dos < lim.acu_start:
            return
        lines = [i for i, line in enumerate(s.lines) if line.code in lim.acu_codes]
        if not lines:
            return
        if dos not in self.acu_days:
            self.acu_days.append(dos)
        floor = dos - dt.timedelta(days=lim.window_days - 1)
        in_window = sum(1 for d in self.acu_days if floor <= d <= dos)
        in_year = sum(1 for d in self.acu_days if d.year == dos.year)
        rule = EPISODE_RULES["episode.acupuncture-visits"]
        if in_year > lim.year_visits:
            extra.append(
                rule.finding(
                    lines[0],
                    f"Acupuncture or dry needling visit {in_year} in {dos.year}: NCD 30.3.3 covers "
                    f"at most {lim.year_visits} a year.",
                )
            )
        elif in_window > lim.window_visits:
            extra.append(
                rule.finding(
                    lines[0],
                    f"Acupuncture or dry needling visit {in_window} in {lim.window_days} days: NCD "
                    f"30.3.3 covers {lim.window_visits}, and up to {lim.improvement_visits} more "
                    "only when improvement is documented (not checked by cptrules).",
                    severity="warning",
                )
            )


def _graded(engine: Engine, profile: PayerProfile, found: list[Finding]) -> list[Finding]:
    """Episode findings as the engine and profile grade them: switched off or re-graded."""
    regrade = engine.plan(profile).severities
    out = []
    for f in found:
        if f.rule in engine.disabled or not REGISTRY[f.rule].for_profile(profile):
            continue
        sev = regrade.get(f.rule)
        out.append(f if sev is None or sev == f.severity else attrs.evolve(f, severity=sev))
    return out


def check_example(
    rule: Rule, example: Example, *, engine: Engine | None = None, payer: str | None = None
) -> Report:
    """The report a rule's example is judged on.

    A rule checked per visit: ``check()`` of the example's session (as a claim
    carrying ``example.carries``, where the example gives it). An episode
    rule (``rule.episode``): :func:`check_episode` over the example's earlier
    visits (``example.before``) and its session, and the session's report. The
    tests of every rule's examples and the generated rule pages both use this.
    """
    eng = default_engine() if engine is None else engine
    if not rule.episode:
        return eng.check(dict(example.session), payer, carries=example.carries)
    visits = [*map(dict, example.before), dict(example.session)]
    episode = check_episode(visits, engine=eng, payer=payer)
    return episode.visits[-1].report


#: visits held per patient, and patients held open, by :func:`check_jsonl_episodes`
DEFAULT_WINDOW = 1000


class _Open:
    """One patient's open episode in a stream: its walk and visits not yet checked."""

    __slots__ = ("pending", "walk")

    def __init__(self, walk: _Walk) -> None:
        self.walk = walk
        self.pending: list[tuple[tuple[dt.date, bool, int], Session]] = []


def check_jsonl_episodes(
    stream: IO[bytes] | IO[str],
    out: IO[str],
    *,
    engine: Engine | EngineSettings | None = None,
    payer: str | None = None,
    format: str = "jsonl",
    name: str = "<stdin>",
    window: int = DEFAULT_WINDOW,
) -> Summary:
    """Check JSON Lines of sessions as episodes, grouped by their ``patient`` key.

    Writes one report per input record, in input order, each with its
    ``record`` (the 1-based input line), as ``jsonl`` (one JSON report a line)
    or ``text``. Memory is bounded: at most ``window`` visits per patient and
    ``window`` patients are held. Within a patient's window visits may come in
    any order; past it the earliest held visit is checked, so input sorted by
    date per patient streams exactly. When more than ``window`` patients are
    open, the one seen least recently is closed (checked to its end); if it
    comes back, its episode starts again (its derived values restart, and say
    so). A record without ``patient`` is an episode of its own. The Medicare
    allowed amount so far is started from the first visit's own
    ``therapy_ytd_allowed`` (see :func:`check_episode`).
    """
    from .batch._pool import _check_payer, _resolve_engine  # the batch machinery, on use only
    from .batch._reading import iter_records
    from .batch._tally import Summary

    if window < 1:
        raise ConfigError("the episode window must be at least 1")
    eng = _resolve_engine(engine)
    _check_payer(eng, payer)
    limits = _limits()
    summary = Summary()
    opened: collections.OrderedDict[str, _Open] = collections.OrderedDict()
    done: dict[int, str] = {}
    order: collections.deque[int] = collections.deque()
    owner: dict[int, str] = {}  # record -> patient, while the record is pending

    def emit(number: int, report: Report) -> None:
        summary.records += 1
        if report.ok:
            summary.ok += 1
        else:
            summary.with_errors += 1
        for f in report.findings:
            bucket = summary.notes if f.severity == "info" else summary.rules
            bucket[f.rule] = bucket.get(f.rule, 0) + 1
        if format == "text":
            done[number] = render_text(report, f"{name}, record {number}") + "\n"
        else:
            done[number] = encode_report(report, record=number) + "\n"
        owner.pop(number, None)

    def step(ep: _Open) -> None:
        ep.pending.sort(key=lambda kv: kv[0])
        key, session = ep.pending.pop(0)
        emit(key[2], ep.walk.visit(key[2], session).report)

    def close(patient: str) -> None:
        ep = opened.pop(patient)
        while ep.pending:
            step(ep)

    def drain() -> None:
        while order and order[0] in done:
            number = order.popleft()
            out.write(done.pop(number))
            summary.last_record = number

    for number, data in iter_records(stream):
        order.append(number)
        errors: list[tuple[str, str]] | None = None
        session: Session | None = None
        if data is None:
            errors = [("", "record too long (not read)")]
        else:
            try:
                session = load_session(data)
            except InvalidSessionError as exc:
                errors = list(exc.errors)
        if session is None:
            summary.records += 1
            summary.invalid += 1
            if format == "text":
                done[number] = render_invalid_text(name, number, errors or []) + "\n"
            else:
                doc = invalid_report(number, errors or [])
                done[number] = json.dumps(doc, separators=(",", ":")) + "\n"
        elif session.patient is None:
            emit(number, _Walk(eng, limits, None, payer).visit(number, session).report)
        else:
            patient = session.patient
            ep = opened.get(patient)
            if ep is None:
                if len(opened) >= window:
                    close(next(iter(opened)))
                ep = opened[patient] = _Open(_Walk(eng, limits, None, payer))
            else:
                opened.move_to_end(patient)
            resets = any(ln.code in limits.reset_codes for ln in session.lines)
            ep.pending.append(((session.date_of_service, not resets, number), session))
            owner[number] = patient
            if len(ep.pending) > window:
                step(ep)
        if len(done) > window * 4:  # reports held back by an early pending record
            first = owner.get(order[0])
            if first is not None:
                close(first)
        drain()
    for patient in list(opened):
        close(patient)
    drain()
    return summary
