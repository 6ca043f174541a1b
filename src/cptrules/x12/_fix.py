"""Fixing an 837P: check every claim, settle its fixes, write the corrected interchange.

:func:`fix_837` is ``report.fixed()`` for a claim file: each claim visit is
checked, its fixes applied and re-checked until they settle
(:meth:`cptrules.Report.settle`), and the net change of every line (code,
modifiers, units, removal) is written back by :func:`~cptrules.x12.write_837`.
A claim that cannot be read is copied as it was and counted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import IO

import attrs

from .._interop import ClaimVisit, PayerMap
from ..engine import Engine, default_engine
from ..errors import CptRulesError
from ..models import Session
from ..report import MAX_FIX_ROUNDS, Fix, Settled
from ._reader import read_837
from ._segments import X12Error
from ._writer import write_837

__all__ = ["FixOutcome", "fix_837", "net_fixes"]


#: Claims not read whose problems :class:`FixOutcome` keeps (the rest are counted).
MAX_LISTED = 100


@attrs.frozen
class FixOutcome:
    """What :func:`fix_837` did, counted per claim visit (claim and date of service).

    ``visits`` were read and checked; ``changed`` of them had lines changed or
    removed; ``unsettled`` still have findings of severity error after their
    fixes (what a person must look at); ``not_read`` could not be read or
    checked, and are copied unchanged. ``invalid`` lists the first 100 of those
    by their 1-based number in the file, with their ``(path, message)`` problems.
    """

    visits: int
    changed: int
    unsettled: int
    invalid: tuple[tuple[int, tuple[tuple[str, str], ...]], ...]
    not_read: int = 0

    @property
    def exit_code(self) -> int:
        """As ``cptrules check``: 2 some claim not read (or none at all), 1 errors left, else 0."""
        if self.not_read or not self.visits:
            return 2
        return 1 if self.unsettled else 0


def net_fixes(session: Session, settled: Settled) -> list[Fix]:
    """The fixes that turn ``session`` into ``settled.session``, by the original line indexes.

    One fix per change of a line: ``remove_line``, ``replace_code``, the
    modifiers replaced as a whole (removed, then the new ones added in order),
    ``set_units``. Lines are matched by :attr:`~cptrules.report.Settled.origins`.
    """
    kept = dict(zip(settled.origins, settled.session.lines, strict=True))
    fixes: list[Fix] = []
    for i, line in enumerate(session.lines):
        new = kept.get(i)
        if new is None:
            fixes.append(Fix("remove_line", i))
            continue
        if new.code != line.code:
            fixes.append(Fix("replace_code", i, new.code))
        if new.modifiers != line.modifiers:
            fixes += [Fix("remove_modifier", i, m) for m in line.modifiers]
            fixes += [Fix("add_modifier", i, m) for m in new.modifiers]
        if new.units != line.units and new.units is not None:
            fixes.append(Fix("set_units", i, new.units))
    return fixes


def fix_837(
    source: str | bytes | os.PathLike[str],
    out: IO[str],
    *,
    engine: Engine | None = None,
    payer: str | None = None,
    payer_map: PayerMap | Mapping[str, str] | None = None,
    discipline: str | None = None,
    rounds: int = MAX_FIX_ROUNDS,
) -> FixOutcome:
    """Check every claim of ``source`` and write it to ``out`` with the fixes settled.

    ``source`` is read twice (to check, then to write), so it is the text,
    bytes or a path (``pathlib.Path``) of the interchange, never a stream.
    ``engine`` (default: the default engine), ``payer``, ``payer_map`` and
    ``discipline`` work as in :func:`read_837`. Only what the fixes change is
    rewritten (see :func:`write_837`); everything else, claims that could not
    be read included, is copied as it was. Raises :class:`X12Error` when the
    interchange itself cannot be read or written back, after ``out`` may have
    received part of it or a copy (write to a temporary file, as ``cptrules
    fix`` does). Memory holds the changes to write, not the claims.
    """
    eng = default_engine() if engine is None else engine
    counts = {"visits": 0, "changed": 0, "unsettled": 0, "not_read": 0}
    invalid: list[tuple[int, tuple[tuple[str, str], ...]]] = []
    fatal: list[X12Error] = []

    def not_read(number: int, errors: tuple[tuple[str, str], ...]) -> None:
        counts["not_read"] += 1
        if len(invalid) < MAX_LISTED:
            invalid.append((number, errors))

    def corrections() -> Iterator[tuple[ClaimVisit, list[Fix]]]:
        # Consumed by write_837 before it writes: only its plan (the changed SV1s,
        # the removed loops) is kept, never the visits, so memory stays small.
        results = read_837(source, payer=payer, payer_map=payer_map, discipline=discipline)
        for number, result in enumerate(results, 1):
            if isinstance(result, X12Error):
                not_read(number, result.errors)
                if result.claim is None:
                    fatal.append(result)
                continue
            try:
                settled = eng.check(result.session, payer).settle(rounds=rounds, engine=eng)
            except CptRulesError as exc:
                not_read(number, getattr(exc, "errors", None) or (("", str(exc)),))
                continue
            counts["visits"] += 1
            fixes = net_fixes(result.session, settled)
            if not settled.report.ok:
                counts["unsettled"] += 1
            if fixes:
                counts["changed"] += 1
                yield result, fixes

    write_837(source, corrections(), out)
    if fatal and not counts["visits"]:
        raise fatal[0]
    return FixOutcome(
        counts["visits"],
        counts["changed"],
        counts["unsettled"],
        tuple(invalid),
        not_read=counts["not_read"],
    )
