"""Fault injectors: one per contract rule id, each turning a clean session into a faulty one.

:data:`FAULTS` maps a rule id to a :class:`Fault`: the base session it needs
(a :class:`~cptrules.strategies._build.Need`), the function that injects the
fault, the payer families it is meant for before the rule module exists (once
the rule is registered, the registry's own ``payers``/``applies`` decide), and
``implies``: the other rule ids the injected fault may legitimately trip as
well. Everything else must stay silent at severity error.

================================  ==================================================
rule id                           fault injected (and rules it may also trip)
================================  ==================================================
units.total-time                  a timed line billed one unit past every legal allocation
units.per-code                    a timed line billed one unit past its own midpoint count
                                  (may trip the daily unit cap rule of a capped payer:
                                  ``units.daily-cap``)
units.daily-cap                   one capped timed code given minutes worth more units than
                                  the payer's daily cap (units recomputed, so only the cap)
units.untimed                     an untimed code billed with more units than it allows
units.single-line                 one timed code split over two lines
units.missing-minutes             a timed line's minutes removed (assistant minutes and
                                  CQ/CO go with them; other lines' units recomputed)
ncci.ptp                          an indicator-1 pair billed without its bypass modifier
ncci.mue                          minutes worth one unit past the loaded MUE value, units
                                  recomputed (only when the engine's tables carry MUEs; the
                                  bundled ones do not; ``units.daily-cap`` on capped payers)
modifier.therapy                  GP/GO removed from an always-therapy line (``modifier.
                                  assistant`` too when the line carries CQ/CO)
modifier.assistant                assistant minutes over 10% without CQ/CO, or CQ/CO
                                  with no assistant minutes
modifier.kx                       year-to-date dollars past every sourced threshold, no KX
modifier.distinct                 59 added next to the X bypass modifier of a PTP pair
modifier.at                       AT removed from Medicare CMT
modifier.unknown                  a well-formed modifier the catalog does not know
modifier.em-25                    an E/M visit without 25 beside same-day CMT (beside OMT
                                  by an osteopathic physician under Medicare, which pays a
                                  chiropractor for no E/M)
coverage.chiropractor             a chiropractor billing extraspinal CMT 98943
coverage.replaced-code            Medicare 97014 (G0283 required)
coverage.bundled                  Medicare 97010
coverage.acupuncture              Medicare dry needling 20560/20561 without a back-pain
                                  diagnosis (``coverage.provider`` too: billed by a PT/OT)
coverage.provider                 a Medicare therapy visit billed by a massage therapist,
                                  athletic trainer or acupuncturist
coverage.subluxation              Medicare CMT whose primary diagnosis is not a
                                  subluxation (M99.00-M99.05)
code.unknown                      a line with a code the catalog does not know
code.add-on                       an add-on code without its primary (97811 without
                                  97810/97813; Medicare coverage rules of acupuncture too)
code.technique                    a technique of another code's family on 97140
code.same-region                  97140/97112/97124 with XS added on a spinal region that
                                  same-day CMT manipulated (GY under Medicare; ``ncci.ptp``
                                  where a payer denies the pair whatever the modifier)
code.cmt-regions                  a CMT code whose region range misses the regions treated
doc.manual-therapy                97140 without techniques, patient response or rationale
doc.timed-minutes                 total visit minutes below the timed minutes
poc.missing                       Medicare therapy with the plan of care removed
poc.expired                       the plan ended before the date of service
poc.unsigned                      the plan unsigned and started over 30 days before
poc.progress-report               treatment day 10 without a progress report
time.overlap                      two timed services whose clock times overlap
================================  ==================================================
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import attrs
import hypothesis.strategies as st

from ..models import Documentation, PlanOfCare, ServiceLine, Session, TherapyYtd
from ..payers import PayerProfile
from ..units import timed_expectations
from . import _data as D
from ._build import Env, Need

__all__: list[str] = []

Injector = Callable[[st.DrawFn, Session, PayerProfile, Env], Session]


def _always(_: Env) -> bool:
    return True


@attrs.frozen
class Fault:
    """How to make a session trip one rule."""

    need: Need
    inject: Injector = attrs.field(repr=False)
    #: payer families the rule is meant for, until its module registers it
    payers: Callable[[PayerProfile], bool] = attrs.field(repr=False)
    #: other rule ids the fault may trip as well
    implies: frozenset[str] = frozenset()
    #: False when the fault cannot be built with the engine's current data
    available: Callable[[Env], bool] = attrs.field(default=_always, repr=False)


FAULTS: dict[str, Fault] = {}


def _fault(
    rule_id: str,
    need: Need,
    payers: Callable[[PayerProfile], bool],
    *,
    implies: tuple[str, ...] = (),
    available: Callable[[Env], bool] | None = None,
) -> Callable[[Injector], Injector]:
    def register(func: Injector) -> Injector:
        FAULTS[rule_id] = Fault(need, func, payers, frozenset(implies), available or _always)
        return func

    return register


def _every(_: PayerProfile) -> bool:
    return True


def _replace(session: Session, i: int, line: ServiceLine) -> Session:
    lines = list(session.lines)
    lines[i] = line
    return attrs.evolve(session, lines=tuple(lines))


def _timed(session: Session) -> list[int]:
    codes = D.cat().codes
    return [
        i
        for i, line in enumerate(session.lines)
        if line.code in codes and codes[line.code].timed and line.minutes is not None
    ]


def _minutes(session: Session) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in _timed(session):
        line = session.lines[i]
        assert line.minutes is not None
        out[line.code] = out.get(line.code, 0) + line.minutes
    return out


def _index(session: Session, code: str) -> int:
    return next(i for i, line in enumerate(session.lines) if line.code == code)


# ----------------------------------------------------------------------- units


def _overbill(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    timed = _timed(session)
    i = draw(st.sampled_from(timed))
    line = session.lines[i]
    _, legal = timed_expectations(_minutes(session), prof.unit_method)
    return _replace(session, i, attrs.evolve(line, units=max(legal[line.code]) + 1))


_fault(
    "units.total-time",
    Need(min_timed=1),
    lambda p: p.unit_method == "total-time",
    implies=("ncci.mue",),  # one unit more may pass the code's bundled MUE
)(_overbill)
_fault(
    "units.per-code",
    Need(min_timed=1),
    lambda p: p.unit_method == "per-code",
    implies=("units.daily-cap", "ncci.mue"),
)(_overbill)


@_fault(
    "units.daily-cap",
    Need(min_timed=1, no_times=True),
    lambda p: bool(p.unit_caps),
    implies=("ncci.mue",),
)
def _over_cap(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    # More minutes on one capped code, units recomputed: a legal bill, just over the cap.
    caps = [c for c in prof.unit_caps if c.in_force(session.date_of_service)]
    st_assume(bool(caps))
    cap = caps[0]
    inside = [i for i in _timed(session) if session.lines[i].code in cap.codes]
    st_assume(bool(inside))
    i = draw(st.sampled_from(inside))
    return _set_minutes(
        draw, session, i, draw(st.integers(15 * cap.units + 8, 15 * cap.units + 60)), prof
    )


def _without_minor_assistance(session: Session) -> Session:
    """Lines without CQ/CO lose their (de minimis) assistant minutes.

    A fault that moves units between codes can hand such a line a unit whose few
    assistant minutes pass 10% of it (CMS tests each unit): only the fault's own
    rule may trip, so the minor assistance goes (no assistant is as clean).
    """
    lines = tuple(
        line
        if line.assistant_minutes is None or {"CQ", "CO"} & set(line.modifiers)
        else attrs.evolve(line, assistant_minutes=None)
        for line in session.lines
    )
    return attrs.evolve(session, lines=lines)


def _set_minutes(
    draw: st.DrawFn, session: Session, i: int, minutes: int, prof: PayerProfile
) -> Session:
    """Line ``i`` gets ``minutes``; billed units and total visit minutes follow."""
    session = _without_minor_assistance(session)
    line = session.lines[i]
    assistant = line.assistant_minutes
    if assistant is not None:
        assistant = min(assistant, minutes)
    session = _replace(session, i, attrs.evolve(line, minutes=minutes, assistant_minutes=assistant))
    expected = timed_expectations(_minutes(session), prof.unit_method)[0]
    for j in _timed(session):
        other = session.lines[j]
        if other.units is not None:
            session = _replace(session, j, attrs.evolve(other, units=expected[other.code]))
    if session.total_treatment_minutes is not None:
        total = sum(_minutes(session).values()) + draw(st.integers(0, 30))
        session = attrs.evolve(session, total_treatment_minutes=total)
    return session


@_fault("units.untimed", Need(codes=frozenset(("97012",))), _every, implies=("ncci.mue",))
def _untimed(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    i = _index(session, "97012")
    info = D.cat().codes["97012"]
    top = (info.max_units or 1) + 1
    return _replace(session, i, attrs.evolve(session.lines[i], units=draw(st.integers(top, 4))))


@_fault("units.single-line", Need(min_timed=1, no_times=True), D.is_medicare)
def _split(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    # The split line keeps the code's units; the new line bills the rest at 0 units.
    candidates = [i for i in _timed(session) if (session.lines[i].minutes or 0) >= 2]
    i = draw(st.sampled_from(candidates))
    line = session.lines[i]
    assert line.minutes is not None
    cut = draw(st.integers(1, line.minutes - 1))
    first = attrs.evolve(line, minutes=line.minutes - cut, assistant_minutes=None)
    first = attrs.evolve(
        first, modifiers=tuple(m for m in first.modifiers if m not in ("CQ", "CO"))
    )
    second = attrs.evolve(first, minutes=cut, units=0 if line.units is not None else None)
    lines = list(session.lines)
    lines[i : i + 1] = [first, second]
    return attrs.evolve(session, lines=tuple(lines))


@_fault("units.missing-minutes", Need(min_timed=1), _every)
def _no_minutes(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    timed = _timed(session)
    i = draw(st.sampled_from(timed))
    line = session.lines[i]
    units = line.units
    if units is None:  # bill what the engine expected, so only the minutes are missing
        units = timed_expectations(_minutes(session), prof.unit_method)[0][line.code]
    stripped = attrs.evolve(
        line,
        minutes=None,
        units=units,
        assistant_minutes=None,
        modifiers=tuple(m for m in line.modifiers if m not in ("CQ", "CO")),
    )
    session = _without_minor_assistance(_replace(session, i, stripped))
    # the other timed codes' allocation changes without this code's minutes; a freed
    # leftover unit must not push another code past its MUE (only this rule may trip)
    rest = _minutes(session)
    tables = env.tables
    for _ in range(4 * len(session.lines)):
        if not rest or tables is None or not tables.has_mue:
            break
        expected = timed_expectations(rest, prof.unit_method)[0]
        mue = tables.mue(frozenset(rest), session.date_of_service)
        over = [c for c, edit in mue.items() if expected.get(c, 0) > edit.value]
        j = next((j for j in _timed(session) if session.lines[j].code in over), None)
        if j is None:
            break
        other = session.lines[j]
        assert other.minutes is not None
        if other.minutes <= 15:
            break
        fewer = other.minutes - 15
        helped = None if other.assistant_minutes is None else min(other.assistant_minutes, fewer)
        session = _replace(session, j, attrs.evolve(other, minutes=fewer, assistant_minutes=helped))
        rest = _minutes(session)
    if rest:
        expected = timed_expectations(rest, prof.unit_method)[0]
        for j in _timed(session):
            other = session.lines[j]
            if other.units is not None:
                session = _replace(session, j, attrs.evolve(other, units=expected[other.code]))
    return session


# ------------------------------------------------------------------------ NCCI


def _bypassed(session: Session) -> list[int]:
    return [
        i
        for i, line in enumerate(session.lines)
        if {"XS", "XU", "XE", "XP", "59"} & set(line.modifiers)
    ]


@_fault("ncci.ptp", Need(ptp_pair=True), lambda p: p.ncci)
def _no_bypass(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    # Every bypass modifier goes: where the column order is disputed the rule may
    # accept the modifier on either line, so leaving one would hide the fault.
    st_assume(bool(_bypassed(session)))
    bypass = {"XS", "XU", "XE", "XP", "59"}
    lines = tuple(
        attrs.evolve(line, modifiers=tuple(m for m in line.modifiers if m not in bypass))
        for line in session.lines
    )
    return attrs.evolve(session, lines=lines)


def _has_mue(env: Env) -> bool:
    return bool(env.tables.has_mue)


@_fault(
    "ncci.mue",
    Need(codes=frozenset(("97110",)), no_times=True),
    lambda p: p.ncci,
    implies=("units.daily-cap",),
    available=_has_mue,
)
def _over_mue(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    # Minutes worth one unit past the MUE, units recomputed: a legal bill but for the MUE.
    day = session.date_of_service
    mue = env.tables.mue(frozenset(line.code for line in session.lines), day)
    candidates = [i for i in _timed(session) if session.lines[i].code in mue]
    st_assume(bool(candidates))
    i = draw(st.sampled_from(candidates))
    value = mue[session.lines[i].code].value
    return _set_minutes(draw, session, i, 15 * (value + 1) + draw(st.integers(0, 7)), prof)


# ------------------------------------------------------------------- modifiers


def _therapy_lines(session: Session) -> list[int]:
    return [i for i, line in enumerate(session.lines) if {"GP", "GO", "GN"} & set(line.modifiers)]


@_fault(
    "modifier.therapy",
    Need(therapy=True),
    lambda p: p.therapy_modifiers,
    implies=("modifier.assistant",),
)
def _no_gp(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    candidates = _therapy_lines(session)
    plain = [i for i in candidates if not {"CQ", "CO"} & set(session.lines[i].modifiers)]
    i = draw(st.sampled_from(plain or candidates))
    line = session.lines[i]
    mods = tuple(m for m in line.modifiers if m not in ("GP", "GO", "GN"))
    return _replace(session, i, attrs.evolve(line, modifiers=mods))


@_fault("modifier.assistant", Need(therapy=True, min_timed=1, assistant=True), D.is_medicare)
def _assistant(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    i = draw(st.sampled_from(_timed(session)))
    line = session.lines[i]
    assert line.minutes is not None
    mod = D.ASSISTANT_MODIFIER[session.provider.discipline]
    if draw(st.booleans()) and line.minutes >= 2:
        # over 10% by an assistant, no CQ/CO
        low = line.minutes // 2
        return _replace(
            session, i, attrs.evolve(line, assistant_minutes=draw(st.integers(low, line.minutes)))
        )
    # CQ/CO without an assistant's minutes
    return _replace(
        session,
        i,
        attrs.evolve(
            line,
            assistant_minutes=draw(st.sampled_from((None, 0))),
            modifiers=(*line.modifiers, mod),
        ),
    )


@_fault("modifier.kx", Need(therapy=True), D.is_medicare)
def _no_kx(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    # past every sourced threshold (2022-2026: $2,150-$2,480) and under the $3,000
    # review amount, so adding KX clears the finding entirely
    own = Decimal(draw(st.integers(250_000, 299_999))) / 100
    ytd = session.therapy_ytd_allowed or TherapyYtd()
    ytd = (
        attrs.evolve(ytd, pt_slp=own)
        if session.provider.discipline == "PT"
        else attrs.evolve(ytd, ot=own)
    )
    lines = tuple(
        attrs.evolve(line, modifiers=tuple(m for m in line.modifiers if m != "KX"))
        for line in session.lines
    )
    return attrs.evolve(session, therapy_ytd_allowed=ytd, lines=lines)


@_fault("modifier.distinct", Need(ptp_pair=True), lambda p: p.ncci)
def _59_and_x(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    candidates = [i for i in _bypassed(session) if len(session.lines[i].modifiers) < 4]
    st_assume(bool(candidates))
    i = draw(st.sampled_from(candidates))
    line = session.lines[i]
    # 59 beside the line's X modifier; or, where the payer asks for 59 itself, an X beside it
    extra = "59" if "59" not in line.modifiers else "XU"
    return _replace(session, i, attrs.evolve(line, modifiers=(*line.modifiers, extra)))


@_fault("modifier.at", Need(codes=frozenset(("98940",))), lambda p: p.cmt_at_modifier)
def _no_at(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    i = next(i for i, line in enumerate(session.lines) if line.code in D.CMT_CODES)
    line = session.lines[i]
    return _replace(
        session, i, attrs.evolve(line, modifiers=tuple(m for m in line.modifiers if m != "AT"))
    )


@_fault("modifier.unknown", Need(), _every)
def _unknown_modifier(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    known = D.cat().modifiers
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    unknown = st.text(alphabet, min_size=2, max_size=2).filter(lambda m: m not in known)
    candidates = [i for i, line in enumerate(session.lines) if len(line.modifiers) < 4]
    st_assume(bool(candidates))
    i = draw(st.sampled_from(candidates))
    line = session.lines[i]
    return _replace(session, i, attrs.evolve(line, modifiers=(*line.modifiers, draw(unknown))))


# -------------------------------------------------------------------- coverage


@_fault(
    "coverage.chiropractor",
    Need(discipline=("DC",), codes=frozenset(("98940",))),
    D.is_medicare,
)
def _chiro_extraspinal(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    region = draw(st.sampled_from(("upper_extremity", "lower_extremity", "head", "rib_cage")))
    extra = ServiceLine(code="98943", units=1, regions=(region,))
    return attrs.evolve(session, lines=(*session.lines, extra))


def _therapy_line(session: Session, code: str) -> ServiceLine:
    mods = [D.THERAPY_MODIFIER[session.provider.discipline]]
    if any("KX" in line.modifiers for line in session.lines):
        mods.append("KX")
    return ServiceLine(code=code, units=1, modifiers=tuple(mods))


@_fault("coverage.replaced-code", Need(therapy=True), D.is_medicare)
def _97014(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    lines = [line for line in session.lines if line.code != "G0283"]
    return attrs.evolve(session, lines=(*lines, _therapy_line(session, "97014")))


@_fault("coverage.bundled", Need(therapy=True), D.is_medicare)
def _97010(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    return attrs.evolve(session, lines=(*session.lines, _therapy_line(session, "97010")))


@_fault(
    "coverage.acupuncture",
    Need(therapy=True),
    D.is_medicare,
    implies=("coverage.provider",),  # a PT or OT billing needling under their own number
)
def _needling(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    muscles = draw(st.integers(1, 6))
    code = "20560" if muscles <= 2 else "20561"
    diagnoses = tuple(
        draw(st.lists(st.sampled_from(D.OTHER_DIAGNOSES), min_size=1, max_size=3, unique=True))
    )
    lines = tuple(attrs.evolve(line, diagnosis_pointers=()) for line in session.lines)
    extra = ServiceLine(code=code, units=1, muscles=muscles, techniques=("dry_needling",))
    return attrs.evolve(session, diagnoses=diagnoses, lines=(*lines, extra))


@_fault(
    "coverage.provider",
    Need(therapy=True),
    D.is_medicare,
    implies=("modifier.therapy", "modifier.assistant", "modifier.kx"),
)
def _not_a_therapist(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    who = draw(st.sampled_from(("LMT", "ATC", "LAC")))
    provider = attrs.evolve(session.provider, discipline=who)
    return attrs.evolve(session, provider=provider)


@_fault("coverage.subluxation", Need(codes=frozenset(("98940",))), D.is_medicare)
def _no_subluxation(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    other = draw(st.sampled_from(("M54.2", "M54.50", "M54.6", "M62.830")))
    diagnoses = (other, *(d for d in session.diagnoses if d != other))
    lines = tuple(
        attrs.evolve(line, diagnosis_pointers=(1,)) if line.code in D.CMT_CODES else line
        for line in session.lines
    )
    return attrs.evolve(session, diagnoses=diagnoses, lines=lines)


# ---------------------------------------------------------------------- coding


@_fault("code.unknown", Need(), _every, implies=("coverage.chiropractor",))
def _unknown_code(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    code = draw(st.sampled_from(("64999", "99199", "0596T", "A9999")))
    extra = ServiceLine(code=code, units=1)
    return attrs.evolve(session, lines=(*session.lines, extra))


@_fault(
    "code.add-on",
    Need(),
    _every,
    implies=("coverage.acupuncture", "coverage.provider", "coverage.chiropractor"),
)
def _lone_add_on(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    code = draw(st.sampled_from(("97811", "97814")))
    extra = ServiceLine(code=code, units=draw(st.integers(1, 2)))
    return attrs.evolve(session, lines=(*session.lines, extra))


@_fault("code.technique", Need(codes=frozenset(("97140",))), _every)
def _wrong_technique(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    i = _index(session, "97140")
    line = session.lines[i]
    wrong = draw(st.sampled_from(("dry_needling", "massage", "mechanical_traction")))
    return _replace(session, i, attrs.evolve(line, techniques=(*line.techniques, wrong)))


@_fault(
    "code.same-region",
    Need(codes=frozenset(("98940",))),
    _every,
    # a payer that denies 97140 beside CMT whatever the modifier (Aetna, BCBS
    # Minnesota) or wants it on another region (BCBS North Carolina) says so in
    # ncci.ptp; a capped payer may count the added units (units.daily-cap)
    implies=("ncci.ptp", "units.daily-cap", "ncci.mue"),
)
def _same_region(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    # CMT with 97140/97112/97124 is an NCCI indicator-1 pair payable only for another
    # region: add one of them on a spinal region the CMT line manipulated, with XS
    # (which bypasses the edit but cannot make the same region distinct). Medicare
    # pays a chiropractor for no therapy: the line carries GY, as it rightly would.
    # (97140 with 97124 is an indicator-0 pair: ncci.ptp's alone.)
    i = next(i for i, line in enumerate(session.lines) if line.code in D.CMT_CODES)
    cmt = session.lines[i]
    spinal = [r for r in cmt.regions if D.cat().regions.get(r)]
    st_assume(bool(spinal))
    billed = {line.code for line in session.lines}
    free = [c for c in ("97140", "97112", "97124") if c not in billed]
    st_assume(bool(free))  # one line per code: the units stay the code's own
    code = draw(st.sampled_from(free))
    mods = ("XS", "GY") if D.is_medicare(prof) else ("XS",)
    extra = ServiceLine(
        code=code,
        minutes=draw(st.integers(8, 22)),
        units=None if cmt.units is None else 1,
        modifiers=mods,
        regions=(draw(st.sampled_from(spinal)),),
        techniques=("joint_mobilization",) if code == "97140" else (),
        diagnosis_pointers=cmt.diagnosis_pointers,
        documentation=(
            Documentation(D.DOC_RESPONSES[0], D.DOC_RATIONALES[0], D.DOC_GOALS[0])
            if code == "97140"
            else None
        ),
    )
    session = attrs.evolve(session, lines=(*session.lines, extra))
    j = len(session.lines) - 1
    return _set_minutes(draw, session, j, extra.minutes or 8, prof)


@_fault("modifier.em-25", Need(codes=frozenset(("98940",))), _every)
def _em_without_25(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    # An E/M visit beside same-day manipulation, without 25. Medicare pays a
    # chiropractor for no E/M (coverage.chiropractor's finding), so there the
    # visit becomes an osteopathic physician's: OMT of the same regions.
    day = session.date_of_service
    lines = [line for line in session.lines if D.cat().codes[line.code].family != "em"]
    if D.rule_applies("coverage.chiropractor", prof, D.is_medicare):
        i = next(i for i, line in enumerate(lines) if line.code in D.CMT_CODES)
        cmt = lines[i]
        count = len(cmt.regions)
        omt = next(
            c
            for c in D.cat().families["omt"]
            if (D.cat().codes[c].regions_min or 0) <= count <= (D.cat().codes[c].regions_max or 0)
        )
        lines[i] = attrs.evolve(
            cmt, code=omt, modifiers=tuple(m for m in cmt.modifiers if m != "AT")
        )
        session = attrs.evolve(session, provider=attrs.evolve(session.provider, discipline="DO"))
    em = draw(st.sampled_from(D.family_codes("em", day)))
    visit = ServiceLine(code=em, units=1, diagnosis_pointers=lines[0].diagnosis_pointers)
    return attrs.evolve(session, lines=(visit, *lines))


@_fault("code.cmt-regions", Need(codes=frozenset(("98940",))), _every)
def _cmt_mismatch(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    i = next(i for i, line in enumerate(session.lines) if line.code in D.CMT_CODES)
    line = session.lines[i]
    wrong = draw(st.sampled_from([c for c in D.CMT_CODES if c != line.code]))
    return _replace(session, i, attrs.evolve(line, code=wrong))


# ----------------------------------------------------------------- documentation


@_fault("doc.manual-therapy", Need(codes=frozenset(("97140",))), _every)
def _thin_note(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    i = _index(session, "97140")
    line = session.lines[i]
    doc = line.documentation
    assert doc is not None
    what = draw(st.sampled_from(("techniques", "response", "rationale", "documentation")))
    if what == "techniques":
        line = attrs.evolve(line, techniques=())
    elif what == "documentation":
        line = attrs.evolve(line, documentation=None)
    else:
        line = attrs.evolve(line, documentation=attrs.evolve(doc, **{what: None}))
    return _replace(session, i, line)


@_fault("doc.timed-minutes", Need(min_timed=1), _every)
def _short_visit(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    timed = sum(_minutes(session).values())
    return attrs.evolve(session, total_treatment_minutes=draw(st.integers(0, timed - 1)))


# ---------------------------------------------------------------- plan of care


@_fault("poc.missing", Need(therapy=True), D.is_medicare)
def _no_plan(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    return attrs.evolve(session, plan_of_care=None)


@_fault("poc.expired", Need(therapy=True, poc=True), D.is_medicare)
def _expired(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    day = session.date_of_service
    end = day - dt.timedelta(days=draw(st.integers(1, 60)))
    start = end - dt.timedelta(days=draw(st.integers(0, 80)))
    signed = start + dt.timedelta(days=draw(st.integers(0, 13)))
    plan = PlanOfCare(start=start, end=end, signed=signed)
    return attrs.evolve(session, plan_of_care=plan)


@_fault("poc.unsigned", Need(therapy=True, poc=True), D.is_medicare)
def _unsigned(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    day = session.date_of_service
    start = day - dt.timedelta(days=draw(st.integers(31, 80)))
    end = start + dt.timedelta(days=draw(st.integers((day - start).days, 89)))
    plan = PlanOfCare(start=start, end=end, signed=None)
    return attrs.evolve(session, plan_of_care=plan, treatment_day=draw(st.integers(1, 7)))


@_fault("poc.progress-report", Need(therapy=True), D.is_medicare)
def _no_progress(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    return attrs.evolve(
        session, treatment_day=10, progress_report=draw(st.sampled_from((None, False)))
    )


# ------------------------------------------------------------------------ time


@_fault("time.overlap", Need(min_timed=2, no_times=True), _every)
def _overlap(draw: st.DrawFn, session: Session, prof: PayerProfile, env: Env) -> Session:
    timed = _timed(session)
    st_assume(len(timed) >= 2)  # the base protects two timed codes; pairs rarely drop one
    a, b = timed[0], timed[1]
    first, second = session.lines[a], session.lines[b]
    assert first.minutes is not None
    assert second.minutes is not None
    base = draw(st.integers(7 * 60, 12 * 60))
    lead = draw(st.integers(0, max(0, first.minutes - 1)))
    s1, e1 = base, base + max(first.minutes, 1)
    s2 = base + min(lead, e1 - base - 1)
    e2 = s2 + max(second.minutes, 1)

    def clock(m: int) -> dt.time:
        return dt.time(m // 60, m % 60)

    session = _replace(session, a, attrs.evolve(first, start=clock(s1), end=clock(e1)))
    return _replace(session, b, attrs.evolve(second, start=clock(s2), end=clock(e2)))


def st_assume(condition: bool) -> None:
    """``hypothesis.assume``, kept in one place (faults that rarely lack a target)."""
    from hypothesis import assume

    assume(condition)
