"""The ASGI app: routes, body limits, the engine's own thread, JSON errors."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import io
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from importlib import resources
from typing import Any, TypeVar

import attrs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._interop import ClaimVisit, check_visit
from .._version import DATA_VERSION, __version__
from ..batch import EngineSettings, check_jsonl
from ..engine import Engine
from ..errors import CptRulesError, InvalidSessionError
from ..parsing import dump_session, load_session
from ..report import invalid_report
from ..rules import REGISTRY
from ._schema_doc import openapi

__all__ = ["ServerSettings", "create_app"]

log = logging.getLogger("cptrules.server")
_T = TypeVar("_T")

#: Content types of POST /v1/check and /v1/fix, by what the body is.
_JSON = frozenset({"application/json", "application/fhir+json"})
_JSONL = frozenset({"application/x-ndjson", "application/jsonl", "application/x-jsonlines"})
_X12 = frozenset({"application/edi-x12", "application/x12"})
_PAGE_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}
_ROUTES = frozenset(
    {"/", "/page.js", "/page.css", "/openapi.json", "/healthz", "/v1/rules", "/v1/payers"}
    | {"/v1/check", "/v1/fix", "/v1/estimate"}
)


@attrs.frozen
class ServerSettings:
    """How the service builds its engine and bounds its work.

    ``engine``: the :class:`~cptrules.batch.EngineSettings` (profiles, NCCI store,
    rules off or re-graded); ``fees``: a fee store path for ``/v1/estimate``
    (None: the default store, when it holds data); ``max_body``: most bytes of a
    request body (413 past it); ``timeout``: seconds one request's work may take
    (503 past it); ``read_timeout``: seconds for the body to arrive (408).
    """

    engine: EngineSettings = attrs.field(factory=EngineSettings)
    fees: str | None = None
    locality: str = "national"
    place_of_service: str = "11"
    max_body: int = 16 * 1024 * 1024
    timeout: float = 30.0
    read_timeout: float = 30.0


class _Problem(Exception):
    """An HTTP error answer: status, one-line error, and (path, message) pairs."""

    def __init__(self, status: int, error: str, errors: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.errors = errors or (("", error),)


class _Worker:
    """One thread that owns the engines: built there once, used there only.

    Engines may hold an SQLite connection (the NCCI store), which stays on the
    thread that opened it; the event loop stays free for other requests and
    for enforcing the time limit.
    """

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cptrules")
        self.engine: Engine | None = None
        self.fee_engine: Engine | None = None

    def _build(self) -> None:
        self.engine = self.settings.engine.build()
        from ..fees.store import open_contracts, open_schedule

        schedule = open_schedule(self.settings.fees)
        contracts = open_contracts(self.settings.fees)
        if schedule is not None or contracts:
            self.fee_engine = Engine(
                profiles=self.engine.profiles,
                tables=self.engine.tables,
                disabled=self.engine.disabled,
                severities=self.engine.severities,
                fees=schedule,
                contracts=contracts,
                locality=self.settings.locality,
                place_of_service=self.settings.place_of_service,
            )
        # The engines live as long as the process: out of the cyclic collector's
        # sight, the collections each request's objects set off stay short.
        gc.freeze()

    async def start(self) -> None:
        await asyncio.wrap_future(self._pool.submit(self._build))

    def stop(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()  # an app stopped in a process that goes on (tests, embedders)

    async def run(self, func: Callable[..., _T], *args: Any) -> _T:
        future = self._pool.submit(func, *args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.settings.timeout)
        except TimeoutError:
            future.cancel()
            raise _Problem(
                503, f"the work took longer than the time limit ({self.settings.timeout:g} s)"
            ) from None


async def _body(request: Request, settings: ServerSettings) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > settings.max_body:
        raise _Problem(413, f"the body is larger than {settings.max_body} bytes")
    chunks: list[bytes] = []
    size = 0

    async def read() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > settings.max_body:
                raise _Problem(413, f"the body is larger than {settings.max_body} bytes")
            chunks.append(chunk)

    try:
        await asyncio.wait_for(read(), settings.read_timeout)
    except TimeoutError:
        raise _Problem(408, "the body did not arrive in time") from None
    return b"".join(chunks)


def _kind(request: Request, allowed: frozenset[str]) -> str:
    raw = request.headers.get("content-type", "")
    kind = raw.split(";", 1)[0].strip().lower()
    if kind not in allowed:
        names = ", ".join(sorted(allowed))
        shown = kind if kind.isascii() and kind.isprintable() and len(kind) < 80 else "?"
        raise _Problem(415, f"content type {shown or '(none)'} is not taken here; use {names}")
    return kind


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise _Problem(400, "the body is not UTF-8 text") from None
    except ValueError as exc:
        line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
        where = f" (line {line}, column {column})" if line is not None else ""
        raise _Problem(400, f"the body is not valid JSON{where}") from None


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise _Problem(400, "the body is not UTF-8 text") from None


def _invalid(exc: CptRulesError) -> _Problem:
    errors = getattr(exc, "errors", None)
    if isinstance(errors, tuple) and errors:
        return _Problem(422, "the input is not valid", errors)
    return _Problem(422, str(exc))


def _is_fhir(doc: Any) -> bool:
    from .. import fhir

    return fhir.sniff(doc)


def _claims(kind: str, body: bytes, doc: Any, payer: str | None) -> list[ClaimVisit | Any]:
    """The claim visits (or per-claim errors) of an X12 or FHIR body."""
    try:
        if kind == "x12":
            from .. import x12

            items: list[Any] = list(x12.read_837(_text(body), payer=payer))
        else:
            from .. import fhir

            items = list(fhir.read_fhir(doc, payer=payer))
    except CptRulesError as exc:
        raise _invalid(exc) from None
    whole = [x for x in items if not isinstance(x, ClaimVisit) and getattr(x, "claim", 1) is None]
    if whole or not items:
        errors = tuple(e for x in whole for e in x.errors) or (("", "no claim in the input"),)
        raise _Problem(422, "the input is not valid", errors)
    return items


def _claim_reports(
    engine: Engine, kind: str, visits: list[Any], payer: str | None
) -> list[dict[str, Any]]:
    """One report per claim visit, in the reader's order, numbered as ``cptrules check`` does.

    ``record`` is the 1-based position of the claim visit in the input (a claim
    that cannot be read keeps its number), as in the batch's reports of a claim file.
    """
    out: list[dict[str, Any]] = []
    for number, item in enumerate(visits, 1):
        if isinstance(item, ClaimVisit):
            try:
                out.append(check_visit(item, engine=engine, payer=payer).to_dict(record=number))
            except CptRulesError as exc:
                out.append(_invalid_claim(item.claim, kind, number, exc))
        else:
            out.append(_invalid_claim(getattr(item, "claim", None), kind, number, item))
    return out


def _invalid_claim(claim: str | None, fmt: str, number: int, exc: BaseException) -> dict[str, Any]:
    errors = getattr(exc, "errors", None) or (("", str(exc)),)
    return {"claim": claim, "format": fmt, **invalid_report(number, errors)}


def _fix_837(engine: Engine, body: bytes, payer: str | None) -> tuple[str, Any]:
    """The corrected 837P, written by :func:`cptrules.x12.fix_837` as ``cptrules fix`` writes it.

    All or nothing: a claim that cannot be read (``cptrules fix`` copies it
    unchanged and exits 2) is a 422 naming every problem, by claim visit number.
    """
    from .. import x12

    out = io.StringIO()
    try:
        outcome = x12.fix_837(_text(body), out, engine=engine, payer=payer)
    except CptRulesError as exc:
        raise _invalid(exc) from None
    if outcome.not_read:
        errors = tuple(
            (f"record {number}" + (f": {path}" if path else ""), message)
            for number, problems in outcome.invalid
            for path, message in problems
        )
        raise _Problem(422, "a claim could not be read, so none is rewritten", errors)
    if not outcome.visits:
        raise _Problem(422, "the input is not valid", (("", "no claim in the input"),))
    return out.getvalue(), outcome


def _fix_fhir(engine: Engine, body: bytes, doc: Any, payer: str | None) -> list[str]:
    """Each claim visit of a FHIR input as its corrected session, settled as ``fix_837`` does.

    The re-checks keep what the claim carries (no minutes: units taken as given).
    """
    visits = _claims("fhir", body, doc, payer)
    fixed: list[str] = []
    errors: list[tuple[str, str]] = []
    for number, item in enumerate(visits, 1):
        where = f"record {number}"
        if not isinstance(item, ClaimVisit):
            problems = getattr(item, "errors", None) or (("", str(item)),)
            errors += [(f"{where}: {p}" if p else where, m) for p, m in problems]
            continue
        try:
            session = check_visit(item, engine=engine, payer=payer).report.fixed()
        except CptRulesError as exc:
            problems = getattr(exc, "errors", None) or (("", str(exc)),)
            errors += [(f"{where}: {p}" if p else where, m) for p, m in problems]
            continue
        fixed.append(json.dumps(dump_session(session)))
    if errors:
        raise _Problem(422, "a claim could not be read, so none is rewritten", tuple(errors))
    return fixed


class _Service:
    """The request handlers, around one :class:`_Worker`."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.worker = _Worker(settings)
        self.openapi_doc = openapi()  # read and built once per app, never per request
        self.assets = {name: _asset(name) for name in ("index.html", "page.js", "page.css")}

    def _engine(self) -> Engine:
        assert self.worker.engine is not None, "the engine is built at startup"
        return self.worker.engine

    async def check(self, request: Request) -> Response:
        kind, body, doc, payer = await self._read(request)
        engine = self._engine()
        if kind == "jsonl":
            text = await self.worker.run(self._jsonl, body, payer)
            return Response(text, 200, media_type="application/x-ndjson")
        if kind == "session":
            report = await self.worker.run(self._session, engine, doc, payer)
            return _ok(report.to_dict())
        visits = await self.worker.run(_claims, kind, body, doc, payer)
        reports = await self.worker.run(_claim_reports, engine, kind, visits, payer)
        return _ok({"reports": reports})

    async def fix(self, request: Request) -> Response:
        kind, body, doc, payer = await self._read(request)
        engine = self._engine()
        if kind == "session":
            report = await self.worker.run(self._session, engine, doc, payer)
            return _ok(dump_session(report.fixed(engine=engine)))
        if kind == "jsonl":
            text = await self.worker.run(self._fix_jsonl, engine, body, payer)
            return Response(text, 200, media_type="application/x-ndjson")
        if kind == "x12":
            text, outcome = await self.worker.run(_fix_837, engine, body, payer)
            headers = {
                "X-Cptrules-Visits": str(outcome.visits),
                "X-Cptrules-Changed": str(outcome.changed),
                "X-Cptrules-Unsettled": str(outcome.unsettled),
            }
            return Response(text, 200, headers, media_type="application/edi-x12")
        lines = await self.worker.run(_fix_fhir, engine, body, doc, payer)
        return Response("".join(x + "\n" for x in lines), 200, media_type="application/x-ndjson")

    async def estimate(self, request: Request) -> Response:
        _kind(request, frozenset({"application/json"}))
        body = await _body(request, self.settings)
        doc = _json(body)
        payer = request.query_params.get("payer")
        engine = self.worker.fee_engine
        if engine is None:
            raise _Problem(
                422,
                "this server has no fee data: import the CMS fee files or contract rates with "
                "`cptrules data import` where it runs",
            )
        report = await self.worker.run(self._session, engine, doc, payer)
        if report.estimate is None:
            profile = engine.profiles.get(report.payer, report.date_of_service)
            name = profile.name if profile is not None else report.payer
            raise _Problem(
                422, f"no fee data for {name} on this server", (("payer", "no fee data"),)
            )
        return _ok(report.estimate.to_dict())

    async def _read(self, request: Request) -> tuple[str, bytes, Any, str | None]:
        media = _kind(request, _JSON | _JSONL | _X12)
        body = await _body(request, self.settings)
        payer = request.query_params.get("payer")
        if media in _JSONL:
            return "jsonl", body, None, payer
        if media in _X12:
            return "x12", body, None, payer
        doc = _json(body)
        if media == "application/fhir+json" or _is_fhir(doc):
            return "fhir", body, doc, payer
        return "session", body, doc, payer

    @staticmethod
    def _session(engine: Engine, doc: Any, payer: str | None) -> Any:
        try:
            return engine.check(load_session(doc), payer)
        except InvalidSessionError as exc:
            raise _invalid(exc) from None
        except CptRulesError as exc:
            raise _invalid(exc) from None

    def _jsonl(self, body: bytes, payer: str | None) -> str:
        out = io.StringIO()
        try:
            check_jsonl(io.BytesIO(body), out, engine=self._engine(), payer=payer)
        except CptRulesError as exc:
            raise _invalid(exc) from None
        return out.getvalue()

    @staticmethod
    def _fix_jsonl(engine: Engine, body: bytes, payer: str | None) -> str:
        from ..batch import iter_records

        out: list[str] = []
        errors: list[tuple[str, str]] = []
        try:
            for number, data in iter_records(io.BytesIO(body)):
                where = f"record {number}"
                if data is None:
                    errors.append((where, "record too long (not read)"))
                    continue
                try:
                    report = engine.check(load_session(data), payer)
                except InvalidSessionError as exc:
                    errors += [(f"{where}.{p}" if p else where, m) for p, m in exc.errors]
                except CptRulesError as exc:
                    errors.append((where, str(exc)))
                else:
                    out.append(json.dumps(dump_session(report.fixed(engine=engine))))
        except CptRulesError as exc:
            raise _invalid(exc) from None
        if errors:
            raise _Problem(422, "a record is not valid, so none is fixed", tuple(errors))
        return "".join(x + "\n" for x in out)

    async def rules(self, request: Request) -> Response:
        rows = [r.to_dict() for r in sorted(REGISTRY.values(), key=lambda r: r.id)]
        return _ok(rows)

    async def payers(self, request: Request) -> Response:
        rows = [p.to_dict() for p in self._engine().profiles.all()]
        return _ok(rows)

    async def healthz(self, request: Request) -> Response:
        return _ok(
            {
                "status": "ok",
                "version": __version__,
                "data_version": DATA_VERSION,
                "fees": self.worker.fee_engine is not None,
            }
        )

    async def openapi(self, request: Request) -> Response:
        return _ok(self.openapi_doc)

    async def page(self, request: Request) -> Response:
        name = request.url.path.rsplit("/", 1)[-1] or "index.html"
        text = self.assets[name]
        return Response(text, 200, media_type=_PAGE_TYPES[name[name.rindex(".") :]])


def _asset(name: str) -> str:
    return resources.files("cptrules.server").joinpath("page", name).read_text("utf-8")


def _ok(doc: Any) -> JSONResponse:
    return JSONResponse(doc)


def _problem_response(problem: _Problem) -> JSONResponse:
    errors = [{"path": p, "message": m} for p, m in problem.errors]
    return JSONResponse({"error": problem.error, "errors": errors}, problem.status)


class _Guard:
    """ASGI middleware: JSON errors for every failure, and one log line per request.

    The log line holds the method, the route (never a query string or an
    unknown path a client made up), the status, the body size and the time:
    never a body, a header value or anything a patient could be named by.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        size = 0
        started = False

        async def send_wrapper(message: Any) -> None:
            nonlocal status, size, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except _Problem as answer:
            if started:  # pragma: no cover - handlers answer whole
                raise
            await _problem_response(answer)(scope, receive, send_wrapper)
        except Exception as exc:
            log.error("internal error (%s) on %s", type(exc).__name__, _route(scope))
            if not started:
                bug = _Problem(500, f"internal error ({type(exc).__name__}); please report it")
                await _problem_response(bug)(scope, receive, send_wrapper)
        finally:
            path = _route(scope)
            ms = (time.perf_counter() - start) * 1000
            log.info("%s %s %d %dB %.1fms", scope.get("method", "?"), path, status, size, ms)


def _route(scope: Any) -> str:
    path = scope.get("path", "")
    return path if path in _ROUTES else "(other)"


def create_app(settings: ServerSettings | None = None) -> Starlette:
    """The service as an ASGI app; its engine is built once, at startup (lifespan).

    Run it with any ASGI server, e.g. ``uvicorn --factory cptrules.server:create_app``,
    or with ``cptrules serve``.
    """
    settings = settings or ServerSettings()
    service = _Service(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.worker.start()
        log.info("engine ready (rule data %s)", DATA_VERSION)
        try:
            yield
        finally:
            service.worker.stop()
            log.info("stopped")

    async def not_found(request: Request, exc: Exception) -> Response:
        code = getattr(exc, "status_code", 404)
        text = "no such endpoint" if code == 404 else "method not allowed here"
        return _problem_response(_Problem(code, text))

    routes = [
        Route("/v1/check", service.check, methods=["POST"]),
        Route("/v1/fix", service.fix, methods=["POST"]),
        Route("/v1/estimate", service.estimate, methods=["POST"]),
        Route("/v1/rules", service.rules, methods=["GET"]),
        Route("/v1/payers", service.payers, methods=["GET"]),
        Route("/healthz", service.healthz, methods=["GET"]),
        Route("/openapi.json", service.openapi, methods=["GET"]),
        Route("/", service.page, methods=["GET"]),
        Route("/page.js", service.page, methods=["GET"]),
        Route("/page.css", service.page, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: not_found, 405: not_found},
    )
    app.add_middleware(_Guard)
    return app
