"""``cptrules serve``: the library as an HTTP service, with a page for people at ``/``.

Needs the ``[server]`` extra (Starlette on uvicorn). Importing :mod:`cptrules`
never imports this package.

Endpoints (the OpenAPI document is at ``/openapi.json``):

- ``POST /v1/check``: a session (``application/json``), JSON Lines
  (``application/x-ndjson``), an X12 837P (``application/edi-x12``) or a FHIR
  claim (``application/fhir+json``, or JSON with a FHIR ``resourceType``);
  answers with the report(s) in the report format;
- ``POST /v1/fix``: the same inputs, answered with the corrected input;
- ``POST /v1/estimate``: what one session pays (fee data on the server);
- ``GET /v1/rules``, ``GET /v1/payers``, ``GET /healthz``.

Errors are JSON ``{"error": ..., "errors": [{"path", "message"}]}`` with 400
(unreadable body), 408 (body too slow), 413 (too large), 415 (content type),
422 (invalid input), 503 (over the time limit). See docs/service.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import ServerSettings, create_app
    from ._run import app_from_environment, serve

__all__ = ["ServerSettings", "app_from_environment", "create_app", "serve"]


def __getattr__(name: str) -> Any:
    # Lazy: the command line imports ``cptrules.server._cli`` for every command,
    # which must not import Starlette or uvicorn.
    if name in ("ServerSettings", "create_app"):
        from . import _app

        return getattr(_app, name)
    if name in ("app_from_environment", "serve"):
        from . import _run

        return getattr(_run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
