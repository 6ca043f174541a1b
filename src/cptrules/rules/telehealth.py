"""modifier.telehealth: a telehealth modifier on a code not on the telehealth list that day.

The list windows live in ``cptrules/data/telehealth.toml`` (CMS Medicare
Telehealth Services List, per calendar year, with each window's source and
confidence); the telehealth modifiers are the modifier catalog's ``telehealth``
kind (95, GT, FQ, FR). Both are read once, on first use.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

import attrs

from .._context import Context, Shape
from ..errors import DataError
from ..report import Finding
from ._base import Rule, rule

if TYPE_CHECKING:
    from ..payers import PayerProfile

__all__ = ["TelehealthList", "telehealth_list", "telehealth_modifier"]

_FILE = "telehealth.toml"


@attrs.frozen
class _Window:
    codes: frozenset[str]
    effective: dt.date
    until: dt.date | None
    source: str
    confidence: str

    def in_force(self, day: dt.date) -> bool:
        return self.effective <= day and (self.until is None or day <= self.until)


@attrs.frozen
class TelehealthList:
    """The bundled telehealth list: which codes of ``scope`` were on it, and when."""

    scope: frozenset[str]
    windows: tuple[_Window, ...]
    checked_through: dt.date
    #: modifiers of the catalog's ``telehealth`` kind
    modifiers: frozenset[str]

    def on_list(self, code: str, day: dt.date) -> _Window | None:
        """The window that puts ``code`` on the list on ``day``, or None."""
        for w in self.windows:
            if code in w.codes and w.in_force(day):
                return w
        return None


def _date(raw: Any, key: str) -> dt.date:
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    raise DataError(f"{key}: must be a TOML date", source=_FILE)


def _read(data: Mapping[str, Any], modifiers: frozenset[str]) -> TelehealthList:
    scope = data.get("scope")
    if not isinstance(scope, list) or not all(isinstance(c, str) for c in scope):
        raise DataError("scope: must be a list of codes", source=_FILE)
    windows = []
    for i, raw in enumerate(data.get("on_list", ())):
        key = f"on_list[{i}]"
        codes = raw.get("codes") if isinstance(raw, dict) else None
        if not isinstance(codes, list) or not set(codes) <= set(scope):
            raise DataError(f"{key}.codes: must be codes of scope", source=_FILE)
        until = raw.get("until")
        windows.append(
            _Window(
                frozenset(codes),
                _date(raw.get("effective"), f"{key}.effective"),
                None if until is None else _date(until, f"{key}.until"),
                str(raw["source"]),
                str(raw["confidence"]),
            )
        )
    return TelehealthList(
        frozenset(scope),
        tuple(windows),
        _date(data.get("checked_through"), "checked_through"),
        modifiers,
    )


@functools.cache
def telehealth_list() -> TelehealthList:
    """The bundled telehealth list, read on first use and shared afterwards."""
    from ..catalog import catalog

    try:
        text = resources.files("cptrules.data").joinpath(_FILE).read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:  # pragma: no cover - broken install
        raise DataError(f"cannot read bundled data: {exc}", source=_FILE) from exc
    mods = frozenset(m for m, info in catalog().modifiers.items() if info.kind == "telehealth")
    return _read(data, mods)


def _in_person(shape: Shape, profile: PayerProfile) -> bool:
    """modifier.telehealth's guard: the usual visit carries no telehealth modifier."""
    return shape.all_mods.isdisjoint(telehealth_list().modifiers)


@rule("modifier.telehealth", quiet=_in_person)
def telehealth_modifier(ctx: Context, r: Rule) -> Sequence[Finding]:
    """A line carries a telehealth modifier (the catalog's ``telehealth`` kind: 95, GT,
    FQ, FR) and its code is not on the telehealth list on the date of service.

    - the usual visit carries no telehealth modifier: nothing to check;
    - a code on the list that day (a window of ``data/telehealth.toml`` in force)
      passes; a code of the file's ``scope`` in no window in force is a warning
      on its line (no fix: whether the service was in person only the clinic knows);
    - a code outside the file's scope, or a date after its ``checked_through``,
      is reported once as not checked (info), never passed silently.

    Warning, not error: therapy codes moved on and off the list with temporary
    rules, the end dates from 2025 are uncertain, and whether a therapist may bill
    telehealth at all depends on a statutory waiver with its own dates.
    """
    listed = telehealth_list()
    tele = listed.modifiers
    found: list[Finding] = []
    unchecked: list[str] = []
    day = ctx.dos
    late = day > listed.checked_through
    name = ctx.profile.name
    for i, ln in enumerate(ctx.lines):
        mods = ctx.mods[i] & tele
        if not mods:
            continue
        code = ln.code
        if late or code not in listed.scope:
            unchecked.append(code)
            continue
        if listed.on_list(code, day) is not None:
            continue
        shown = " and ".join(sorted(mods))
        found.append(
            r.finding(
                i,
                f"{code} is billed with {shown} (telehealth), but it is not on the CMS telehealth "
                f"services list for this date of service, which {name} follows: expect a "
                f"denial. Bill it only for a service furnished in person, without {shown}.",
            )
        )
    if unchecked:
        why = (
            f"the bundled telehealth list covers dates through {listed.checked_through}"
            if late
            else "the bundled telehealth list covers therapy and chiropractic codes only"
        )
        found.append(
            r.finding(
                None,
                f"Telehealth modifiers on {', '.join(sorted(set(unchecked)))} were not checked "
                f"against the telehealth services list: {why}.",
                severity="info",
            )
        )
    return found
