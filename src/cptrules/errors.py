"""The one exception tree of cptrules.

Every error the library raises on purpose derives from :class:`CptRulesError`.
Input errors (:class:`InvalidSessionError`) are kept apart from problems with
rule data (:class:`DataError`) and payer profiles (:class:`ProfileError`), so an
EMR can tell "the visit is malformed" from "the installation is broken".

No message here ever contains patient data: paths and messages name fields,
codes, modifiers, minutes and units, never free text from the input.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "CptRulesError",
    "DataError",
    "InvalidFixError",
    "InvalidSessionError",
    "NoRuleDataError",
    "ProfileError",
]


class CptRulesError(Exception):
    """Base class of every error cptrules raises on purpose."""


class InvalidSessionError(CptRulesError, ValueError):
    """The session input is malformed.

    ``errors`` holds every problem found, each as ``(path, message)``, e.g.
    ``("lines[2].minutes", "must be a whole number from 0 to 1440")``.
    """

    errors: tuple[tuple[str, str], ...]

    def __init__(self, errors: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> None:
        self.errors = tuple(errors)
        count = len(self.errors)
        head = "; ".join(f"{path}: {message}" for path, message in self.errors[:5])
        more = f" (and {count - 5} more)" if count > 5 else ""
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"invalid session, {count} {noun}: {head}{more}")


class InvalidFixError(InvalidSessionError, IndexError):
    """A fix cannot be applied: it names a line that does not exist, carries a value
    its action does not take, or would remove every line.

    ``errors`` holds every problem with its path (``fixes[2]``), as for any
    invalid session. It is an ``IndexError`` and a ``ValueError`` too, as
    :func:`cptrules.apply_fixes` raised those before.
    """

    def __init__(self, errors: str | tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> None:
        super().__init__((("fix", errors),) if isinstance(errors, str) else errors)


class DataError(CptRulesError):
    """Rule data (a bundled table, a CMS file or the local store) is unusable.

    When the problem sits in a file, ``source`` names it and ``line`` gives the
    1-based line number where known.
    """

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None):
        self.source = source
        self.line = line
        where = ""
        if source is not None:
            where = f"{source}:{line}: " if line is not None else f"{source}: "
        super().__init__(f"{where}{message}")


class NoRuleDataError(DataError):
    """No rule data covers the date of service (it is before our data begins)."""


class ProfileError(CptRulesError):
    """A payer profile is unknown, or a profile file is malformed.

    ``source`` names the file and ``key`` the offending key where known.
    """

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None):
        self.source = source
        self.key = key
        parts = [p for p in (source, key) if p]
        where = (" [" + " ".join(parts) + "]") if parts else ""
        super().__init__(f"{message}{where}")


class ConfigError(CptRulesError, ValueError):
    """An engine option is wrong: an unknown rule id, severity or tables object."""
