"""Typed, frozen models of one visit (a *session*) and its service lines.

Every model validates on construction, exactly as :func:`cptrules.load_session`
validates a dict (it is the same code): a hand-built ``ServiceLine(code="nonsense")``
raises :class:`~cptrules.InvalidSessionError` with every problem and its path.
Lists are accepted where tuples are stored (and kept as tuples). ``repr()`` never
shows free text or the caller's opaque ids: only their presence.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal, TypeVar

import attrs

__all__ = [
    "DISCIPLINES",
    "Discipline",
    "Documentation",
    "PlanOfCare",
    "Provider",
    "ServiceLine",
    "Session",
    "TherapyYtd",
]

Discipline = Literal["PT", "OT", "SLP", "DC", "MD", "DO", "NP", "PA", "LMT", "LAC", "ATC"]
DISCIPLINES: tuple[str, ...] = (
    "PT",
    "OT",
    "SLP",
    "DC",
    "MD",
    "DO",
    "NP",
    "PA",
    "LMT",
    "LAC",
    "ATC",
)


_T = TypeVar("_T")

#: The attrs ``__init__`` of each model, which does not validate: the parser
#: builds models with it after validating their fields itself.
TRUSTED_INIT: dict[type, Callable[..., None]] = {}

#: A function per model that builds one from every field's value, in the model's
#: field order, without validating (see :func:`_builder`): the parser's one way of
#: making a model from values it has just validated.
BUILD: dict[type, Callable[..., Any]] = {}

#: The parser's validator (:func:`cptrules.parsing.validate`), installed by the
#: parser when it is imported: it imports this module, so this one cannot import it.
VALIDATOR: list[Callable[[Any], Any]] = []


def _validating(cls: type[_T]) -> type[_T]:
    """Make ``cls(...)`` validate the new instance (the parser's own checks)."""
    trusted = cls.__init__

    @functools.wraps(trusted)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        trusted(self, *args, **kwargs)
        valid = VALIDATOR[0](self)  # raises InvalidSessionError; lists come back as tuples
        for a in attrs.fields(type(self)):
            object.__setattr__(self, a.name, getattr(valid, a.name))

    TRUSTED_INIT[cls] = trusted
    BUILD[cls] = _builder(cls)
    setattr(cls, "__init__", __init__)  # noqa: B010  (mypy keeps attrs' signature)
    return cls


def _builder(cls: type) -> Callable[..., Any]:
    """A function making a ``cls`` from all its fields' values, in their order.

    It stores each value with a plain attribute assignment on an instance of a
    private subclass that adds nothing (no slots, no methods but the ordinary
    ``__setattr__``), then makes the instance a ``cls`` (``__class__``
    assignment, allowed between such layouts): about a quarter of the
    instructions of the attrs ``__init__``, whose frozen stores each go through
    ``object.__setattr__``. The result is an ordinary ``cls`` in every way (type,
    equality, hash, repr, pickling).
    """
    names = [a.name for a in attrs.fields(cls)]
    shadow = type(
        f"_Building{cls.__name__}",
        (cls,),
        {"__slots__": (), "__setattr__": object.__setattr__, "__delattr__": object.__delattr__},
    )
    body = "".join(f"    self.{name} = {name}\n" for name in names)
    source = (
        f"def build({', '.join(names)}):\n"
        "    self = _new(_shadow)\n"
        f"{body}"
        "    self.__class__ = _cls\n"
        "    return self\n"
    )
    # The source is made from the field names only, as attrs makes its methods.
    scope: dict[str, Any] = {"_new": object.__new__, "_shadow": shadow, "_cls": cls}
    exec(compile(source, f"<cptrules build {cls.__name__}>", "exec"), scope)
    build: Callable[..., Any] = scope["build"]
    return build


def _hidden(value: object) -> str:
    """The repr of free text or an opaque id: whether it is there, never what it says."""
    return "None" if value is None else "<hidden>"


@_validating
@attrs.frozen
class Provider:
    """Who furnished the services: a discipline and, optionally, an NPI."""

    discipline: str
    npi: str | None = None


@_validating
@attrs.frozen
class PlanOfCare:
    """A certification period: first and last day certified, and the signing day."""

    start: dt.date
    end: dt.date
    signed: dt.date | None = None


@_validating
@attrs.frozen
class Documentation:
    """Free-text notes for one line. Never echoed in messages: only presence is read."""

    response: str | None = attrs.field(default=None, repr=_hidden)
    rationale: str | None = attrs.field(default=None, repr=_hidden)
    goals: str | None = attrs.field(default=None, repr=_hidden)


@_validating
@attrs.frozen
class TherapyYtd:
    """Medicare allowed dollars accrued this calendar year, before the date of service."""

    pt_slp: Decimal | None = None
    ot: Decimal | None = None


@_validating
@attrs.frozen
class ServiceLine:
    """One claim line: a code with its minutes, units, modifiers and context."""

    code: str
    minutes: int | None = None
    units: int | None = None
    modifiers: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    assistant_minutes: int | None = None
    diagnosis_pointers: tuple[int, ...] = ()
    muscles: int | None = None
    start: dt.time | None = None
    end: dt.time | None = None
    documentation: Documentation | None = None


@_validating
@attrs.frozen
class Session:
    """One visit: date of service, payer, provider and service lines.

    ``id`` is the caller's own opaque visit or claim id (echoed as ``id`` in the
    report, never in a message); ``patient`` an opaque key grouping one patient's
    visits. Neither appears in ``repr()``.
    """

    date_of_service: dt.date
    payer: str
    provider: Provider
    lines: tuple[ServiceLine, ...]
    diagnoses: tuple[str, ...] = ()
    plan_of_care: PlanOfCare | None = None
    treatment_day: int | None = None
    progress_report: bool | None = None
    therapy_ytd_allowed: TherapyYtd | None = None
    total_treatment_minutes: int | None = None
    id: str | None = attrs.field(default=None, repr=_hidden)
    patient: str | None = attrs.field(default=None, repr=_hidden)
