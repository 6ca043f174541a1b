"""The modifier rules' fast paths against the rules as they were before them.

The speed work of issue 8 gave each ``modifier.*`` rule a fast path that clears
the common clean visit without building sets or messages, in front of the
general path that words the findings. This module keeps the rule bodies as
they stood before that work (commit 5580cad, verbatim apart from names and
docstrings) as an oracle, and checks on many drawn visits that every rule
returns exactly the oracle's findings: ids, severities, lines, messages,
citations, fixes and order. A fast path that clears a visit it should not
(or a general path that words a finding differently) fails here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cptrules
from cptrules import strategies
from cptrules._context import Context
from cptrules.catalog import Catalog, catalog
from cptrules.models import Provider, ServiceLine, Session, TherapyYtd
from cptrules.ncci import bundled_tables
from cptrules.report import Finding, Fix
from cptrules.rules import REGISTRY
from cptrules.rules._base import Rule
from cptrules.rules.modifiers import assistant_policy, kx_thresholds

ENGINE = cptrules.Engine(tables=bundled_tables())
TABLES = bundled_tables()
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------- the oracle
# Constants and rule bodies copied from src/cptrules/rules/modifiers.py as of
# commit 5580cad. Do not "improve" them: they are the behaviour to keep.

THERAPY_MODIFIER: Mapping[str, str] = {"PT": "GP", "OT": "GO", "SLP": "GN"}
_MOD_DISCIPLINE: Mapping[str, str] = {m: d for d, m in THERAPY_MODIFIER.items()}
_THERAPY_MODS = frozenset(_MOD_DISCIPLINE)
_ASSISTANT_MODIFIER: Mapping[str, str] = {"PT": "CQ", "OT": "CO"}
_ASSISTANT_MODS = frozenset(_ASSISTANT_MODIFIER.values())
_ASSISTANT_NAME: Mapping[str, str] = {"CQ": "a PTA", "CO": "an OTA"}
_DISCIPLINE_NAME: Mapping[str, str] = {
    "PT": "physical therapy",
    "OT": "occupational therapy",
    "SLP": "speech-language pathology",
}
_A_DISCIPLINE: Mapping[str, str] = {
    "PT": "a physical therapy",
    "OT": "an occupational therapy",
    "SLP": "a speech-language pathology",
}
_DISTINCT = frozenset(("59", "XE", "XS", "XP", "XU"))
_X_MODS = _DISTINCT - {"59"}
_LIABILITY = frozenset(("GA", "GX", "GY", "GZ"))
_EM_FIRST, _EM_LAST = 99201, 99499
_MAX_MODIFIERS = 4
_BUCKETS: tuple[tuple[str, str], ...] = (("pt_slp", "PT and SLP"), ("ot", "OT"))


def _mods_text(mods: Iterable[str]) -> str:
    items = sorted(mods)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def plan_discipline(ctx: Context, i: int) -> str | None:
    provider = ctx.session.provider.discipline
    if provider in THERAPY_MODIFIER:
        return provider
    info = ctx.infos[i]
    if info is not None and info.discipline is not None:
        return info.discipline
    present = ctx.mods[i] & _THERAPY_MODS
    if len(present) == 1:
        return _MOD_DISCIPLINE[next(iter(present))]
    return None


def _is_therapy_line(ctx: Context, i: int) -> bool:
    info = ctx.infos[i]
    if info is not None and info.therapy == "always":
        return True
    return bool(ctx.mods[i] & _THERAPY_MODS)


def therapy_modifier(ctx: Context, r: Rule) -> Iterator[Finding]:
    provider = ctx.session.provider.discipline
    if provider == "DC":
        return
    for i, info in enumerate(ctx.infos):
        if info is None or info.therapy == "never":
            continue
        present = ctx.mods[i] & _THERAPY_MODS
        if info.therapy == "sometimes" and not present:
            continue
        code = ctx.lines[i].code
        code_discipline = info.discipline
        if (
            code_discipline is not None
            and provider in THERAPY_MODIFIER
            and provider != code_discipline
        ):
            yield r.finding(
                i,
                f"{code} is {_A_DISCIPLINE[code_discipline]} evaluation code and "
                f"cannot be billed by a {provider}: replace it with the {provider}'s own "
                f"evaluation or re-evaluation code of the same complexity, with "
                f"{THERAPY_MODIFIER[provider]}. Evaluation codes are discipline-specific "
                f"since 2018.",
            )
            continue
        discipline = plan_discipline(ctx, i)
        if provider not in THERAPY_MODIFIER and code_discipline is None:
            # A physician/NPP: the plan of care decides, and we cannot see it.
            if not present:
                yield r.finding(
                    i,
                    f"{code} is always a therapy service: Medicare needs GP, GO or GN on it, "
                    f"naming the therapy plan of care it was furnished under (physical "
                    f"therapy GP, occupational therapy GO, speech-language pathology GN). "
                    f"Add the one that applies.",
                    severity="warning",
                )
            elif len(present) > 1:
                yield r.finding(
                    i,
                    f"{code} carries {_mods_text(present)}: a service is furnished under one "
                    f"therapy plan of care. Keep only the modifier of that plan.",
                )
            continue
        assert discipline is not None  # a therapist or a discipline-specific code
        need = THERAPY_MODIFIER[discipline]
        who = (
            f"the provider is a {provider}"
            if provider in THERAPY_MODIFIER
            else f"{code} is {_A_DISCIPLINE[discipline]} code"
        )
        if not present:
            yield r.finding(
                i,
                f"{code} is always a therapy service and {who}: add {need}. Medicare "
                f"does not pay an always-therapy code without GP, GO or GN.",
                fixes=(Fix("add_modifier", i, need),),
            )
        elif present != {need}:
            wrong = sorted(present - {need})
            fixes = tuple(Fix("remove_modifier", i, m) for m in wrong)
            if need not in present:
                fixes += (Fix("add_modifier", i, need),)
                change = f"replace {_mods_text(wrong)} with {need}"
            else:
                change = f"remove {_mods_text(wrong)}"
            yield r.finding(
                i,
                f"{code} carries {_mods_text(wrong)}, but {who}: {change}.",
                fixes=fixes,
            )


def assistant_modifier(ctx: Context, r: Rule) -> Iterator[Finding]:
    policy = assistant_policy()
    pct = policy.de_minimis_percent
    paid_less = ctx.dos >= policy.payment_from
    for i, line in enumerate(ctx.lines):
        mods = ctx.mods[i]
        assist = line.assistant_minutes or 0
        have = mods & _ASSISTANT_MODS
        if not have and not assist:
            continue
        code = line.code
        if not _is_therapy_line(ctx, i):
            for m in sorted(have):
                yield r.finding(
                    i,
                    f"{m} marks therapy furnished by {_ASSISTANT_NAME[m]}, and {code} is not "
                    f"billed as a therapy service: remove {m}.",
                    fixes=(Fix("remove_modifier", i, m),),
                )
            continue
        minutes = line.minutes or 0
        over = minutes > 0 and assist * 100 > minutes * pct
        discipline = plan_discipline(ctx, i)
        need = _ASSISTANT_MODIFIER.get(discipline) if discipline else None
        if not assist:
            for m in sorted(have):
                yield r.finding(
                    i,
                    f"{code} carries {m} but no assistant minutes are recorded: remove {m}, "
                    f"or record the minutes {_ASSISTANT_NAME[m]} furnished.",
                    fixes=(Fix("remove_modifier", i, m),),
                )
            continue
        therapy_present = mods & _THERAPY_MODS
        if discipline == "SLP":
            if over:
                yield r.finding(
                    i,
                    f"An assistant furnished {assist} of {code}'s {minutes} minutes under a "
                    f"speech-language pathology plan: Medicare has no assistant modifier for "
                    f"that (CQ and CO are for PT and OT assistants). Check the payer's "
                    f"policy on services by an SLP assistant.",
                    severity="warning",
                )
            for m in sorted(have):
                yield r.finding(
                    i,
                    f"{m} is for {_ASSISTANT_NAME[m]}, not speech-language pathology (GN): "
                    f"remove {m}.",
                    fixes=(Fix("remove_modifier", i, m),),
                )
            continue
        if need is None or discipline is None:
            # No discipline to go by (a non-therapist without a therapy modifier).
            # A chiropractor's therapy is coverage.chiropractor's business.
            if len(have) > 1:
                yield r.finding(
                    i,
                    f"{code} carries both CQ and CO: one assistant furnished the service. "
                    f"Keep CQ for a PTA under a physical therapy plan or CO for an OTA under "
                    f"an occupational therapy plan, and remove the other.",
                )
            elif have and not over:
                (m,) = have
                yield r.finding(
                    i,
                    f"The assistant furnished {assist} of {code}'s {minutes} minutes, not "
                    f"more than {pct}%: {m} is not needed and cuts the payment; remove {m}.",
                    severity="warning",
                    fixes=(Fix("remove_modifier", i, m),),
                )
            elif over and not have and ctx.session.provider.discipline != "DC":
                yield r.finding(
                    i,
                    f"An assistant furnished {assist} of {code}'s {minutes} minutes (more "
                    f"than {pct}%): add CQ if a PTA furnished it, CO if an OTA did.",
                    severity="warning",
                )
            continue
        partner = THERAPY_MODIFIER[discipline]
        wrong = sorted(have - {need})
        if wrong:
            # The assistant modifier does not match the line's discipline.
            fixes = tuple(Fix("remove_modifier", i, m) for m in wrong)
            if over and need not in have:
                fixes += (Fix("add_modifier", i, need),)
                change = f"replace {_mods_text(wrong)} with {need}"
            else:
                change = f"remove {_mods_text(wrong)}"
            yield r.finding(
                i,
                f"{_mods_text(wrong)} does not belong on {_A_DISCIPLINE[discipline]} "
                f"line ({need} goes with {partner}): {change}.",
                fixes=fixes,
            )
        elif need in have:
            # The assistant modifier is right; its therapy partner may not be.
            odd = sorted(therapy_present - {partner})
            if odd:
                fixes = tuple(Fix("remove_modifier", i, m) for m in odd)
                fixes += (Fix("add_modifier", i, partner),)
                yield r.finding(
                    i,
                    f"{need} goes with {partner}, but {code} carries {_mods_text(odd)}: "
                    f"replace {_mods_text(odd)} with {partner} (this is "
                    f"{_DISCIPLINE_NAME[discipline]}).",
                    fixes=fixes,
                )
        if over and need not in have and not wrong:
            pay = (
                f" Medicare pays it at {policy.payment_percent}% of the fee schedule."
                if paid_less
                else ""
            )
            name = _ASSISTANT_NAME[need]
            yield r.finding(
                i,
                f"{name[0].upper()}{name[1:]} furnished {assist} of {code}'s {minutes} "
                f"minutes, more than {pct}%: add {need}.{pay}",
                fixes=(Fix("add_modifier", i, need),),
            )
        elif not over and need in have:
            yield r.finding(
                i,
                f"The assistant furnished {assist} of {code}'s {minutes} minutes, not more "
                f"than {pct}%: {need} is not needed and cuts the payment; remove {need}.",
                severity="warning",
                fixes=(Fix("remove_modifier", i, need),),
            )


def _bucket_lines(ctx: Context) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for i in range(len(ctx.lines)):
        if not _is_therapy_line(ctx, i):
            continue
        discipline = plan_discipline(ctx, i)
        if discipline is None:
            continue
        out.setdefault("ot" if discipline == "OT" else "pt_slp", []).append(i)
    return out


def kx_modifier(ctx: Context, r: Rule) -> Iterator[Finding]:
    buckets = _bucket_lines(ctx)
    if not buckets:
        return
    year = ctx.dos.year
    limits = kx_thresholds().get(year)
    if limits is None:
        yield r.finding(
            None,
            f"cptrules bundles no KX threshold for {year}, so KX was not checked: look up "
            f"the CMS amount for {year} and compare it with the amount allowed so far.",
            severity="info",
        )
        return
    ytd = ctx.session.therapy_ytd_allowed
    if ytd is None:
        return
    kx = limits.kx
    for key, label in _BUCKETS:
        lines = buckets.get(key)
        accrued = ytd.pt_slp if key == "pt_slp" else ytd.ot
        if not lines or accrued is None:
            continue
        lacking = [i for i in lines if "KX" not in ctx.mods[i]]
        if accrued > kx:
            for i in lacking:
                yield r.finding(
                    i,
                    f"The {label} therapy amount allowed this year is past the {year} KX "
                    f"threshold (${kx:,.2f}): add KX to {ctx.lines[i].code} if the service "
                    f"is medically necessary and documented so; without KX Medicare denies it.",
                    fixes=(Fix("add_modifier", i, "KX"),),
                )
        elif accrued * 10 >= kx * 9:
            if lacking:
                yield r.finding(
                    None,
                    f"The {label} therapy amount allowed this year is within 10% of the "
                    f"{year} KX threshold (${kx:,.2f}): this visit may cross it, and the "
                    f"lines that do need KX. Check the running total before sending.",
                    severity="warning",
                )
        else:
            for i in lines:
                if "KX" in ctx.mods[i]:
                    yield r.finding(
                        i,
                        f"{ctx.lines[i].code} carries KX, but the {label} amount allowed this "
                        f"year is well below the {year} KX threshold (${kx:,.2f}): KX is "
                        f"needed only once the threshold is passed. Keep it only if this "
                        f"visit passes it.",
                        severity="info",
                    )
        if accrued > limits.review:
            yield r.finding(
                None,
                f"The {label} therapy amount allowed this year is past ${limits.review:,.2f}, "
                f"where Medicare may select claims for targeted medical review: make sure "
                f"the notes support medical necessity.",
                severity="info",
            )


def _is_em(code: str) -> bool:
    return len(code) == 5 and code.isdigit() and _EM_FIRST <= int(code) <= _EM_LAST


def distinct_modifier(ctx: Context, r: Rule) -> Iterator[Finding]:
    flagged = [i for i, m in enumerate(ctx.mods) if m & _DISTINCT]
    if not flagged:
        return
    paired: frozenset[str] | None = None
    if ctx.tables is not None:
        edits = ctx.tables.ptp(ctx.codes, ctx.dos)
        paired = frozenset(e.column1 for e in edits) | frozenset(e.column2 for e in edits)
    for i in flagged:
        code = ctx.lines[i].code
        mods = ctx.mods[i]
        present = sorted(mods & _DISTINCT)
        text = _mods_text(present)
        if _is_em(code):
            yield r.finding(
                i,
                f"{code} is an E/M code: {text} is not used on E/M codes. Remove {text}; "
                f"an E/M that is separately identifiable from a same-day procedure takes 25.",
                fixes=tuple(Fix("remove_modifier", i, m) for m in present),
            )
            continue
        if "59" in mods and mods & _X_MODS:
            x = _mods_text(mods & _X_MODS)
            yield r.finding(
                i,
                f"{code} carries 59 and {x}: use one, never both. Remove 59 and keep {x}, "
                f"which says why the service is distinct.",
                fixes=(Fix("remove_modifier", i, "59"),),
            )
        if paired is not None and code not in paired:
            yield r.finding(
                i,
                f"No NCCI edit in the loaded tables pairs {code} with another code on this "
                f"claim, so {text} bypasses nothing; unneeded 59/X modifiers draw audits. "
                f"Remove {text}.",
                severity="warning",
                fixes=tuple(Fix("remove_modifier", i, m) for m in present),
            )


def at_modifier(ctx: Context, r: Rule) -> Iterator[Finding]:
    cmt = ctx.family_lines("cmt")
    for i in cmt:
        mods = ctx.mods[i]
        code = ctx.lines[i].code
        liability = mods & _LIABILITY
        if "AT" in mods and liability:
            lia = _mods_text(liability)
            yield r.finding(
                i,
                f"{code} carries AT together with {lia}: AT claims covered active treatment, "
                f"{lia} says the service may not be covered. Remove AT if this is maintenance "
                f"care; otherwise remove {lia}.",
                fixes=(Fix("remove_modifier", i, "AT"),),
            )
        elif "AT" not in mods and not liability:
            yield r.finding(
                i,
                f"{code} has no AT: add AT if this is active (corrective) treatment. If it is "
                f"maintenance care, Medicare does not pay it: bill it with GA (an ABN is on "
                f"file) or GZ (no ABN) instead of AT.",
                fixes=(Fix("add_modifier", i, "AT"),),
            )


def unknown_modifier(ctx: Context, r: Rule) -> Iterator[Finding]:
    known = ctx.catalog.modifiers
    for i, line in enumerate(ctx.lines):
        for m in line.modifiers:
            if m not in known:
                yield r.finding(
                    i,
                    f"Modifier {m} on {line.code} is not in cptrules' modifier catalog: check "
                    f"that it is a valid CPT/HCPCS modifier for this payer (the catalog lists "
                    f"common modifiers only) and correct or remove it.",
                    severity="warning",
                )
        if len(line.modifiers) > _MAX_MODIFIERS:
            yield r.finding(
                i,
                f"{line.code} carries {len(line.modifiers)} modifiers; a claim line holds "
                f"{_MAX_MODIFIERS}. Keep the four that affect payment (for example GP/GO/GN, "
                f"CQ/CO, KX, 59/X) and drop the rest, or split the service over two lines "
                f"as the payer directs.",
            )


ORACLE: Mapping[str, Callable[[Context, Rule], Iterable[Finding]]] = {
    "modifier.therapy": therapy_modifier,
    "modifier.assistant": assistant_modifier,
    "modifier.kx": kx_modifier,
    "modifier.distinct": distinct_modifier,
    "modifier.at": at_modifier,
    "modifier.unknown": unknown_modifier,
}

# ------------------------------------------------------------------ the draws

#: every modifier these rules look at, a few others the catalog knows, two it does not
OTHER_MODS = ("AT", "GA", "GX", "GY", "GZ", "25", "52", "ZZ", "9Z")
#: the catalog's codes, and E/M-shaped codes on both sides of 99201-99499
CODES = sorted(set(catalog().codes) | {"99200", "99201", "99213", "99499", "99500", "A1234"})
#: codes where the rules branch: evaluations of each discipline, never-therapy
#: codes (CMT among them), E/M and unknown codes, and the bench's usual four
INTERESTING = (
    *("97161", "97164", "97165", "97168", "98940", "98943", "20560", "99213", "A1234"),
    *("97110", "97140", "97530", "97012"),
)
DISCIPLINES = ("PT", "OT", "SLP", "DC", "MD", "DO", "NP", "PA", "LMT")


def _sometimes_catalog() -> Catalog:
    """The bundled catalog with some codes made "sometimes therapy" (it has none) and a
    never-therapy code given a discipline, so those branches are drawn too."""
    base = catalog()
    codes = dict(base.codes)
    for code in ("97140", "97012", "98940", "A1234"):
        if code in codes:
            codes[code] = attrs.evolve(codes[code], therapy="sometimes")
    codes["20560"] = attrs.evolve(codes["20560"], discipline="PT")
    return attrs.evolve(base, codes=codes)


CATALOGS = (catalog(), _sometimes_catalog())


def _edges() -> list[Decimal]:
    """Amounts on and around every bundled KX, 90% and review threshold."""
    cent = Decimal("0.01")
    out: set[Decimal] = {Decimal(0)}
    for t in kx_thresholds().values():
        for amount in (t.kx, t.kx * 9 / 10, t.review):
            out |= {amount - cent, amount, amount + cent}
    return sorted(out)


AMOUNTS = st.one_of(
    st.sampled_from(_edges()),
    st.decimals(min_value=0, max_value=Decimal("9999999.99"), places=2),
)


@st.composite
def modifier_lists(draw: st.DrawFn) -> tuple[str, ...]:
    """Up to six modifiers, drawn by kind so that one or two of a kind are common."""
    mods: list[str] = []
    for kind in (("GP", "GO", "GN"), ("CQ", "CO"), ("KX",), ("59", "XE", "XS", "XP", "XU")):
        mods += draw(st.lists(st.sampled_from(kind), unique=True, max_size=2))
    mods += draw(st.lists(st.sampled_from(OTHER_MODS), unique=True, max_size=2))
    return tuple(draw(st.permutations(mods))[:6])


@st.composite
def service_line(draw: st.DrawFn) -> ServiceLine:
    """A line with any code, minutes, assistant minutes and up to six modifiers."""
    minutes = draw(st.none() | st.sampled_from([0, 10, 30]) | st.integers(0, 60))
    assistant = None
    if minutes is not None:
        tenth = minutes // 10
        assistant = draw(
            st.none() | st.sampled_from([tenth, min(tenth + 1, minutes)]) | st.integers(0, minutes)
        )
    return ServiceLine(
        code=draw(st.sampled_from(INTERESTING) | st.sampled_from(CODES)),
        minutes=minutes,
        units=draw(st.none() | st.integers(1, 4)),
        modifiers=draw(modifier_lists()),
        assistant_minutes=assistant,
    )


@st.composite
def modifier_sessions(draw: st.DrawFn) -> Session:
    """Visits dense in what the modifier rules read, every year 2020-2027."""
    ytd = draw(
        st.none() | st.builds(TherapyYtd, pt_slp=st.none() | AMOUNTS, ot=st.none() | AMOUNTS)
    )
    return Session(
        date_of_service=draw(st.dates(dt.date(2020, 1, 1), dt.date(2027, 12, 31))),
        payer=draw(st.sampled_from(["medicare", "aetna", "commercial"])),
        provider=Provider(
            draw(st.sampled_from(["PT", "OT", "SLP"]) | st.sampled_from(DISCIPLINES))
        ),
        lines=tuple(draw(st.lists(service_line(), min_size=1, max_size=6))),
        therapy_ytd_allowed=ytd,
    )


ALL_MODS = ("GP", "GO", "GN", "CQ", "CO", "KX", "59", "XE", "XS", "XP", "XU", *OTHER_MODS)
OWN = {"PT": ("GP", "CQ"), "OT": ("GO", "CO"), "SLP": ("GN", None)}


@st.composite
def near_clean_sessions(draw: st.DrawFn) -> Session:
    """A therapist's visit billed as the fast paths expect, then nudged once or twice:
    a modifier added or dropped, an assistant share on the 10% line, an amount on a
    threshold. The fast paths' boundaries are here."""
    provider = draw(st.sampled_from(["PT", "OT", "SLP"]))
    therapy_mod, assistant_mod = OWN[provider]
    day = draw(st.dates(dt.date(2020, 1, 1), dt.date(2027, 12, 31)))
    accrued = draw(st.none() | st.sampled_from(_edges()))
    bucket = "ot" if provider == "OT" else "pt_slp"
    ytd = draw(st.none() | st.just(TherapyYtd(**{bucket: accrued})))
    limits = kx_thresholds().get(day.year)
    needs_kx = limits is not None and accrued is not None and accrued * 10 >= limits.kx * 9
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        minutes = draw(st.sampled_from([10, 20, 30, 45]))
        assist = draw(st.sampled_from([0, minutes // 10, minutes // 10 + 1, minutes]))
        mods = [therapy_mod]
        if assist and assistant_mod is not None:
            mods.append(assistant_mod)
        if needs_kx:
            mods.append("KX")
        if draw(st.booleans()):
            mods.append(draw(st.sampled_from(["59", "XU"])))
        for _ in range(draw(st.integers(0, 2))):
            nudge = draw(st.sampled_from(ALL_MODS))
            mods = [m for m in mods if m != nudge] if nudge in mods else [*mods, nudge]
        lines.append(
            ServiceLine(
                code=draw(st.sampled_from(INTERESTING)),
                minutes=minutes,
                units=1,
                modifiers=tuple(mods),
                assistant_minutes=assist or draw(st.sampled_from([None, 0])),
            )
        )
    return Session(
        date_of_service=day,
        payer=draw(st.sampled_from(["medicare", "aetna"])),
        provider=Provider(provider),
        lines=tuple(lines),
        therapy_ytd_allowed=ytd,
    )


def assert_same(session: Session) -> None:
    """Every modifier rule returns the oracle's findings, with and without edit tables,
    with the bundled catalog and with one that has "sometimes therapy" codes."""
    profile = ENGINE.profile_for(session.payer, session)
    for cat in CATALOGS:
        for tables in (TABLES, None):
            ctx = Context(session, profile, cat, tables)
            for rid, oracle in ORACLE.items():
                r = REGISTRY[rid]
                assert list(r.func(ctx, r)) == list(oracle(ctx, r)), rid


# ------------------------------------------------------------------- the tests


@FAST
@given(modifier_sessions())
def test_fast_paths_agree_with_the_oracle(session: Session) -> None:
    assert_same(session)


@FAST
@given(near_clean_sessions())
def test_agree_next_to_the_fast_paths_boundaries(session: Session) -> None:
    assert_same(session)


@FAST
@given(strategies.sessions())
def test_agree_on_any_well_formed_session(session: Session) -> None:
    assert_same(session)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
@pytest.mark.parametrize("payer", ["medicare", "aetna"])
def test_agree_on_clean_sessions(payer: str, data: st.DataObject) -> None:
    """The clean visits the fast paths are for: they must stay silent there too."""
    assert_same(data.draw(strategies.clean_sessions(payer=payer, disciplines=["PT", "OT", "DC"])))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
@pytest.mark.parametrize("rid", sorted(ORACLE))
def test_agree_on_faulty_sessions(rid: str, data: st.DataObject) -> None:
    """One injected fault of each rule: the general path must be reached and agree."""
    assert_same(data.draw(strategies.faulty_sessions(rule=rid)))


@pytest.mark.parametrize("rid", sorted(ORACLE))
def test_agree_on_the_rule_examples(rid: str) -> None:
    for example in REGISTRY[rid].examples:
        assert_same(cptrules.load_session(dict(example.session)))


def test_a_clean_visit_builds_no_generator() -> None:
    """The point of the fast paths: a clean PT visit returns () from every rule."""
    s = cptrules.load_session(
        {
            "date_of_service": "2026-03-04",
            "payer": "medicare",
            "provider": {"discipline": "PT"},
            "therapy_ytd_allowed": {"pt_slp": 2600, "ot": 0},
            "lines": [
                {"code": "97110", "minutes": 30, "modifiers": ["GP", "KX"]},
                {"code": "97140", "minutes": 15, "modifiers": ["GP", "KX", "XU"]},
                {
                    "code": "97530",
                    "minutes": 10,
                    "modifiers": ["GP", "KX", "CQ"],
                    "assistant_minutes": 5,
                },
                {"code": "97012", "units": 1, "modifiers": ["GP", "KX"]},
            ],
        }
    )
    ctx = Context(s, ENGINE.profile_for("medicare", s), ENGINE.catalog, TABLES)
    for rid in ORACLE:
        r = REGISTRY[rid]
        assert r.func(ctx, r) == (), rid


def _visit(provider: str, *lines: ServiceLine, day: dt.date, ytd: TherapyYtd | None) -> Session:
    return Session(
        date_of_service=day,
        payer="medicare",
        provider=Provider(provider),
        lines=lines,
        therapy_ytd_allowed=ytd,
    )


def test_agree_on_every_threshold_edge() -> None:
    """Each year's amounts a cent either side of 90%, KX and review, KX on all, some, none."""
    cent = Decimal("0.01")
    for year in (*kx_thresholds(), 2027):
        day = dt.date(year, 6, 1)
        t = kx_thresholds().get(year, kx_thresholds()[2026])
        amounts = [Decimal(0)]
        for edge in (t.kx * 9 / 10, t.kx, t.review):
            amounts += [edge - cent, edge, edge + cent]
        for provider in ("PT", "OT", "SLP", "MD"):
            own = OWN.get(provider, ("GP", None))[0]
            for amount in amounts:
                for ytd in (TherapyYtd(pt_slp=amount), TherapyYtd(ot=amount)):
                    for kx in ((), ("KX",)):
                        assert_same(
                            _visit(
                                provider,
                                ServiceLine("97110", 30, 2, (own, *kx)),
                                ServiceLine("97530", 15, 1, (own,)),
                                ServiceLine("98940", None, 1, kx),
                                day=day,
                                ytd=ytd,
                            )
                        )
                        assert_same(
                            _visit(
                                provider,
                                ServiceLine("97110", 30, 2, (own, *kx)),
                                day=day,
                                ytd=ytd,
                            )
                        )


def test_agree_on_every_assistant_share_edge() -> None:
    """Assistant shares at, just over and well over 10%, with every CQ/CO and GP/GO mix."""
    mixes = [(t, a) for t in ((), ("GP",), ("GO",), ("GN",), ("GP", "GO")) for a in ((), ("CQ",))]
    mixes += [(t, ("CO",)) for t in ((), ("GP",), ("GO",))] + [(("GP",), ("CQ", "CO"))]
    for provider in ("PT", "OT", "SLP", "MD", "DC"):
        for minutes in (10, 30):
            for assist in (None, 0, minutes // 10, minutes // 10 + 1, minutes):
                for therapy, assistant in mixes:
                    for code in ("97110", "98940"):
                        line = ServiceLine(code, minutes, 2, (*therapy, *assistant), (), (), assist)
                        assert_same(
                            _visit(
                                provider,
                                ServiceLine("97530", 15, 1, therapy),
                                line,
                                day=dt.date(2026, 3, 4),
                                ytd=None,
                            )
                        )
