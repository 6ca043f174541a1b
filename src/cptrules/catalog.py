"""Code, modifier, region and technique catalogs, read once from bundled data.

The data files live in ``cptrules/data`` and open with where their facts come
from. :func:`catalog` loads them on first use and caches the result; nothing is
read at import time.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any, Literal, cast

import attrs

from .errors import DataError

__all__ = [
    "Catalog",
    "CodeInfo",
    "ModifierInfo",
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
    #: codes fixed to one discipline (the evaluations), worked out from ``codes``
    discipline_codes: frozenset[str] = attrs.field(init=False, eq=False, repr=False)
    #: once-per-day group -> its codes, in catalog order, worked out from ``codes``
    per_day_groups: Mapping[str, tuple[str, ...]] = attrs.field(init=False, eq=False, repr=False)
    #: add-on codes and codes of a once-per-day group (what ``code.add-on`` looks at)
    per_day_or_addon: frozenset[str] = attrs.field(init=False, eq=False, repr=False)
    #: codes in use only part of our data period (``valid_from``/``valid_until``)
    dated_codes: frozenset[str] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        fixed = frozenset(c for c, info in self.codes.items() if info.discipline is not None)
        object.__setattr__(self, "discipline_codes", fixed)  # attrs' way to set a frozen field
        groups: dict[str, list[str]] = {}
        for code, info in self.codes.items():
            if info.per_day is not None:
                groups.setdefault(info.per_day, []).append(code)
        object.__setattr__(self, "per_day_groups", {g: tuple(c) for g, c in groups.items()})
        watched = frozenset(c for c, i in self.codes.items() if i.per_day is not None or i.addon_to)
        object.__setattr__(self, "per_day_or_addon", watched)
        dated = frozenset(
            c
            for c, i in self.codes.items()
            if i.valid_from is not None or i.valid_until is not None
        )
        object.__setattr__(self, "dated_codes", dated)

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


@functools.cache
def catalog() -> Catalog:
    """The bundled catalog, read on first call and shared afterwards."""
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
        m: ModifierInfo(modifier=m, kind=str(v["kind"]), meaning=str(v["meaning"]))
        for m, v in mods_raw["modifiers"].items()
    }
    regions = {r: bool(v["spinal"]) for r, v in vocab["regions"].items()}
    techniques = {t: str(f) for t, f in vocab["techniques"].items()}
    for technique, family in techniques.items():
        if family not in families:
            raise DataError(f"technique {technique} maps to unknown family", source="vocab.toml")
    return Catalog(
        codes=codes,
        modifiers=modifiers,
        regions=regions,
        techniques=techniques,
        families={f: tuple(c) for f, c in families.items()},
        data_start=codes_raw["data_start"],
        spinal_regions=frozenset(r for r, spinal in regions.items() if spinal),
    )
