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

import csv
import datetime as dt
import functools
import io
import json
import os
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any, Literal

import attrs

from .catalog import catalog
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
    "claim_carries",
    "load_minutes",
    "load_payer_map",
    "taxonomy_map",
    "with_minutes",
]

Format = Literal["x12", "fhir"]

#: Minutes passed beside claims: (claim id, line position) -> minutes, where the
#: position is the LX number (X12) or item sequence (FHIR).
Minutes = Mapping[tuple[str, int], int]


def claim_carries(session: Session) -> frozenset[str]:
    """What of ``minutes``, ``clock`` and ``documentation`` a claim's session holds.

    ``minutes`` when every line of a timed code has its minutes (837P ``MJ``
    units, a FHIR quantity in minutes, or minutes passed beside the claim);
    ``clock`` when every such line also has its start time (a FHIR period). A
    claim never carries the visit's documentation.
    """
    codes = catalog().codes
    timed = [ln for ln in session.lines if (info := codes.get(ln.code)) and info.timed]
    if any(ln.minutes is None for ln in timed):
        return frozenset()
    if any(ln.start is None for ln in timed):
        return frozenset({"minutes"})
    return frozenset({"minutes", "clock"})


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


def payer_map_of(payer_map: PayerMap | Mapping[str, str] | None) -> PayerMap:
    """The map a reader uses: the given :class:`PayerMap` as it is, or the bundled
    map (with payer id entries of a plain mapping on top)."""
    if isinstance(payer_map, PayerMap):
        return payer_map
    if payer_map is None:
        return bundled_payer_map()
    return bundled_payer_map().merged(PayerMap(payer_ids=dict(payer_map)))


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
    ``carries`` (worked out from the session by :func:`claim_carries`) names
    what the claim holds of minutes, clock times and documentation: rules that
    need the rest are reported as not checked.
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
    carries: frozenset[str] = attrs.field(init=False)

    @carries.default
    def _carries(self) -> frozenset[str]:
        return claim_carries(self.session)


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
    """Check one claim visit with ``engine`` (default: :func:`cptrules.default_engine`).

    Rules that need what the claim does not carry (``visit.carries``: minutes,
    clock times, documentation) do not run; one ``claim.not-checked`` info names
    them, and billed units of timed codes are taken as given.
    """
    eng = default_engine() if engine is None else engine
    return ClaimReport(
        visit=visit, report=eng.check(visit.session, payer=payer, carries=visit.carries)
    )


def visit_data(
    day: dt.date,
    payer: str,
    npi: str | None,
    discipline: str,
    lines: list[dict[str, Any]],
    diagnoses: list[str],
) -> dict[str, Any]:
    """The session (JSON-shaped) of one claim's lines on one day for one rendering
    provider: what both claim readers hand to :func:`cptrules.load_session`."""
    provider: dict[str, Any] = {"discipline": discipline}
    if npi:
        provider["npi"] = npi
    data: dict[str, Any] = {
        "date_of_service": day.isoformat(),
        "payer": payer,
        "provider": provider,
        "lines": lines,
    }
    if diagnoses:
        data["diagnoses"] = diagnoses
    return data


def with_minutes(visit: ClaimVisit, minutes: Minutes | None) -> ClaimVisit:
    """``visit`` with the minutes of its lines found in ``minutes`` filled in.

    ``minutes`` maps (claim id, position) to minutes, the position being the
    LX number or item sequence. Lines not in it keep what the claim sent; a
    value the session refuses raises :class:`~cptrules.InvalidSessionError`.
    """
    if not minutes:
        return visit
    claim = visit.claim
    lines = list(visit.session.lines)
    changed = False
    for i, pos in enumerate(visit.positions):
        got = minutes.get((claim, pos))
        if got is not None:
            lines[i] = attrs.evolve(lines[i], minutes=got)
            changed = True
    if not changed:
        return visit
    return attrs.evolve(visit, session=attrs.evolve(visit.session, lines=tuple(lines)))


#: the most minutes one line can carry beside a claim (a day)
_MAX_LINE_MINUTES = 1440


def load_minutes(path: str | os.PathLike[str]) -> dict[tuple[str, int], int]:
    """Read minutes to pass beside claims: (claim id, line position) -> minutes.

    A JSON file maps each claim id to an object of line position (LX number or
    FHIR item sequence, as text) to minutes: ``{"PT-1001": {"1": 38, "2": 15}}``.
    A CSV file (any other name) has the header ``claim,line,minutes`` and one row
    per line. Problems raise :class:`~cptrules.errors.DataError` naming the row or
    position, never the claim id.
    """
    origin = os.path.basename(os.fspath(path))
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read minutes: {exc.__class__.__name__}") from None
    rows: list[tuple[str, object, object, str]] = []  # claim, line, minutes, where
    if origin.lower().endswith(".json"):
        try:
            raw = json.loads(text)
        except ValueError:
            raise DataError("not valid JSON", source=origin) from None
        if not isinstance(raw, dict):
            raise DataError("must map claim ids to objects of line -> minutes", source=origin)
        for k, (claim, lines) in enumerate(raw.items(), 1):
            if not isinstance(lines, dict):
                raise DataError(f"claim {k}: must map lines to minutes", source=origin)
            rows += [(claim, ln, m, f"claim {k}") for ln, m in lines.items()]
    else:
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header] != ["claim", "line", "minutes"]:
            raise DataError("the header must be claim,line,minutes", source=origin)
        for k, row in enumerate(reader, 2):
            if not row:
                continue
            if len(row) != 3:
                raise DataError(f"row {k}: must have 3 fields", source=origin)
            rows.append((row[0].strip(), row[1], row[2], f"row {k}"))
    out: dict[tuple[str, int], int] = {}
    for claim, line, minutes, where in rows:
        pos, mins = _whole(line), _whole(minutes)
        if not claim or pos is None or pos < 1:
            raise DataError(f"{where}: a claim id and a line number from 1", source=origin)
        if mins is None or not 0 <= mins <= _MAX_LINE_MINUTES:
            raise DataError(
                f"{where}: minutes must be a whole number 0-{_MAX_LINE_MINUTES}", source=origin
            )
        out[(claim, pos)] = mins
    return out


def _whole(value: object) -> int | None:
    """``value`` as a whole number (an int, or digits as text), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
