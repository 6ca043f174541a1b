"""Read X12 837P professional claims (005010X222A1 and A2) and write corrected ones.

>>> from cptrules import x12
>>> text = x12.dump_837([("CLAIM-1", __import__("cptrules").load_session({
...     "date_of_service": "2026-03-04", "payer": "medicare",
...     "provider": {"discipline": "PT", "npi": "1234567893"},
...     "lines": [{"code": "97110", "units": 3, "modifiers": ["GP"]}]}))])
>>> [visit] = x12.read_837(text)
>>> visit.positions, visit.session.lines[0].units
((1,), 3)
>>> report = x12.check_visit(visit)
>>> report.to_dict()["claim"]
'CLAIM-1'

:func:`read_837` streams: one :class:`ClaimVisit` per claim and date of
service, or an :class:`X12Error` that locates every problem by segment.
:func:`write_837` writes the interchange back with fixes applied;
:func:`fix_837` checks every claim and writes the interchange back with the
fixes settled (what ``cptrules fix`` runs); :func:`dump_837` writes sessions
as a new interchange. Strategies for property
tests live in :mod:`cptrules.x12.strategies` (the ``[hypothesis]`` extra).
"""

from __future__ import annotations

from .._interop import (
    ClaimReport,
    ClaimVisit,
    PayerMap,
    bundled_payer_map,
    check_visit,
    load_payer_map,
)
from ._fix import FixOutcome, fix_837, net_fixes
from ._reader import MAX_CLAIM_LINES, VERSIONS, read_837
from ._segments import MAX_SEGMENT, Problem, X12Error
from ._writer import dump_837, write_837

__all__ = [
    "MAX_CLAIM_LINES",
    "MAX_SEGMENT",
    "VERSIONS",
    "ClaimReport",
    "ClaimVisit",
    "FixOutcome",
    "PayerMap",
    "Problem",
    "X12Error",
    "bundled_payer_map",
    "check_visit",
    "dump_837",
    "fix_837",
    "load_payer_map",
    "net_fixes",
    "read_837",
    "sniff",
    "write_837",
]


def sniff(head: bytes | str) -> bool:
    """True when ``head`` (the first bytes of an input) begins an X12 interchange."""
    if isinstance(head, bytes):
        head = head.decode("latin-1")
    return head.lstrip("\ufeff\xef\xbb\xbf \r\n\t").startswith("ISA") and len(head.lstrip()) > 3
