"""What the X12 and FHIR readers share: the payer map, the taxonomy map, and claim visits.

A claim read from an X12 837P (:mod:`cptrules.x12`) or a FHIR R4 Claim
(:mod:`cptrules.fhir`) becomes one :class:`ClaimVisit` per date of service: the
session the engine checks, plus where each session line sits in the claim (its
LX number or item sequence) so a biller can find it. :func:`check_visit` turns a
visit into a :class:`ClaimReport`, whose JSON names the claim and each line's
position in it.

The maps are data (``data/claim_payers.toml``, ``data/nucc_taxonomy.toml``),
read once on first use.
"""

from __future__ import annotations

import functools
import os
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any, Literal

import attrs

from .engine import Engine, default_engine
from .errors import DataError
from .models import Session
from .report import Fix, Report

__all__ = [
    "ClaimReport",
    "ClaimVisit",
    "PayerMap",
    "TaxonomyMap",
    "bundled_payer_map",
    "check_visit",
    "load_payer_map",
    "taxonomy_map",
]

Format = Literal["x12", "fhir"]


@attrs.frozen
class PayerMap:
    """Claim filing indicator codes (X12 SBR09) and payer ids to payer profile ids.

    A payer id entry wins over a claim filing code. Build one with
    :func:`load_payer_map` (a TOML file in the bundled layout) or directly.
    """

    claim_filing: Mapping[str, str] = attrs.field(factory=dict)
    payer_ids: Mapping[str, str] = attrs.field(factory=dict)

    def profile(self, payer_id: str | None, filing_code: str | None) -> str | None:
        """The profile id for a claim, or None when neither key is mapped."""
        if payer_id is not None:
            hit = self.payer_ids.get(payer_id)
            if hit is not None:
                return hit
        if filing_code is not None:
            return self.claim_filing.get(filing_code)
        return None

    def keys_for(self, profile: str) -> tuple[str | None, str | None]:
        """A (payer id, claim filing code) that maps to ``profile`` (for writing claims)."""
        pid = next((k for k, v in self.payer_ids.items() if v == profile), None)
        code = next((k for k, v in self.claim_filing.items() if v == profile), None)
        return pid, code

    def merged(self, other: PayerMap) -> PayerMap:
        """This map with ``other``'s entries added on top."""
        return PayerMap(
            claim_filing={**self.claim_filing, **other.claim_filing},
            payer_ids={**self.payer_ids, **other.payer_ids},
        )


def _str_table(raw: Any, key: str, origin: str) -> dict[str, str]:
    table = raw.get(key, {})
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in table.items()
    ):
        raise DataError(f"[{key}] must map strings to profile ids", source=origin)
    return dict(table)


def _payer_map_from(text: str, origin: str) -> PayerMap:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"not valid TOML: {exc}", source=origin) from None
    unknown = set(raw) - {"claim_filing", "payer_ids"}
    if unknown:
        raise DataError("unknown table (allowed: claim_filing, payer_ids)", source=origin)
    return PayerMap(
        claim_filing=_str_table(raw, "claim_filing", origin),
        payer_ids=_str_table(raw, "payer_ids", origin),
    )


@functools.cache
def bundled_payer_map() -> PayerMap:
    """The bundled payer map (``data/claim_payers.toml``)."""
    text = resources.files("cptrules.data").joinpath("claim_payers.toml").read_text("utf-8")
    return _payer_map_from(text, "claim_payers.toml")


def load_payer_map(path: str | os.PathLike[str], *, extend: bool = True) -> PayerMap:
    """Read a payer map file (the bundled layout); by default on top of the bundled map."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read payer map: {exc.__class__.__name__}") from None
    own = _payer_map_from(text, os.path.basename(os.fspath(path)))
    return bundled_payer_map().merged(own) if extend else own


@attrs.frozen
class TaxonomyMap:
    """NUCC provider taxonomy codes to disciplines, and back."""

    prefixes: Mapping[str, str]
    codes: Mapping[str, str]
    primary: Mapping[str, str]
    fhir_qualification: Mapping[str, str]

    def discipline(self, taxonomy: str) -> str | None:
        """The discipline of a taxonomy code, or None when it is not mapped."""
        hit = self.codes.get(taxonomy)
        if hit is None:
            hit = self.prefixes.get(taxonomy[:4])
        return hit


@functools.cache
def taxonomy_map() -> TaxonomyMap:
    """The bundled taxonomy map (``data/nucc_taxonomy.toml``)."""
    origin = "nucc_taxonomy.toml"
    try:
        raw = tomllib.loads(resources.files("cptrules.data").joinpath(origin).read_text("utf-8"))
        prefixes: dict[str, str] = {}
        codes: dict[str, str] = {}
        primary: dict[str, str] = {}
        for discipline, entry in raw["disciplines"].items():
            primary[discipline] = str(entry["primary"])
            for p in entry.get("prefixes", ()):
                prefixes[str(p)] = discipline
            for c in entry.get("codes", ()):
                codes[str(c)] = discipline
        quals = {str(k): str(v) for k, v in raw.get("fhir_qualification", {}).items()}
    except (OSError, KeyError, AttributeError, tomllib.TOMLDecodeError) as exc:  # pragma: no cover
        raise DataError(f"cannot read bundled data: {exc}", source=origin) from None
    return TaxonomyMap(prefixes=prefixes, codes=codes, primary=primary, fhir_qualification=quals)


@attrs.frozen
class ClaimVisit:
    """One claim's services on one date of service, as a session the engine checks.

    ``claim`` is the claim's own id (X12 CLM01, FHIR Claim.id): it is echoed in
    the report's ``claim`` key, never in a message, and kept out of the repr.
    ``positions[i]`` is where session line ``i`` sits in the claim: its LX number
    (X12) or item sequence (FHIR). ``place_of_service`` is the claim's place of
    service code where sent. ``not_carried`` names what the claim sent that the
    session cannot carry, so a caller can see what was not checked.
    The X12 reader also records segment positions for :func:`cptrules.x12.write_837`.
    """

    claim: str = attrs.field(repr=False)
    session: Session
    positions: tuple[int, ...]
    format: Format = "x12"
    place_of_service: str | None = None
    not_carried: tuple[str, ...] = ()
    #: X12 only: per session line, (LX index, SV1 index, index after the 2400 loop),
    #: indexes counted from 1 at ISA.
    segments: tuple[tuple[int, int, int], ...] = attrs.field(default=(), repr=False)
    #: X12 only: the CLM segment's index, and each session line's charge (SV102).
    clm_segment: int = attrs.field(default=0, repr=False)
    charges: tuple[str, ...] = attrs.field(default=(), repr=False)


@attrs.frozen
class ClaimReport:
    """A report on a :class:`ClaimVisit`: the engine's report, named by claim and position."""

    visit: ClaimVisit
    report: Report

    @property
    def ok(self) -> bool:
        """True when no finding has severity ``error``."""
        return self.report.ok

    def fixes(self) -> list[Fix]:
        """Every finding's fixes, in order (what :func:`cptrules.x12.write_837` applies)."""
        return [fix for finding in self.report.findings for fix in finding.fixes]

    def to_dict(self, *, record: int | None = None, file: str | None = None) -> dict[str, Any]:
        """The report's JSON with ``claim`` and, per unit and finding, ``claim_line``.

        ``record`` and ``file`` are passed on to :meth:`cptrules.Report.to_dict`
        (``cptrules check`` numbers a claim file's reports from 1).
        """
        out = self.report.to_dict(record=record, file=file)
        positions = self.visit.positions
        out = {"claim": self.visit.claim, "format": self.visit.format, **out}
        for item in (*out["units"], *out["findings"]):
            line = item.get("line")
            item["claim_line"] = positions[line] if isinstance(line, int) else None
        return out


def check_visit(
    visit: ClaimVisit, *, engine: Engine | None = None, payer: str | None = None
) -> ClaimReport:
    """Check one claim visit with ``engine`` (default: :func:`cptrules.default_engine`)."""
    eng = default_engine() if engine is None else engine
    return ClaimReport(visit=visit, report=eng.check(visit.session, payer=payer))
