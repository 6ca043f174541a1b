"""NCCI procedure-to-procedure (PTP) and medically unlikely edit (MUE) data.

Two sources answer the same :class:`EditTables` protocol:

* :func:`bundled_tables` -- a small table of therapy and chiropractic pairs that
  public CMS sources give with evidence (``cptrules/data/ncci_therapy_ptp.toml``),
  each row with its source and confidence. No MUE values are bundled.
* :func:`open_store` -- the official CMS files, imported once with
  :func:`import_files` (or ``cptrules data import``) into a local SQLite store.

:func:`default_tables` picks the store at :func:`default_store_path` when it
exists, else the bundled pairs. See docs/ncci.md.
"""

from __future__ import annotations

from ._model import DatasetInfo, EditTables, MueEdit, PtpEdit
from .loaders import read_mue, read_ptp, version_from_name
from .store import StoreTables, default_tables, import_files, open_store, status
from .tables import MemoryTables, bundled_tables, default_store_path

__all__ = [
    "DatasetInfo",
    "EditTables",
    "MemoryTables",
    "MueEdit",
    "PtpEdit",
    "StoreTables",
    "bundled_tables",
    "default_store_path",
    "default_tables",
    "import_files",
    "open_store",
    "read_mue",
    "read_ptp",
    "status",
    "version_from_name",
]
