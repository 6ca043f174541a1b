"""Code, modifier, region and technique catalogs, read once from bundled data.

The data files live in ``cptrules/data`` and open with where their facts come
from. :func:`catalog` loads them on first use and caches the result; nothing is
read at import time.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any, Literal, cast

import attrs

from ._memo import Memo
from .errors import DataError

__all__ = [
    "Catalog",
    "CodeInfo",
    "ModifierInfo",
    "ModifierSets",
    "catalog",
]

Basis = Literal[
    "15min",
    "session",
    "spinal_regions",
    "extraspinal",
    "body_regions",
    "muscles",
    "patient",
    "acupuncture_initial",
    "acupuncture_addon",
    "time_block",
    "area",
    "period",
]
Therapy = Literal["always", "sometimes", "never"]

_BASES = frozenset(Basis.__args__)  # type: ignore[attr-defined]  # Literal exposes __args__
_THERAPY = frozenset(("always", "sometimes", "never"))


@attrs.frozen
class CodeInfo:
    """What cptrules knows of one CPT/HCPCS code (our own label, never AMA text)."""

    code: str
    label: str
    timed: bool
    basis: Basis
    therapy: Therapy
    family: str
    confidence: str
    discipline: str | None = None
    max_units: int | None = None
    regions_min: int | None = None
    regions_max: int | None = None
    addon_to: tuple[str, ...] = ()
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    #: once per date of service: at most one unit of one code of this group
    per_day: str | None = None
    #: who typically bills the code (drives test data; coverage is the rules' business)
    disciplines: tuple[str, ...] = ()
    #: the public source of the entry
    source: str = ""

    def valid_on(self, day: dt.date) -> bool:
        """True when the code exists on ``day``."""
        if self.valid_from is not None and day < self.valid_from:
            return False
        return self.valid_until is None or day <= self.valid_until


@attrs.frozen
class ModifierInfo:
    """A modifier the catalog knows, with its kind and our one-line meaning."""

    modifier: str
    kind: str
    meaning: str
    #: the therapy discipline a therapy (GP/GO/GN) or assistant (CQ/CO) modifier stands for
    discipline: str | None = None


@attrs.frozen
class ModifierSets:
    """The modifier kinds the rules test, from the catalog's ``kind`` and ``discipline``.

    Rules read these instead of typing GP/GO/GN, CQ/CO, 59/X or GA/GX/GY/GZ again.
    """

    #: GP/GO/GN
    therapy: frozenset[str]
    #: CQ/CO
    assistant: frozenset[str]
    #: 59 and XE/XS/XP/XU
    distinct: frozenset[str]
    #: GA/GX/GY/GZ (ABN and liability)
    liability: frozenset[str]
    #: discipline -> its therapy modifier (PT GP, OT GO, SLP GN)
    therapy_of: Mapping[str, str]
    #: discipline -> its assistant modifier (PT CQ, OT CO; none for SLP)
    assistant_of: Mapping[str, str]
    #: therapy or assistant modifier -> its discipline
    discipline_of: Mapping[str, str]
    #: therapy modifier -> the other therapy modifiers
    other_therapy: Mapping[str, frozenset[str]]
    #: assistant modifier -> the therapy modifier of its discipline (CQ GP, CO GO)
    partner: Mapping[str, str]
    #: assistant modifier -> the modifiers that make it wrong on a line (the other
    #: assistant modifier, the other therapy modifiers)
    not_with: Mapping[str, frozenset[str]]

    @classmethod
    def build(cls, modifiers: Mapping[str, ModifierInfo]) -> ModifierSets:
        """Work the sets out from the catalog's modifiers."""

        def kind(k: str) -> frozenset[str]:
            return frozenset(m for m, info in modifiers.items() if info.kind == k)

        therapy, assistant = kind("therapy"), kind("assistant")
        discipline_of = {
            m: info.discipline
            for m, info in modifiers.items()
            if info.discipline is not None and m in therapy | assistant
        }
        therapy_of = {d: m for m, d in discipline_of.items() if m in therapy}
        assistant_of = {d: m for m, d in discipline_of.items() if m in assistant}
        partner = {a: therapy_of[d] for d, a in assistant_of.items()}
        return cls(
            therapy=therapy,
            assistant=assistant,
            distinct=kind("distinct"),
            liability=kind("liability"),
            therapy_of=therapy_of,
            assistant_of=assistant_of,
            discipline_of=discipline_of,
            other_therapy={m: therapy - {m} for m in therapy},
            partner=partner,
            not_with={a: (assistant - {a}) | (therapy - {p}) for a, p in partner.items()},
        )


@attrs.frozen
class Catalog:
    """All bundled vocabularies, prepared for constant-time lookups."""

    codes: Mapping[str, CodeInfo]
    modifiers: Mapping[str, ModifierInfo]
    #: region -> True when spinal (cervical, thoracic, lumbar, sacral, pelvic)
    regions: Mapping[str, bool]
    #: technique -> code family
    techniques: Mapping[str, str]
    #: code family -> its codes, in catalog order
    families: Mapping[str, tuple[str, ...]]
    #: first date of service our rule data covers
    data_start: dt.date
    #: the five spinal regions used to count CMT regions
    spinal_regions: frozenset[str]
    #: procedures an E/M billed the same day needs modifier 25 beside
    #: (``[same_day_em]`` of ``modifiers.toml``), and the source that says so
    em_25_procedures: frozenset[str] = frozenset()
    em_25_source: str = ""
    #: codes fixed to one discipline (the evaluations), worked out from ``codes``
    discipline_codes: frozenset[str] = attrs.field(init=False, eq=False, repr=False)
    #: once-per-day group -> its codes, in catalog order, worked out from ``codes``
    per_day_groups: Mapping[str, tuple[str, ...]] = attrs.field(init=False, eq=False, repr=False)
    #: add-on codes and codes of a once-per-day group (what ``code.add-on`` looks at)
    per_day_or_addon: frozenset[str] = attrs.field(init=False, eq=False, repr=False)
    #: codes in use only part of our data period (``valid_from``/``valid_until``)
    dated_codes: frozenset[str] = attrs.field(init=False, eq=False, repr=False)
    #: discipline -> the discipline-fixed codes of the *other* disciplines
    foreign_codes: Mapping[str, frozenset[str]] = attrs.field(init=False, eq=False, repr=False)
    #: modifier kind (``distinct``, ``therapy``, ``assistant``, ...) -> its modifiers
    modifier_kinds: Mapping[str, frozenset[str]] = attrs.field(init=False, eq=False, repr=False)
    #: every modifier the catalog knows
    known_modifiers: frozenset[str] = attrs.field(init=False, eq=False, repr=False)
    #: a timed code billed for its first 15 minutes only -> the timed add-on code for
    #: each further 15 minutes (97129 -> 97130), from the add-on's ``addon_to``
    first_unit_of: Mapping[str, str] = attrs.field(init=False, eq=False, repr=False)
    #: the modifier kinds the rules work with, prepared for set tests
    mods: ModifierSets = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        # attrs' way to set a frozen field: object.__setattr__
        fixed = {c: info.discipline for c, info in self.codes.items() if info.discipline}
        object.__setattr__(self, "discipline_codes", frozenset(fixed))
        groups: dict[str, list[str]] = {}
        for code, c in self.codes.items():
            if c.per_day is not None:
                groups.setdefault(c.per_day, []).append(code)
        object.__setattr__(self, "per_day_groups", {g: tuple(c) for g, c in groups.items()})
        watched = frozenset(c for c, i in self.codes.items() if i.per_day is not None or i.addon_to)
        object.__setattr__(self, "per_day_or_addon", watched)
        dated = frozenset(
            c
            for c, i in self.codes.items()
            if i.valid_from is not None or i.valid_until is not None
        )
        object.__setattr__(self, "dated_codes", dated)
        kinds: dict[str, set[str]] = {}
        for m, mod in self.modifiers.items():
            kinds.setdefault(mod.kind, set()).add(m)
        object.__setattr__(self, "modifier_kinds", {k: frozenset(v) for k, v in kinds.items()})
        object.__setattr__(self, "known_modifiers", frozenset(self.modifiers))
        sets = ModifierSets.build(self.modifiers)
        object.__setattr__(self, "mods", sets)
        foreign = {
            d: frozenset(c for c, own in fixed.items() if own != d)
            for d in {*fixed.values(), *sets.therapy_of}
        }
        object.__setattr__(self, "foreign_codes", foreign)
        first_unit = {
            first: info.code
            for info in self.codes.values()
            if info.timed
            for first in info.addon_to
            if first in self.codes and self.codes[first].timed
        }
        object.__setattr__(self, "first_unit_of", first_unit)

    def kind(self, kind: str) -> frozenset[str]:
        """The modifiers of ``kind`` (empty when the catalog has none of it)."""
        return self.modifier_kinds.get(kind, frozenset())

    def timed(self, code: str) -> bool:
        """True for a code billed in 15-minute units by time."""
        info = self.codes.get(code)
        return info is not None and info.timed


def _read(name: str) -> dict[str, Any]:
    try:
        text = resources.files("cptrules.data").joinpath(name).read_text(encoding="utf-8")
        return tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:  # pragma: no cover - broken install
        raise DataError(f"cannot read bundled data: {exc}", source=name) from exc


_CODE_KEYS = frozenset(
    (
        "label",
        "timed",
        "basis",
        "therapy",
        "discipline",
        "family",
        "max_units",
        "regions_min",
        "regions_max",
        "per_day",
        "addon_to",
        "valid_from",
        "valid_until",
        "disciplines",
        "source",
        "confidence",
    )
)


def _code(code: str, raw: Mapping[str, Any]) -> CodeInfo:
    where = f"codes.{code}"
    basis = raw.get("basis")
    therapy = raw.get("therapy")
    if basis not in _BASES or therapy not in _THERAPY:
        raise DataError(f"{where}: bad basis or therapy", source="codes.toml")
    unknown = set(raw) - _CODE_KEYS
    if unknown or not raw.get("source"):
        raise DataError(f"{where}: unknown keys or no source", source="codes.toml")
    return CodeInfo(
        code=code,
        label=str(raw["label"]),
        timed=bool(raw["timed"]),
        basis=cast(Basis, basis),
        therapy=cast(Therapy, therapy),
        family=str(raw["family"]),
        confidence=str(raw["confidence"]),
        discipline=raw.get("discipline"),
        max_units=raw.get("max_units"),
        regions_min=raw.get("regions_min"),
        regions_max=raw.get("regions_max"),
        addon_to=tuple(raw.get("addon_to", ())),
        valid_from=raw.get("valid_from"),
        valid_until=raw.get("valid_until"),
        per_day=raw.get("per_day"),
        disciplines=tuple(raw.get("disciplines", ())),
        source=str(raw["source"]),
    )


#: the bundled catalog once read (emptied by clear_caches(), then read again)
_LOADED: Memo[str, Catalog] = Memo("bundled catalog", size=1)


def catalog() -> Catalog:
    """The bundled catalog, read on first call and shared afterwards."""
    got = _LOADED.get("bundled")
    if got is not None:
        return got
    codes_raw = _read("codes.toml")
    vocab = _read("vocab.toml")
    mods_raw = _read("modifiers.toml")
    codes = {code: _code(code, raw) for code, raw in codes_raw["codes"].items()}
    for info in codes.values():
        if any(primary not in codes for primary in info.addon_to):
            raise DataError(f"codes.{info.code}: add-on to an unknown code", source="codes.toml")
    families: dict[str, list[str]] = {}
    for info in codes.values():
        families.setdefault(info.family, []).append(info.code)
    modifiers = {
        m: ModifierInfo(
            modifier=m,
            kind=str(v["kind"]),
            meaning=str(v["meaning"]),
            discipline=None if v.get("discipline") is None else str(v["discipline"]),
        )
        for m, v in mods_raw["modifiers"].items()
    }
    same_day_em = mods_raw.get("same_day_em", {})
    em_25 = frozenset(str(c) for c in same_day_em.get("procedures", ()))
    if not em_25 <= codes.keys():
        raise DataError(
            "same_day_em: a procedure the catalog does not know", source="modifiers.toml"
        )
    regions = {r: bool(v["spinal"]) for r, v in vocab["regions"].items()}
    techniques = {t: str(f) for t, f in vocab["techniques"].items()}
    for technique, family in techniques.items():
        if family not in families:
            raise DataError(f"technique {technique} maps to unknown family", source="vocab.toml")
    return _LOADED.put(
        "bundled",
        Catalog(
            codes=codes,
            modifiers=modifiers,
            regions=regions,
            techniques=techniques,
            families={f: tuple(c) for f, c in families.items()},
            data_start=codes_raw["data_start"],
            spinal_regions=frozenset(r for r, spinal in regions.items() if spinal),
            em_25_procedures=em_25,
            em_25_source=str(same_day_em.get("source", "")),
        ),
    )
