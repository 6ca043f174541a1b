"""Fee data and estimates: what a visit pays.

Read the official CMS Physician Fee Schedule files (PPRRVU and GPCI, from the
``RVUyyX`` zips) into a :class:`FeeSchedule`, then price a session::

    schedule = FeeSchedule.from_files(["RVU24A.zip"])
    est = estimate(session, schedule, locality="10112-00")
    est.to_dict()   # {"currency": "USD", "total": "70.85", "lines": [...], ...}

Commercial contract rates (CSV ``code, modifier, rate, effective, until``) are a
:class:`ContractSchedule`; :func:`compare` prices one visit under several payers.
Nothing is downloaded: the files are the user's own copies of CMS's releases.
See docs/money.md for the method worked by hand.
"""

from __future__ import annotations

from .estimate import Adjustment, Estimate, LineEstimate, compare, estimate, estimate_contract
from .loaders import (
    ContractRate,
    Gpci,
    GpciTable,
    Rvu,
    RvuTable,
    read_contract_rates,
    read_fee_files,
    read_gpci,
    read_pprrvu,
)
from .schedule import NATIONAL, ContractSchedule, FeeSchedule, Release, effective_from_name

__all__ = [
    "NATIONAL",
    "Adjustment",
    "ContractRate",
    "ContractSchedule",
    "Estimate",
    "FeeSchedule",
    "Gpci",
    "GpciTable",
    "LineEstimate",
    "Release",
    "Rvu",
    "RvuTable",
    "compare",
    "effective_from_name",
    "estimate",
    "estimate_contract",
    "read_contract_rates",
    "read_fee_files",
    "read_gpci",
    "read_pprrvu",
]
