"""The modifier rules' fast paths against their general paths.

The speed work of issue 8 gave each ``modifier.*`` rule a fast path that clears
the common clean visit without building sets or messages, in front of the
general path (the rule body as it was before, with the same findings), which
alone words findings. This module checks on many drawn visits that every rule
returns exactly its general path's findings: ids, severities, lines, messages,
citations, fixes and order. A fast path that clears a visit it should not fails
here; the wording itself is held by the rule examples and tests/rules/test_modifiers.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
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
from cptrules.report import Finding
from cptrules.rules import REGISTRY
from cptrules.rules import modifiers as M
from cptrules.rules._base import Rule
from cptrules.rules.modifiers import kx_thresholds

ENGINE = cptrules.Engine(tables=bundled_tables())
TABLES = bundled_tables()
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ----------------------------------------------------------- the general paths
# Each rule's general path, which alone words findings: the fast path in front
# of it may only clear a visit on which the general path finds nothing.


def _distinct_general(ctx: Context, r: Rule) -> Iterable[Finding]:
    """modifier.distinct's general path, given what the rule works out before calling it."""
    flagged = [i for i, mods in enumerate(ctx.mods) if mods & M._DISTINCT]
    edits = None if ctx.tables is None else ctx.tables.ptp(ctx.codes, ctx.dos)
    paired = None if edits is None else {c for e in edits for c in (e.column1, e.column2)}
    return M._distinct_findings(ctx, r, flagged, paired)


ORACLE: Mapping[str, Callable[[Context, Rule], Iterable[Finding]]] = {
    "modifier.therapy": M._therapy_findings,
    "modifier.assistant": M._assistant_findings,
    "modifier.kx": lambda ctx, r: M._kx_findings(ctx, r, M._kx_year(ctx.dos.year)),
    "modifier.distinct": _distinct_general,
    "modifier.at": M._at_findings,
    "modifier.unknown": M._unknown_findings,
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
    """Every modifier rule returns its general path's findings, with and without edit tables,
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
def test_fast_paths_agree_with_the_general_paths(session: Session) -> None:
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
