"""The constructive builder behind ``clean_sessions`` (and the bases of ``faulty_sessions``).

A clean session is *built* to pass, never filtered: every choice is drawn and
then made consistent with the rules, in this order:

1. date of service, payer profile in force, discipline;
2. the codes: CMT for a chiropractor, timed and untimed therapy codes, an
   evaluation on the plan's first day; codes a payer does not pay are never
   chosen (Medicare 97010/97014; G0283 elsewhere);
3. code pairs: every NCCI PTP edit in force between two chosen codes is looked
   up in the engine's own tables; indicator 0 and payer-denied pairs drop the
   column-2 code, indicator 1 puts a bypass modifier on the column-2 line (XS
   beside CMT, with regions away from the manipulated ones; XU otherwise);
4. minutes, then units with :func:`cptrules.units.timed_expectations` (the
   engine's own arithmetic); a code left at 0 units is dropped and the rest
   recomputed, so no line bills nothing; daily unit caps and MUEs are met by
   trimming minutes;
5. modifiers (GP/GO where the profile wants them, CQ/CO when an assistant gave
   more than 10%, KX past the threshold, AT on Medicare CMT, the bypass
   modifiers), techniques of the code's own family, regions, documentation,
   clock times one after another, total visit minutes, plan of care in force
   and signed in time, treatment day under 8.

Callers ask for features (``need``) so a fault has something to act on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import hypothesis.strategies as st

from ..models import Documentation, PlanOfCare, Provider, ServiceLine, Session, TherapyYtd
from ..payers import PayerProfile, ProfileSet
from ..rules.modifiers import assistant_units
from ..units import timed_expectations
from . import _data as D

if TYPE_CHECKING:
    from ..engine import Engine

__all__: list[str] = []


@attrs.frozen
class Need:
    """What a base session must contain for a fault injector to act on it."""

    discipline: tuple[str, ...] | None = None  # allowed disciplines (None: any the payer fits)
    codes: frozenset[str] = frozenset()  # codes that must be billed
    min_timed: int = 0  # at least this many timed lines
    therapy: bool = False  # a Medicare-style therapy session (PT/OT, plan of care, GP/GO)
    no_times: bool = False  # no clock times (the injector sets its own)
    ptp_pair: bool = False  # some NCCI indicator-1 pair billed with its bypass modifier
    poc: bool = False  # a plan of care present
    assistant: bool = False  # no assistant minutes (the injector sets them)
    max_timed_units: int | None = None  # leave headroom under unit caps


@attrs.frozen
class Env:
    """Where rule data comes from: payer profiles and NCCI tables (an engine's)."""

    profiles: ProfileSet
    tables: Any = attrs.field(repr=False)
    disabled: frozenset[str] = frozenset()

    def profile(self, payer: str, day: dt.date) -> PayerProfile:
        """The version of ``payer`` in force on ``day`` (it must exist)."""
        found = self.profiles.get(payer, day)
        if found is None:
            raise LookupError(f"no version of {payer} in force on {day.isoformat()}")
        return found


def env_of(engine: Engine | None) -> Env:
    """The data environment of ``engine``, or of the default engine."""
    from ..engine import default_engine

    eng = default_engine() if engine is None else engine
    return Env(eng.profiles, eng.tables, frozenset(eng.disabled))


def _denied(prof: PayerProfile, a: str, b: str, day: dt.date) -> bool:
    """True when the payer denies ``a`` with ``b`` whatever the modifiers (its ``deny`` pairs)."""
    quirk = prof.pair_quirk(a, b, day)
    return quirk is not None and quirk.action == "deny"


def _choose(accepted: frozenset[str], cmt: bool) -> str:
    """XS beside CMT (regions kept apart), XU otherwise, when accepted; else the first."""
    preferred = "XS" if cmt else "XU"
    return preferred if preferred in accepted else min(accepted)


def _bypass(prof: PayerProfile, column1: str, column2: str, day: dt.date) -> str | None:
    """The modifier the clean builder puts on the column-2 line, as the payer asks for it.

    None when the payer pays the pair without one.
    """
    accepted = prof.bypass_for(column1, column2, day)
    if not accepted:
        return None
    return _choose(accepted, column1 in D.CMT_CODES or column2 in D.CMT_CODES)


def _paid(prof: PayerProfile, code: str) -> bool:
    """Whether the clean builder may bill ``code`` under ``prof``."""
    medicare = D.rule_applies("coverage.bundled", prof, D.is_medicare) or D.rule_applies(
        "coverage.replaced-code", prof, D.is_medicare
    )
    if medicare:  # the profile's own lists: what it bundles and what it replaces
        return code not in prof.bundled_codes and code not in prof.replaced_codes
    return code not in D.MEDICARE_ONLY and code != "97010"


def _chiro_restricted(prof: PayerProfile) -> bool:
    return D.rule_applies("coverage.chiropractor", prof, D.is_medicare)


def ptp_pairs(
    env: Env, prof: PayerProfile, day: dt.date, universe: Iterable[str]
) -> list[tuple[str, str, str]]:
    """Indicator-1 pairs (column 1, column 2, bypass) among ``universe`` the payer pays."""
    tables = env.tables
    out = []
    for edit in tables.ptp(frozenset(universe), day):
        if edit.indicator != 1 or _denied(prof, edit.column1, edit.column2, day):
            continue
        chosen = _bypass(prof, edit.column1, edit.column2, day)
        if chosen is not None:
            out.append((edit.column1, edit.column2, chosen))
    return sorted(out)


def _resolve_pairs(
    env: Env, prof: PayerProfile, day: dt.date, codes: list[str], keep: frozenset[str]
) -> tuple[list[str], dict[str, str]]:
    """Drop codes that may not be billed together; bypass modifiers for the rest."""
    tables = env.tables
    codes = list(codes)
    while True:
        dropped = False
        for edit in tables.ptp(frozenset(codes), day):
            if edit.indicator == 0 or _denied(prof, edit.column1, edit.column2, day):
                victim = edit.column2 if edit.column2 not in keep else edit.column1
                if victim in codes:
                    codes.remove(victim)
                    dropped = True
                    break
        if not dropped:
            break
    # payer-denied pairs with no NCCI edit at all
    changed = True
    while changed:
        changed = False
        for a in codes:
            for b in codes:
                if a < b and _denied(prof, a, b, day):
                    victim = b if b not in keep else a
                    codes.remove(victim)
                    changed = True
                    break
            if changed:
                break
    # every pair a column-2 code is in must accept the one modifier it gets
    accepted: dict[str, frozenset[str]] = {}
    beside_cmt: set[str] = set()

    def need(column1: str, column2: str) -> None:
        wanted = prof.bypass_for(column1, column2, day)
        if wanted:  # None (denied) was dropped above; empty: paid without a modifier
            accepted[column2] = accepted.get(column2, wanted) & wanted
            if column1 in D.CMT_CODES or column2 in D.CMT_CODES:
                beside_cmt.add(column2)

    if prof.ncci:
        for edit in tables.ptp(frozenset(codes), day):
            if edit.indicator == 1:
                need(edit.column1, edit.column2)
    # payer pairs that want a modifier where NCCI has no edit
    for pair in prof.pairs:
        if pair.action == "require-modifier" and pair.in_force(day):
            for c1 in sorted(pair.first & set(codes)):
                for c2 in sorted(pair.second & set(codes)):
                    need(c1, c2)
    bypass = {c2: _choose(mods, c2 in beside_cmt) for c2, mods in accepted.items() if mods}
    return codes, bypass


def _fits(env: Env, prof: PayerProfile, day: dt.date, codes: list[str], extra: str) -> bool:
    """True when ``extra`` forms no NCCI edit and no payer-denied pair with ``codes``."""
    if any(_denied(prof, c, extra, day) for c in codes):
        return False
    edits = env.tables.ptp(frozenset((*codes, extra)), day)
    return not any(extra in (e.column1, e.column2) for e in edits)


def _units(prof: PayerProfile, minutes: Mapping[str, int]) -> dict[str, int]:
    if not minutes:
        return {}
    return timed_expectations(minutes, prof.unit_method)[0]


def _fit_minutes(
    env: Env,
    draw: st.DrawFn,
    prof: PayerProfile,
    day: dt.date,
    minutes: dict[str, int],
    keep: frozenset[str],
    cap: int | None,
) -> dict[str, int]:
    """Drop 0-unit codes and trim minutes until caps and MUEs hold; returns minutes."""
    caps = [c for c in prof.unit_caps if c.in_force(day)]
    tables = env.tables
    while True:
        units = _units(prof, minutes)
        zero = [c for c, u in units.items() if u == 0 and c not in keep]
        if zero:
            del minutes[zero[-1]]
            continue
        over: str | None = None
        for capped in caps:
            inside = [c for c in minutes if c in capped.codes]
            if sum(units[c] for c in inside) > capped.units:
                over = _trim_target(inside, minutes, keep)
                break
        if over is None and cap is not None and sum(units.values()) > cap:
            over = _trim_target(list(minutes), minutes, keep)
        if over is None and tables.has_mue:
            mue = tables.mue(frozenset(minutes), day)
            for code, edit in mue.items():
                if units.get(code, 0) > edit.value:
                    over = code
                    break
        if over is None:
            return minutes
        if minutes[over] >= 15 + 15:
            minutes[over] -= 15
        elif minutes[over] > 15:
            minutes[over] = 15
        elif over not in keep and len(minutes) > 1:
            del minutes[over]
        else:  # pragma: no cover - a lone kept code at 15 minutes fits every cap we hold
            return minutes


def _trim_target(inside: list[str], minutes: Mapping[str, int], keep: frozenset[str]) -> str:
    """The code to trim: the longest one still over 15 minutes, else one we may drop."""
    longer = [c for c in inside if minutes[c] > 15]
    if longer:
        return max(longer, key=lambda c: (minutes[c], c))
    free = [c for c in inside if c not in keep]
    return max(free or inside, key=lambda c: (minutes[c], c))


def _documentation(draw: st.DrawFn, full: bool) -> Documentation | None:
    if not full and not draw(st.booleans()):
        return None
    return Documentation(
        response=draw(st.sampled_from(D.DOC_RESPONSES)),
        rationale=draw(st.sampled_from(D.DOC_RATIONALES)),
        goals=draw(st.sampled_from(D.DOC_GOALS)) if full or draw(st.booleans()) else None,
    )


def _npi(draw: st.DrawFn) -> str:
    body = draw(st.sampled_from("12")) + draw(st.text("0123456789", min_size=8, max_size=8))
    return body + D.npi_check_digit(body)


def draw_date(draw: st.DrawFn, lo: dt.date, hi: dt.date) -> dt.date:
    """A date of service between ``lo`` and ``hi`` (inclusive)."""
    return draw(st.dates(min_value=lo, max_value=hi))


def build_clean(
    draw: st.DrawFn,
    payer: str,
    *,
    env: Env,
    disciplines: tuple[str, ...] | None = None,
    need: Need | None = None,
    min_date: dt.date = D.DEFAULT_MIN_DATE,
    max_date: dt.date = D.DEFAULT_MAX_DATE,
    max_lines: int = 6,
) -> Session:
    """Draw one session that passes every error rule of ``payer`` (see module docstring)."""
    need = need or Need()
    day = draw_date(draw, min_date, max_date)
    prof = env.profile(payer, day)
    poc_rule = D.rule_applies("poc.missing", prof, D.is_medicare)
    chiro_only = _chiro_restricted(prof)

    allowed = list(disciplines or ("PT", "OT", "SLP", "DC"))
    if need.discipline is not None:
        allowed = [d for d in allowed if d in need.discipline] or list(need.discipline)
    if need.therapy or need.assistant:
        allowed = [d for d in allowed if d in ("PT", "OT")] or ["PT", "OT"]
    if need.codes & set(D.CMT_CODES):
        allowed = ["DC"]
    elif chiro_only and (need.codes or need.min_timed or need.ptp_pair):
        # a Medicare chiropractor bills CMT only: the base must come from PT/OT
        allowed = [d for d in allowed if d != "DC"] or ["PT", "OT"]
    if need.codes or need.min_timed or need.ptp_pair:
        # an SLP visit bills SLP codes only: a base with therapy codes is PT/OT/DC
        allowed = [d for d in allowed if d != "SLP"] or ["PT", "OT"]
    discipline = draw(st.sampled_from(sorted(allowed)))

    keep = frozenset(need.codes)
    codes: list[str] = []
    cmt_regions: tuple[str, ...] = ()
    evaluation: str | None = None

    if discipline == "DC":
        forced_cmt = [c for c in D.CMT_CODES if c in keep]
        spinal = D.spinal_regions()
        if forced_cmt:
            info = D.cat().codes[forced_cmt[0]]
            assert info.regions_min is not None
            assert info.regions_max is not None
            n = draw(st.integers(info.regions_min, info.regions_max))
        else:
            n = draw(st.integers(1, len(spinal)))
        picked = draw(st.permutations(spinal))[:n]
        cmt_regions = tuple(r for r in spinal if r in picked)
        codes.append(D.cmt_code_for(len(cmt_regions)))
        keep = frozenset(c for c in keep if c not in D.CMT_CODES) | {codes[0]}
        if draw(st.integers(0, 3)) == 0:
            # a separately identifiable E/M visit beside the manipulation (25; GY
            # where the payer pays a chiropractor for no E/M: Medicare)
            codes.append(draw(st.sampled_from(D.family_codes("em", day)), label="E/M code"))
    pool_timed = [c for c in D.THERAPY_TIMED if _paid(prof, c)]
    pool_untimed = [c for c in D.THERAPY_UNTIMED if _paid(prof, c)]
    if discipline == "SLP":
        # speech and/or swallowing treatment; an evaluation on one visit in six
        codes.extend(
            draw(st.lists(st.sampled_from(D.SLP_TREATMENT), min_size=1, max_size=2, unique=True))
        )
        if draw(st.integers(0, 5)) == 0:
            evaluation = draw(st.sampled_from(D.EVALUATIONS["SLP"]))
            codes.insert(0, evaluation)
    elif discipline != "DC" or not chiro_only:
        lo = 0 if discipline == "DC" else 2  # a PT/OT visit: typically 2-5 lines
        n_timed = draw(st.integers(max(lo, need.min_timed), max(lo, need.min_timed, 4)))
        # Half the draws come from the core exercise and manual codes, so their
        # pairings (97140 beside 97530 is an NCCI pair) turn up often, not once
        # in a thousand visits.
        core = [c for c in D.CORE_TIMED if c in pool_timed]
        pick = st.sampled_from(pool_timed)
        if core:
            pick = st.one_of(st.sampled_from(core), pick)
        timed = draw(
            st.lists(
                pick,
                min_size=n_timed,
                max_size=n_timed,
                unique=True,
            )
        )
        codes.extend(timed)
        if draw(st.integers(0, 3)) == 0:
            codes.append(draw(st.sampled_from(pool_untimed)))
        # now and then a sometimes-therapy service: strapping, wound care, RTM
        for family, who in D.EXTRA_FAMILIES.items():
            if discipline not in who or draw(st.integers(0, 5)) != 0:
                continue
            pool = [c for c in D.family_codes(family, day) if _paid(prof, c)]
            if pool:
                codes.append(draw(st.sampled_from(pool), label=f"{family} code"))
        if discipline in D.EVALUATIONS and draw(st.integers(0, 5)) == 0:
            evaluation = draw(
                st.sampled_from(D.EVALUATIONS[discipline] + D.REEVALUATIONS[discipline])
            )
            codes.insert(0, evaluation)
        if need.ptp_pair:
            universe = [*codes[:1], *pool_timed, *pool_untimed]
            if discipline == "DC":
                universe = [codes[0], *pool_timed]
            elif discipline in D.EVALUATIONS:
                universe += [*D.EVALUATIONS[discipline], *D.REEVALUATIONS[discipline]]
            pairs = ptp_pairs(env, prof, day, universe)
            if discipline == "DC":
                pairs = [p for p in pairs if codes[0] in p[:2]]
            if pairs:
                c1, c2, _ = draw(st.sampled_from(pairs))
                keep = keep | {c1, c2}
                if c1 in D.EVALUATIONS.get(discipline, ()) + D.REEVALUATIONS.get(discipline, ()):
                    evaluation = c1
    for c in sorted(keep):
        if c not in codes:
            codes.append(c)
    if evaluation is not None and evaluation not in codes:
        evaluation = None
    codes = list(dict.fromkeys(codes))
    if len(codes) > max_lines:  # forced codes survive the line limit
        codes = [c for c in codes if c in keep] + [c for c in codes if c not in keep]
        codes = codes[: max(max_lines, len(keep))]
    codes, bypass = _resolve_pairs(env, prof, day, codes, keep)
    if evaluation is not None and evaluation not in codes:
        evaluation = None
    cat = D.cat()
    if sum(cat.codes[c].timed for c in codes) < need.min_timed:
        # a dropped pair left too few timed codes: add ones that pair with nothing billed
        for extra in pool_timed:
            if sum(cat.codes[c].timed for c in codes) >= need.min_timed:
                break
            if extra not in codes and _fits(env, prof, day, codes, extra):
                codes.append(extra)

    protect = keep | frozenset([c for c in codes if cat.codes[c].timed][: need.min_timed])
    minutes: dict[str, int] = {}
    for c in codes:
        if cat.codes[c].timed:
            lo = 15 if c in protect else 1
            minutes[c] = draw(st.integers(lo, 60), label=f"minutes {c}")
    if minutes and sum(_units(prof, minutes).values()) == 0:
        first = next(iter(minutes))
        minutes[first] = draw(st.integers(15, 60))
    minutes = _fit_minutes(env, draw, prof, day, minutes, protect, need.max_timed_units)
    codes = [c for c in codes if not cat.codes[c].timed or c in minutes]
    if not codes:  # every timed code dropped and nothing else billed
        codes, minutes = ["97110"], {"97110": draw(st.integers(15, 60))}
    units = _units(prof, minutes)
    # dropping a code can leave a partner's bypass modifier without an edit to need it
    codes, bypass = _resolve_pairs(env, prof, day, codes, keep)

    therapy_mods = D.rule_applies("modifier.therapy", prof, lambda p: p.therapy_modifiers)
    medicare = D.is_medicare(prof) or poc_rule
    assistant_rule = D.rule_applies("modifier.assistant", prof, D.is_medicare)
    kx_rule = D.rule_applies("modifier.kx", prof, D.is_medicare)
    at_rule = D.rule_applies("modifier.at", prof, lambda p: p.cmt_at_modifier)
    commercial_gp = not therapy_mods and draw(st.booleans())

    # year-to-date therapy dollars and KX
    ytd: TherapyYtd | None = None
    needs_kx = False
    if kx_rule and discipline in ("PT", "OT") and draw(st.booleans()):
        over = draw(st.integers(0, 2))
        own = (
            Decimal(draw(st.integers(300_000, 900_000))) / 100  # past every sourced threshold
            if over == 0
            else Decimal(draw(st.integers(0, 150_000))) / 100  # under every sourced threshold
        )
        other = Decimal(draw(st.integers(0, 500_000))) / 100
        needs_kx = over == 0
        ytd = (
            TherapyYtd(pt_slp=own, ot=other)
            if discipline == "PT"
            else TherapyYtd(pt_slp=other, ot=own)
        )

    # regions: CMT takes its spinal regions; 97140/97124/97112 stay away from them
    free = [r for r in D.all_regions() if r not in cmt_regions]
    taken_97140: set[str] = set()
    diagnoses: tuple[str, ...]
    if discipline == "SLP":
        diagnoses = tuple(
            draw(st.lists(st.sampled_from(D.SLP_DIAGNOSES), min_size=1, max_size=2, unique=True))
        )
    elif discipline == "DC":
        # the subluxation first: Medicare CMT needs it as the primary diagnosis
        primary = draw(st.sampled_from(D.SUBLUXATION_DIAGNOSES))
        others = [d for d in D.CHIRO_DIAGNOSES if d != primary]
        diagnoses = (
            primary,
            *draw(st.lists(st.sampled_from(others), min_size=0, max_size=2, unique=True)),
        )
    else:
        diagnoses = tuple(
            draw(
                st.lists(
                    st.sampled_from(D.OTHER_DIAGNOSES + D.BACK_DIAGNOSES),
                    min_size=0,
                    max_size=3,
                    unique=True,
                )
            )
        )

    explicit_units = draw(st.booleans())
    lines: list[ServiceLine] = []
    order = sorted(codes, key=lambda c: (c not in ("97140",), c)) if "97124" in codes else codes
    for c in order:
        info = cat.codes[c]
        mods: list[str] = []
        line_minutes = minutes.get(c)
        assistant: int | None = None
        if info.therapy != "never" and discipline in D.THERAPY_MODIFIER:
            # always therapy, and sometimes-therapy codes a therapist furnishes
            if therapy_mods or commercial_gp:
                mods.append(D.THERAPY_MODIFIER[discipline])
            if (
                assistant_rule
                and discipline in D.ASSISTANT_MODIFIER
                and line_minutes is not None
                and not need.assistant
            ):
                kind = draw(st.integers(0, 3))
                if kind == 1:
                    # within the de minimis of every billed unit: no CQ/CO
                    assistant = draw(st.integers(0, line_minutes // 10))
                    while assistant and assistant_units(line_minutes, assistant, units[c]):
                        assistant -= 1
                elif kind == 2:
                    assistant = draw(st.integers(max(1, line_minutes // 2), line_minutes))
                    mods.append(D.ASSISTANT_MODIFIER[discipline])
            if needs_kx:
                mods.append("KX")
        if info.family == "em":
            mods.append("GY" if chiro_only else "25")
        if c in D.CMT_CODES and at_rule:
            mods.append("AT")
        if c in bypass and prof.ncci:
            mods.append(bypass[c])
        regions: tuple[str, ...] = ()
        if c in D.CMT_CODES:
            regions = cmt_regions
        elif c in D.REGION_SENSITIVE or c == "97140":
            avail = [r for r in free if not (c == "97124" and r in taken_97140)]
            k = draw(st.integers(1 if c == "97140" else 0, min(2, len(avail))))
            chosen = set(draw(st.permutations(avail))[:k])
            regions = tuple(r for r in avail if r in chosen)
            if c == "97140":
                taken_97140.update(regions)
        elif info.timed and draw(st.integers(0, 3)) == 0:
            regions = (draw(st.sampled_from(D.all_regions())),)
        techs = D.techniques_for(c)
        techniques: tuple[str, ...] = ()
        if c == "97140":
            n = draw(st.integers(1, 3), label="97140 techniques")
            techniques = tuple(
                draw(st.lists(st.sampled_from(techs), min_size=1, max_size=n, unique=True))
            )
        elif len(techs) > 0 and draw(st.booleans()):
            techniques = (draw(st.sampled_from(techs)),)
        documentation = _documentation(draw, full=c == "97140")
        pointers: tuple[int, ...] = ()
        if len(diagnoses) > 0 and draw(st.booleans()):
            pointers = tuple(
                draw(st.lists(st.integers(1, len(diagnoses)), min_size=1, max_size=2, unique=True))
            )
            if c in D.CMT_CODES and pointers[0] != 1:  # the subluxation stays primary
                pointers = (1, *(p for p in pointers if p != 1))
        line_units: int | None = None
        if explicit_units:
            line_units = units[c] if info.timed else (info.max_units or 1)
        lines.append(
            ServiceLine(
                code=c,
                minutes=line_minutes,
                units=line_units,
                modifiers=tuple(mods),
                regions=regions,
                techniques=techniques,
                assistant_minutes=assistant,
                diagnosis_pointers=pointers,
                documentation=documentation,
            )
        )

    # clock times, one service after another
    if not need.no_times and draw(st.booleans()):
        cursor = draw(st.integers(7 * 60, 12 * 60))
        timed_lines = []
        for line in lines:
            if line.minutes is not None:
                start = cursor
                cursor += line.minutes
                timed_lines.append(
                    attrs.evolve(
                        line,
                        start=dt.time(start // 60, start % 60),
                        end=dt.time(cursor // 60, cursor % 60),
                    )
                )
                cursor += draw(st.integers(1, 10))
            else:
                timed_lines.append(line)
        lines = timed_lines

    timed_total = sum(minutes.values())
    total: int | None = None
    if draw(st.booleans()):
        total = timed_total + draw(st.integers(0, 30))

    plan: PlanOfCare | None = None
    treatment_day: int | None = None
    progress: bool | None = None
    therapy_session = discipline in ("PT", "OT", "SLP")
    if therapy_session and (poc_rule or need.poc or draw(st.booleans())):
        if evaluation is not None and evaluation in D.EVALUATIONS.get(discipline, ()):
            poc_start = day
        else:
            poc_start = day - dt.timedelta(days=draw(st.integers(0, 60)))
        # a plan of 30 to 90 days (it must reach the date of service)
        length = draw(st.integers(max((day - poc_start).days, 29), 89))
        last_sign = min(day, poc_start + dt.timedelta(days=13))
        signed = poc_start + dt.timedelta(days=draw(st.integers(0, (last_sign - poc_start).days)))
        plan = PlanOfCare(start=poc_start, end=poc_start + dt.timedelta(days=length), signed=signed)
        treatment_day = 1 if poc_start == day else draw(st.integers(1, 7))
        progress = draw(st.sampled_from((None, False, True)))
    elif therapy_session and medicare:
        treatment_day = draw(st.integers(1, 7))

    npi = _npi(draw) if draw(st.booleans()) else None
    return Session(
        date_of_service=day,
        payer=payer,
        provider=Provider(discipline=discipline, npi=npi),
        lines=tuple(lines),
        diagnoses=diagnoses,
        plan_of_care=plan,
        treatment_day=treatment_day,
        progress_report=progress,
        therapy_ytd_allowed=ytd,
        total_treatment_minutes=total,
    )
