"""Writing 837P: a corrected copy of an interchange, and new interchanges from sessions.

:func:`write_837` streams the original interchange and applies fixes
(:class:`cptrules.Fix`, as findings carry them) to the lines a
:class:`~cptrules.x12.ClaimVisit` points at: SV1 code, modifiers and units
rewritten, removed lines' 2400 loops dropped, LX renumbered within each claim,
CLM02 lowered by the removed lines' charges, and SE01 recounted. Everything else
is written back as it was read. Charges of lines whose units change are left as
billed: the library does not know the provider's fee.

:func:`dump_837` writes sessions as a new 005010X222A1 interchange (one claim
per session): what the strategies and the round-trip tests use.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import IO

from .._interop import ClaimReport, ClaimVisit, PayerMap, bundled_payer_map, taxonomy_map
from ..models import Session
from ..report import Fix
from ._segments import Problem, Source, X12Error, _Fatal, segments

__all__ = ["dump_837", "write_837"]


class _LineEdit:
    __slots__ = ("code", "modifiers", "units")

    def __init__(self, code: str, modifiers: tuple[str, ...], units: int | None):
        self.code, self.modifiers, self.units = code, modifiers, units


def _fmt_money(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if text not in ("-0",) else "0"


class _Plan:
    __slots__ = ("claims", "dropped", "edits", "less")

    def __init__(self) -> None:
        self.edits: dict[int, _LineEdit] = {}  # by SV1 segment index
        self.dropped: list[tuple[int, int]] = []  # [LX index, end) of removed lines
        self.less: dict[int, Decimal] = {}  # CLM02 reductions by CLM segment index
        self.claims: dict[int, str] = {}  # CLM segment index -> CLM01, to check the source


Correction = tuple[ClaimVisit, Iterable[Fix]] | ClaimReport


def _plan(corrections: Iterable[Correction]) -> _Plan:
    plan = _Plan()
    edits, dropped, less = plan.edits, plan.dropped, plan.less
    for item in corrections:
        visit, fixes = (item.visit, item.fixes()) if isinstance(item, ClaimReport) else item
        if visit.format != "x12" or len(visit.segments) != len(visit.session.lines):
            raise X12Error([Problem(None, None, None, "the visit was not read from an 837P")])
        plan.claims[visit.clm_segment] = visit.claim
        state = {
            i: _LineEdit(ln.code, ln.modifiers, ln.units)
            for i, ln in enumerate(visit.session.lines)
        }
        changed: set[int] = set()
        removed: set[int] = set()
        for fix in fixes:
            edit = state.get(fix.line)
            if edit is None:
                raise X12Error([Problem(None, None, None, f"a fix names line {fix.line}")])
            if fix.action == "set_units" and isinstance(fix.value, int):
                edit.units = fix.value
            elif fix.action == "add_modifier" and fix.value not in edit.modifiers:
                edit.modifiers = (*edit.modifiers, str(fix.value))
            elif fix.action == "remove_modifier":
                edit.modifiers = tuple(m for m in edit.modifiers if m != fix.value)
            elif fix.action == "replace_code" and fix.value is not None:
                edit.code = str(fix.value)
            elif fix.action == "remove_line":
                removed.add(fix.line)
            changed.add(fix.line)
        for i in changed - removed:
            edits[visit.segments[i][1]] = state[i]
        for i in sorted(removed):
            lx, _sv1, end = visit.segments[i]
            dropped.append((lx, end))
            try:
                amount = Decimal(visit.charges[i])
            except (InvalidOperation, IndexError):
                amount = Decimal(0)
            less[visit.clm_segment] = less.get(visit.clm_segment, Decimal(0)) + amount
    dropped.sort()
    return plan


def write_837(
    source: Source,
    corrections: Iterable[Correction],
    out: IO[str] | None = None,
) -> str | None:
    """Write ``source`` with each visit's fixes applied; return the text unless ``out`` is given.

    ``corrections`` holds a :class:`ClaimReport` per visit read from this very
    source (its findings' fixes are applied), or ``(visit, fixes)`` pairs.
    Raises :class:`X12Error` when the source cannot be read, differs from the
    one the visits were read from, or the fixes would remove every line of a claim.
    """
    plan = _plan(corrections)
    edits, dropped, less = plan.edits, plan.dropped, plan.less
    applied = 0
    stale = X12Error([Problem(None, None, None, "the visits were not read from this source")])
    sink = io.StringIO() if out is None else out
    write = sink.write
    drop_at = 0
    lx_number = 0
    st_count = 0
    kept_lines = 0
    clm_index = 0
    try:
        for delims, index, els in segments(source):
            elem, comp, term = delims.element, delims.component, delims.segment + delims.newline
            while drop_at < len(dropped) and dropped[drop_at][1] <= index:
                drop_at += 1
            sid = els[0]
            if drop_at < len(dropped) and dropped[drop_at][0] <= index:
                if index == dropped[drop_at][0] and sid != "LX":
                    raise stale
                continue
            if sid == "ISA":
                write(elem.join(els) + term)
                continue
            if sid in ("CLM", "HL", "SE") and clm_index and kept_lines == 0:
                raise X12Error(
                    [Problem(clm_index, "CLM", None, "the fixes remove every line of the claim")]
                )
            if sid == "ST":
                st_count = 0
            st_count += 1
            if sid == "CLM":
                lx_number = 0
                kept_lines = 0
                clm_index = index
                if index in plan.claims:
                    if (els[1] if len(els) > 1 else "") != plan.claims[index]:
                        raise stale
                    applied += 1
                if index in less and len(els) > 2:
                    try:
                        els[2] = _fmt_money(Decimal(els[2]) - less[index])
                    except InvalidOperation:
                        raise X12Error([Problem(index, sid, "CLM02", "not an amount")]) from None
            elif sid in ("HL", "SE"):
                clm_index = 0
            if sid == "LX":
                lx_number += 1
                kept_lines += 1
                els = [sid, str(lx_number)]
            elif sid == "SV1" and index in edits:
                edit = edits[index]
                parts = els[1].split(comp)
                if len(parts) < 2 or parts[0] != "HC":
                    raise X12Error(
                        [Problem(index, sid, None, "not the SV1 the visit was read from")]
                    )
                els[1] = comp.join(["HC", edit.code, *edit.modifiers[:4]])
                if edit.units is not None:
                    while len(els) < 5:
                        els.append("")
                    els[3], els[4] = "UN", str(edit.units)
            elif sid == "SE" and len(els) > 1:
                els[1] = str(st_count)
            write(elem.join(els) + term)
    except _Fatal as fatal:
        raise X12Error([fatal.problem]) from None
    if applied != len(plan.claims):
        raise stale
    return sink.getvalue() if out is None and isinstance(sink, io.StringIO) else None


# --------------------------------------------------------------------------- building


def dump_837(
    claims: Iterable[tuple[str, Session] | Session],
    *,
    payer_map: PayerMap | None = None,
    newline: bool = True,
    version: str = "005010X222A1",
) -> str:
    """A 837P interchange with one claim per session (claim ids given, or ``C1``, ``C2``...).

    The payer is written so that ``payer_map`` (default: the bundled map) reads
    it back: a payer id mapped to the profile, else a claim filing code. The
    provider's taxonomy is its discipline's primary NUCC code. Lines carry code,
    modifiers, units (UN) or, for lines with minutes and no units, minutes (MJ),
    diagnosis pointers and the date of service. Envelope identifiers are fixed
    placeholders (no real submitter, receiver or patient).
    """
    pmap = bundled_payer_map() if payer_map is None else payer_map
    tax = taxonomy_map()
    nl = "\n" if newline else ""
    out: list[str] = []

    def seg(*els: str) -> None:
        values = list(els)
        while values and not values[-1]:
            values.pop()  # X12 drops trailing empty elements
        out.append("*".join(values) + "~" + nl)

    def nm1(entity: str, kind: str, name: str, npi: str | None) -> None:
        if npi:
            seg("NM1", entity, kind, name, "", "", "", "", "XX", npi)
        else:
            seg("NM1", entity, kind, name)

    items: list[tuple[str, Session]] = []
    for i, item in enumerate(claims, start=1):
        items.append((f"C{i}", item) if isinstance(item, Session) else item)
    seg(
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", "SUBMITTER".ljust(15), "ZZ",
        "RECEIVER".ljust(15), "261207", "1200", "^", "00501", "000000001", "0", "T", ":",
    )  # fmt: skip
    seg("GS", "HC", "SUBMITTER", "RECEIVER", "20261207", "1200", "1", "X", version)
    start = len(out)
    seg("ST", "837", "0001", version)
    seg("BHT", "0019", "00", "0001", "20261207", "1200", "CH")
    seg("NM1", "41", "2", "SUBMITTER", "", "", "", "", "46", "S1")
    seg("NM1", "40", "2", "RECEIVER", "", "", "", "", "46", "R1")
    hl = 0
    for claim_id, session in items:
        taxonomy = tax.primary.get(session.provider.discipline)
        payer_id, filing = pmap.keys_for(session.payer)
        if taxonomy is None or (payer_id is None and filing is None):
            raise X12Error([Problem(None, None, None, "no taxonomy or payer key for this session")])
        hl += 1
        bill = hl
        seg("HL", str(bill), "", "20", "1")
        seg("PRV", "BI", "PXC", taxonomy)
        nm1("85", "2", "BILLING", session.provider.npi)
        hl += 1
        seg("HL", str(hl), str(bill), "22", "0")
        seg("SBR", "P", "18", "", "", "", "", "", "", filing or "ZZ")
        seg("NM1", "IL", "1", "SUBSCRIBER", "", "", "", "", "MI", "M1")
        seg("NM1", "PR", "2", "PAYER", "", "", "", "", "PI", payer_id or "P1")
        total = sum((Decimal(1) for _ in session.lines), Decimal(0))
        seg("CLM", claim_id, _fmt_money(total), "", "", "11:B:1", "Y", "A", "Y", "Y")
        if session.diagnoses:
            hi = [
                ("ABK" if k == 0 else "ABF") + ":" + d.replace(".", "")
                for k, d in enumerate(session.diagnoses)
            ]
            seg("HI", *hi)
        nm1("82", "1", "RENDERING", session.provider.npi)
        seg("PRV", "PE", "PXC", taxonomy)
        day = session.date_of_service.strftime("%Y%m%d")
        for n, line in enumerate(session.lines, start=1):
            seg("LX", str(n))
            proc = ":".join(["HC", line.code, *line.modifiers])
            if line.units is None and line.minutes is not None:
                basis, qty = "MJ", line.minutes
            else:
                basis, qty = "UN", line.units if line.units is not None else 1
            ptrs = ":".join(str(p) for p in line.diagnosis_pointers)
            seg("SV1", proc, "1", basis, str(qty), "", "", ptrs)
            seg("DTP", "472", "D8", day)
    seg("SE", str(len(out) - start + 1), "0001")
    seg("GE", "1", "1")
    seg("IEA", "1", "000000001")
    return "".join(out)
