"""Payer profiles as data: TOML files read with :mod:`tomllib`.

A profile says how one payer adjudicates therapy claims: its unit method,
whether therapy modifiers are required, whether NCCI applies, rules switched
on or off, severities re-graded, daily unit caps and code pairs it denies even
with a modifier. A profile ``extends`` another and overrides what differs;
every override carries a source line. Several versions of one profile id may
sit side by side, each with its ``effective``/``until`` dates: the one in force
on the date of service answers.

The bundled profiles live in ``cptrules/data/payers``; users load their own
with ``Engine(profiles=[path])`` or ``cptrules check --profile FILE``. See
docs/profiles.md for the file format.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import os
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

import attrs

from .errors import ProfileError

__all__ = [
    "DeniedPair",
    "NotChecked",
    "PairAction",
    "PairQuirk",
    "PayerProfile",
    "ProfileSet",
    "ProviderLimit",
    "UnitCap",
    "bundled_profiles",
    "load_profile_file",
    "ncci_bypass_modifiers",
]

UnitMethod = Literal["total-time", "per-code"]
Severity = Literal["error", "warning", "info"]
PairAction = Literal["deny", "require-modifier", "allow"]
_ACTIONS = frozenset(("deny", "require-modifier", "allow"))
_PAIR_KEYS = frozenset(("action", "first", "second", "modifiers", "regions", "severity"))
_CAP_KEYS = frozenset(("codes", "units"))
_SEVERITIES = frozenset(("error", "warning", "info"))
_METHODS = frozenset(("total-time", "per-code"))
_SCALARS = (
    "name",
    "unit_method",
    "therapy_modifiers",
    "ncci",
    "cmt_at_modifier",
    "bundled_codes",
    "replaced_codes",
    "low_back_pain_prefixes",
)
_TOP_KEYS = frozenset(
    (
        "id",
        "name",
        "extends",
        "effective",
        "until",
        "source",
        "sources",
        "unit_method",
        "therapy_modifiers",
        "ncci",
        "cmt_at_modifier",
        "rules",
        "severities",
        "unit_caps",
        "pairs",
        "denied_pairs",
        "bundled_codes",
        "replaced_codes",
        "low_back_pain_prefixes",
        "provider_limits",
        "not_checked",
    )
)
_LIMIT_KEYS = frozenset(("codes", "not_paid", "only", "severity"))


class _Dated:
    """A profile entry in force from ``effective`` through ``until`` (its last day)."""

    effective: dt.date
    until: dt.date | None

    def in_force(self, day: dt.date) -> bool:
        """True when the entry applies on ``day`` (``until`` is the last day in force)."""
        return self.effective <= day and (self.until is None or day <= self.until)


@attrs.frozen
class PairQuirk(_Dated):
    """What a payer does when codes of ``first`` and ``second`` are billed the same day.

    ``action``:

    - ``deny``: each ``second`` line is denied whatever its modifiers;
    - ``require-modifier``: each ``second`` line must carry one of ``modifiers``
      (and, with ``regions = "different"``, treat no region of the ``first`` lines);
    - ``allow``: the payer pays the pair as billed; an NCCI edit between them is
      not applied for this payer.

    ``severity`` re-grades the finding (None: the rule's own severity).
    """

    first: frozenset[str]
    second: frozenset[str]
    effective: dt.date
    until: dt.date | None
    source: str
    confidence: str
    action: PairAction = "deny"
    modifiers: frozenset[str] = frozenset()
    different_regions: bool = False
    severity: Severity | None = None


#: The old name of a pair quirk (``[[denied_pairs]]``: action "deny").
DeniedPair = PairQuirk


@attrs.frozen
class UnitCap(_Dated):
    """At most ``units`` units a day of the timed codes in ``codes`` (per therapy type)."""

    codes: frozenset[str]
    units: int
    effective: dt.date
    until: dt.date | None
    source: str
    confidence: str


@attrs.frozen
class ProviderLimit(_Dated):
    """Codes of ``codes`` the payer does not pay when the provider is of a discipline it
    does not credential for them: one of ``not_paid``, or (with ``only``) any but those."""

    codes: frozenset[str]
    effective: dt.date
    until: dt.date | None
    source: str
    confidence: str
    not_paid: frozenset[str] = frozenset()
    only: frozenset[str] = frozenset()
    severity: Severity | None = None

    def refuses(self, discipline: str) -> bool:
        """True when the payer does not pay these codes to ``discipline``."""
        if self.only:
            return discipline not in self.only
        return discipline in self.not_paid


@attrs.frozen
class NotChecked(_Dated):
    """A payer term cptrules cannot check (``what``), named on every visit it applies to."""

    what: str
    effective: dt.date
    until: dt.date | None
    source: str
    confidence: str


@attrs.frozen
class PayerProfile(_Dated):
    """One version of one payer profile, fully resolved (``extends`` applied)."""

    id: str
    name: str
    #: this profile's id, then its ancestors' (``commercial`` for ``aetna``)
    lineage: tuple[str, ...]
    effective: dt.date
    until: dt.date | None
    source: str
    unit_method: UnitMethod
    therapy_modifiers: bool
    ncci: bool
    cmt_at_modifier: bool
    rules_on: frozenset[str] = frozenset()
    rules_off: frozenset[str] = frozenset()
    severities: Mapping[str, str] = attrs.field(factory=dict)
    unit_caps: tuple[UnitCap, ...] = ()
    pairs: tuple[PairQuirk, ...] = ()
    #: codes the payer never pays separately (``coverage.bundled``)
    bundled_codes: frozenset[str] = frozenset()
    #: code -> the code the payer requires instead (``coverage.replaced-code``)
    replaced_codes: Mapping[str, str] = attrs.field(factory=dict)
    #: ICD-10-CM prefixes (no dot) read as low back pain (``coverage.acupuncture``)
    low_back_pain_prefixes: tuple[str, ...] = ()
    #: disciplines the payer does not pay for some codes (``coverage.payer-provider``)
    provider_limits: tuple[ProviderLimit, ...] = ()
    #: payer terms cptrules cannot check, named on each visit (``coverage.not-checked``)
    not_checked: tuple[NotChecked, ...] = ()
    #: where each overridden setting comes from
    sources: Mapping[str, str] = attrs.field(factory=dict)
    #: the file this version was read from
    origin: str = ""
    #: every code of a ``second`` side of ``pairs`` (a visit with none of them is
    #: settled at once by ``ncci.ptp``), worked out from ``pairs``
    pair_codes: frozenset[str] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        codes = frozenset(c for p in self.pairs for c in p.second)
        object.__setattr__(self, "pair_codes", codes)  # attrs' way to set a frozen field

    def to_dict(self) -> dict[str, object]:
        """The profile's listing row (``cptrules payers --format json``, ``GET /v1/payers``)."""
        return {
            "id": self.id,
            "name": self.name,
            "extends": self.lineage[1] if len(self.lineage) > 1 else None,
            "effective": self.effective.isoformat(),
            "until": None if self.until is None else self.until.isoformat(),
            "unit_method": self.unit_method,
            "source": self.source,
        }

    def is_a(self, family: str) -> bool:
        """True when this profile is ``family`` or extends it (``aetna`` is a ``commercial``)."""
        return family in self.lineage

    @property
    def denied_pairs(self) -> tuple[PairQuirk, ...]:
        """The pair quirks whose action is ``deny`` (the old ``denied_pairs`` key)."""
        return tuple(p for p in self.pairs if p.action == "deny")

    def pair_quirk(self, a: str, b: str, day: dt.date) -> PairQuirk | None:
        """The pair quirk in force on ``day`` for codes ``a`` and ``b`` in either order.

        A ``deny`` wins over any other action; otherwise the last entry listed
        (a child profile's after its parent's) answers. None: no quirk, NCCI decides.
        """
        found: PairQuirk | None = None
        for pair in self.pairs:
            if not pair.in_force(day):
                continue
            if (a in pair.first and b in pair.second) or (b in pair.first and a in pair.second):
                if pair.action == "deny":
                    return pair
                found = pair
        return found

    def bypass_for(self, column1: str, column2: str, day: dt.date) -> frozenset[str] | None:
        """The modifiers on the ``column2`` line this payer accepts for the pair, on ``day``.

        None when the payer denies the pair whatever the modifiers; the empty set
        when it pays the pair without one (``allow``); the NCCI bypass modifiers
        (59/X) when no quirk applies; a ``require-modifier`` entry's own modifiers
        otherwise.
        """
        quirk = self.pair_quirk(column1, column2, day)
        if quirk is None:
            return ncci_bypass_modifiers()
        if quirk.action == "deny":
            return None
        if quirk.action == "allow":
            return frozenset()
        return quirk.modifiers


@functools.cache
def ncci_bypass_modifiers() -> frozenset[str]:
    """The modifiers that bypass an NCCI indicator-1 edit on the column-2 line.

    The modifier catalog's ``distinct`` kind (59, XE, XS, XP, XU), read once.
    """
    from .catalog import catalog

    return frozenset(m for m, info in catalog().modifiers.items() if info.kind == "distinct")


def _date(raw: Any, key: str, origin: str) -> dt.date:
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    raise ProfileError("must be a TOML date such as 2026-01-01", source=origin, key=key)


def _str(raw: Any, key: str, origin: str) -> str:
    if isinstance(raw, str) and raw:
        return raw
    raise ProfileError("must be a non-empty string", source=origin, key=key)


def _codes(raw: Any, key: str, origin: str) -> frozenset[str]:
    if isinstance(raw, list) and raw and all(isinstance(c, str) for c in raw):
        return frozenset(raw)
    raise ProfileError("must be a non-empty list of codes", source=origin, key=key)


def _entry_common(item: Any, key: str, origin: str) -> tuple[dt.date, dt.date | None, str, str]:
    if not isinstance(item, dict):
        raise ProfileError("must be a table", source=origin, key=key)
    effective = _date(item.get("effective"), f"{key}.effective", origin)
    until = None if item.get("until") is None else _date(item["until"], f"{key}.until", origin)
    source = _str(item.get("source"), f"{key}.source", origin)
    confidence = _str(item.get("confidence"), f"{key}.confidence", origin)
    return effective, until, source, confidence


#: the keys every dated profile entry may carry
_DATED_KEYS = frozenset(("effective", "until", "source", "confidence"))


def _entries(
    raw: Any, key: str, origin: str, keys: frozenset[str]
) -> Iterator[tuple[str, dict[str, Any], tuple[dt.date, dt.date | None, str, str]]]:
    """Each table of the array ``key``: its path, the table and its dated fields.

    Every entry kind (``[[pairs]]``, ``[[unit_caps]]``, ...) is read through this
    one walk: an array of tables, each with ``effective``/``until``/``source``/
    ``confidence`` and no key outside ``keys`` (or the dated ones).
    """
    if not isinstance(raw, list):
        raise ProfileError("must be an array of tables", source=origin, key=key)
    for i, item in enumerate(raw):
        at = f"{key}[{i}]"
        dated = _entry_common(item, at, origin)
        for name in item:
            if name not in keys and name not in _DATED_KEYS:
                raise ProfileError("unknown key", source=origin, key=f"{at}.{name}")
        yield at, item, dated


def _severity(item: Mapping[str, Any], at: str, origin: str) -> Severity | None:
    """An entry's optional ``severity`` (re-grading its findings)."""
    severity = item.get("severity")
    if severity is not None and severity not in _SEVERITIES:
        raise ProfileError("must be error, warning or info", source=origin, key=f"{at}.severity")
    return cast("Severity | None", severity)


@attrs.frozen
class _Raw:
    """One profile file as read, before ``extends`` is resolved."""

    id: str
    extends: str | None
    effective: dt.date
    until: dt.date | None
    source: str
    data: Mapping[str, Any]
    origin: str


def _parse(text: str, origin: str) -> _Raw:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"not valid TOML: {exc}", source=origin) from None
    for key in data:
        if key not in _TOP_KEYS:
            raise ProfileError("unknown key", source=origin, key=str(key))
    pid = _str(data.get("id"), "id", origin)
    extends = data.get("extends")
    if extends is not None:
        extends = _str(extends, "extends", origin)
    effective = _date(data.get("effective"), "effective", origin)
    until = None if data.get("until") is None else _date(data["until"], "until", origin)
    if until is not None and until < effective:
        raise ProfileError("is before effective", source=origin, key="until")
    source = _str(data.get("source"), "source", origin)
    sources = data.get("sources", {})
    if not isinstance(sources, dict):
        raise ProfileError("must be a table", source=origin, key="sources")
    if extends is not None:
        for key in _SCALARS:
            if key in data and key != "name" and key not in sources:
                raise ProfileError(
                    "an override needs a source line in [sources]", source=origin, key=key
                )
    if "unit_method" in data and data["unit_method"] not in _METHODS:
        raise ProfileError("must be total-time or per-code", source=origin, key="unit_method")
    for key in ("therapy_modifiers", "ncci", "cmt_at_modifier"):
        if key in data and not isinstance(data[key], bool):
            raise ProfileError("must be true or false", source=origin, key=key)
    for key in ("bundled_codes", "low_back_pain_prefixes"):
        if key in data:
            raw = data[key]
            if not isinstance(raw, list) or not all(isinstance(c, str) and c for c in raw):
                raise ProfileError("must be a list of codes", source=origin, key=key)
    if "replaced_codes" in data:
        raw = data["replaced_codes"]
        if not isinstance(raw, dict) or not all(isinstance(v, str) and v for v in raw.values()):
            raise ProfileError(
                'must be a table of code = "replacement code"', source=origin, key="replaced_codes"
            )
    rules = data.get("rules", {})
    if not isinstance(rules, dict) or set(rules) - {"on", "off"}:
        raise ProfileError("must be a table with on and off lists", source=origin, key="rules")
    for which in ("on", "off"):
        ids = rules.get(which, [])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ProfileError("must be a list of rule ids", source=origin, key=f"rules.{which}")
    severities = data.get("severities", {})
    if not isinstance(severities, dict):
        raise ProfileError("must be a table", source=origin, key="severities")
    for rid, sev in severities.items():
        if sev not in _SEVERITIES:
            raise ProfileError(
                "must be error, warning or info", source=origin, key=f"severities.{rid}"
            )
    return _Raw(
        id=pid,
        extends=extends,
        effective=effective,
        until=until,
        source=source,
        data=data,
        origin=origin,
    )


def _caps(raw: Any, origin: str) -> tuple[UnitCap, ...]:
    """``[[unit_caps]]``: at most so many units a day of some timed codes."""
    out = []
    for at, item, (effective, until, source, confidence) in _entries(
        raw, "unit_caps", origin, _CAP_KEYS
    ):
        units = item.get("units")
        if type(units) is not int or units < 1:
            raise ProfileError("must be a whole number from 1", source=origin, key=f"{at}.units")
        codes = _codes(item.get("codes"), f"{at}.codes", origin)
        out.append(UnitCap(codes, units, effective, until, source, confidence))
    return tuple(out)


def _pairs(raw: Any, origin: str, key: str = "pairs") -> tuple[PairQuirk, ...]:
    """``[[pairs]]`` entries (or the old ``[[denied_pairs]]``, each an action ``deny``)."""
    out = []
    for at, item, (effective, until, source, confidence) in _entries(raw, key, origin, _PAIR_KEYS):
        action = item.get("action", "deny")
        if action not in _ACTIONS or (key == "denied_pairs" and action != "deny"):
            raise ProfileError(
                "must be deny, require-modifier or allow", source=origin, key=f"{at}.action"
            )
        first = _codes(item.get("first"), f"{at}.first", origin)
        second = _codes(item.get("second"), f"{at}.second", origin)
        modifiers: frozenset[str] = frozenset()
        if action == "require-modifier":
            modifiers = _codes(item.get("modifiers"), f"{at}.modifiers", origin)
        elif "modifiers" in item:
            raise ProfileError(
                "only a require-modifier entry lists modifiers",
                source=origin,
                key=f"{at}.modifiers",
            )
        regions = item.get("regions")
        if regions is not None and (regions != "different" or action != "require-modifier"):
            raise ProfileError(
                'must be "different", on a require-modifier entry',
                source=origin,
                key=f"{at}.regions",
            )
        out.append(
            PairQuirk(
                first,
                second,
                effective,
                until,
                source,
                confidence,
                action=cast(PairAction, action),
                modifiers=modifiers,
                different_regions=regions == "different",
                severity=_severity(item, at, origin),
            )
        )
    return tuple(out)


def _limits(raw: Any, origin: str) -> tuple[ProviderLimit, ...]:
    """``[[provider_limits]]``: codes a payer does not pay to some disciplines."""
    from .models import DISCIPLINES

    out = []
    for at, item, (effective, until, source, confidence) in _entries(
        raw, "provider_limits", origin, _LIMIT_KEYS
    ):
        codes = _codes(item.get("codes"), f"{at}.codes", origin)
        if ("not_paid" in item) == ("only" in item):
            raise ProfileError(
                "give either not_paid or only (a list of disciplines)", source=origin, key=at
            )
        which = "not_paid" if "not_paid" in item else "only"
        disciplines = _codes(item.get(which), f"{at}.{which}", origin)
        unknown = sorted(disciplines - set(DISCIPLINES))
        if unknown:
            raise ProfileError(
                f"unknown discipline {unknown[0]}", source=origin, key=f"{at}.{which}"
            )
        out.append(
            ProviderLimit(
                codes,
                effective,
                until,
                source,
                confidence,
                not_paid=disciplines if which == "not_paid" else frozenset(),
                only=disciplines if which == "only" else frozenset(),
                severity=_severity(item, at, origin),
            )
        )
    return tuple(out)


def _not_checked(raw: Any, origin: str) -> tuple[NotChecked, ...]:
    """``[[not_checked]]``: payer terms the library cannot check, said out loud."""
    out = []
    for at, item, (effective, until, source, confidence) in _entries(
        raw, "not_checked", origin, frozenset(("what",))
    ):
        what = _str(item.get("what"), f"{at}.what", origin)
        out.append(NotChecked(what, effective, until, source, confidence))
    return tuple(out)


def _resolve(raw: _Raw, parent: PayerProfile | None) -> PayerProfile:
    d = raw.data
    origin = raw.origin
    if parent is None:
        for key in ("unit_method", "therapy_modifiers", "ncci", "cmt_at_modifier"):
            if key not in d:
                raise ProfileError("a base profile must set it", source=origin, key=key)

    def inherit(key: str) -> Any:
        return d[key] if key in d else getattr(parent, key)

    def inherit_list(key: str) -> Sequence[str]:
        return list(d[key]) if key in d else list(getattr(parent, key, ()))

    def inherit_map(key: str) -> Mapping[str, str]:
        return dict(d[key]) if key in d else dict(getattr(parent, key, {}))

    rules = d.get("rules", {})
    on = frozenset(rules.get("on", ()))
    off = frozenset(rules.get("off", ()))
    base_on = parent.rules_on if parent else frozenset()
    base_off = parent.rules_off if parent else frozenset()
    return PayerProfile(
        id=raw.id,
        name=str(d.get("name", parent.name if parent else raw.id)),
        lineage=(raw.id, *(parent.lineage if parent else ())),
        effective=raw.effective,
        until=raw.until,
        source=raw.source,
        unit_method=cast(UnitMethod, inherit("unit_method")),
        therapy_modifiers=bool(inherit("therapy_modifiers")),
        ncci=bool(inherit("ncci")),
        cmt_at_modifier=bool(inherit("cmt_at_modifier")),
        rules_on=on | (base_on - off),
        rules_off=off | (base_off - on),
        severities={**(parent.severities if parent else {}), **d.get("severities", {})},
        unit_caps=(*(parent.unit_caps if parent else ()), *_caps(d.get("unit_caps", []), origin)),
        pairs=(
            *(parent.pairs if parent else ()),
            *_pairs(d.get("denied_pairs", []), origin, "denied_pairs"),
            *_pairs(d.get("pairs", []), origin),
        ),
        bundled_codes=frozenset(inherit_list("bundled_codes")),
        replaced_codes={str(k): str(v) for k, v in inherit_map("replaced_codes").items()},
        low_back_pain_prefixes=tuple(
            str(c).replace(".", "").upper() for c in inherit_list("low_back_pain_prefixes")
        ),
        provider_limits=(
            *(parent.provider_limits if parent else ()),
            *_limits(d.get("provider_limits", []), origin),
        ),
        not_checked=(
            *(parent.not_checked if parent else ()),
            *_not_checked(d.get("not_checked", []), origin),
        ),
        sources={
            **(parent.sources if parent else {}),
            **{str(k): str(v) for k, v in d.get("sources", {}).items()},
        },
        origin=origin,
    )


@attrs.frozen
class ProfileSet:
    """Every known version of every profile, resolved, chosen by id and date."""

    versions: Mapping[str, tuple[PayerProfile, ...]]

    def ids(self) -> tuple[str, ...]:
        """Profile ids, sorted."""
        return tuple(sorted(self.versions))

    def get(self, pid: str, day: dt.date) -> PayerProfile | None:
        """The version of ``pid`` in force on ``day``, or None (unknown id or no version then)."""
        for profile in self.versions.get(pid, ()):
            if profile.in_force(day):
                return profile
        return None

    def knows(self, pid: str) -> bool:
        """True when some version of ``pid`` exists."""
        return pid in self.versions

    def all(self) -> Iterable[PayerProfile]:
        """Every version of every profile, by id then effective date."""
        for pid in self.ids():
            yield from self.versions[pid]

    @classmethod
    def build(cls, raws: Sequence[_Raw]) -> ProfileSet:
        """Resolve ``extends`` (the parent version in force on the child's effective date)."""
        by_id: dict[str, list[_Raw]] = {}
        for raw in raws:
            by_id.setdefault(raw.id, []).append(raw)
        resolved: dict[str, list[PayerProfile]] = {}

        def resolve(raw: _Raw, depth: int) -> PayerProfile:
            if depth > 16:
                raise ProfileError(
                    "extends goes round in a circle", source=raw.origin, key="extends"
                )
            parent = None
            if raw.extends is not None:
                candidates = by_id.get(raw.extends)
                if not candidates:
                    raise ProfileError(
                        f"extends unknown profile {raw.extends}", source=raw.origin, key="extends"
                    )
                covering = [
                    c
                    for c in candidates
                    if c.effective <= raw.effective
                    and (c.until is None or raw.effective <= c.until)
                ]
                if not covering:
                    raise ProfileError(
                        "no version of the parent is in force on this effective date",
                        source=raw.origin,
                        key="extends",
                    )
                parent = resolve(covering[0], depth + 1)
            return _resolve(raw, parent)

        for pid, group in by_id.items():
            group.sort(key=lambda r: r.effective)
            for a, b in itertools.pairwise(group):
                if a.until is None or a.until >= b.effective:
                    raise ProfileError(
                        f"versions of {pid} overlap", source=b.origin, key="effective"
                    )
            resolved[pid] = [resolve(raw, 0) for raw in group]
        return cls({pid: tuple(v) for pid, v in resolved.items()})

    def with_files(self, paths: Iterable[str | os.PathLike[str]]) -> ProfileSet:
        """This set plus user profile files; a user file replaces a bundled id wholesale."""
        user = [load_profile_file(p) for p in paths]
        replaced = {r.id for r in user}
        raws = [r for r in _bundled_raws() if r.id not in replaced] + user
        return ProfileSet.build(raws)


def load_profile_file(path: str | os.PathLike[str]) -> _Raw:
    """Read one profile file; a malformed file raises :class:`ProfileError` naming file and key."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(
            f"cannot read profile file: {exc.__class__.__name__}", source=str(p)
        ) from None
    return _parse(text, str(p))


@functools.cache
def _bundled_raws() -> tuple[_Raw, ...]:
    folder = resources.files("cptrules.data").joinpath("payers")
    raws = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            raws.append(
                _parse(entry.read_text(encoding="utf-8"), f"cptrules/data/payers/{entry.name}")
            )
    return tuple(raws)


@functools.cache
def bundled_profiles() -> ProfileSet:
    """The profiles shipped with cptrules, read once."""
    return ProfileSet.build(_bundled_raws())
