"""Rules of the modifiers family: GP/GO/GN, CQ/CO, KX, 59/X, AT and unknown modifiers.

Sources: CMS Pub. 100-04 ch. 5 (therapy and assistant modifiers, KX) and ch. 12
(AT), the NCCI Policy Manual ch. 1 (59/X). Which modifier is of which kind
(therapy, assistant, distinct, liability, ...) and which discipline it stands
for is data in ``cptrules/data/modifiers.toml``, read through the catalog
(:class:`~cptrules.catalog.ModifierSets`); yearly dollar amounts live in
``cptrules/data/medicare_thresholds.toml``, read once on first use.

Each rule is one function: a cheap visit-level guard that clears the usual
clean visit, then one loop over the lines with a cheap per-line ``continue``;
only real violations are worded.

Which therapy discipline a line belongs to is decided one way for every rule
here (:func:`plan_discipline`), so the fixes of different rules agree with one
another: the provider's own discipline for a therapist (PT, OT, SLP), else the
discipline of a discipline-specific code (the evaluations), else the line's
single therapy modifier.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import TYPE_CHECKING, Any

import attrs

from .._context import Context, Shape
from .._memo import Memo
from ..catalog import catalog
from ..errors import DataError
from ..report import Finding, Fix, Severity
from ._base import REGISTRY, Rule, rule

if TYPE_CHECKING:
    from ..payers import PayerProfile

__all__ = [
    "THERAPY_MODIFIER",  # noqa: F822  # served by the module __getattr__ below
    "AssistantPolicy",
    "ThresholdYear",
    "assistant_modifier",
    "assistant_policy",
    "assistant_units",
    "at_modifier",
    "distinct_modifier",
    "em_25_modifier",
    "kx_modifier",
    "kx_thresholds",
    "plan_discipline",
    "therapy_modifier",
    "unknown_modifier",
]

_ASSISTANT_NAME: Mapping[str, str] = {"CQ": "a PTA", "CO": "an OTA"}
_DISCIPLINE_NAME: Mapping[str, str] = {
    "PT": "physical therapy",
    "OT": "occupational therapy",
    "SLP": "speech-language pathology",
}
#: the name with its indefinite article
_A_DISCIPLINE: Mapping[str, str] = {
    "PT": "a physical therapy",
    "OT": "an occupational therapy",
    "SLP": "a speech-language pathology",
}
#: disciplines whose evaluations come in complexity levels (97161-97163, 97165-97167)
_COMPLEXITY = frozenset(("PT", "OT"))
#: "an SLP", "an OT": the article a discipline's abbreviation is read with
_ARTICLE: Mapping[str, str] = {"SLP": "an", "OT": "an"}
#: E/M codes: 99201 (in use until the end of 2020, inside our data period) to 99499
_EM_FIRST, _EM_LAST = 99201, 99499
_MAX_MODIFIERS = 4


def __getattr__(name: str) -> Any:
    """``THERAPY_MODIFIER`` (discipline -> GP/GO/GN), kept for callers: read from the catalog."""
    if name == "THERAPY_MODIFIER":
        return catalog().mods.therapy_of
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _mods_text(mods: Iterable[str]) -> str:
    """``GO`` / ``59 and XS`` / ``GA, GY and GZ``, sorted."""
    items = sorted(mods)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def plan_discipline(ctx: Context, i: int) -> str | None:
    """The therapy discipline (``PT``/``OT``/``SLP``) line ``i`` is, or should be, billed under.

    A therapist's own discipline decides; for anyone else the code's fixed
    discipline (evaluations) or else the line's one therapy modifier; None when
    nothing decides (no therapy modifier, or several).
    """
    k = ctx.catalog.mods
    provider = ctx.session.provider.discipline
    if provider in k.therapy_of:
        return provider
    info = ctx.infos[i]
    if info is not None and info.discipline is not None:
        return info.discipline
    present = ctx.mods[i] & k.therapy
    if len(present) == 1:
        return k.discipline_of[next(iter(present))]
    return None


def _swap(i: int, wrong: list[str], need: str, add: bool) -> tuple[tuple[Fix, ...], str]:
    """The fixes that take ``wrong`` off line ``i`` (and put ``need`` on when ``add``),
    and what they do in words."""
    fixes = tuple(Fix("remove_modifier", i, m) for m in wrong)
    if add:
        return (*fixes, Fix("add_modifier", i, need)), f"replace {_mods_text(wrong)} with {need}"
    return fixes, f"remove {_mods_text(wrong)}"


def _is_therapy_line(ctx: Context, i: int) -> bool:
    """An always-therapy code, or any code billed with a therapy modifier."""
    info = ctx.infos[i]
    if info is not None and info.therapy == "always":
        return True
    return not ctx.mods[i].isdisjoint(ctx.catalog.mods.therapy)


# --------------------------------------------------------------------------- data


@attrs.frozen
class ThresholdYear:
    """The Medicare therapy amounts of one calendar year (per bucket: PT+SLP, OT)."""

    year: int
    kx: Decimal
    review: Decimal
    confidence: str
    source: str


@attrs.frozen
class AssistantPolicy:
    """When CQ/CO are needed and how Medicare pays them."""

    de_minimis_percent: int
    payment_percent: int
    payment_from: dt.date
    confidence: str
    source: str


_DATA_FILE = "medicare_thresholds.toml"

#: the thresholds file as read and checked, each part read once (emptied by clear_caches())
_YEARS: Memo[str, Mapping[int, ThresholdYear]] = Memo("KX thresholds", size=1)
_POLICY: Memo[str, AssistantPolicy] = Memo("assistant policy", size=1)


def _data() -> Mapping[str, Any]:
    try:
        text = resources.files("cptrules.data").joinpath(_DATA_FILE).read_text(encoding="utf-8")
        return tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:  # pragma: no cover - broken install
        raise DataError(f"cannot read bundled data: {exc}", source=_DATA_FILE) from exc


def _money(raw: object, where: str) -> Decimal:
    if not isinstance(raw, str):
        raise DataError(f'{where} must be a string amount such as "2480.00"', source=_DATA_FILE)
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise DataError(f"{where} is not an amount", source=_DATA_FILE) from None
    if not amount.is_finite() or amount <= 0:
        raise DataError(f"{where} must be a positive amount", source=_DATA_FILE)
    return amount


def kx_thresholds() -> Mapping[int, ThresholdYear]:
    """Calendar year -> its bundled KX and review thresholds (read once).

    Years without a sourced amount are absent (e.g. 2027 until CMS publishes it).

    >>> kx_thresholds()[2026].kx
    Decimal('2480.00')
    >>> 2027 in kx_thresholds()
    False
    """
    got = _YEARS.get(_DATA_FILE)
    if got is not None:
        return got
    out: dict[int, ThresholdYear] = {}
    for key, row in _data()["years"].items():
        where = f"years.{key}"
        out[int(key)] = ThresholdYear(
            year=int(key),
            kx=_money(row.get("kx"), f"{where}.kx"),
            review=_money(row.get("review"), f"{where}.review"),
            confidence=str(row["confidence"]),
            source=str(row["source"]),
        )
    return _YEARS.put(_DATA_FILE, out)


def assistant_policy() -> AssistantPolicy:
    """The CQ/CO de minimis share and payment differential (read once).

    >>> assistant_policy().de_minimis_percent
    10
    """
    got = _POLICY.get(_DATA_FILE)
    if got is not None:
        return got
    row = _data()["assistant"]
    percent = row.get("de_minimis_percent")
    pay = row.get("payment_percent")
    start = row.get("payment_from")
    if type(percent) is not int or type(pay) is not int or not isinstance(start, dt.date):
        raise DataError(
            "assistant: bad de_minimis_percent, payment_percent or payment_from",
            source=_DATA_FILE,
        )
    policy = AssistantPolicy(percent, pay, start, str(row["confidence"]), str(row["source"]))
    return _POLICY.put(_DATA_FILE, policy)


# ------------------------------------------------------------ modifier.therapy


def _own_therapy_modifiers(shape: Shape, profile: PayerProfile) -> bool:
    """modifier.therapy's guard: the usual visit is a therapist's, every line carrying
    the provider's own modifier and no other, no code another discipline's evaluation."""
    provider = shape.discipline
    k = shape.catalog.mods
    own = k.therapy_of.get(provider)
    if own is None or not k.other_therapy[own].isdisjoint(shape.all_mods):
        return False
    for mods in shape.mods:
        if own not in mods:
            return False
    foreign = shape.catalog.foreign_codes.get(provider, shape.catalog.discipline_codes)
    return shape.codes.isdisjoint(foreign)


@rule("modifier.therapy", quiet=_own_therapy_modifiers)
def therapy_modifier(ctx: Context, r: Rule) -> Iterable[Finding]:
    """GP/GO/GN on always-therapy codes, matching the discipline.

    Source: CMS Pub. 100-04, ch. 5, sec. 20.1: every always-therapy code takes
    the modifier of the therapy plan of care it was furnished under (GP physical
    therapy, GO occupational therapy, GN speech-language pathology); the
    evaluation codes are fixed to one discipline since 2018 (97161-97164 PT with
    GP, 97165-97168 OT with GO). Three or more sources agree.

    - A therapist (PT/OT/SLP): the modifier must be the provider's own. Missing
      -> error, fix ``add_modifier``; another one present -> error, fixes
      ``remove_modifier`` (each wrong one) and ``add_modifier`` (the right one).
    - A therapist billing another discipline's evaluation code (a PT billing
      97165) -> error without a fix: the code itself is wrong, and which of
      the provider's own codes fits (complexity) is for the clinician to say.
    - A physician or NPP (MD/DO/NP/PA) or other non-therapist: the payer still
      wants GP/GO/GN naming the therapy plan the service belongs to. Evaluation
      codes name their discipline, so the modifier is known (error with fix);
      for other codes we do not guess which plan: warning without a fix when
      none is present, error without a fix when several are.
    - A chiropractor (DC): skipped. Medicare does not pay a DC for therapy
      codes at all; ``coverage.chiropractor`` reports that, and a therapy
      modifier cannot make it payable.
    - "Sometimes therapy" codes are therapy when a therapist (PT/OT/SLP)
      furnishes them, and then need the modifier like any always-therapy code
      (CMS annual therapy code list); billed by anyone else they are checked
      only when a therapy modifier is present (it must then match).
    """
    provider = ctx.session.provider.discipline
    if provider == "DC":
        return ()
    k = ctx.catalog.mods
    own = k.therapy_of.get(provider)
    no_other = k.therapy.isdisjoint if own is None else k.other_therapy[own].isdisjoint
    found: list[Finding] = []
    for i, info in enumerate(ctx.infos):
        if info is None or info.therapy == "never":
            continue
        mods = ctx.mods[i]
        code_discipline = info.discipline
        if (
            own is not None
            and own in mods
            and no_other(mods)
            and (code_discipline is None or code_discipline == provider)
        ):
            continue  # a therapist's line with its own modifier only
        present = mods & k.therapy
        if info.therapy == "sometimes" and not present and own is None:
            continue  # a sometimes-therapy code is therapy when a therapist furnishes it
        code = ctx.lines[i].code
        if code_discipline is not None and own is not None and provider != code_discipline:
            if code_discipline in _COMPLEXITY and provider in _COMPLEXITY:
                instead = (
                    f"replace it with the {provider}'s own evaluation or re-evaluation code "
                    f"of the same complexity, with {own}"
                )
            elif code_discipline == "SLP":
                instead = f"only a speech-language pathologist bills it, with {k.therapy_of['SLP']}"
            else:  # an SLP billing a PT or OT evaluation: SLP evaluations have no levels
                instead = f"bill the {provider}'s own evaluation code for the service, with {own}"
            found.append(
                r.finding(
                    i,
                    f"{code} is {_A_DISCIPLINE[code_discipline]} evaluation code and "
                    f"cannot be billed by {_ARTICLE.get(provider, 'a')} {provider}: {instead}. "
                    f"Evaluation codes are discipline-specific since 2018.",
                )
            )
            continue
        if own is None and code_discipline is None:
            # A physician/NPP: the plan of care decides, and we cannot see it.
            if not present:
                found.append(
                    r.finding(
                        i,
                        f"{code} is always a therapy service: {ctx.profile.name} needs GP, GO "
                        f"or GN on it, naming the therapy plan of care it was furnished under "
                        f"(physical therapy GP, occupational therapy GO, speech-language "
                        f"pathology GN). Add the one that applies.",
                        severity="warning",
                    )
                )
            elif len(present) > 1:
                found.append(
                    r.finding(
                        i,
                        f"{code} carries {_mods_text(present)}: a service is furnished under "
                        f"one therapy plan of care. Keep only the modifier of that plan.",
                    )
                )
            continue
        discipline = plan_discipline(ctx, i)
        assert discipline is not None  # a therapist or a discipline-specific code
        need = k.therapy_of[discipline]
        who = (
            f"the provider is a {provider}"
            if own is not None
            else f"{code} is {_A_DISCIPLINE[discipline]} code"
        )
        if not present:
            kind = (
                "always a therapy service"
                if info.therapy == "always"
                else "a therapy service when a therapist furnishes it"
            )
            found.append(
                r.finding(
                    i,
                    f"{code} is {kind} and {who}: add {need}. {ctx.profile.name} does not pay "
                    f"a therapy service without GP, GO or GN.",
                    fixes=(Fix("add_modifier", i, need),),
                )
            )
        elif present != {need}:
            wrong = sorted(present - {need})
            fixes, change = _swap(i, wrong, need, need not in present)
            found.append(
                r.finding(
                    i,
                    f"{code} carries {_mods_text(wrong)}, but {who}: {change}.",
                    fixes=fixes,
                )
            )
    return found


def assistant_units(minutes: int, assistant: int, units: int, percent: int = 10) -> int:
    """How many of a timed line's ``units`` CMS's de minimis standard gives the assistant.

    The steps of CMS's billing examples for CQ/CO (Pub. 100-04 ch. 5 sec. 20.1):
    each full 15 minutes the therapist furnished alone is a unit without CQ/CO,
    each full 15 minutes the assistant furnished alone a unit with it; the units
    left are billed on the minutes left over, with CQ/CO when the assistant's
    share of those minutes is more than ``percent`` (10%). When two units are
    left and each clinician's share passes the standard (each furnished 9-14 of
    the leftover minutes), one goes to each (CY 2022 PFS final rule). Units
    billed short of the full blocks are taken as the therapist's first.

    >>> assistant_units(40, 3, 3)   # PT 37, PTA 3: the third unit is 7 + 3 minutes
    1
    >>> assistant_units(40, 1, 3)   # PTA 1 of the last unit's 10 minutes: not over 10%
    0
    >>> assistant_units(36, 23, 2)  # PTA 23, PT 13: 15 by the PTA, then 8 of 21
    2
    """
    if units <= 0 or assistant <= 0:
        return 0
    assistant = min(assistant, minutes)
    t_full, t_rest = divmod(minutes - assistant, 15)
    a_full, a_rest = divmod(assistant, 15)
    left = units - t_full - a_full
    if left <= 0:
        return max(0, units - t_full)
    rest = t_rest + a_rest
    if a_rest * 100 <= rest * percent:
        return a_full
    if left >= 2 and t_rest * 100 > rest * percent:
        return a_full + left - 1
    return a_full + left


def _assistant_share(ctx: Context, i: int, assist: int, pct: int) -> tuple[int, int]:
    """(units the assistant's minutes put CQ/CO on, units of the line) for line ``i``.

    Timed codes are tested per 15-minute unit (:func:`assistant_units`) of the
    units the minutes support; an untimed service, or a line without units, as a whole: (1, 1) when
    the assistant furnished more than ``pct`` percent of its minutes, else (0, 1).
    """
    line = ctx.lines[i]
    minutes = line.minutes or 0
    # the units the minutes support (a billing slip is the unit rules' finding, not
    # a reason for CQ/CO); a code split over lines: each line's own billed units
    units = ctx.billed[i]
    expected = ctx.expected[i]
    if expected is not None and len(ctx.by_code[line.code]) == 1:
        units = expected
    info = ctx.infos[i]
    if info is not None and info.timed and units:
        return assistant_units(minutes, assist, units, pct), units
    return (1 if minutes > 0 and assist * 100 > minutes * pct else 0), 1


def _removals(r: Rule, i: int, mods: AbstractSet[str], say: str) -> list[Finding]:
    """One finding per modifier of ``mods`` (sorted) on line ``i``, each fixed by removing it.

    ``say`` is the message with ``{m}`` for the modifier and ``{name}`` for its assistant.
    """
    return [
        r.finding(
            i, say.format(m=m, name=_ASSISTANT_NAME[m]), fixes=(Fix("remove_modifier", i, m),)
        )
        for m in sorted(mods)
    ]


# ---------------------------------------------------------- modifier.assistant


def _not_needed(r: Rule, i: int, share_of: str, limit: str, mod: str) -> Finding:
    """modifier.assistant's warning: ``mod`` (CQ/CO) on line ``i`` where it is not needed."""
    return r.finding(
        i,
        f"The assistant furnished {share_of} minutes, not more than {limit}: {mod} is not "
        f"needed and cuts the payment; remove {mod}.",
        severity="warning",
        fixes=(Fix("remove_modifier", i, mod),),
    )


@rule("modifier.assistant")
def assistant_modifier(ctx: Context, r: Rule) -> Iterable[Finding]:
    """CQ (PTA, with GP) / CO (OTA, with GO) when an assistant furnished over 10%.

    Source: CMS Pub. 100-04, ch. 5, sec. 20.1 and the CY 2020 / CY 2022
    Physician Fee Schedule final rules: CQ/CO are required when a PTA/OTA
    furnished more than 10% of a service; since 2022 such services are paid at
    85%; CQ goes with GP and CO with GO. Three or more sources agree. The share
    and the dates are data (``medicare_thresholds.toml``).

    CMS measures the 10% per 15-minute unit of a timed code and per untimed
    service (CMS, "Billing Examples Using CQ/CO Modifiers for Services
    Furnished In Whole or In Part by PTAs and OTAs"; Pub. 100-04 ch. 5 sec.
    20.1): full 15-minute blocks each clinician furnished alone are that
    clinician's units; the units left are tested on the leftover minutes
    (:func:`assistant_units`; integers: exactly 10% is not over). So PT 37 and
    PTA 3 minutes of 97110 (3 units) put CQ on the third unit (3 of its 10
    minutes), though 3 of 40 minutes is under 10%. A line some of whose units
    are the assistant's needs the modifier; CMS bills such a code on two lines,
    the therapist's without CQ/CO and the assistant's with it, and
    ``units.single-line`` accepts that pair. No fix splits a line: the fix adds
    CQ/CO to the line (the message names the split as the alternative), which
    no other rule's fix undoes. An untimed service, or a line whose units are
    unknown, is tested as a whole. The assistant modifier follows the line's
    discipline (:func:`plan_discipline`): CQ for PT, CO for OT.

    - over 10% and the right modifier missing -> error, fix ``add_modifier``;
    - CQ/CO on a line with no assistant minutes (absent or 0), or on a code that
      is not a therapy service -> error, fix ``remove_modifier``;
    - CQ/CO with an assistant share of 10% or less -> warning (the 15% cut is
      money left behind), fix ``remove_modifier``;
    - CQ with GO, or CO with GP -> error; the fix changes whichever side does
      not match the line's discipline;
    - speech-language pathology (GN): no assistant modifier exists; an
      assistant share over 10% gets a warning without a fix.
    """
    k = ctx.catalog.mods
    no_assistant_mod = k.assistant.isdisjoint
    # Guard: most visits have no assistant minutes and no CQ/CO.
    for line in ctx.lines:
        if line.assistant_minutes:
            break
    else:
        if no_assistant_mod(ctx.all_mods):
            return ()
    policy = assistant_policy()
    pct = policy.de_minimis_percent
    # A therapist's line rightly billed: own assistant modifier with its partner,
    # nothing clashing, the assistant share over the de minimis.
    own = k.assistant_of.get(ctx.session.provider.discipline)
    clash = None if own is None else k.not_with[own]
    found: list[Finding] = []
    for i, line in enumerate(ctx.lines):
        mods = ctx.mods[i]
        assist = line.assistant_minutes or 0
        if not assist:
            if no_assistant_mod(mods):
                continue
        elif (
            own is not None
            and own in mods
            and k.partner[own] in mods
            and clash is not None
            and clash.isdisjoint(mods)
            and line.minutes
            and _assistant_share(ctx, i, assist, pct)[0] > 0
        ):
            continue
        have = mods & k.assistant
        code = line.code
        if not _is_therapy_line(ctx, i):
            found += _removals(
                r,
                i,
                have,
                "{m} marks therapy furnished by {name}, and "
                + code
                + " is not billed as a therapy "
                "service: remove {m}.",
            )
            continue
        minutes = line.minutes or 0
        share, units = _assistant_share(ctx, i, assist, pct) if assist else (0, 1)
        over = share > 0
        discipline = plan_discipline(ctx, i)
        need = k.assistant_of.get(discipline) if discipline else None
        if not assist:
            found += _removals(
                r,
                i,
                have,
                code + " carries {m} but no assistant minutes are recorded: remove {m}, or record "
                "the minutes {name} furnished.",
            )
            continue
        therapy_present = mods & k.therapy
        if discipline == "SLP":
            if over:
                found.append(
                    r.finding(
                        i,
                        f"An assistant furnished {assist} of {code}'s {minutes} minutes under "
                        f"a speech-language pathology plan: Medicare has no assistant modifier "
                        f"for that (CQ and CO are for PT and OT assistants). Check the payer's "
                        f"policy on services by an SLP assistant.",
                        severity="warning",
                    )
                )
            found += _removals(
                r,
                i,
                have,
                "{m} is for {name}, not speech-language pathology (GN): remove {m}.",
            )
            continue
        if need is None or discipline is None:
            # No discipline to go by (a non-therapist without a therapy modifier).
            # A chiropractor's therapy is coverage.chiropractor's business.
            if len(have) > 1:
                found.append(
                    r.finding(
                        i,
                        f"{code} carries both CQ and CO: one assistant furnished the service. "
                        f"Keep CQ for a PTA under a physical therapy plan or CO for an OTA "
                        f"under an occupational therapy plan, and remove the other.",
                    )
                )
            elif have and not over:
                (m,) = have
                found.append(_not_needed(r, i, f"{assist} of {code}'s {minutes}", f"{pct}%", m))
            elif over and not have and ctx.session.provider.discipline != "DC":
                found.append(
                    r.finding(
                        i,
                        f"An assistant furnished {assist} of {code}'s {minutes} minutes (more "
                        f"than {pct}%): add CQ if a PTA furnished it, CO if an OTA did.",
                        severity="warning",
                    )
                )
            continue
        partner = k.therapy_of[discipline]
        wrong = sorted(have - {need})
        if wrong:
            # The assistant modifier does not match the line's discipline.
            fixes, change = _swap(i, wrong, need, over and need not in have)
            found.append(
                r.finding(
                    i,
                    f"{_mods_text(wrong)} does not belong on {_A_DISCIPLINE[discipline]} "
                    f"line ({need} goes with {partner}): {change}.",
                    fixes=fixes,
                )
            )
        elif need in have:
            # The assistant modifier is right; its therapy partner may not be.
            odd = sorted(therapy_present - {partner})
            if odd:
                fixes = tuple(Fix("remove_modifier", i, m) for m in odd)
                fixes += (Fix("add_modifier", i, partner),)
                found.append(
                    r.finding(
                        i,
                        f"{need} goes with {partner}, but {code} carries {_mods_text(odd)}: "
                        f"replace {_mods_text(odd)} with {partner} (this is "
                        f"{_DISCIPLINE_NAME[discipline]}).",
                        fixes=fixes,
                    )
                )
        if over and need not in have and not wrong:
            pay = (
                f" Medicare pays it at {policy.payment_percent}% of the fee schedule."
                if ctx.dos >= policy.payment_from
                else ""
            )
            name = _ASSISTANT_NAME[need]
            part = ""
            if share < units:
                are, them = ("is", "it") if share == 1 else ("are", "them")
                part = (
                    f" Tested per 15-minute unit, {share} of the {units} units {are} the "
                    f"assistant's: bill {them} on a second {code} line with {need} and the "
                    f"other {units - share} on this line without it, or add {need} to this line."
                )
            found.append(
                r.finding(
                    i,
                    f"{name[0].upper()}{name[1:]} furnished {assist} of {code}'s {minutes} "
                    f"minutes, more than {pct}% of a billed unit: add {need}.{part}{pay}",
                    fixes=(Fix("add_modifier", i, need),),
                )
            )
        elif not over and need in have:
            share_of = f"{assist} of {code}'s {minutes}"
            found.append(_not_needed(r, i, share_of, f"{pct}% of any billed unit", need))
    return found


# ------------------------------------------------------------------ modifier.kx

#: KX bucket key (a TherapyYtd field) -> label; PT and SLP share one bucket
_BUCKETS: tuple[tuple[str, str], ...] = (("pt_slp", "PT and SLP"), ("ot", "OT"))


@attrs.frozen
class _KxYear:
    """One year's thresholds as :func:`kx_modifier` compares and words them."""

    limits: ThresholdYear
    #: ``kx * 9``: the 90% test is ``accrued * 10 >= kx * 9``, exact in decimals
    kx_times_9: Decimal
    #: the thresholds as messages show them, e.g. ``$2,480.00``
    kx_text: str
    review_text: str


#: year -> its thresholds prepared for the rule (None: none bundled)
_KX_YEARS: Memo[int, _KxYear | None] = Memo("KX thresholds by year", size=64)


def _kx_year(year: int) -> _KxYear | None:
    """The bundled thresholds of ``year`` prepared for the rule, None when none are bundled.

    Prepared once per year (formatting a Decimal and multiplying one by an int
    cost more than the rest of a clean visit's check).
    """
    got = _KX_YEARS.get(year)
    if got is not None or year in _KX_YEARS:
        return got
    limits = kx_thresholds().get(year)
    if limits is None:
        return _KX_YEARS.put(year, None)
    return _KX_YEARS.put(
        year, _KxYear(limits, limits.kx * 9, f"${limits.kx:,.2f}", f"${limits.review:,.2f}")
    )


#: ``accrued * _TEN`` is ``accrued * 10`` without converting the int each time
_TEN = Decimal(10)


def _bucket_lines(ctx: Context) -> dict[str, list[int]]:
    """Therapy lines by KX bucket (``pt_slp``/``ot``), by :func:`plan_discipline`.

    A therapist's lines all take the provider's discipline, so for them the
    discipline is not worked out line by line.
    """
    provider = ctx.session.provider.discipline
    therapist = provider in ctx.catalog.mods.therapy_of
    no_therapy_mod = ctx.catalog.mods.therapy.isdisjoint
    out: dict[str, list[int]] = {}
    for i, (info, mods) in enumerate(zip(ctx.infos, ctx.mods, strict=True)):
        if (info is None or info.therapy != "always") and no_therapy_mod(mods):
            continue  # not a therapy line (_is_therapy_line)
        discipline = provider if therapist else plan_discipline(ctx, i)
        if discipline is None:
            continue
        out.setdefault("ot" if discipline == "OT" else "pt_slp", []).append(i)
    return out


@rule("modifier.kx")
def kx_modifier(ctx: Context, r: Rule) -> Iterable[Finding]:
    """KX once the year's allowed therapy amount has passed the threshold.

    Source: CMS Pub. 100-04, ch. 5, sec. 10.3 and the yearly PFS final rules:
    after the allowed amount for the year passes the KX threshold, claim lines
    need KX to attest medical necessity; PT and SLP share one bucket, OT has
    another of the same amount (2022 $2,150 ... 2026 $2,480; two to four
    sources per year; targeted medical review at $3,000, three sources).
    Amounts are data in ``medicare_thresholds.toml``, chosen by the calendar
    year of the date of service.

    ``therapy_ytd_allowed`` is the amount accrued *before* this visit; a bucket
    without a value is not checked. Lines go to buckets by
    :func:`plan_discipline` (GP/GN lines PT+SLP, GO lines OT).

    - accrued amount at or above the threshold, line without KX -> error on
      each therapy line of the bucket, fix ``add_modifier`` KX: every dollar of
      this visit is above the threshold, and KX attests services "at and above"
      it (Palmetto GBA's KX modifier lookup; the APTA says the same);
    - accrued amount from 90% of the threshold up to just below it, no KX on
      the bucket's lines -> one warning: this visit may cross it, and the line
      that does needs KX;
    - accrued amount above the review threshold -> one info per bucket;
    - KX below 90% of the threshold -> info without a fix. KX is an attestation
      of medical necessity, not a prohibited modifier, and the visit itself may
      cross the threshold (the allowed amount of this visit is not an input),
      so removing it automatically could deny a line that needs it;
    - a year without a bundled amount (e.g. 2027) -> one info, nothing guessed.

    Messages never echo the accrued amount (patient data); they name the
    threshold.
    """
    prepared = _kx_year(ctx.dos.year)
    ytd = ctx.session.therapy_ytd_allowed
    if prepared is not None:
        if ytd is None:
            return ()
        # Guard: a therapist's visit (nearly all of them) puts every therapy line
        # in the provider's one bucket; it is silent when every line's KX is as
        # the accrued amount wants it and the review amount is not passed.
        provider = ctx.session.provider.discipline
        if provider in ctx.catalog.mods.therapy_of:
            accrued = ytd.ot if provider == "OT" else ytd.pt_slp
            if accrued is None:
                return ()
            limits = prepared.limits
            if accrued.is_finite() and accrued <= limits.review:
                # From 90% of the threshold on a therapy line needs KX; below it,
                # KX is noted. A line's KX matters only when it is not as it should be.
                needed = accrued > limits.kx or accrued * _TEN >= prepared.kx_times_9
                for i, mods in enumerate(ctx.mods):
                    if ("KX" in mods) is not needed and _is_therapy_line(ctx, i):
                        break
                else:
                    return ()
    buckets = _bucket_lines(ctx)
    if not buckets:
        return ()
    year = ctx.dos.year
    if prepared is None:
        return (
            r.finding(
                None,
                f"cptrules bundles no KX threshold for {year}, so KX was not checked: look up "
                f"the CMS amount for {year} and compare it with the amount allowed so far.",
                severity="info",
            ),
        )
    assert ytd is not None  # tested above whenever a year is bundled
    limits = prepared.limits
    kx, kx_text = limits.kx, prepared.kx_text
    found: list[Finding] = []
    for key, label in _BUCKETS:
        lines = buckets.get(key)
        accrued = ytd.pt_slp if key == "pt_slp" else ytd.ot
        if not lines or accrued is None:
            continue
        lacking = [i for i in lines if "KX" not in ctx.mods[i]]
        if accrued >= kx:
            for i in lacking:
                found.append(_kx_said(r, "due", i, ctx.lines[i].code, label, year, kx_text))
        elif accrued * _TEN >= prepared.kx_times_9:
            if lacking:
                found.append(_kx_said(r, "near", None, None, label, year, kx_text))
        else:
            for i in lines:
                if "KX" in ctx.mods[i]:
                    code = ctx.lines[i].code
                    found.append(_kx_said(r, "early", i, code, label, year, kx_text))
        if accrued > limits.review:
            found.append(_kx_said(r, "review", None, None, label, year, prepared.review_text))
    return found


#: (rule grade, kind of finding and what its words depend on) -> the finding: the
#: same few come back visit after visit, and a finding is immutable
_KX_FOUND: Memo[tuple[object, ...], Finding] = Memo("modifier.kx findings", size=1024)

#: kind -> the finding's words ({label}, {year}, {money}, {code}), its severity (None:
#: the rule's) and whether its fix adds KX
_KX_WORDS: dict[str, tuple[str, Severity | None, bool]] = {
    "due": (
        "The {label} therapy amount allowed this year has reached the {year} KX threshold "
        "({money}): add KX to {code} if the service is medically necessary and documented "
        "so; without KX Medicare denies it.",
        None,
        True,
    ),
    "near": (
        "The {label} therapy amount allowed this year is within 10% of the {year} KX "
        "threshold ({money}): this visit may cross it, and the lines that do need KX. Check "
        "the running total before sending.",
        "warning",
        False,
    ),
    "early": (
        "{code} carries KX, but the {label} amount allowed this year is well below the "
        "{year} KX threshold ({money}): KX is needed only once the threshold is passed. "
        "Keep it only if this visit passes it.",
        "info",
        False,
    ),
    "review": (
        "The {label} therapy amount allowed this year is past {money}, where Medicare may "
        "select claims for targeted medical review: make sure the notes support medical "
        "necessity.",
        "info",
        False,
    ),
}


def _kx_said(
    r: Rule, kind: str, i: int | None, code: str | None, label: str, year: int, money: str
) -> Finding:
    """The ``kind`` finding of modifier.kx on line ``i``, worded once (``_KX_FOUND``)."""
    key = (r.id, r.severity, r.citation, kind, i, code, label, year, money)
    got = _KX_FOUND.get(key)
    if got is None:
        text, severity, add_kx = _KX_WORDS[kind]
        say = text.format(label=label, year=year, money=money, code=code)
        fixes = (Fix("add_modifier", i, "KX"),) if add_kx and i is not None else ()
        got = _KX_FOUND.put(key, r.finding(i, say, severity=severity, fixes=fixes))
    return got


# ------------------------------------------------------------ modifier.distinct


def _is_em(code: str) -> bool:
    return len(code) == 5 and code.isdigit() and _EM_FIRST <= int(code) <= _EM_LAST


@rule("modifier.distinct")
def distinct_modifier(ctx: Context, r: Rule) -> Iterable[Finding]:
    """59 and XE/XS/XP/XU: never together, not on E/M, and only where an edit needs one.

    Source: CMS NCCI Policy Manual, ch. 1: use 59 only when no X modifier
    describes the reason; payer policies (two sources) call 59 and an X modifier
    on the same line inappropriate; 59/X are not for E/M codes (two sources)
    (99201-99499: 99201 was an E/M code until the end of 2020, inside our data).

    - 59 with any X modifier -> error, fix ``remove_modifier`` 59 (the X
      modifier is the more specific one);
    - 59/X on an E/M code -> error, fix ``remove_modifier`` (a separately
      identifiable E/M the same day takes 25);
    - 59/X on a line whose code no PTP edit in force pairs with another code on
      the claim -> warning: the modifier bypasses nothing and unneeded 59/X use
      draws audits; fix ``remove_modifier``. Either column counts (sources
      disagree on the column order of several therapy pairs), so does an
      indicator-0 edit (the ``ncci.ptp`` rule reports those). Needs the edit
      tables: skipped when the profile does not apply NCCI. With only the
      bundled therapy pairs loaded, an edit outside them is unknown: import the
      official CMS files for full coverage.

    The rule runs only on visits carrying a modifier of kind ``distinct``.
    """
    distinct = ctx.catalog.mods.distinct
    no_distinct = distinct.isdisjoint
    if no_distinct(ctx.all_mods):  # (the trigger already says so under an engine)
        return ()
    # the edits in force between codes of the claim (few: scanned per 59/X line)
    edits = None if ctx.tables is None else ctx.tables.ptp(ctx.codes, ctx.dos)
    found: list[Finding] = []
    for i, mods in enumerate(ctx.mods):
        if no_distinct(mods):
            continue
        code = ctx.lines[i].code
        both = "59" in mods and len(mods & distinct) > 1
        em = _is_em(code)
        unpaired = False
        if edits is not None:
            for e in edits:
                if e.column1 == code or e.column2 == code:
                    break
            else:
                unpaired = True  # no edit pairs the code: 59/X bypasses nothing
        if not (both or em or unpaired):
            continue  # one 59/X modifier where an edit needs it
        present = sorted(mods & distinct)
        text = _mods_text(present)
        if em:
            found.append(
                r.finding(
                    i,
                    f"{code} is an E/M code: {text} is not used on E/M codes. Remove {text}; "
                    f"an E/M that is separately identifiable from a same-day procedure takes "
                    f"25.",
                    fixes=tuple(Fix("remove_modifier", i, m) for m in present),
                )
            )
            continue
        if both:
            x = _mods_text(m for m in present if m != "59")
            found.append(
                r.finding(
                    i,
                    f"{code} carries 59 and {x}: use one, never both. Remove 59 and keep {x}, "
                    f"which says why the service is distinct.",
                    fixes=(Fix("remove_modifier", i, "59"),),
                )
            )
        if unpaired:
            found.append(
                r.finding(
                    i,
                    f"No NCCI edit in the loaded tables pairs {code} with another code on "
                    f"this claim, so {text} bypasses nothing; unneeded 59/X modifiers draw "
                    f"audits. Remove {text}.",
                    severity="warning",
                    fixes=tuple(Fix("remove_modifier", i, m) for m in present),
                )
            )
    return found


# ------------------------------------------------------------------ modifier.at


@rule("modifier.at")
def at_modifier(ctx: Context, r: Rule) -> Iterable[Finding]:
    """AT on chiropractic manipulation (98940-98942) for active treatment, never with GA/GX/GY/GZ.

    Source: CMS Pub. 100-04, ch. 12, sec. 220: AT is required on 98940-98942
    for covered active/corrective treatment, not for maintenance, and never on
    a line with GA, GX, GY or GZ (four sources agree).

    cptrules cannot tell active from maintenance care, so a CMT line with
    neither AT nor a liability modifier gets an error whose fix adds AT (the
    covered case); the message names the maintenance alternative (GA with an
    ABN on file, or GZ without one). AT together with GA/GX/GY/GZ -> error, fix
    ``remove_modifier`` AT.
    """
    liability_of = ctx.catalog.mods.liability.intersection
    found: list[Finding] = []
    for i in ctx.family_lines("cmt"):
        mods = ctx.mods[i]
        liability = liability_of(mods)
        if ("AT" in mods) is not bool(liability):
            continue  # exactly one of AT and a liability modifier
        code = ctx.lines[i].code
        if liability:
            lia = _mods_text(liability)
            found.append(
                r.finding(
                    i,
                    f"{code} carries AT together with {lia}: AT claims covered active "
                    f"treatment, {lia} says the service may not be covered. Remove AT if this "
                    f"is maintenance care; otherwise remove {lia}.",
                    fixes=(Fix("remove_modifier", i, "AT"),),
                )
            )
        else:
            found.append(
                r.finding(
                    i,
                    f"{code} has no AT: add AT if this is active (corrective) treatment. If it "
                    f"is maintenance care, {ctx.profile.name} does not pay it: bill it with GA "
                    f"(an ABN is "
                    f"on file) or GZ (no ABN) instead of AT.",
                    fixes=(Fix("add_modifier", i, "AT"),),
                )
            )
    return found


# -------------------------------------------------------------- modifier.em-25


@rule("modifier.em-25")
def em_25_modifier(ctx: Context, r: Rule) -> Iterable[Finding]:
    """An E/M visit billed the same day as a minor procedure needs modifier 25.

    Sources (``[same_day_em]`` of ``data/modifiers.toml``; three sources agree):
    CMS Pub. 100-04 ch. 12 sec. 30.6.6 B -- an E/M visit on the day of a
    procedure with a 0- or 10-day global period is paid only when it is
    significant and separately identifiable from the procedure's usual pre- and
    post-service work, and is billed with modifier 25; the CMS NCCI Policy
    Manual ch. XI -- osteopathic (98925-98929) and chiropractic (98940-98943)
    manipulative treatment include a pre-manipulation assessment, and a separate
    E/M takes 25; CPT and payer manipulation policies say the same (Highmark
    Y-9, Premera's manipulation services policy). Acupuncture 97810-97814 and
    dry needling 20560/20561 are minor procedures of the same kind.

    - an E/M code (catalog family ``em``: 99202-99215, and 99201 until 2020) on a
      visit that also bills one of those procedures, without 25 -> error, fix
      ``add_modifier`` 25 on the E/M line. Whether the notes support a
      separately identifiable E/M cannot be seen on a claim: the message says
      to remove the E/M line when they do not.
    - An E/M line carrying GY or GZ (billed as excluded or expected to deny) is
      left alone: 25 bypasses nothing there.
    - Medicare and a chiropractor: Medicare pays a chiropractor for no E/M at
      all (Pub. 100-02 ch. 15 sec. 240.1.1); ``coverage.chiropractor`` reports
      that (add GY), so this rule stays silent there (one problem, one finding).
    """
    procedures = ctx.catalog.em_25_procedures
    if ctx.codes.isdisjoint(procedures):  # the usual visit: an E/M alone, or no E/M
        return ()
    em_mod = ctx.catalog.kind("em")
    if not em_mod:
        return ()
    mod = min(em_mod)
    excluded = ("GY", "GZ")
    dc_not_covered = False
    if ctx.session.provider.discipline == "DC":
        other = REGISTRY.get("coverage.chiropractor")
        dc_not_covered = other is not None and other.for_profile(ctx.profile)
    found: list[Finding] = []
    beside: str | None = None
    for i in ctx.family_lines("em"):
        mods = ctx.mods[i]
        if mod in mods or dc_not_covered or not mods.isdisjoint(excluded):
            continue
        if beside is None:
            beside = ", ".join(sorted(ctx.codes & procedures))
        code = ctx.lines[i].code
        say = (
            f"{code} is an E/M visit billed the same day as {beside}, whose value "
            f"includes a brief pre-procedure assessment: {ctx.profile.name} pays the E/M "
            f"only as a significant, separately identifiable service, with modifier "
            f"{mod}. Add {mod} to {code} if the notes show such a service; if they do "
            f"not, remove the E/M line."
        )
        found.append(r.finding(i, say, fixes=(Fix("add_modifier", i, mod),)))
    return found


# ------------------------------------------------------------- modifier.unknown


def _known_modifiers(shape: Shape, profile: PayerProfile) -> bool:
    """modifier.unknown's guard: the usual visit, every modifier known, none over four
    on a line."""
    return shape.all_mods <= shape.catalog.known_modifiers and shape.most_mods <= _MAX_MODIFIERS


@rule("modifier.unknown", quiet=_known_modifiers)
def unknown_modifier(ctx: Context, r: Rule) -> Iterable[Finding]:
    """Modifiers the catalog does not know, and more than four on one line.

    Source: the cptrules modifier catalog (``data/modifiers.toml``) and the
    claim formats: the CMS-1500 (item 24D) and the 837P service line have room
    for four modifiers (single source).

    - a modifier missing from the catalog -> warning without a fix: a payer
      rejects a modifier that does not exist, but our catalog lists the common
      ones only, so a valid modifier may be missing from it;
    - more than four modifiers on a line -> error without a fix: which to drop
      (or whether to split the line) is the biller's call.
    """
    known = ctx.catalog.known_modifiers
    all_known = ctx.all_mods <= known
    found: list[Finding] = []
    for i, line in enumerate(ctx.lines):
        count = len(line.modifiers)
        if count <= _MAX_MODIFIERS and (all_known or ctx.mods[i] <= known):
            continue
        for m in line.modifiers:
            if m not in known:
                found.append(
                    r.finding(
                        i,
                        f"Modifier {m} on {line.code} is not in cptrules' modifier catalog: "
                        f"check that it is a valid CPT/HCPCS modifier for this payer (the "
                        f"catalog lists common modifiers only) and correct or remove it.",
                        severity="warning",
                    )
                )
        if count > _MAX_MODIFIERS:
            found.append(
                r.finding(
                    i,
                    f"{line.code} carries {count} modifiers; a claim line holds "
                    f"{_MAX_MODIFIERS}. Keep the four that affect payment (for example GP/GO/GN, "
                    f"CQ/CO, KX, 59/X) and drop the rest, or split the service over two lines "
                    f"as the payer directs.",
                )
            )
    return found
