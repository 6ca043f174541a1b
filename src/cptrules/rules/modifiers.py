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
from typing import Any

import attrs

from .._context import Context
from .._memo import Memo
from ..catalog import catalog
from ..errors import DataError
from ..report import Finding, Fix
from ._base import Example, Rule, rule
from ._examples import DOC as _DOC_97140
from ._examples import line as _line
from ._examples import pt_visit

__all__ = [
    "THERAPY_MODIFIER",  # noqa: F822  # served by the module __getattr__ below
    "AssistantPolicy",
    "ThresholdYear",
    "assistant_modifier",
    "assistant_policy",
    "at_modifier",
    "distinct_modifier",
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


# ------------------------------------------------------------------- examples


def _pt_session(lines: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A Medicare PT visit, clean apart from what ``lines``/``extra`` change."""
    timed = sum(line.get("minutes", 0) for line in lines)
    return pt_visit(lines, **{"total_treatment_minutes": timed + 5, **extra})


def _manual(minutes: int, units: int, *mods: str, **extra: Any) -> dict[str, Any]:
    """A fully documented 97140 line (lumbar joint mobilization)."""
    return _line(
        "97140",
        minutes,
        units,
        *mods,
        regions=["lumbar"],
        techniques=["joint_mobilization"],
        documentation=_DOC_97140,
        **extra,
    )


def _dc_session(*mods: str) -> dict[str, Any]:
    """A Medicare chiropractic visit: CMT of two spinal regions."""
    return {
        "date_of_service": "2026-03-04",
        "payer": "medicare",
        "provider": {"discipline": "DC"},
        "diagnoses": ["M99.03", "M54.50"],
        "lines": [
            {
                "code": "98940",
                "units": 1,
                "modifiers": list(mods),
                "regions": ["lumbar", "pelvic"],
                "techniques": ["spinal_manipulation"],
                "diagnosis_pointers": [1, 2],
            }
        ],
    }


# ------------------------------------------------------------ modifier.therapy


@rule(
    "modifier.therapy",
    severity="error",
    citation="CMS Pub. 100-04, ch. 5, sec. 20.1 (GP/GO/GN; evaluation codes by discipline)",
    summary="GP/GO/GN missing on an always-therapy code, or not matching the discipline.",
    payers=("*",),
    confidence="C-3",
    applies=lambda p: p.therapy_modifiers,
    examples=(
        Example(
            _pt_session([_line("97110", 30, 2), _line("97530", 15, 1, "GP")]),
            fails=True,
            note="97110 without GP",
        ),
        Example(
            _pt_session([_line("97110", 30, 2, "GO"), _line("97530", 15, 1, "GP")]),
            fails=True,
            note="a PT's 97110 carries the OT modifier GO",
        ),
        Example(
            _pt_session([_line("97166", None, 1, "GO")]),
            fails=True,
            note="a PT billing an OT evaluation code",
        ),
        Example(
            _pt_session([_line("97110", 30, 2, "GP"), _line("97530", 15, 1, "GP")]),
            fails=False,
        ),
        Example(
            _pt_session([_line("97166", None, 1, "GO")], provider={"discipline": "OT"}),
            fails=False,
            note="an OT evaluation by an OT carries GO",
        ),
    ),
)
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
    # Guard: the usual visit is a therapist's, every line carrying the provider's
    # own modifier and no other, no code another discipline's evaluation.
    if own is not None and no_other(ctx.all_mods):
        for mods in ctx.mods:
            if own not in mods:
                break
        else:
            foreign = ctx.catalog.foreign_codes.get(provider, ctx.catalog.discipline_codes)
            if ctx.codes.isdisjoint(foreign):
                return ()
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
            fixes = tuple(Fix("remove_modifier", i, m) for m in wrong)
            if need not in present:
                fixes += (Fix("add_modifier", i, need),)
                change = f"replace {_mods_text(wrong)} with {need}"
            else:
                change = f"remove {_mods_text(wrong)}"
            found.append(
                r.finding(
                    i,
                    f"{code} carries {_mods_text(wrong)}, but {who}: {change}.",
                    fixes=fixes,
                )
            )
    return found


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


@rule(
    "modifier.assistant",
    needs=("minutes",),
    severity="error",
    citation=(
        "CMS Pub. 100-04, ch. 5, sec. 20.1; CY 2020 and CY 2022 PFS final rules "
        "(CQ/CO over 10%, paid at 85% from 2022)"
    ),
    summary="CQ/CO missing when an assistant furnished over 10%, unneeded, or mismatched.",
    payers=("medicare",),
    confidence="C-3",
    examples=(
        Example(
            _pt_session([_line("97110", 30, 2, "GP", assistant_minutes=10)]),
            fails=True,
            note="a PTA furnished 10 of 30 minutes: CQ missing",
        ),
        Example(
            _pt_session([_line("97110", 30, 2, "GP", "CQ")]),
            fails=True,
            note="CQ without assistant minutes",
        ),
        Example(
            _pt_session(
                [_line("97535", 30, 2, "GO", "CQ", assistant_minutes=20)],
                provider={"discipline": "OT"},
            ),
            fails=True,
            note="an OTA's minutes billed with the PTA modifier CQ",
        ),
        Example(
            _pt_session([_line("97110", 30, 2, "GP", assistant_minutes=3)]),
            fails=False,
            note="exactly 10% is not more than 10%",
        ),
        Example(
            _pt_session([_line("97110", 30, 2, "GP", "CQ", assistant_minutes=20)]),
            fails=False,
        ),
    ),
)
def assistant_modifier(ctx: Context, r: Rule) -> Iterable[Finding]:
    """CQ (PTA, with GP) / CO (OTA, with GO) when an assistant furnished over 10%.

    Source: CMS Pub. 100-04, ch. 5, sec. 20.1 and the CY 2020 / CY 2022
    Physician Fee Schedule final rules: CQ/CO are required when a PTA/OTA
    furnished more than 10% of a service; since 2022 such services are paid at
    85%; CQ goes with GP and CO with GO. Three or more sources agree. The share
    and the dates are data (``medicare_thresholds.toml``).

    CMS measures the 10% per timed unit or per untimed service; a session
    records assistant minutes per line, so cptrules applies the test per line:
    ``assistant_minutes * 100 > minutes * 10`` (integers: exactly 10% is not
    over). The assistant modifier follows the line's discipline
    (:func:`plan_discipline`): CQ for PT, CO for OT.

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
            and assist * 100 > line.minutes * pct
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
        over = minutes > 0 and assist * 100 > minutes * pct
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
                found.append(
                    r.finding(
                        i,
                        f"The assistant furnished {assist} of {code}'s {minutes} minutes, not "
                        f"more than {pct}%: {m} is not needed and cuts the payment; remove "
                        f"{m}.",
                        severity="warning",
                        fixes=(Fix("remove_modifier", i, m),),
                    )
                )
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
            fixes = tuple(Fix("remove_modifier", i, m) for m in wrong)
            if over and need not in have:
                fixes += (Fix("add_modifier", i, need),)
                change = f"replace {_mods_text(wrong)} with {need}"
            else:
                change = f"remove {_mods_text(wrong)}"
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
            found.append(
                r.finding(
                    i,
                    f"{name[0].upper()}{name[1:]} furnished {assist} of {code}'s {minutes} "
                    f"minutes, more than {pct}%: add {need}.{pay}",
                    fixes=(Fix("add_modifier", i, need),),
                )
            )
        elif not over and need in have:
            found.append(
                r.finding(
                    i,
                    f"The assistant furnished {assist} of {code}'s {minutes} minutes, not more "
                    f"than {pct}%: {need} is not needed and cuts the payment; remove {need}.",
                    severity="warning",
                    fixes=(Fix("remove_modifier", i, need),),
                )
            )
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


def _kx_example(pt_slp: int, ot: int, *, kx: bool, fails: bool, note: str) -> Example:
    """A 97110 + 97530 PT visit with the year's amounts so far, with or without KX."""
    mods = ("GP", "KX") if kx else ("GP",)
    return Example(
        _pt_session(
            [_line("97110", 30, 2, *mods), _line("97530", 15, 1, *mods)],
            therapy_ytd_allowed={"pt_slp": pt_slp, "ot": ot},
        ),
        fails=fails,
        note=note,
    )


@rule(
    "modifier.kx",
    severity="error",
    citation=(
        "CMS Pub. 100-04, ch. 5, sec. 10.3; the yearly KX threshold per the CMS PFS final "
        "rule (two to four sources per year); KX attests services at and above the "
        "threshold (Palmetto GBA modifier lookup, KX, published 2025-02-11); targeted "
        "medical review at $3,000"
    ),
    summary="The year's therapy threshold is passed and KX is missing.",
    payers=("medicare",),
    confidence="C-2",
    examples=(
        _kx_example(2600, 0, kx=False, fails=True, note="PT/SLP amount past the 2026 threshold"),
        _kx_example(2600, 0, kx=True, fails=False, note="past the threshold, with KX"),
        _kx_example(1200, 2600, kx=False, fails=False, note="only the OT bucket is past; PT lines"),
        _kx_example(
            2480,
            0,
            kx=False,
            fails=True,
            note="exactly at the 2026 threshold: the visit is above it",
        ),
        _kx_example(2480, 0, kx=True, fails=False, note="at the threshold with KX"),
    ),
)
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
    said: tuple[object, ...]  # what a finding's words depend on (see _KX_FOUND)
    for key, label in _BUCKETS:
        lines = buckets.get(key)
        accrued = ytd.pt_slp if key == "pt_slp" else ytd.ot
        if not lines or accrued is None:
            continue
        lacking = [i for i in lines if "KX" not in ctx.mods[i]]
        if accrued >= kx:
            for i in lacking:
                code = ctx.lines[i].code
                said = (r.id, r.severity, r.citation, "due", i, code, label, year, kx_text)
                got = _KX_FOUND.get(said)
                if got is None:
                    got = _KX_FOUND.put(
                        said,
                        r.finding(
                            i,
                            f"The {label} therapy amount allowed this year has reached the {year} "
                            f"KX threshold ({kx_text}): add KX to {code} if the service "
                            f"is medically necessary and documented so; without KX Medicare "
                            f"denies it.",
                            fixes=(Fix("add_modifier", i, "KX"),),
                        ),
                    )
                found.append(got)
        elif accrued * _TEN >= prepared.kx_times_9:
            if lacking:
                said = (r.id, r.severity, r.citation, "near", label, year, kx_text)
                got = _KX_FOUND.get(said)
                if got is None:
                    got = _KX_FOUND.put(
                        said,
                        r.finding(
                            None,
                            f"The {label} therapy amount allowed this year is within 10% of the "
                            f"{year} KX threshold ({kx_text}): this visit may cross it, and the "
                            f"lines that do need KX. Check the running total before sending.",
                            severity="warning",
                        ),
                    )
                found.append(got)
        else:
            for i in lines:
                if "KX" in ctx.mods[i]:
                    code = ctx.lines[i].code
                    said = (r.id, r.severity, r.citation, "early", i, code, label, year, kx_text)
                    got = _KX_FOUND.get(said)
                    if got is None:
                        got = _KX_FOUND.put(
                            said,
                            r.finding(
                                i,
                                f"{code} carries KX, but the {label} amount allowed "
                                f"this year is well below the {year} KX threshold ({kx_text}): KX "
                                f"is needed only once the threshold is passed. Keep it only if "
                                f"this visit passes it.",
                                severity="info",
                            ),
                        )
                    found.append(got)
        if accrued > limits.review:
            said = (r.id, r.severity, r.citation, "review", label, prepared.review_text)
            got = _KX_FOUND.get(said)
            if got is None:
                got = _KX_FOUND.put(
                    said,
                    r.finding(
                        None,
                        f"The {label} therapy amount allowed this year is past "
                        f"{prepared.review_text}, where Medicare may select claims for targeted "
                        f"medical review: make sure the notes support medical necessity.",
                        severity="info",
                    ),
                )
            found.append(got)
    return found


#: (rule grade, kind of finding and what its words depend on) -> the finding: the
#: same few come back visit after visit, and a finding is immutable
_KX_FOUND: Memo[tuple[object, ...], Finding] = Memo("modifier.kx findings", size=1024)


# ------------------------------------------------------------ modifier.distinct


def _is_em(code: str) -> bool:
    return len(code) == 5 and code.isdigit() and _EM_FIRST <= int(code) <= _EM_LAST


@rule(
    "modifier.distinct",
    triggers=("mod:distinct",),
    severity="error",
    citation=(
        "CMS NCCI Policy Manual, ch. 1 (modifiers 59 and XE/XS/XP/XU); payer policies on "
        "59 with an X modifier (two sources)"
    ),
    summary="59 together with XE/XS/XP/XU on one line; 59/X where no edit needs it or on E/M.",
    payers=("*",),
    confidence="C-2",
    examples=(
        Example(
            _pt_session(
                [_line("97150", None, 1, "GP"), _manual(15, 1, "GP", "59", "XU")],
            ),
            fails=True,
            note="59 and XU together on 97140",
        ),
        Example(
            _pt_session([_line("97110", 45, 3, "GP", "59")]),
            fails=True,
            note="59 on the only line: no edit can need it",
        ),
        Example(
            {
                "date_of_service": "2026-03-04",
                "payer": "medicare",
                "provider": {"discipline": "DO"},
                "diagnoses": ["M54.50"],
                "lines": [
                    _line("99213", None, 1, "59"),
                    _line("98925", None, 1, regions=["lumbar", "pelvic"]),
                ],
            },
            fails=True,
            note="59 on an E/M code (the E/M with same-day OMT takes 25)",
        ),
        Example(
            _pt_session([_line("97150", None, 1, "GP"), _manual(15, 1, "GP", "59")]),
            fails=False,
            note="97140 with group therapy 97150 in a separate time block, 59 on 97140",
        ),
    ),
)
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


@rule(
    "modifier.at",
    triggers=("cmt",),
    severity="error",
    citation=(
        "CMS Pub. 100-04, ch. 12, sec. 220 (AT on chiropractic manipulation; four sources agree)"
    ),
    summary="Chiropractic manipulation without AT; AT on a line with GA/GX/GY/GZ.",
    payers=("*",),
    confidence="C-4",
    applies=lambda p: p.cmt_at_modifier,
    examples=(
        Example(_dc_session(), fails=True, note="CMT without AT or an ABN modifier"),
        Example(_dc_session("AT", "GA"), fails=True, note="AT together with GA"),
        Example(_dc_session("AT"), fails=False, note="active treatment"),
        Example(_dc_session("GA"), fails=False, note="maintenance with an ABN on file"),
    ),
)
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


# ------------------------------------------------------------- modifier.unknown


@rule(
    "modifier.unknown",
    severity="error",
    citation=(
        "cptrules modifier catalog (data/modifiers.toml); CMS-1500 item 24D and the "
        "837P service line hold four modifiers (single source)"
    ),
    summary="A modifier the catalog does not know (warning), or more than four on a line.",
    payers=("*",),
    confidence="S",
    examples=(
        Example(
            _pt_session([_line("97110", 30, 2, "GP", "ZZ")]),
            fails=True,
            note="ZZ is not a modifier",
        ),
        Example(
            _pt_session(
                [
                    _line("97530", 15, 1, "GP", "KX"),
                    _manual(30, 2, "GP", "KX", "59", "CQ", "RT", assistant_minutes=15),
                ],
                therapy_ytd_allowed={"pt_slp": 2600, "ot": 0},
            ),
            fails=True,
            note="five modifiers on one line",
        ),
        Example(_pt_session([_line("97110", 30, 2, "GP", "KX")]), fails=False),
    ),
)
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
    if all_known and ctx.most_mods <= _MAX_MODIFIERS:
        return ()  # the usual visit: every modifier known, none over four on a line
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
