"""The HTTP app for a `Service`, on FastAPI (the `kedro-dab[serve]` extra).

Routes: `POST /serving-endpoints/<name>/invocations` (Databricks Model Serving's request
shapes), `GET`/`HEAD /health` (the process answers), `GET`/`HEAD /ready` (every endpoint can
answer: 503 naming the catalog inputs that have no data yet), and OpenAPI at `/docs`, `/redoc`
and `/openapi.json`. Errors are JSON objects `{"error_code", "message"}` as Databricks writes
them: 400 for a body that is not JSON or nests too deeply to read, 401 without the bearer token
when one is set, 404 for an unknown endpoint or path, 405 for a method a path does not answer,
413 for a body over the limit, 422 for a missing or unknown input or parameter, a wrong type or
a number that is not finite, 500 naming the node that failed (the traceback goes to the
server's log only), 503 for a request still running when a stopping server stops waiting.
The OpenAPI document lists each of these answers, and the bearer scheme when a token is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import threading
from collections.abc import AsyncIterator, Mapping
from typing import Any

from kedro_dab.serve.endpoints import Endpoint
from kedro_dab.serve.errors import NodeFailed, OutputError, RequestError, ServeError
from kedro_dab.serve.payload import outputs_json, parse_body
from kedro_dab.serve.runtime import Service

logger = logging.getLogger("kedro_dab.serve")

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
"""Databricks Model Serving's own payload limit (16 MB)."""
OPEN_PATHS = frozenset(
    {"/health", "/ready", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"}
)
INSTALL_HINT = "serving needs FastAPI and uvicorn: pip install 'kedro-dab[serve]'"


def require_extra() -> None:
    """Refuse in one line when the `serve` extra is not installed."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise ServeError(INSTALL_HINT) from None


def invocations_path(name: str) -> str:
    """The URL path of an endpoint, as Databricks Model Serving names it."""
    return f"/serving-endpoints/{name}/invocations"


def _error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Any:
    from starlette.responses import Response

    body = json.dumps({"error_code": code, "message": message})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


HTTP_ERROR_CODES = {404: "RESOURCE_DOES_NOT_EXIST", 405: "METHOD_NOT_ALLOWED"}
"""Databricks error codes of the HTTP errors the router answers itself (others: BAD_REQUEST)."""


async def _http_error(request: Any, exc: Any) -> Any:
    """A router error (unknown path, method not allowed) in the server's JSON error format."""
    status = int(exc.status_code)
    if status == 404:
        message = f"no route {request.url.path}"
    elif status == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    return _error(status, HTTP_ERROR_CODES.get(status, "BAD_REQUEST"), message, exc.headers)


class _TooLarge(Exception):
    """A body without `Content-Length` grew over the limit while it was read."""


def _too_large(limit: int) -> Any:
    return _error(
        413, "REQUEST_LIMIT_EXCEEDED", f"the request body is over the limit of {limit} bytes"
    )


def _bearer(header: bytes) -> bytes | None:
    """The credentials of an `Authorization: Bearer <token>` header (the scheme in any case,
    as HTTP's authentication schemes are), else None."""
    scheme, _, credentials = header.partition(b" ")
    return credentials.strip(b" ") if scheme.lower() == b"bearer" else None


class Running:
    """The requests whose nodes are running, counted in the worker threads that run them: a
    request the server stopped waiting for stays counted until its nodes return."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def call(self, func: Any, *args: Any) -> Any:
        """`func(*args)`, counted while it runs."""
        with self._lock:
            self.count += 1
        try:
            return func(*args)
        finally:
            with self._lock:
                self.count -= 1


class Guard:
    """ASGI middleware: the bearer token (when set) and the body-size limit. `running`
    counts the requests whose nodes run."""

    def __init__(self, app: Any, token: str | None, max_body_bytes: int, running: Running) -> None:
        self.app = app
        self.expected = token.encode() if token else None
        self.max_body_bytes = max_body_bytes
        self.running = running

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if self.expected is not None and scope["path"] not in OPEN_PATHS:
            given = _bearer(headers.get(b"authorization", b""))
            if given is None or not hmac.compare_digest(given, self.expected):
                response = _error(
                    401,
                    "UNAUTHENTICATED",
                    "send the server's token as 'Authorization: Bearer …'",
                    {"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        limit = self.max_body_bytes
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge
            return message

        started = False

        async def tracked(message: Any) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:  # a route that reads the body answers this itself (`invoke`)
            if not started:
                await _too_large(limit)(scope, receive, send)


def create_app(
    service: Service,
    *,
    token: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Any:
    """The ASGI app answering `service`'s endpoints. `token`, when given, is required as
    `Authorization: Bearer <token>` on every invocation."""
    require_extra()
    from fastapi import FastAPI, Request
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import Response

    running = Running()

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        if running.count:
            logger.warning(
                "%d request%s still running as the server stops; not waiting for %s",
                running.count,
                " was" if running.count == 1 else "s were",
                "it" if running.count == 1 else "them",
            )
        service.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Kedro serving endpoints",
        description="Kedro pipelines served by kedro-dab; request shapes as in Databricks "
        "Model Serving.",
        version="1",
    )
    from starlette.exceptions import HTTPException

    app.add_exception_handler(HTTPException, _http_error)
    endpoints = service.endpoints

    # HEAD answers as GET does; it stays out of the OpenAPI document, which would otherwise
    # hold two operations of one id.
    @app.head("/health", include_in_schema=False)
    @app.get("/health", summary="The server answers")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.head("/ready", include_in_schema=False)
    @app.get(
        "/ready",
        summary="Every endpoint is loaded and answers requests",
        responses={
            503: {"description": "Catalog inputs of these endpoints have no data yet (`missing`)"}
        },
    )
    async def ready() -> Any:
        missing = await run_in_threadpool(service.missing)
        if missing:
            body = {"status": "not ready", "endpoints": sorted(endpoints), "missing": missing}
            return Response(json.dumps(body), status_code=503, media_type="application/json")
        return {"status": "ready", "endpoints": sorted(endpoints)}

    def route(endpoint: Endpoint) -> Any:
        name = endpoint.name

        async def invoke(request: Request) -> Any:
            try:
                raw = await request.body()
            except _TooLarge:  # before FastAPI's error middleware makes it a plain 500
                return _too_large(max_body_bytes)
            try:
                body = json.loads(raw)
            except ValueError:
                return _error(400, "BAD_REQUEST", "the request body is not valid JSON")
            except RecursionError:
                return _error(
                    400, "BAD_REQUEST", "the request body nests arrays and objects too deeply"
                )
            try:
                inputs, params = parse_body(endpoint, body)
                result = await run_in_threadpool(running.call, service.invoke, name, inputs, params)
            except RequestError as exc:
                return _error(422, "INVALID_PARAMETER_VALUE", exc.message)
            except asyncio.CancelledError:  # the server stopped waiting for it (shutting down)
                return _error(
                    503,
                    "TEMPORARILY_UNAVAILABLE",
                    "the server stopped before the request finished; send it again",
                )
            except NodeFailed as exc:
                logger.error(
                    "endpoint '%s': node '%s' failed",
                    exc.endpoint,
                    exc.node,
                    exc_info=(type(exc.error), exc.error, exc.error.__traceback__),
                )
                return _error(
                    500,
                    "INTERNAL_ERROR",
                    f"node '{exc.node}' failed ({type(exc.error).__name__}); "
                    "the traceback is in the server log",
                )
            except Exception:
                logger.exception("endpoint '%s' failed outside its nodes", name)
                return _error(
                    500, "INTERNAL_ERROR", "the request failed; the traceback is in the server log"
                )
            try:
                text = await run_in_threadpool(outputs_json, result)
            except OutputError as exc:
                logger.error("endpoint '%s': %s", name, exc, exc_info=exc.__cause__)
                return _error(500, "INTERNAL_ERROR", str(exc))
            return Response(text, media_type="application/json")

        invoke.__name__ = f"invoke_{name.replace('-', '_')}"
        invoke.__annotations__ = {"request": Request, "return": Any}
        return invoke

    for endpoint in endpoints.values():
        app.add_api_route(
            invocations_path(endpoint.name),
            route(endpoint),
            methods=["POST"],
            summary=f"Endpoint '{endpoint.name}': pipeline '{endpoint.pipeline}'",
            description=_describe(endpoint),
            tags=[endpoint.name],
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": request_schema(endpoint)}},
                },
                "responses": {
                    "200": {
                        "description": "The endpoint's outputs by dataset name",
                        "content": {"application/json": {"schema": response_schema(endpoint)}},
                    },
                    **error_responses(token is not None),
                },
                **({"security": [{BEARER_SCHEME: []}]} if token else {}),
            },
        )
    if token:
        _declare_bearer(app)

    @app.post("/serving-endpoints/{name}/invocations", include_in_schema=False)
    async def unknown(name: str) -> Any:
        return _error(
            404,
            "RESOURCE_DOES_NOT_EXIST",
            f"no endpoint '{name}'; endpoints: {', '.join(sorted(endpoints))}",
        )

    return Guard(app, token, max_body_bytes, running)


BEARER_SCHEME = "bearer"
"""The OpenAPI security scheme's name, when the server requires a token."""

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
    "required": ["error_code", "message"],
}

ERROR_ANSWERS = {
    "400": "The body is not JSON, or nests too deeply to read",
    "401": "The bearer token is missing or wrong",
    "413": "The body is over the size limit",
    "422": "A missing or unknown input or parameter, a wrong type, a number that is not finite",
    "500": "A node failed (named in the message; the traceback is in the server's log)",
    "503": "The server stopped before the request finished; send it again",
}


def error_responses(token: bool) -> dict[str, Any]:
    """The OpenAPI answers of an invocation besides 200 (401 only when a token is set)."""
    return {
        status: {
            "description": text,
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
        for status, text in ERROR_ANSWERS.items()
        if token or status != "401"
    }


def _declare_bearer(app: Any) -> None:
    """Add the bearer security scheme to the app's OpenAPI document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes[BEARER_SCHEME] = {"type": "http", "scheme": "bearer"}
        return app.openapi_schema

    app.openapi = openapi


def _describe(endpoint: Endpoint) -> str:
    inputs = ", ".join(endpoint.inputs) or "none"
    params = ", ".join(f"{p.key} ({p.type}, default {p.default!r})" for p in endpoint.params)
    return (
        f"{endpoint.description}\n\nInputs: {inputs}. Parameters: {params or 'none'}. "
        f"Outputs: {', '.join(endpoint.outputs)}."
    )


def request_schema(endpoint: Endpoint) -> dict[str, Any]:
    """The JSON Schema of an endpoint's request body."""
    params = {
        p.key: ({} if p.type == "any" else {"type": p.type}) | {"default": p.default}
        for p in endpoint.params
    }
    properties: dict[str, Any] = {
        "params": {"type": "object", "properties": params, "additionalProperties": False}
    }
    if len(endpoint.inputs) == 1:
        (single,) = endpoint.inputs
        properties["dataframe_records"] = {
            "type": "array",
            "items": {"type": "object"},
            "description": f"Rows of '{single}'.",
        }
        properties["dataframe_split"] = {
            "type": "object",
            "properties": {
                "columns": {"type": "array", "items": {"type": "string"}},
                "data": {"type": "array", "items": {"type": "array"}},
                "index": {"type": "array"},
            },
            "required": ["columns", "data"],
            "description": f"'{single}' as columns and rows.",
        }
        properties["inputs"] = {"description": f"The value of '{single}'."}
        properties["instances"] = {"description": f"The value of '{single}' (as 'inputs')."}
    elif endpoint.inputs:
        by_name = {
            "type": "object",
            "properties": {name: {} for name in endpoint.inputs},
            "required": list(endpoint.inputs),
            "additionalProperties": False,
        }
        properties["inputs"] = by_name
        properties["instances"] = by_name | {"description": "As 'inputs'."}
    return {
        "title": f"{endpoint.name} request",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }


def response_schema(endpoint: Endpoint) -> dict[str, Any]:
    """The JSON Schema of an endpoint's answer."""
    return {
        "type": "object",
        "properties": {
            "outputs": {
                "type": "object",
                "properties": {name: {} for name in endpoint.outputs},
                "required": list(endpoint.outputs),
            }
        },
        "required": ["outputs"],
    }
