"""The shapes NCCI data takes inside cptrules: edits, MUEs and the lookup protocol."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import attrs

__all__ = [
    "DatasetInfo",
    "EditTables",
    "MueEdit",
    "PtpEdit",
]


# cache_hash: the ncci.ptp rule keys its prepared pairs by the tuple of edits the
# tables answer, once per visit; hashing eight fields (a long rationale among them)
# each time cost more than the rule's own work. The edit is immutable, so the hash is too.
@attrs.frozen(cache_hash=True)
class PtpEdit:
    """One date window of one NCCI procedure-to-procedure (PTP) edit.

    ``column1`` is the code that is paid, ``column2`` the code denied with it unless
    the modifier indicator allows a bypass modifier on the column-2 line.
    ``indicator`` is 0 (no bypass), 1 (59/XE/XS/XP/XU bypass) or 9 (no edit).

    The window is half-open: the edit is in force from ``effective`` up to, not
    including, ``deletion`` -- see :meth:`in_force`.
    """

    column1: str
    column2: str
    indicator: int
    effective: dt.date
    deletion: dt.date | None
    rationale: str
    source: str
    confidence: str | None = None

    def in_force(self, day: dt.date) -> bool:
        """True when the edit applies to a service on ``day``.

        Sources disagree (or are silent) on whether the deletion day itself is
        still covered. cptrules reads the CMS deletion
        date as the first day the edit no longer applies: CMS dates edits by
        quarter starts, and a retroactively deleted edit carries
        ``deletion == effective``, which this reading makes never in force.

        >>> e = PtpEdit("98940", "97140", 1, dt.date(2020, 1, 1), dt.date(2021, 1, 1), "", "x")
        >>> e.in_force(dt.date(2020, 12, 31)), e.in_force(dt.date(2021, 1, 1))
        (True, False)
        """
        if day < self.effective:
            return False
        return self.deletion is None or day < self.deletion


@attrs.frozen
class MueEdit:
    """A medically unlikely edit: at most ``value`` units of ``code``.

    ``indicator`` is the MUE adjudication indicator (MAI): 1 per claim line,
    2 (policy) or 3 (clinical) units summed per code and date of service.
    """

    code: str
    value: int
    indicator: int
    rationale: str
    source: str


@runtime_checkable
class EditTables(Protocol):
    """What the engine asks of NCCI data; bundled pairs and the local store both answer.

    ``version`` goes into a report's ``data_version``; ``has_mue`` is False when no
    MUE table is loaded (the MUE rule then reports that it did not run).
    """

    @property
    def version(self) -> str:
        """Which data answers, e.g. ``ncci:bundled-2026.11``."""
        ...

    @property
    def has_mue(self) -> bool:
        """True when an MUE table is loaded."""
        ...

    def ptp(self, codes: frozenset[str], day: dt.date) -> tuple[PtpEdit, ...]:
        """Edits in force on ``day`` between two different codes of ``codes``.

        Indicator 9 rows are left out. Order: column 1, column 2, effective date.
        """
        ...

    def mue(self, codes: frozenset[str], day: dt.date) -> Mapping[str, MueEdit]:
        """MUEs in force on ``day`` for those of ``codes`` that have one."""
        ...


@attrs.frozen
class DatasetInfo:
    """One imported CMS table in the local store (see :func:`cptrules.ncci.status`)."""

    kind: str  # "ptp" or "mue"
    program: str  # "medicare" or "medicaid"
    version: str  # e.g. "v324r0" or "2026q4"
    rows: int
    sources: tuple[str, ...]
    imported_at: str  # ISO timestamp, UTC
    active: bool  # this dataset answers lookups (newest of its kind)
