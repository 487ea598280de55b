"""The HTTP app: POST /graphql (JSON, bearer token), GET /graphql (GraphiQL), GET /healthz."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from strawberry.http.ides import get_graphql_ide_html

from catalog.api.graphql.context import Context, off_loop
from catalog.api.graphql.errors import formatted
from catalog.api.graphql.schema import get_schema
from catalog.errors import CatalogError
from catalog.services.core import Catalog

log = logging.getLogger("catalog.api")
JSON = "application/json"


def _error(status: int, code: str, message: str) -> Response:
    body = {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]}
    return Response(orjson.dumps(body), status_code=status, media_type=JSON)


def create_app(catalog: Catalog, *, background_sync: bool = True) -> Starlette:
    settings = catalog.settings
    schema = get_schema(settings.introspection)
    ide_html = get_graphql_ide_html("graphiql")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "revision": catalog.index.revision})

    async def graphiql(request: Request) -> Response:
        if request.query_params.get("query"):
            return _error(405, "BAD_INPUT", "send GraphQL operations with POST /graphql; "
                                            "GET serves GraphiQL only")
        return HTMLResponse(ide_html)

    async def graphql(request: Request) -> Response:
        size = request.headers.get("content-length")
        if size and size.isdigit() and int(size) > settings.max_body_bytes:
            return _too_large()
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > settings.max_body_bytes:
                return _too_large()
        try:
            principal = await authenticate(request.headers.get("authorization"))
        except CatalogError as exc:
            return _error(401, exc.code, exc.message)
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _error(400, "BAD_INPUT", "the body is not JSON: send "
                                            '{"query": "...", "variables": {...}}')
        problem = _payload_problem(payload)
        if problem:
            return _error(400, "BAD_INPUT", problem)
        result = await schema.execute(
            payload["query"], variable_values=payload.get("variables"),
            context_value=Context(catalog, principal),
            operation_name=payload.get("operationName"))
        out: dict = {"data": result.data}
        if result.errors:
            out["errors"] = [formatted(e) for e in result.errors]
        return Response(orjson.dumps(out), media_type=JSON)

    async def authenticate(header: str | None):
        auth = catalog.authenticator
        cached = auth.cached(header)
        return cached if cached is not None else await off_loop(auth.authenticate, header)

    def _too_large() -> Response:
        return _error(413, "BAD_INPUT", f"the request body is over {settings.max_body_bytes:,}"
                                        " bytes: send fewer items per request")

    @asynccontextmanager
    async def lifespan(app):
        await off_loop(catalog.reload)
        if background_sync:
            catalog.start_background_sync()
        yield
        catalog.close()

    return Starlette(routes=[
        Route("/healthz", healthz, methods=["GET"]),
        Route("/graphql", graphiql, methods=["GET"]),
        Route("/graphql", graphql, methods=["POST"]),
    ], lifespan=lifespan)


def _payload_problem(payload) -> str | None:
    if not isinstance(payload, dict):
        return 'the body must be one JSON object: {"query": "...", "variables": {...}}'
    if not isinstance(payload.get("query"), str):
        return 'the body needs "query": a GraphQL document as a string'
    if payload.get("variables") is not None and not isinstance(payload["variables"], dict):
        return '"variables" must be a JSON object'
    if payload.get("operationName") is not None and not isinstance(payload["operationName"],
                                                                     str):
        return '"operationName" must be a string'
    return None


def app_factory() -> Starlette:
    """For uvicorn --factory (and --workers): settings from the environment."""
    logging.basicConfig(level=logging.INFO)
    return create_app(Catalog())
