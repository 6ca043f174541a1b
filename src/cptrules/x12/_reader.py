"""The 837P reader: an interchange in, one :class:`ClaimVisit` per claim and date of service out.

Structure read (ASC X12 005010X222A1 and A2, the 837P TR3):

- envelopes ISA/IEA, GS/GE, ST/SE with their control numbers and counts;
- 2000A billing provider (HL 20): PRV*BI taxonomy, 2010AA NM1*85 NPI;
- 2000B subscriber (HL 22): SBR09 claim filing code, 2010BB NM1*PR payer id;
- 2000C patient (HL 23), under its subscriber;
- 2300 claim: CLM01 id, CLM05-1 place of service, HI diagnoses (ABK, ABF),
  CR2 chiropractic certification, 2310B NM1*82 + PRV*PE rendering provider;
- 2400 line: LX number, SV1 code:modifiers, charge, UN units or MJ minutes,
  diagnosis pointers, DTP*472 date of service, 2420A NM1*82 + PRV*PE.

Lines are grouped by date of service (and rendering provider, since a session
has one provider); each group becomes a session through
:func:`cptrules.load_session`. A claim that cannot be read yields an
:class:`X12Error` locating every problem; envelope problems yield one too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .._interop import (
    ClaimVisit,
    Minutes,
    PayerMap,
    payer_map_of,
    taxonomy_map,
    visit_data,
    with_minutes,
)
from .._memo import Memo
from ..errors import InvalidSessionError
from ..parsing import load_session
from ._segments import Problem, Source, X12Error, _Fatal, segments

__all__ = ["MAX_CLAIM_LINES", "VERSIONS", "read_837"]

#: The implementation guides read: 837P 5010 and its errata.
VERSIONS = frozenset(("005010X222A1", "005010X222A2", "005010X222"))
#: Service lines one 837P claim may carry: loop 2400 repeats at most 50 times
#: (single source: the limit as a public 837P validator states it).
MAX_CLAIM_LINES = 50
#: Diagnoses one 837P claim may carry: 12 (2300 HI; as a payer bulletin, Community
#: Health Plan of Washington's "Billing Requirements for Diagnosis Code Limits", states it).
MAX_DIAGNOSES = 12

_ICD10 = frozenset(("ABK", "ABF"))
_ICD9 = frozenset(("BK", "BF"))
# HI qualifiers of other 837P HI segments (anesthesia procedures, conditions):
# not diagnoses, not used by any rule.
_OTHER_HI = frozenset(("BP", "BO", "BG"))
_QUANTITY = re.compile(r"\d{1,9}(\.\d{0,6})?|\.\d{1,6}", re.ASCII)
_D8 = re.compile(r"\d{8}", re.ASCII)
_SEG_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}", re.ASCII)
_LINE_PATH = re.compile(r"lines\[(\d+)\](?:\.(\w+))?")
_DIAG_PATH = re.compile(r"diagnoses\[(\d+)\]")
_FIELD_ELEMENT = {
    "code": "SV101-2",
    "modifiers": "SV101-3",
    "units": "SV104",
    "minutes": "SV104",
    "diagnosis_pointers": "SV107",
}


_DAYS: Memo[str, dt.date] = Memo("x12 CCYYMMDD dates", size=4096)


def _date8(value: str) -> dt.date | None:
    day = _DAYS.get(value)
    if day is not None:
        return day
    if not _D8.fullmatch(value):
        return None
    try:
        day = dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None
    return _DAYS.put(value, day)


class _Line:
    __slots__ = (
        "charge",
        "code",
        "date",
        "date_seg",
        "end",
        "lx",
        "lx_seg",
        "minutes",
        "modifiers",
        "npi",
        "npi_seg",
        "pointers",
        "sv1_seg",
        "taxonomy",
        "taxonomy_seg",
        "units",
    )

    def __init__(self, lx: int, lx_seg: int):
        self.lx, self.lx_seg = lx, lx_seg
        self.sv1_seg = 0
        self.end = 0
        self.code: str | None = None
        self.modifiers: list[str] = []
        self.charge = "0"
        self.units: int | None = None
        self.minutes: int | None = None
        self.pointers: list[int] = []
        self.date: dt.date | None = None
        self.date_seg = 0
        self.npi: str | None = None
        self.npi_seg = 0
        self.taxonomy: str | None = None
        self.taxonomy_seg = 0


#: Most problems kept for one claim (a junk claim of a million bad lines stays small).
MAX_PROBLEMS = 100


class _Problems(list[Problem]):
    """A claim's problems, at most :data:`MAX_PROBLEMS` of them, then a note that more exist."""

    def append(self, problem: Problem) -> None:
        if len(self) < MAX_PROBLEMS:
            super().append(problem)
        elif len(self) == MAX_PROBLEMS:
            super().append(Problem(None, None, None, "more problems in this claim, not listed"))


class _Claim:
    __slots__ = (
        "cr2",
        "diag_segs",
        "diagnoses",
        "id",
        "lines",
        "npi",
        "npi_seg",
        "pos",
        "problems",
        "seg",
        "taxonomy",
        "taxonomy_seg",
    )

    def __init__(self, claim_id: str, seg: int, pos: str | None):
        self.id, self.seg, self.pos = claim_id, seg, pos
        self.lines: list[_Line] = []
        self.diagnoses: list[str] = []
        self.diag_segs: list[int] = []
        self.problems: list[Problem] = _Problems()
        self.npi: str | None = None
        self.npi_seg = 0
        self.taxonomy: str | None = None
        self.taxonomy_seg = 0
        self.cr2 = False


class _Parties:
    """Billing provider and subscriber context the claims below them inherit."""

    __slots__ = (
        "bill_npi",
        "bill_npi_seg",
        "bill_taxonomy",
        "bill_taxonomy_seg",
        "filing",
        "hl22",
        "payer_id",
        "payer_seg",
    )

    def __init__(self) -> None:
        self.bill_npi: str | None = None
        self.bill_npi_seg = 0
        self.bill_taxonomy: str | None = None
        self.bill_taxonomy_seg = 0
        self.reset_subscriber(None)

    def reset_subscriber(self, hl: str | None) -> None:
        self.hl22 = hl
        self.filing: str | None = None
        self.payer_id: str | None = None
        self.payer_seg = 0


def _quantity(value: str) -> int | None:
    """A whole, non-negative quantity from an X12 decimal ("1", "2.00"), else None."""
    if value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    if not _QUANTITY.fullmatch(value):
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None
    whole = int(number)
    return whole if number == whole else None


def _icd10(code: str) -> str:
    """ICD-10-CM as the session format writes it: X12 sends no dot (M5450 -> M54.50)."""
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 and "." not in code else code


def _separator_hint(value: str, component: str) -> str:
    seps = {">", ":", "^", "|", "\\"} - {component}
    if any(c in value for c in seps):
        return (
            f" (it seems to use another component separator than the {component!r} ISA16 declares)"
        )
    return ""


class _Reader:
    def __init__(
        self,
        payer_map: PayerMap,
        payer: str | None,
        discipline: str | None,
    ) -> None:
        self.payer_map = payer_map
        self.payer = payer
        self.discipline = discipline
        self.taxonomy = taxonomy_map()
        # SV101 composites seen (code, modifiers), per reader: the component separator is fixed
        self._procs: dict[str, tuple[str, list[str]]] = {}

    # ------------------------------------------------------------------ the stream

    def read(self, source: Source) -> Iterator[ClaimVisit | X12Error]:
        env: list[Problem] = []  # envelope problems, yielded as soon as found
        parties = _Parties()
        claim: _Claim | None = None
        line: _Line | None = None
        last_nm1 = ""
        isa_control = ""
        gs_control = ""
        st_control = ""
        groups = 0
        sets = 0
        st_start = 0  # index of the open ST segment; 0 = not inside ST
        skip_group = False
        in_group = False
        ended = False
        component = ":"
        index = 0
        try:
            for delims, index, els in segments(source):
                sid = els[0]
                if ended:
                    env.append(Problem(index, sid, None, "data after the IEA segment"))
                    break
                if sid == "ISA":
                    component = delims.component
                    isa_control = els[13] if len(els) > 13 else ""
                    continue
                if skip_group and sid not in ("GE", "IEA"):
                    if sid == "ST":
                        sets += 1
                    continue
                if sid in ("LX", "CLM", "HL", "SE") and line is not None:
                    line.end = index
                    line = None
                if sid in ("CLM", "HL", "SE") and claim is not None:
                    yield from self._finish(claim, parties, component)
                    claim = None
                if sid == "SV1":
                    if line is None or line.sv1_seg:
                        self._problem(claim, env, index, sid, None, "SV1 outside a 2400 loop")
                    else:
                        self._sv1(claim, line, els, index, component)
                elif sid == "DTP":
                    if line is not None and len(els) > 3 and els[1] == "472":
                        self._dtp(claim, line, els, index)
                elif sid == "LX":
                    if claim is None:
                        env.append(Problem(index, sid, None, "LX outside a claim"))
                    else:
                        line = self._lx(claim, els, index)
                elif sid == "NM1":
                    last_nm1 = els[1] if len(els) > 1 else ""
                    npi = els[9] if len(els) > 9 and els[8] == "XX" else None
                    if last_nm1 == "82" and claim is not None:
                        if line is not None:
                            line.npi, line.npi_seg = npi, index
                        else:
                            claim.npi, claim.npi_seg = npi, index
                    elif last_nm1 == "85":
                        parties.bill_npi, parties.bill_npi_seg = npi, index
                    elif last_nm1 == "PR" and claim is None:
                        parties.payer_id = els[9] if len(els) > 9 and els[9] else None
                        parties.payer_seg = parties.payer_seg or index
                elif sid == "PRV":
                    code = els[3] if len(els) > 3 else ""
                    kind = els[1] if len(els) > 1 else ""
                    if kind == "BI":
                        parties.bill_taxonomy, parties.bill_taxonomy_seg = code, index
                    elif kind == "PE" and last_nm1 == "82" and claim is not None:
                        if line is not None:
                            line.taxonomy, line.taxonomy_seg = code, index
                        else:
                            claim.taxonomy, claim.taxonomy_seg = code, index
                elif sid == "HI":
                    if claim is not None and line is None:
                        self._hi(claim, els, index, component)
                elif sid == "CR2":
                    if claim is not None:
                        claim.cr2 = True
                elif sid == "CLM":
                    if parties.hl22 is None:
                        env.append(Problem(index, sid, None, "claim outside a subscriber (HL 22)"))
                    claim_id = els[1] if len(els) > 1 else ""
                    pos = els[5].split(component)[0] if len(els) > 5 and els[5] else None
                    claim = _Claim(claim_id, index, pos)
                    if not claim_id:
                        claim.problems.append(Problem(index, sid, "CLM01", "no claim id"))
                elif sid == "HL":
                    level = els[3] if len(els) > 3 else ""
                    if level == "20":
                        parties = _Parties()
                    elif level == "22":
                        parties.reset_subscriber(els[1] if len(els) > 1 else "")
                    elif level == "23":
                        if parties.hl22 is None or (len(els) > 2 and els[2] != parties.hl22):
                            env.append(
                                Problem(index, sid, "HL02", "patient level without its subscriber")
                            )
                    else:
                        env.append(Problem(index, sid, "HL03", "not a 837P hierarchy level"))
                elif sid == "SBR":
                    parties.filing = els[9] if len(els) > 9 and els[9] else None
                    parties.payer_seg = index
                elif sid == "ST":
                    if st_start:
                        env.append(Problem(index, sid, None, "ST inside a transaction set"))
                    sets += 1
                    st_start = index
                    st_control = els[2] if len(els) > 2 else ""
                    ident = els[1] if len(els) > 1 else ""
                    version = els[3] if len(els) > 3 else ""
                    if ident != "837":
                        env.append(Problem(index, sid, "ST01", "not an 837 transaction set"))
                    if version and version not in VERSIONS:
                        env.append(
                            Problem(index, sid, "ST03", f"version {version[:20]} is not 837P 5010")
                        )
                    parties = _Parties()
                elif sid == "SE":
                    if not st_start:
                        env.append(Problem(index, sid, None, "SE without ST"))
                    else:
                        st_count = index - st_start + 1
                        if (els[1] if len(els) > 1 else "") != str(st_count):
                            env.append(
                                Problem(index, sid, "SE01", f"segment count is not {st_count}")
                            )
                        if (els[2] if len(els) > 2 else "") != st_control:
                            env.append(Problem(index, sid, "SE02", "does not match ST02"))
                    st_start = 0
                elif sid == "GS":
                    groups += 1
                    sets = 0
                    in_group = True
                    gs_control = els[6] if len(els) > 6 else ""
                    version = els[8] if len(els) > 8 else ""
                    if (els[1] if len(els) > 1 else "") != "HC":
                        env.append(Problem(index, sid, "GS01", "not a health care claim group"))
                        skip_group = True
                    elif version not in VERSIONS:
                        env.append(
                            Problem(
                                index,
                                sid,
                                "GS08",
                                f"version {version[:20]} is not read: only 837P 5010 "
                                "(005010X222A1 or A2)",
                            )
                        )
                        skip_group = True
                elif sid == "GE":
                    if not in_group:
                        env.append(Problem(index, sid, None, "GE without GS"))
                    if st_start:
                        env.append(Problem(index, sid, None, "transaction set not closed by SE"))
                        st_start = 0
                    if (els[1] if len(els) > 1 else "") != str(sets):
                        env.append(
                            Problem(index, sid, "GE01", f"transaction set count is not {sets}")
                        )
                    if (els[2] if len(els) > 2 else "") != gs_control:
                        env.append(Problem(index, sid, "GE02", "does not match GS06"))
                    in_group = skip_group = False
                elif sid == "IEA":
                    if in_group:
                        env.append(Problem(index, sid, None, "functional group not closed by GE"))
                    if (els[1] if len(els) > 1 else "") != str(groups):
                        env.append(Problem(index, sid, "IEA01", f"group count is not {groups}"))
                    if (els[2] if len(els) > 2 else "") != isa_control:
                        env.append(Problem(index, sid, "IEA02", "does not match ISA13"))
                    ended = True
                elif not _SEG_ID.fullmatch(sid):
                    self._problem(claim, env, index, None, None, "not a segment id")
                if env:
                    yield X12Error(env)
                    env = []
        except _Fatal as fatal:
            env.append(fatal.problem)
        except X12Error as exc:
            env.extend(exc.problems)
        if claim is not None:
            claim.problems.append(
                Problem(claim.seg, "CLM", None, "the claim is not closed (the input ends early)")
            )
            yield X12Error(claim.problems, claim=claim.id or None)
        if not ended and not any(p.segment is None for p in env):
            env.append(Problem(None, None, None, "the interchange ends without IEA"))
        if env:
            yield X12Error(env)

    @staticmethod
    def _problem(
        claim: _Claim | None,
        env: list[Problem],
        index: int,
        sid: str | None,
        element: str | None,
        message: str,
    ) -> None:
        (claim.problems if claim is not None else env).append(Problem(index, sid, element, message))

    # ------------------------------------------------------------------ segments

    def _sv1(
        self, claim: _Claim | None, line: _Line, els: list[str], index: int, comp: str
    ) -> None:
        assert claim is not None  # a line only exists inside a claim
        line.sv1_seg = index
        probs = claim.problems
        composite = els[1] if len(els) > 1 else ""
        proc = self._procs.get(composite)
        if proc is None:
            parts = composite.split(comp)
            if parts[0] != "HC" or len(parts) < 2:
                hint = _separator_hint(parts[0], comp)
                probs.append(Problem(index, "SV1", "SV101-1", f"not an HC (CPT/HCPCS) code{hint}"))
                return
            proc = (parts[1], [m for m in parts[2:6] if m])
            if len(self._procs) >= 4096:
                self._procs.clear()
            self._procs[composite] = proc
        line.code, line.modifiers = proc[0], proc[1].copy()
        line.charge = els[2] if len(els) > 2 and els[2] else "0"
        basis = els[3] if len(els) > 3 else ""
        qty = _quantity(els[4]) if len(els) > 4 else None
        if qty is None:
            probs.append(Problem(index, "SV1", "SV104", "not a whole quantity"))
        elif basis == "UN":
            line.units = qty
        elif basis == "MJ":
            line.minutes = qty
        else:
            probs.append(Problem(index, "SV1", "SV103", "unit basis is neither UN nor MJ"))
        if len(els) > 7 and els[7]:
            for k, ptr in enumerate(els[7].split(comp)[:4], start=1):
                if ptr.isdigit() and len(ptr) <= 2:
                    line.pointers.append(int(ptr))
                else:
                    probs.append(Problem(index, "SV1", f"SV107-{k}", "not a diagnosis pointer"))

    @staticmethod
    def _lx(claim: _Claim, els: list[str], index: int) -> _Line | None:
        try:
            number = int(els[1])
        except (IndexError, ValueError):
            number = len(claim.lines) + 1
            claim.problems.append(Problem(index, "LX", "LX01", "not a line number"))
        if len(claim.lines) >= MAX_CLAIM_LINES:
            claim.problems.append(
                Problem(index, "LX", None, f"more than {MAX_CLAIM_LINES} service lines")
            )
            return None
        line = _Line(number, index)
        claim.lines.append(line)
        return line

    def _dtp(self, claim: _Claim | None, line: _Line, els: list[str], index: int) -> None:
        assert claim is not None
        fmt, value = els[2], els[3]
        day: dt.date | None = None
        if fmt == "D8":
            day = _date8(value)
        elif fmt == "RD8":
            first, _, last = value.partition("-")
            day = _date8(first)
            if day is not None and _date8(last) != day:
                claim.problems.append(
                    Problem(index, "DTP", "DTP03", "a date range of several days is not one visit")
                )
                return
        if day is None:
            claim.problems.append(Problem(index, "DTP", "DTP03", "not a date CCYYMMDD"))
            return
        line.date, line.date_seg = day, index

    def _hi(self, claim: _Claim, els: list[str], index: int, comp: str) -> None:
        for k, element in enumerate(els[1:], start=1):
            if not element:
                continue
            parts = element.split(comp)
            qual = parts[0]
            ref = f"HI{k:02d}-1"
            if qual in _ICD10 and len(parts) > 1:
                if len(claim.diagnoses) >= MAX_DIAGNOSES:
                    claim.problems.append(Problem(index, "HI", ref, "more than 12 diagnoses"))
                    continue
                claim.diagnoses.append(_icd10(parts[1]))
                claim.diag_segs.append(index)
            elif qual in _ICD9:
                claim.problems.append(
                    Problem(
                        index, "HI", ref, f"{qual} is an ICD-9-CM diagnosis: only ICD-10-CM is read"
                    )
                )
            elif qual not in _OTHER_HI:
                hint = _separator_hint(qual, comp)
                claim.problems.append(Problem(index, "HI", ref, f"not a known HI qualifier{hint}"))

    # ------------------------------------------------------------------ one claim

    def _discipline(
        self, claim: _Claim, line: _Line, parties: _Parties
    ) -> tuple[str | None, Problem | None]:
        for code, seg in (
            (line.taxonomy, line.taxonomy_seg),
            (claim.taxonomy, claim.taxonomy_seg),
            (parties.bill_taxonomy, parties.bill_taxonomy_seg),
        ):
            if code:
                found = self.taxonomy.discipline(code) or self.discipline
                if found is None:
                    return None, Problem(
                        seg,
                        "PRV",
                        "PRV03",
                        f"taxonomy {code[:10]} is not mapped to a discipline; pass the discipline",
                    )
                return found, None
        if self.discipline is not None:
            return self.discipline, None
        return None, Problem(
            line.sv1_seg or line.lx_seg,
            "SV1",
            None,
            "no provider taxonomy (PRV) tells the discipline; pass the discipline",
        )

    def _finish(
        self, claim: _Claim, parties: _Parties, comp: str
    ) -> Iterator[ClaimVisit | X12Error]:
        probs = claim.problems
        if not claim.lines and not probs:
            probs.append(Problem(claim.seg, "CLM", None, "the claim has no service lines"))
        payer = self.payer or self.payer_map.profile(parties.payer_id, parties.filing)
        if payer is None:
            probs.append(
                Problem(
                    parties.payer_seg or None,
                    "SBR",
                    "SBR09",
                    "neither the payer id nor the claim filing code is in the payer map; "
                    "pass a payer map or the payer",
                )
            )
        groups: dict[tuple[dt.date, str | None, str], list[_Line]] = {}
        for line in claim.lines:
            if line.code is None:
                if line.sv1_seg == 0:
                    probs.append(Problem(line.lx_seg, "LX", None, "service line without SV1"))
                continue
            if line.date is None:
                probs.append(Problem(line.sv1_seg, "SV1", None, "no service date (DTP*472)"))
                continue
            discipline, problem = self._discipline(claim, line, parties)
            if problem is not None:
                probs.append(problem)
                continue
            assert discipline is not None
            npi = line.npi or claim.npi or parties.bill_npi
            groups.setdefault((line.date, npi, discipline), []).append(line)
        if probs:
            yield X12Error(_dedupe(probs), claim=claim.id or None)
            return
        assert payer is not None
        diagnoses = claim.diagnoses
        for (day, npi, discipline), lines in groups.items():
            data = visit_data(day, payer, npi, discipline, list(map(_line_dict, lines)), diagnoses)
            try:
                session = load_session(data)
            except InvalidSessionError as exc:
                yield X12Error(
                    _dedupe([self._locate(claim, parties, lines, p, m) for p, m in exc.errors]),
                    claim=claim.id,
                )
                continue
            yield ClaimVisit(
                claim=claim.id,
                session=session,
                positions=tuple(ln.lx for ln in lines),
                format="x12",
                place_of_service=claim.pos,
                not_carried=("CR2",) if claim.cr2 else (),
                segments=tuple((ln.lx_seg, ln.sv1_seg, ln.end) for ln in lines),
                clm_segment=claim.seg,
                charges=tuple(ln.charge for ln in lines),
            )

    @staticmethod
    def _locate(
        claim: _Claim, parties: _Parties, lines: list[_Line], path: str, message: str
    ) -> Problem:
        m = _LINE_PATH.match(path)
        if m and int(m.group(1)) < len(lines):
            line = lines[int(m.group(1))]
            element = _FIELD_ELEMENT.get(m.group(2) or "")
            return Problem(line.sv1_seg, "SV1", element, f"{path}: {message}")
        m = _DIAG_PATH.match(path)
        if m and int(m.group(1)) < len(claim.diag_segs):
            return Problem(claim.diag_segs[int(m.group(1))], "HI", None, f"{path}: {message}")
        if path.startswith("provider.npi"):
            seg = lines[0].npi_seg or claim.npi_seg or parties.bill_npi_seg
            return Problem(seg or claim.seg, "NM1", "NM109", f"{path}: {message}")
        if path == "payer":
            return Problem(parties.payer_seg or claim.seg, "SBR", None, f"{path}: {message}")
        return Problem(claim.seg, "CLM", None, f"{path}: {message}")


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    out = []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def _line_dict(line: _Line) -> dict[str, Any]:
    out: dict[str, Any] = {"code": line.code}
    if line.units is not None:
        out["units"] = line.units
    if line.minutes is not None:
        out["minutes"] = line.minutes
    if line.modifiers:
        out["modifiers"] = line.modifiers
    if line.pointers:
        out["diagnosis_pointers"] = line.pointers
    return out


def read_837(
    source: Source,
    *,
    payer: str | None = None,
    payer_map: PayerMap | Mapping[str, str] | None = None,
    discipline: str | None = None,
    minutes: Minutes | None = None,
) -> Iterator[ClaimVisit | X12Error]:
    """Read an X12 837P interchange: one result per claim and date of service, streamed.

    ``source`` is the text or bytes of the file, a path (``pathlib.Path``) or a
    file object. Each result is a :class:`~cptrules.x12.ClaimVisit` (check it
    with :func:`~cptrules.x12.check_visit`) or an :class:`X12Error` naming the
    claim (``.claim``) where known and locating every problem by segment.
    Envelope problems (counts, control numbers, versions other than 5010)
    arrive as an :class:`X12Error` without a claim when they are found.

    ``payer`` checks every claim under that profile; ``payer_map`` adds payer id
    entries (a mapping of payer id to profile, or a :class:`PayerMap`) to the
    bundled map; ``discipline`` sets the provider's discipline for every claim
    where the taxonomy does not tell it (physicians).

    An 837P carries units, not minutes: ``minutes``, a mapping of (claim id, LX
    number) to the line's minutes, fills them in from the EMR so the timed-unit
    rules run (see :func:`~cptrules.x12.check_visit`).
    """
    pmap = payer_map_of(payer_map)
    results = _Reader(pmap, payer, discipline).read(source)
    return results if not minutes else _with_minutes(results, minutes)


def _with_minutes(
    results: Iterator[ClaimVisit | X12Error], minutes: Minutes
) -> Iterator[ClaimVisit | X12Error]:
    """``results`` with the minutes passed beside the claims filled in."""
    for result in results:
        if isinstance(result, ClaimVisit):
            try:
                result = with_minutes(result, minutes)
            except InvalidSessionError as exc:
                result = X12Error(
                    [
                        Problem(result.clm_segment, "CLM", None, f"minutes given: {p}: {m}")
                        for p, m in exc.errors
                    ],
                    claim=result.claim,
                )
        yield result
