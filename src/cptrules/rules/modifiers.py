"""Rules of the modifiers family: GP/GO/GN, CQ/CO, KX, 59/X, AT and unknown modifiers.

Sources are REFERENCE.md sections 2.1 and 3 (CMS Pub. 100-04 ch. 5 and ch. 12,
the NCCI policy manual). Yearly dollar amounts live in
``cptrules/data/medicare_thresholds.toml``, read once on first use.

Which therapy discipline a line belongs to is decided one way for every rule
here (:func:`plan_discipline`), so the fixes of different rules agree with one
another: the provider's own discipline for a therapist (PT, OT, SLP), else the
discipline of a discipline-specific code (the evaluations), else the line's
single therapy modifier.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

import attrs

from .._context import Context
from ..errors import DataError
from ..report import Finding, Fix
from ._base import Example, Rule, rule
from ._examples import DOC as _DOC_97140
from ._examples import line as _line
from ._examples import pt_visit

__all__ = [
    "THERAPY_MODIFIER",
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

#: therapist discipline -> its therapy modifier
THERAPY_MODIFIER: Mapping[str, str] = {"PT": "GP", "OT": "GO", "SLP": "GN"}
#: therapy modifier -> discipline
_MOD_DISCIPLINE: Mapping[str, str] = {m: d for d, m in THERAPY_MODIFIER.items()}
_THERAPY_MODS = frozenset(_MOD_DISCIPLINE)
#: discipline -> its assistant modifier (no assistant modifier exists for SLP)
_ASSISTANT_MODIFIER: Mapping[str, str] = {"PT": "CQ", "OT": "CO"}
_ASSISTANT_MODS = frozenset(_ASSISTANT_MODIFIER.values())
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
_DISTINCT = frozenset(("59", "XE", "XS", "XP", "XU"))
_X_MODS = _DISTINCT - {"59"}
_LIABILITY = frozenset(("GA", "GX", "GY", "GZ"))
#: E/M codes: 99201 (in use until the end of 2020, inside our data period) to 99499
_EM_FIRST, _EM_LAST = 99201, 99499
_MAX_MODIFIERS = 4
#: therapy modifier -> the other two (a line carrying one of them is not clean)
_OTHER_THERAPY: Mapping[str, frozenset[str]] = {m: _THERAPY_MODS - {m} for m in _THERAPY_MODS}
#: assistant modifier -> its therapy modifier
_PARTNER: Mapping[str, str] = {a: THERAPY_MODIFIER[d] for d, a in _ASSISTANT_MODIFIER.items()}
#: assistant modifier -> the modifiers that make it wrong on a line (the other
#: assistant modifier, the other therapy modifiers)
_NOT_WITH: Mapping[str, frozenset[str]] = {
    a: (_ASSISTANT_MODS - {a}) | (_THERAPY_MODS - {p}) for a, p in _PARTNER.items()
}


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
    """An always-therapy code, or any code billed with a therapy modifier."""
    info = ctx.infos[i]
    if info is not None and info.therapy == "always":
        return True
    return bool(ctx.mods[i] & _THERAPY_MODS)


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


@functools.cache
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


@functools.cache
def kx_thresholds() -> Mapping[int, ThresholdYear]:
    """Calendar year -> its bundled KX and review thresholds (read once).

    Years without a sourced amount are absent (e.g. 2027 until CMS publishes it).

    >>> kx_thresholds()[2026].kx
    Decimal('2480.00')
    >>> 2027 in kx_thresholds()
    False
    """
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
    return out


@functools.cache
def assistant_policy() -> AssistantPolicy:
    """The CQ/CO de minimis share and payment differential (read once).

    >>> assistant_policy().de_minimis_percent
    10
    """
    row = _data()["assistant"]
    percent = row.get("de_minimis_percent")
    pay = row.get("payment_percent")
    start = row.get("payment_from")
    if type(percent) is not int or type(pay) is not int or not isinstance(start, dt.date):
        raise DataError(
            "assistant: bad de_minimis_percent, payment_percent or payment_from",
            source=_DATA_FILE,
        )
    return AssistantPolicy(percent, pay, start, str(row["confidence"]), str(row["source"]))


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
    GP, 97165-97168 OT with GO) [C-3, REFERENCE.md 3].

    - A therapist (PT/OT/SLP): the modifier must be the provider's own. Missing
      -> error, fix ``add_modifier``; another one present -> error, fixes
      ``remove_modifier`` (each wrong one) and ``add_modifier`` (the right one).
    - A therapist billing another discipline's evaluation code (a PT billing
      97165) -> error without a fix: the code itself is wrong, and which of
      the provider's own codes fits (complexity) is for the clinician to say.
    - A physician or NPP (MD/DO/NP/PA) or other non-therapist: Medicare still
      wants GP/GO/GN naming the therapy plan the service belongs to. Evaluation
      codes name their discipline, so the modifier is known (error with fix);
      for other codes we do not guess which plan: warning without a fix when
      none is present, error without a fix when several are.
    - A chiropractor (DC): skipped. Medicare does not pay a DC for therapy
      codes at all (REFERENCE.md 3); ``coverage.chiropractor`` reports that,
      and a therapy modifier cannot make it payable.
    - "Sometimes therapy" codes are therapy when a therapist (PT/OT/SLP)
      furnishes them, and then need the modifier like any always-therapy code
      (CMS annual therapy code list); billed by anyone else they are checked
      only when a therapy modifier is present (it must then match).
    """
    # Fast path: almost every visit is a therapist's, every line carrying the
    # provider's own modifier and no other, no code another discipline's
    # evaluation. Two plain loops (one tuple each, cheaper than one zip) prove
    # it without building anything; a line they cannot clear is looked at as
    # the general path would, and any that may need a finding sends the visit
    # to the general path, which alone words findings
    # (tests/rules/test_modifiers_fast.py checks the two agree).
    provider = ctx.session.provider.discipline
    need = THERAPY_MODIFIER.get(provider)
    if need is None:
        return () if provider == "DC" else _therapy_findings(ctx, r)
    no_other = _OTHER_THERAPY[need].isdisjoint
    if no_other(ctx.all_mods):
        for mods in ctx.mods:
            if need not in mods:
                break
        else:
            if ctx.codes.isdisjoint(ctx.catalog.discipline_codes):
                return ()
            for info in ctx.infos:
                if info is not None and info.discipline is not None and info.discipline != provider:
                    break
            else:
                return ()
    # Some line differs: it matters only where the rule checks the line.
    for info, mods in zip(ctx.infos, ctx.mods, strict=True):
        if need in mods and no_other(mods):
            # wrong only as another discipline's evaluation code
            if info is None or info.discipline is None or info.discipline == provider:
                continue
        elif info is None or info.therapy == "never":
            continue  # not checked
        return _therapy_findings(ctx, r)
    return ()


def _therapy_findings(ctx: Context, r: Rule) -> Iterator[Finding]:
    """The findings of :func:`therapy_modifier` (the general path, every case)."""
    provider = ctx.session.provider.discipline
    if provider == "DC":
        return
    for i, info in enumerate(ctx.infos):
        if info is None or info.therapy == "never":
            continue
        present = ctx.mods[i] & _THERAPY_MODS
        if info.therapy == "sometimes" and not present and provider not in THERAPY_MODIFIER:
            continue  # a sometimes-therapy code is therapy when a therapist furnishes it
        code = ctx.lines[i].code
        code_discipline = info.discipline
        if (
            code_discipline is not None
            and provider in THERAPY_MODIFIER
            and provider != code_discipline
        ):
            if code_discipline in _COMPLEXITY and provider in _COMPLEXITY:
                instead = (
                    f"replace it with the {provider}'s own evaluation or re-evaluation code "
                    f"of the same complexity, with {THERAPY_MODIFIER[provider]}"
                )
            elif code_discipline == "SLP":
                instead = "only a speech-language pathologist bills it, with GN"
            else:  # an SLP billing a PT or OT evaluation: SLP evaluations have no levels
                instead = (
                    f"bill the {provider}'s own evaluation code for the service, "
                    f"with {THERAPY_MODIFIER[provider]}"
                )
            yield r.finding(
                i,
                f"{code} is {_A_DISCIPLINE[code_discipline]} evaluation code and "
                f"cannot be billed by {_ARTICLE.get(provider, 'a')} {provider}: {instead}. "
                f"Evaluation codes are discipline-specific since 2018.",
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
            kind = (
                "always a therapy service"
                if info.therapy == "always"
                else "a therapy service when a therapist furnishes it"
            )
            yield r.finding(
                i,
                f"{code} is {kind} and {who}: add {need}. Medicare "
                f"does not pay a therapy service without GP, GO or GN.",
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


# ---------------------------------------------------------- modifier.assistant


@rule(
    "modifier.assistant",
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
    85%; CQ goes with GP and CO with GO [C-3, REFERENCE.md 3]. The share and
    the dates are data (``medicare_thresholds.toml``).

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
    # Fast path: most lines have no assistant minutes and no CQ/CO, and most of
    # the rest are a PT's or OT's line rightly billed (GP+CQ or GO+CO, assistant
    # share over the de minimis). Clearing those builds no set and no message;
    # anything else goes to the general path, which words every finding
    # (tests/rules/test_modifiers_fast.py checks the two agree).
    for line in ctx.lines:
        if line.assistant_minutes:
            break
    else:
        if _ASSISTANT_MODS.isdisjoint(ctx.all_mods):
            return ()
    return () if _assistant_lines_right(ctx) else _assistant_findings(ctx, r)


def _assistant_lines_right(ctx: Context) -> bool:
    """True when every line either has no assistant (minutes or CQ/CO) or is a
    therapist's line rightly billed with one: a PT's with GP and CQ, an OT's
    with GO and CO, the assistant share over the de minimis, nothing clashing.

    Conservative: False sends the visit to the general path, which decides.
    """
    need = _ASSISTANT_MODIFIER.get(ctx.session.provider.discipline)
    pct: int | None = None
    for line, mods in zip(ctx.lines, ctx.mods, strict=True):
        assist = line.assistant_minutes
        if not assist:
            if mods.isdisjoint(_ASSISTANT_MODS):
                continue
            return False
        minutes = line.minutes
        if need is None or need not in mods or not mods.isdisjoint(_NOT_WITH[need]):
            return False
        if _PARTNER[need] not in mods or not minutes:
            return False
        if pct is None:
            pct = assistant_policy().de_minimis_percent
        if assist * 100 <= minutes * pct:
            return False
    return True


def _assistant_findings(ctx: Context, r: Rule) -> Iterator[Finding]:
    """The findings of :func:`assistant_modifier` (the general path, every case)."""
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


@functools.cache
def _kx_year(year: int) -> _KxYear | None:
    """The bundled thresholds of ``year`` prepared for the rule, None when none are bundled.

    Prepared once per year (formatting a Decimal and multiplying one by an int
    cost more than the rest of a clean visit's check).
    """
    limits = kx_thresholds().get(year)
    if limits is None:
        return None
    return _KxYear(limits, limits.kx * 9, f"${limits.kx:,.2f}", f"${limits.review:,.2f}")


#: ``accrued * _TEN`` is ``accrued * 10`` without converting the int each time
_TEN = Decimal(10)


def _bucket_lines(ctx: Context) -> dict[str, list[int]]:
    """Therapy lines by KX bucket (``pt_slp``/``ot``), by :func:`plan_discipline`."""
    provider = ctx.session.provider.discipline
    if provider in THERAPY_MODIFIER:
        # plan_discipline gives a therapist's own discipline for every line
        # (_is_therapy_line inlined: this runs for every visit with a KX finding).
        no_therapy_mod = _THERAPY_MODS.isdisjoint
        same = [
            i
            for i, (info, mods) in enumerate(zip(ctx.infos, ctx.mods, strict=True))
            if (info is not None and info.therapy == "always") or not no_therapy_mod(mods)
        ]
        return {("ot" if provider == "OT" else "pt_slp"): same} if same else {}
    out: dict[str, list[int]] = {}
    for i in range(len(ctx.lines)):
        if not _is_therapy_line(ctx, i):
            continue
        discipline = plan_discipline(ctx, i)
        if discipline is None:
            continue
        out.setdefault("ot" if discipline == "OT" else "pt_slp", []).append(i)
    return out


@rule(
    "modifier.kx",
    severity="error",
    citation=(
        "CMS Pub. 100-04, ch. 5, sec. 10.3; yearly KX threshold per CMS PFS final rule "
        "[C-2..C-4]; targeted medical review at $3,000 [C-3]"
    ),
    summary="The year's therapy threshold is passed and KX is missing.",
    payers=("medicare",),
    confidence="C-2",
    examples=(
        Example(
            _pt_session(
                [_line("97110", 30, 2, "GP"), _line("97530", 15, 1, "GP")],
                therapy_ytd_allowed={"pt_slp": 2600, "ot": 0},
            ),
            fails=True,
            note="PT/SLP amount above the 2026 threshold, no KX",
        ),
        Example(
            _pt_session(
                [_line("97110", 30, 2, "GP", "KX"), _line("97530", 15, 1, "GP", "KX")],
                therapy_ytd_allowed={"pt_slp": 2600, "ot": 0},
            ),
            fails=False,
        ),
        Example(
            _pt_session(
                [_line("97110", 30, 2, "GP"), _line("97530", 15, 1, "GP")],
                therapy_ytd_allowed={"pt_slp": 1200, "ot": 2600},
            ),
            fails=False,
            note="only the OT bucket is past the threshold; these are PT lines",
        ),
    ),
)
def kx_modifier(ctx: Context, r: Rule) -> Iterable[Finding]:
    """KX once the year's allowed therapy amount has passed the threshold.

    Source: CMS Pub. 100-04, ch. 5, sec. 10.3 and the yearly PFS final rules:
    after the allowed amount for the year passes the KX threshold, claim lines
    need KX to attest medical necessity; PT and SLP share one bucket, OT has
    another of the same amount (REFERENCE.md 3: 2022 $2,150 ... 2026 $2,480
    [C-2..C-4]; targeted medical review at $3,000 [C-3]). Amounts are data in
    ``medicare_thresholds.toml``, chosen by the calendar year of the date of
    service.

    ``therapy_ytd_allowed`` is the amount accrued *before* this visit; a bucket
    without a value is not checked. Lines go to buckets by
    :func:`plan_discipline` (GP/GN lines PT+SLP, GO lines OT).

    - accrued amount strictly above the threshold, line without KX -> error on
      each therapy line of the bucket, fix ``add_modifier`` KX;
    - accrued amount from 90% of the threshold up to the threshold itself, no KX
      on the bucket's lines -> one warning: this visit may cross it, and the line
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
    # Fast path for a therapist's visit (nearly all of them): every therapy line
    # is in the provider's one bucket, and the rule is silent unless a therapy
    # line lacks KX from 90% of the threshold on, carries it below, or the review
    # amount is passed. No bucket lists, no messages; the year's amounts are
    # prepared once (_kx_year). Everything else goes to the general path, which
    # words every finding (tests/rules/test_modifiers_fast.py checks the two agree).
    prepared = _kx_year(ctx.dos.year)
    if prepared is None:
        return _kx_findings(ctx, r, prepared)
    ytd = ctx.session.therapy_ytd_allowed
    if ytd is None:
        return ()
    provider = ctx.session.provider.discipline
    if provider not in THERAPY_MODIFIER:
        return _kx_findings(ctx, r, prepared)
    accrued = ytd.ot if provider == "OT" else ytd.pt_slp
    if accrued is None:
        return ()
    if not accrued.is_finite():
        return _kx_findings(ctx, r, prepared)  # (a hand-built NaN: fail as the general path does)
    limits = prepared.limits
    if accrued > limits.review:
        return _kx_findings(ctx, r, prepared)  # an info whenever the bucket has a line
    # From 90% of the threshold on, a therapy line without KX is reported; below
    # it, a therapy line with KX. Whether a line is therapy matters only when its
    # KX is not as it should be, so the usual visit is cleared on KX alone.
    needed = accrued > limits.kx or accrued * _TEN >= prepared.kx_times_9
    mods_of = ctx.mods
    for mods in mods_of:
        if ("KX" in mods) is not needed:
            break
    else:
        return ()
    for i, mods in enumerate(mods_of):
        if ("KX" in mods) is not needed and _is_therapy_line(ctx, i):
            return _kx_findings(ctx, r, prepared)
    return ()


def _kx_findings(ctx: Context, r: Rule, prepared: _KxYear | None) -> Iterator[Finding]:
    """The findings of :func:`kx_modifier` (the general path, every case).

    ``prepared``: :func:`_kx_year` of the date of service's year.
    """
    buckets = _bucket_lines(ctx)
    if not buckets:
        return
    year = ctx.dos.year
    if prepared is None:
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
    limits = prepared.limits
    kx, kx_text = limits.kx, prepared.kx_text
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
                    f"threshold ({kx_text}): add KX to {ctx.lines[i].code} if the service "
                    f"is medically necessary and documented so; without KX Medicare denies it.",
                    fixes=(Fix("add_modifier", i, "KX"),),
                )
        elif accrued * _TEN >= prepared.kx_times_9:
            if lacking:
                yield r.finding(
                    None,
                    f"The {label} therapy amount allowed this year is within 10% of the "
                    f"{year} KX threshold ({kx_text}): this visit may cross it, and the "
                    f"lines that do need KX. Check the running total before sending.",
                    severity="warning",
                )
        else:
            for i in lines:
                if "KX" in ctx.mods[i]:
                    yield r.finding(
                        i,
                        f"{ctx.lines[i].code} carries KX, but the {label} amount allowed this "
                        f"year is well below the {year} KX threshold ({kx_text}): KX is "
                        f"needed only once the threshold is passed. Keep it only if this "
                        f"visit passes it.",
                        severity="info",
                    )
        if accrued > limits.review:
            yield r.finding(
                None,
                f"The {label} therapy amount allowed this year is past {prepared.review_text}, "
                f"where Medicare may select claims for targeted medical review: make sure "
                f"the notes support medical necessity.",
                severity="info",
            )


# ------------------------------------------------------------ modifier.distinct


def _is_em(code: str) -> bool:
    return len(code) == 5 and code.isdigit() and _EM_FIRST <= int(code) <= _EM_LAST


@rule(
    "modifier.distinct",
    severity="error",
    citation=(
        "CMS NCCI Policy Manual, ch. 1 (modifiers 59 and XE/XS/XP/XU); payer policies on "
        "59 with an X modifier [C-2]"
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

    Source: CMS NCCI Policy Manual, ch. 1 and REFERENCE.md 2.1: 59 and an X
    modifier on the same line is inappropriate [C-2 payer policies]; use 59 only
    when no X modifier describes the reason; 59/X are not for E/M codes [C-2]
    (99201-99499: 99201 was an E/M code until the end of 2020, inside our data).

    - 59 with any X modifier -> error, fix ``remove_modifier`` 59 (the X
      modifier is the more specific one);
    - 59/X on an E/M code -> error, fix ``remove_modifier`` (a separately
      identifiable E/M the same day takes 25);
    - 59/X on a line whose code no PTP edit in force pairs with another code on
      the claim -> warning: the modifier bypasses nothing and unneeded 59/X use
      draws audits; fix ``remove_modifier``. Either column counts (the column
      order of several therapy pairs is [?]), so does an indicator-0 edit (the
      ``ncci.ptp`` rule reports those). Needs the edit tables: skipped when the
      profile does not apply NCCI. With only the bundled therapy pairs loaded,
      an edit outside them is unknown: import the official CMS files for full
      coverage.
    """
    # Fast path: most visits carry no 59/X at all, and most that do carry one X
    # modifier (or 59) on a non-E/M code that an edit pairs. Those are cleared
    # without building sets or messages (the few edits answered are scanned for
    # the code), and the edit lookup is done once and handed to the general
    # path, which words every finding (tests/rules/test_modifiers_fast.py checks
    # the two agree).
    no_distinct = _DISTINCT.isdisjoint
    if no_distinct(ctx.all_mods):
        return ()
    edits = None if ctx.tables is None else ctx.tables.ptp(ctx.codes, ctx.dos)
    lines = ctx.lines
    for i, mods in enumerate(ctx.mods):
        if no_distinct(mods):
            continue
        code = lines[i].code
        if ("59" in mods and not mods.isdisjoint(_X_MODS)) or _is_em(code):
            break
        if edits is not None:
            for e in edits:
                if e.column1 == code or e.column2 == code:
                    break
            else:
                break  # no edit pairs the code: 59/X bypasses nothing
    else:
        return ()
    flagged = [i for i, m in enumerate(ctx.mods) if not no_distinct(m)]
    paired = None if edits is None else {c for e in edits for c in (e.column1, e.column2)}
    return _distinct_findings(ctx, r, flagged, paired)


def _distinct_findings(
    ctx: Context, r: Rule, flagged: list[int], paired: AbstractSet[str] | None
) -> Iterator[Finding]:
    """The findings of :func:`distinct_modifier` (the general path, every case).

    ``flagged``: the lines with 59/X; ``paired``: every code an edit in force
    pairs with another code of the claim, None without edit tables.
    """
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


# ------------------------------------------------------------------ modifier.at


@rule(
    "modifier.at",
    triggers=("cmt",),
    severity="error",
    citation="CMS Pub. 100-04, ch. 12, sec. 220 (AT on chiropractic manipulation) [C-4]",
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

    Source: CMS Pub. 100-04, ch. 12, sec. 220 (REFERENCE.md 3): AT is required
    on 98940-98942 for covered active/corrective treatment, not for maintenance,
    and never on a line with GA, GX, GY or GZ [C-4].

    cptrules cannot tell active from maintenance care, so a CMT line with
    neither AT nor a liability modifier gets an error whose fix adds AT (the
    covered case); the message names the maintenance alternative (GA with an
    ABN on file, or GZ without one). AT together with GA/GX/GY/GZ -> error, fix
    ``remove_modifier`` AT.
    """
    # Fast path: a CMT line is clean when it carries exactly one of AT and a
    # liability modifier; the general path words every finding
    # (tests/rules/test_modifiers_fast.py checks the two agree).
    mods_of = ctx.mods
    for i in ctx.family_lines("cmt"):
        mods = mods_of[i]
        if ("AT" in mods) is mods.isdisjoint(_LIABILITY):
            continue
        return _at_findings(ctx, r)
    return ()


def _at_findings(ctx: Context, r: Rule) -> Iterator[Finding]:
    """The findings of :func:`at_modifier` (the general path, every case)."""
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


# ------------------------------------------------------------- modifier.unknown


@rule(
    "modifier.unknown",
    severity="error",
    citation=(
        "cptrules modifier catalog (data/modifiers.toml); CMS-1500 item 24D and the "
        "837P service line hold four modifiers [single source: the cptrules contract]"
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
    for four modifiers [single source: the cptrules contract; not in
    REFERENCE.md].

    - a modifier missing from the catalog -> warning without a fix: a payer
      rejects a modifier that does not exist, but our catalog lists the common
      ones only, so a valid modifier may be missing from it;
    - more than four modifiers on a line -> error without a fix: which to drop
      (or whether to split the line) is the biller's call.
    """
    # Fast path: nearly every line has a few catalogued modifiers. One subset
    # test on the session's modifiers and a length per line clear it; anything
    # else sends the visit to the general path, which words every finding
    # (tests/rules/test_modifiers_fast.py checks the two agree).
    if not ctx.catalog.modifiers.keys() >= ctx.all_mods:
        return _unknown_findings(ctx, r)
    for line in ctx.lines:
        if len(line.modifiers) > _MAX_MODIFIERS:
            return _unknown_findings(ctx, r)
    return ()


def _unknown_findings(ctx: Context, r: Rule) -> Iterator[Finding]:
    """The findings of :func:`unknown_modifier` (the general path, every case)."""
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
