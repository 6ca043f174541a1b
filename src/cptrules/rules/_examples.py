"""The rules' example sessions, expanded from their data.

Every rule carries examples that must fail and must pass, declared in its
``data/rules/<module>.toml``; most are a Medicare PT visit changed in one
respect. ``data/rules/_examples.toml`` names the base sessions and lines, and
an example says only what differs from its base: :func:`expand` builds the
session a rule's :class:`~cptrules.rules.Example` holds.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any

from ..errors import DataError

__all__ = ["expand"]

_SOURCE = "rules/_examples.toml"
#: "sessions" / "lines" -> base name -> its keys, read once
_BASES: dict[str, dict[str, dict[str, Any]]] = {}


def _bases(kind: str) -> dict[str, dict[str, Any]]:
    if not _BASES:
        try:
            folder = resources.files("cptrules.data").joinpath("rules")
            data = tomllib.loads(folder.joinpath("_examples.toml").read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise DataError(f"cannot read rule data: {exc}", source=_SOURCE) from exc
        _BASES.update({k: data.get(k, {}) for k in ("sessions", "lines")})
    return _BASES[kind]


def _merge(spec: object, kind: str, where: str, source: str) -> dict[str, Any]:
    """``spec`` over its named base: given keys replace in place or follow; ``drop`` removes."""
    if not isinstance(spec, dict):
        raise DataError(f"{where}: a table", source=source)
    out: dict[str, Any] = {}
    name = spec.get("base")
    if name is not None:
        base = _bases(kind).get(name) if isinstance(name, str) else None
        if base is None:
            raise DataError(f"{where}.base: no {kind} base {name!s}", source=source)
        out = copy.deepcopy(base)
    out.update((k, v) for k, v in spec.items() if k not in ("base", "drop"))
    drop = spec.get("drop", [])
    if not isinstance(drop, list) or not all(isinstance(k, str) and k in out for k in drop):
        raise DataError(f"{where}.drop: keys of the base to leave out", source=source)
    return {k: v for k, v in out.items() if k not in drop}


def expand(spec: Mapping[str, Any], where: str, source: str) -> dict[str, Any]:
    """The session an example's ``session`` table describes (see the module docstring).

    Raises :class:`~cptrules.errors.DataError` naming ``source`` and ``where``
    for an unknown base or a bad ``drop``.
    """
    session = _merge(spec, "sessions", where, source)
    lines = session.get("lines")
    if isinstance(lines, list):
        session["lines"] = [
            _merge(line, "lines", f"{where}.lines[{n}]", source) for n, line in enumerate(lines)
        ]
    return session
