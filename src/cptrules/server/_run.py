"""Running the app: uvicorn, its workers, and the ``serve`` subcommand."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

from ..batch import EngineSettings
from ._app import ServerSettings, create_app

__all__ = ["app_from_environment", "serve"]

#: Where ``serve --workers N`` hands the settings to each worker process.
_ENV = "CPTRULES_SERVER_SETTINGS"


def _to_env(settings: ServerSettings) -> str:
    e = settings.engine
    return json.dumps(
        {
            "profiles": list(e.profiles),
            "tables": e.tables,
            "disabled": list(e.disabled),
            "severities": dict(e.severities),
            "fees": settings.fees,
            "locality": settings.locality,
            "place_of_service": settings.place_of_service,
            "max_body": settings.max_body,
            "timeout": settings.timeout,
            "read_timeout": settings.read_timeout,
        }
    )


def _from_env(text: str) -> ServerSettings:
    raw = json.loads(text)
    engine = EngineSettings(
        profiles=raw["profiles"],
        tables=raw["tables"],
        disabled=raw["disabled"],
        severities=raw["severities"],
    )
    return ServerSettings(
        engine=engine,
        fees=raw["fees"],
        locality=raw["locality"],
        place_of_service=raw["place_of_service"],
        max_body=raw["max_body"],
        timeout=raw["timeout"],
        read_timeout=raw["read_timeout"],
    )


def app_from_environment() -> Any:
    """The app with the settings ``serve`` left in the environment (a worker's factory)."""
    text = os.environ.get(_ENV)
    return create_app(_from_env(text) if text else None)


def serve(
    settings: ServerSettings | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    graceful: float = 10.0,
) -> None:
    """Serve until SIGINT or SIGTERM, then finish the requests in flight (at most ``graceful`` s).

    Each of ``workers`` processes builds its engine once, at startup. The default
    host is loopback; pass ``host="0.0.0.0"`` to serve other machines.
    """
    import uvicorn

    settings = settings or ServerSettings()
    _logging()
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": False,  # our own line per request: no query strings
        "log_config": None,
        "timeout_graceful_shutdown": graceful,
        "server_header": False,
    }
    if workers > 1:
        os.environ[_ENV] = _to_env(settings)
        uvicorn.run("cptrules.server:app_from_environment", factory=True, workers=workers, **common)
    else:
        uvicorn.run(create_app(settings), **common)


def _logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in ("cptrules.server", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
