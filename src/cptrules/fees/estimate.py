"""What a visit pays: the Medicare allowed amount per line, each adjustment named.

The method (docs/money.md works it through by hand):

1. The release in force on the date of service gives each code's RVUs and the
   conversion factor (CF); the GPCI table of that year gives the locality's
   work, PE and MP indices.
2. Per unit: ``(work RVU x work GPCI + PE RVU x PE GPCI + MP RVU x MP GPCI) x CF``,
   rounded to the cent, half up. The PE RVU is the non-facility one for
   always-therapy codes (multiple procedure indicator 5) in every setting, and
   for other codes unless the place of service is a facility.
3. Therapy MPPR: among all units of the day's codes with multiple procedure
   indicator 5, the one unit with the highest PE payment is paid in full;
   every other unit is paid with half its PE (from 2013-04-01).
4. CQ/CO: a line furnished in whole or in part by an assistant is paid 85% of
   the amount after the MPPR (from 2022-01-01), per unit, to the cent.

Left out, and named in every estimate: coinsurance, deductible, sequestration,
the limiting charge, the lower-of-charge rule and denials.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import operator
import tomllib
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from typing import Any

import attrs

from .._memo import Memo
from ..errors import DataError
from ..models import ServiceLine, Session, _builder
from .loaders import PAYABLE_STATUS, Gpci
from .schedule import NATIONAL, ContractSchedule, FeeSchedule, Release

__all__ = [
    "Adjustment",
    "Estimate",
    "LineEstimate",
    "compare",
    "estimate",
    "estimate_contract",
]

_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


@attrs.frozen
class Adjustment:
    """One change to a line's amount: its kind, its (negative) amount, its source.

    ``units`` is how many of the line's units it changed.
    """

    kind: str
    amount: Decimal
    source: str
    units: int = 0

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "mppr", "amount": "-6.33", "units": 1, "source": "..."}``."""
        return {
            "kind": self.kind,
            "amount": str(self.amount),
            "units": self.units,
            "source": self.source,
        }


@attrs.frozen
class LineEstimate:
    """The estimate of one service line; ``allowed`` is None when it could not be priced.

    ``note`` says why a line was not priced (or was priced at zero).
    """

    line: int
    code: str
    units: int
    allowed: Decimal | None
    adjustments: tuple[Adjustment, ...] = ()
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The line in the report's ``estimate.lines`` shape, amounts as decimal strings."""
        out: dict[str, Any] = {
            "line": self.line,
            "code": self.code,
            "units": self.units,
            "allowed": None if self.allowed is None else str(self.allowed),
            "adjustments": [a.to_dict() for a in self.adjustments],
        }
        if self.note is not None:
            out["note"] = self.note
        return out


@attrs.frozen
class Estimate:
    """What one visit is expected to be allowed, line by line.

    ``complete`` is False when a line could not be priced (its ``note`` says
    why); ``total`` then covers the priced lines only. ``left_out`` names what
    a remittance shows that this estimate does not apply.
    """

    payer: str
    total: Decimal
    lines: tuple[LineEstimate, ...]
    source: str
    locality: str | None = None
    left_out: tuple[str, ...] = ()
    currency: str = "USD"

    @property
    def complete(self) -> bool:
        """True when every line was priced."""
        return all(line.allowed is not None for line in self.lines)

    def to_dict(self) -> dict[str, Any]:
        """The report's ``estimate`` object: money as decimal strings, never floats."""
        out: dict[str, Any] = {
            "currency": self.currency,
            "total": str(self.total),
            "complete": self.complete,
            "lines": [line.to_dict() for line in self.lines],
            "source": self.source,
        }
        if self.locality is not None:
            out["locality"] = self.locality
        if self.left_out:
            out["left_out"] = list(self.left_out)
        return out

    def to_text(self) -> str:
        """A plain table: line, code, units, allowed and the adjustments."""
        rows = [f"Estimate ({self.payer}; {self.source})"]
        rows.append(f"{'line':>4}  {'code':<6} {'units':>5} {'allowed':>10}  adjustments")
        for ln in self.lines:
            allowed = "-" if ln.allowed is None else f"{ln.allowed:,.2f}"
            adj = ", ".join(f"{a.kind} {a.amount:,.2f}" for a in ln.adjustments)
            if ln.note:
                adj = f"{adj}; {ln.note}" if adj else ln.note
            rows.append(f"{ln.line:>4}  {ln.code:<6} {ln.units:>5} {allowed:>10}  {adj}")
        mark = "" if self.complete else "  (some lines not priced)"
        rows.append(f"{'total':>4}  {'':<6} {'':>5} {self.total:>10,.2f}  {self.currency}{mark}")
        if self.left_out:
            rows.append("not applied: " + "; ".join(self.left_out))
        return "\n".join(rows)


# --- policy (data/fees.toml) -------------------------------------------------------------


@attrs.frozen
class _Dated:
    effective: dt.date
    share: Decimal
    #: the adjustment's source as shown: citation, what it does, how sure
    text: str


@attrs.frozen
class _Policy:
    mppr: Mapping[str, tuple[_Dated, ...]]
    assistant: Mapping[str, tuple[_Dated, ...]]
    therapy_non_facility: bool
    facility_pos: frozenset[str]
    left_out: tuple[str, ...]
    #: said in an estimate's source when a facility place of service was priced
    facility_note: str = ""
    #: every day a policy entry starts, sorted: days between two of them price alike
    changes: tuple[dt.date, ...] = ()

    def epoch(self, day: dt.date) -> int:
        """Which stretch between policy changes ``day`` falls in."""
        return bisect.bisect_right(self.changes, day)


def _dated(raw: Mapping[str, Any], key: str, what: str, where: str) -> _Dated:
    try:
        share = Decimal(str(raw[key]))
        return _Dated(
            effective=dt.date.fromisoformat(str(raw["effective"])),
            share=share,
            text=f"{raw['source']}: {what.format(share * 100)} ({raw['confidence']})",
        )
    except (KeyError, ValueError, ArithmeticError) as exc:  # pragma: no cover - broken install
        raise DataError(f"{where}: {exc!r}", source="fees.toml") from None


@functools.cache
def policy() -> _Policy:
    """The bundled estimate policy (data/fees.toml), read once."""
    try:
        text = resources.files("cptrules.data").joinpath("fees.toml").read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:  # pragma: no cover - broken install
        raise DataError(f"cannot read bundled data: {exc}", source="fees.toml") from exc
    mppr: dict[str, list[_Dated]] = {}
    for i, entry in enumerate(raw["mppr"]):
        what = "units after the day's first paid at {:.0f}% of practice expense"
        mppr.setdefault(str(entry["indicator"]), []).append(
            _dated(entry, "pe_share", what, f"mppr[{i}]")
        )
    assistant: dict[str, list[_Dated]] = {}
    for i, entry in enumerate(raw["assistant"]):
        dated = _dated(entry, "share", "paid {:.0f}%", f"assistant[{i}]")
        for mod in entry["modifiers"]:
            assistant.setdefault(str(mod), []).append(dated)
    setting = raw["setting"]
    days = {d.effective for group in (*mppr.values(), *assistant.values()) for d in group}
    return _Policy(
        changes=tuple(sorted(days)),
        mppr={k: tuple(sorted(v, key=lambda d: d.effective)) for k, v in mppr.items()},
        assistant={k: tuple(sorted(v, key=lambda d: d.effective)) for k, v in assistant.items()},
        therapy_non_facility=bool(setting["therapy_non_facility"]),
        facility_pos=frozenset(str(p) for p in setting["facility_pos"]),
        facility_note=(
            f"facility rate for codes other than always-therapy services: "
            f"{setting['facility_source']}, {setting['facility_confidence']}"
        ),
        left_out=tuple(f"{e['kind']}: {e['what']}" for e in raw["left_out"]),
    )


def _in_force(entries: Sequence[_Dated], day: dt.date) -> _Dated | None:
    hit = None
    for entry in entries:
        if entry.effective <= day:
            hit = entry
    return hit


# --- Medicare ----------------------------------------------------------------------------


@attrs.frozen(eq=False)
class _Price:
    """One code priced for one release, locality, setting and day: prepared once.

    Compared and hashed by identity: its table holds one per code, and keys the
    worded line estimates by it.
    """

    full: Decimal  # one unit, rounded
    reduced: Decimal  # one unit with the MPPR share of its PE, rounded
    pe_payment: Decimal  # one unit's PE payment, for ranking
    mppr: _Dated | None
    note: str | None = None  # why the code is not priced (allowed None) ...
    zero: bool = False  # ... or priced at 0.00 (bundled)


_PRICING_MODIFIERS = frozenset({"26", "TC", "53"})
_NO_UNITS = "no units billed or given: not priced"
#: code-and-modifier entries each prepared table remembers
_BILLED_PER_TABLE = 4096
#: most visit shapes (codes, modifiers, units) whose estimates a prepared table keeps
_VISITS_PER_TABLE = 4096
#: worded line estimates each entry remembers (by position, units and the full-PE unit)
_LINES_PER_BILLED = 256


_VisitShape = tuple[str, tuple[str, ...], tuple[tuple[str, ...], ...], tuple[int | None, ...]]


class _Billed:
    """One code with one list of modifiers, priced for one table: prepared once.

    ``rank`` is the PE payment of one unit when the MPPR applies (None when it
    does not), ``assistant`` the first CQ/CO-like modifier in force among the
    modifiers, ``lines`` the worded line estimates already made.
    """

    __slots__ = ("assistant", "code", "lines", "price", "rank")

    def __init__(self, code: str, price: _Price, assistant: str | None) -> None:
        self.code = code
        self.price = price
        self.rank = price.pe_payment if price.mppr is not None and price.note is None else None
        self.assistant = assistant
        self.lines: Memo[tuple[int, int | None, bool], tuple[LineEstimate, int]] = Memo(
            "fee schedule line estimates", size=_LINES_PER_BILLED
        )


class _Table:
    """Everything one (release, GPCI year, locality, place of service, policy period) prices.

    Built once, then shared by every date of service of that period: per code
    the prepared :class:`_Price` (filled on first use; at most one per code of
    the release), the line estimates already worded, and the estimate's source.
    A visit then costs a few dictionary lookups and Decimal additions.
    """

    __slots__ = (
        "assistant",
        "billed",
        "day",
        "facility",
        "gpci",
        "left_out",
        "locality",
        "prices",
        "release",
        "source",
        "visits",
    )

    def __init__(
        self,
        release: Release,
        gpci: Gpci,
        day: dt.date,
        locality: str,
        place_of_service: str,
    ) -> None:
        self.release = release
        self.gpci = gpci
        self.day = day  # any day of the period: the policy entries in force are the same
        self.locality = locality
        self.facility = place_of_service in policy().facility_pos
        self.prices: dict[tuple[str, tuple[str, ...]], _Price] = {}
        self.billed: Memo[tuple[str, tuple[str, ...]], _Billed] = Memo(
            "fee schedule billed codes", size=_BILLED_PER_TABLE
        )
        #: (payer, the lines' codes, modifiers and units) -> the visit's estimate;
        #: distinct visits bill the same few shapes, and an Estimate is immutable
        self.visits: Memo[_VisitShape, Estimate]
        self.visits = Memo("fee schedule visit shapes", size=_VISITS_PER_TABLE)
        self.source = _source(release, day.year, locality, self.facility, place_of_service)
        self.left_out = policy().left_out
        #: the assistant modifiers (CQ, CO) whose reduction is in force, with it
        self.assistant: dict[str, _Dated] = {}
        for mod, entries in policy().assistant.items():
            if (hit := _in_force(entries, day)) is not None:
                self.assistant[mod] = hit

    def bill(self, code: str, modifiers: tuple[str, ...]) -> _Billed:
        """The entry of ``code`` billed with ``modifiers``, made on first use and kept."""
        pricing = tuple(m for m in modifiers if m in _PRICING_MODIFIERS)
        key = (code, pricing)
        price = self.prices.get(key)
        if price is None:
            price = self.prices[key] = self.price(code, pricing)
        assistant = next((m for m in modifiers if m in self.assistant), None)
        return self.billed.put((code, modifiers), _Billed(code, price, assistant))

    def line(
        self, billed: _Billed, index: int, units: int | None, top: bool
    ) -> tuple[LineEstimate, int]:
        """The worded estimate of one line and its allowed amount in cents (0 when not
        priced), made once and kept (``top``: the line holds the day's full-PE unit;
        ``units`` None: not priced)."""
        p = billed.price
        if units is None:
            est = LineEstimate(index, billed.code, 0, None, note=_NO_UNITS)
        elif p.note is not None:
            est = LineEstimate(index, billed.code, units, _ZERO if p.zero else None, note=p.note)
        else:
            share = None if billed.assistant is None else self.assistant[billed.assistant]
            est = _price_line(index, billed.code, units, p, top, share)
        cents = 0 if est.allowed is None else int(est.allowed.scaleb(2))
        return billed.lines.put((index, units, top), (est, cents))

    def price(self, code: str, pricing: tuple[str, ...]) -> _Price:
        """The prepared price of ``code`` (with its billed pricing modifiers), made on first use."""
        pol = policy()
        rvu = self.release.lookup(code, pricing)
        if rvu is None:
            note = f"not in the fee schedule release {self.release.label}"
            return _Price(_ZERO, _ZERO, _ZERO, None, note)
        if rvu.status not in PAYABLE_STATUS:
            if rvu.status == "B":
                note = "status B: bundled, never paid separately"
                return _Price(_ZERO, _ZERO, _ZERO, None, note, zero=True)
            note = f"status {rvu.status}: not priced by the national fee schedule"
            return _Price(_ZERO, _ZERO, _ZERO, None, note)
        mppr = _in_force(pol.mppr.get(rvu.mult_proc, ()), self.day)
        use_facility = self.facility and not (
            pol.therapy_non_facility and rvu.mult_proc in pol.mppr
        )
        pe_rvu = rvu.pe_facility if use_facility else rvu.pe_non_facility
        cf = self.release.conversion_factor
        gpci = self.gpci
        w, pe, mp = rvu.work * gpci.work, pe_rvu * gpci.pe, rvu.mp * gpci.mp
        # CMS sums the GPCI-adjusted RVUs unrounded, multiplies by the CF and
        # rounds the amount to the cent (data/fees.toml [rounding]).
        full = _cents((w + pe + mp) * cf)
        reduced = _cents((w + pe * mppr.share + mp) * cf) if mppr else full
        return _Price(full, reduced, pe * cf, mppr)


def _units_of(session: Session, units: Sequence[int | None] | None) -> list[int | None]:
    out: list[int | None] = []
    for i, line in enumerate(session.lines):
        given = units[i] if units is not None and i < len(units) else None
        out.append(line.units if line.units is not None else given)
    return out


def estimate(
    session: Session,
    schedule: FeeSchedule,
    *,
    locality: str,
    place_of_service: str = "11",
    units: Sequence[int | None] | None = None,
) -> Estimate:
    """The Medicare allowed amount of each line of ``session`` on its date of service.

    ``locality`` is ``MAC-LL`` as in the CMS GPCI file (``10112-00``) or
    ``national`` (every GPCI 1.000). ``units`` gives, per line, the units to
    price where the line bills none (the engine's expected units). A line that
    cannot be priced (no units, a code not in the file, a status Medicare does
    not pay by the fee schedule) has ``allowed`` None and a note, and the
    estimate is not ``complete``.

    The schedule prepares each code's amounts once per release, GPCI year,
    locality, place of service and policy period (bounded memos), so a visit
    costs a few lookups and additions, whatever its shape.
    """
    return price_lines(
        session,
        schedule,
        _units_of(session, units),
        locality=locality,
        place_of_service=place_of_service,
        payer=session.payer,
    )


def _table(
    schedule: FeeSchedule, day: dt.date, locality: str, place_of_service: str
) -> _Table | str:
    """The prepared table for ``day``, or why there is none (no release, no GPCI)."""
    memo = schedule.memo
    key = (day, locality, place_of_service)
    hit: _Table | str | None = memo.get(key)
    if hit is not None:
        return hit
    release = schedule.release_for(day)
    gpci = schedule.gpci_for(day, locality)
    table: _Table | str
    if release is None:
        table = f"no fee schedule release covers {day.isoformat()}"
    elif gpci is None:
        table = f"no GPCI for locality {locality} in {day.year}"
    else:
        period = (release.effective, day.year, policy().epoch(day), locality, place_of_service)
        shared: _Table | None = memo.get(period)
        if shared is None:
            shared = _Table(release, gpci, day, locality, place_of_service)
            memo.put(period, shared)
        table = shared
    memo.put(key, table)
    return table


def price_lines(
    session: Session,
    schedule: FeeSchedule,
    units: Sequence[int | None],
    *,
    locality: str,
    place_of_service: str = "11",
    payer: str,
) -> Estimate:
    """The Medicare estimate of ``session`` with ``units`` priced per line, as given.

    Unlike :func:`estimate`, a line's own units do not override ``units``: the
    engine prices a visit with the units it reports, or with a fix applied. A
    line whose units are None is not priced. ``payer`` labels the estimate.
    """
    lines = session.lines
    return price_visit(
        schedule,
        session.date_of_service,
        lines,
        tuple(map(_CODE, lines)),
        tuple(units),
        locality,
        place_of_service,
        payer,
    )


#: an Estimate from all its fields, in order, without the attrs __init__'s frozen stores
_build_estimate: Callable[..., Estimate] = _builder(Estimate)
_CODE = operator.attrgetter("code")
_MODIFIERS = operator.attrgetter("modifiers")


def price_visit(
    schedule: FeeSchedule,
    day: dt.date,
    lines: Sequence[ServiceLine],
    codes: tuple[str, ...],
    units: tuple[int | None, ...],
    locality: str,
    place_of_service: str,
    payer: str,
) -> Estimate:
    """:func:`price_lines` with what the engine already holds: the one way a visit is priced.

    ``codes`` are the lines' codes and ``units`` the units priced per line, in
    order. Positional, for the engine's hot path: a visit whose shape (payer,
    codes, modifiers, units) the day's table has priced before costs a few
    dictionary lookups.
    """
    table: _Table | str | None = schedule.memo.get((day, locality, place_of_service))
    if table is None:
        table = _table(schedule, day, locality, place_of_service)
    if isinstance(table, str):
        return _unpriced(lines, units, table, locality, payer)
    mods = tuple(map(_MODIFIERS, lines))
    shape = (payer, codes, mods, units)
    hit = table.visits.get(shape)
    if hit is not None:
        return hit
    return table.visits.put(
        shape, _price_entries(table, _entries(table, codes, mods), units, payer)
    )


def _entries(
    table: _Table, codes: tuple[str, ...], mods: tuple[tuple[str, ...], ...]
) -> list[_Billed]:
    """The table's entry of each line (code and modifiers), in order."""
    billed = table.billed
    bill = table.bill
    return [billed.get(key) or bill(*key) for key in zip(codes, mods, strict=True)]


def _price_entries(
    table: _Table, entries: Sequence[_Billed], units: tuple[int | None, ...], payer: str
) -> Estimate:
    """The estimate of a visit whose lines are ``entries`` priced with ``units``."""
    # The one unit paid in full: the highest PE payment among the MPPR units (first line on ties).
    top = -1
    best = _ZERO
    for i, b in enumerate(entries):
        rank = b.rank
        if rank is not None and units[i] and (top < 0 or rank > best):
            top, best = i, rank
    out: list[LineEstimate] = []
    cents = 0  # every allowed amount is whole cents: add integers, make one Decimal
    for i, b in enumerate(entries):
        n = units[i]
        est, amount = b.lines.get((i, n, i == top)) or table.line(b, i, n, i == top)
        out.append(est)
        cents += amount
    total = Decimal(cents).scaleb(-2)
    return _build_estimate(
        payer, total, tuple(out), table.source, table.locality, table.left_out, "USD"
    )


#: most (visit shape, units) estimates one engine route keeps
_VISITS_PER_ROUTE = 4096
_RouteKey = tuple[int, tuple[int | None, ...]]


class RoutePrices(Memo[_RouteKey, tuple[object, Estimate, bool]]):
    """The estimates of one engine route (a payer on a stretch of days that price alike).

    Keyed by the identity of the visit's shape object (what its codes and
    modifiers decide, shared by every visit of that shape: see the engine's
    context) and the units priced per line; the value pins the shape, so a
    caller compares it with ``is`` before using the estimate (an id may be
    reused once a shape is dropped), and says whether the estimate is complete.
    A miss is priced from the route's table, which prices every day of the
    stretch alike, and the table's entries of the shape's lines, kept per shape.
    """

    __slots__ = ("entries", "payer", "table")

    def __init__(self, table: _Table, payer: str) -> None:
        super().__init__("fee schedule estimates by route and visit shape", size=_VISITS_PER_ROUTE)
        self.table = table
        self.payer = payer
        #: id of a shape -> (the shape, the table's entry of each of its lines)
        self.entries: Memo[int, tuple[object, list[_Billed]]] = Memo(
            "fee schedule entries by route and visit shape", size=_VISITS_PER_ROUTE
        )

    def price(
        self,
        shape: object,
        lines: Sequence[ServiceLine],
        codes: tuple[str, ...],
        units: tuple[int | None, ...],
    ) -> tuple[object, Estimate, bool]:
        """The entry of a visit in this shape with these units: kept, or made and kept.

        (``Engine.check`` tries the memo itself first, inline, on its hot path.)
        """
        hit = self.get((id(shape), units))
        if hit is not None and hit[0] is shape:
            return hit
        got = self.entries.get(id(shape))
        if got is None or got[0] is not shape:
            mods = tuple(map(_MODIFIERS, lines))
            got = self.entries.put(id(shape), (shape, _entries(self.table, codes, mods)))
        visit = _price_entries(self.table, got[1], units, self.payer)
        return self.put((id(shape), units), (shape, visit, visit.complete))


def route_prices(
    schedule: FeeSchedule, day: dt.date, locality: str, place_of_service: str, payer: str
) -> RoutePrices | None:
    """A route's memo of estimates, or None when ``day`` has no table (priced per visit)."""
    table = _table(schedule, day, locality, place_of_service)
    if isinstance(table, str):
        return None  # why is worded per day: not shared
    return RoutePrices(table, payer)


def price_days(schedule: FeeSchedule, first: dt.date) -> list[dt.date]:
    """The days from which what ``schedule`` prices may change, from ``first`` on.

    Between two of them every date of service has the same prepared table
    (release, GPCI year, policy period): each release's first day, each day a
    policy entry starts and 1 January of every year from ``first``'s to the
    year after the last of those. After the last day returned nothing is
    promised (the stretch is open-ended).
    """
    days = {r.effective for r in schedule.releases} | set(policy().changes)
    days.update(dt.date(y, 1, 1) for y in schedule.gpcis)
    last = max(days | {first}).year + 1
    days.update(dt.date(y, 1, 1) for y in range(first.year, last + 1))
    return sorted(d for d in days if d > first)


def _unpriced(
    lines: Sequence[ServiceLine],
    units: tuple[int | None, ...],
    why: str,
    locality: str,
    payer: str,
) -> Estimate:
    """The estimate of a visit no table prices (no release, no GPCI): ``why`` on every line.

    Apart from :func:`price_visit` so that its comprehension's closure (cells for
    ``units``) is not made on every priced visit.
    """
    empty = tuple(
        LineEstimate(i, ln.code, units[i] or 0, None, note=why) for i, ln in enumerate(lines)
    )
    return Estimate(payer, _ZERO, empty, why, locality, policy().left_out)


def _source(
    release: Release,
    year: int,
    locality: str,
    facility: bool,
    place_of_service: str,
) -> str:
    where = "national" if locality == NATIONAL else f"locality {locality}"
    text = (
        f"CMS Medicare Physician Fee Schedule {release.label} (in force from "
        f"{release.effective.isoformat()}, conversion factor {release.conversion_factor}), "
        f"GPCI {year} {where}, {'facility' if facility else 'non-facility'} place of "
        f"service {place_of_service}"
    )
    if facility:
        text = f"{text} ({policy().facility_note})"
    return text


def _price_line(
    index: int,
    code: str,
    units: int,
    p: _Price,
    top: bool,
    assistant: _Dated | None,
) -> LineEstimate:
    adjustments: list[Adjustment] = []
    reduced_units = 0
    if p.mppr is not None and units:
        reduced_units = units - 1 if top else units
        if reduced_units and p.reduced != p.full:
            cut = (p.reduced - p.full) * reduced_units
            adjustments.append(Adjustment("mppr", cut, p.mppr.text, reduced_units))
    full_units = units - reduced_units
    allowed = p.full * full_units + p.reduced * reduced_units
    if assistant is not None:
        share = assistant.share
        scaled = _cents(p.full * share) * full_units + _cents(p.reduced * share) * reduced_units
        if scaled != allowed:
            adjustments.append(Adjustment("assistant", scaled - allowed, assistant.text, units))
        allowed = scaled
    return LineEstimate(index, code, units, allowed, tuple(adjustments))


# --- commercial contract rates ------------------------------------------------------------


def estimate_contract(
    session: Session,
    rates: ContractSchedule,
    *,
    payer: str | None = None,
    units: Sequence[int | None] | None = None,
) -> Estimate:
    """What ``session`` pays under a payer's contract rates: rate x units per line.

    No MPPR or assistant reduction is applied: a contract that has them says so
    in its rates. ``payer`` labels the estimate (default: the session's payer).
    ``units`` gives, per line, the units to price where the line bills none.
    """
    return price_contract_lines(
        session, rates, _units_of(session, units), payer=payer or session.payer
    )


def price_contract_lines(
    session: Session, rates: ContractSchedule, units: Sequence[int | None], *, payer: str
) -> Estimate:
    """:func:`estimate_contract` with ``units`` priced per line as given, as :func:`price_lines`."""
    day = session.date_of_service
    lines: list[LineEstimate] = []
    for i, line in enumerate(session.lines):
        n = units[i]
        if n is None:
            lines.append(LineEstimate(i, line.code, 0, None, note="no units billed or given"))
            continue
        rate = rates.rate_for(line.code, line.modifiers, day)
        if rate is None:
            lines.append(
                LineEstimate(i, line.code, n, None, note=f"no contract rate on {day.isoformat()}")
            )
            continue
        lines.append(LineEstimate(i, line.code, n, _cents(rate.rate * n)))
    total = sum((ln.allowed for ln in lines if ln.allowed is not None), _ZERO)
    source = f"contract rates {rates.name}"
    return Estimate(payer, total, tuple(lines), source)


def compare(
    session: Session,
    schedules: Mapping[str, FeeSchedule | ContractSchedule],
    *,
    locality: str = NATIONAL,
    place_of_service: str = "11",
    units: Sequence[int | None] | None = None,
) -> dict[str, Estimate]:
    """The same visit priced under each payer's schedule, by payer id, in the given order.

    A :class:`FeeSchedule` is priced as Medicare (``locality``, ``place_of_service``);
    a :class:`ContractSchedule` by its contract rates.
    """
    out: dict[str, Estimate] = {}
    for payer, sched in schedules.items():
        if isinstance(sched, FeeSchedule):
            est = estimate(
                session, sched, locality=locality, place_of_service=place_of_service, units=units
            )
            out[payer] = attrs.evolve(est, payer=payer)
        else:
            out[payer] = estimate_contract(session, sched, payer=payer, units=units)
    return out
