"""The HTTP app: POST /graphql (JSON, bearer token), GET /graphql (GraphiQL), GET /healthz.

POST /graphql is served by a plain ASGI handler (it is the pipelines' hot path); everything
else goes through Starlette."""

from __future__ import annotations

import gc
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
from catalog.api.graphql.lean import LeanExecutor
from catalog.api.graphql.schema import get_schema
from catalog.api.notice_page import notice_route
from catalog.errors import CatalogError
from catalog.services.core import Catalog

log = logging.getLogger("catalog.api")
BIG_DOCUMENT = 20_000  # characters; larger documents are planned off the event loop
JSON_HEADERS = [(b"content-type", b"application/json")]


def error_body(code: str, message: str) -> bytes:
    return orjson.dumps({"data": None,
                         "errors": [{"message": message, "extensions": {"code": code}}]})


class GraphQLEndpoint:
    """POST /graphql: read the body (bounded), authenticate, run the operation."""

    def __init__(self, catalog: Catalog, *, lean: bool = True) -> None:
        self.catalog = catalog
        self.settings = catalog.settings
        self.schema = get_schema(self.settings.introspection)
        self.lean = LeanExecutor(self.schema._schema) if lean else None

    async def __call__(self, scope, receive, send) -> None:
        status, body = await self.respond(scope, receive)
        # A length, so the server need not frame the body in chunks.
        headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def respond(self, scope, receive) -> tuple[int, bytes]:
        limit = self.settings.max_body_bytes
        headers = dict(scope["headers"])
        size = headers.get(b"content-length", b"")
        if size.isdigit() and int(size) > limit:
            return 413, self._too_large()
        chunks, total = [], 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > limit:
                return 413, self._too_large()
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        header = headers.get(b"authorization", b"").decode("latin-1")
        try:
            principal = await self.authenticate(header)
        except CatalogError as exc:
            return 401, error_body(exc.code, exc.message)
        try:
            payload = orjson.loads(b"".join(chunks))
        except orjson.JSONDecodeError:
            return 400, error_body("BAD_INPUT", 'the body is not JSON: send {"query": "...", '
                                                '"variables": {...}}')
        problem = payload_problem(payload)
        if problem:
            return 400, error_body("BAD_INPUT", problem)
        return 200, orjson.dumps(await self.execute(payload, principal))

    async def authenticate(self, header: str):
        auth = self.catalog.authenticator
        cached = auth.cached(header)
        return cached if cached is not None else await off_loop(auth.authenticate, header)

    async def execute(self, payload: dict, principal, *, lean: bool = True) -> dict:
        query, variables = payload["query"], payload.get("variables")
        operation = payload.get("operationName")
        if lean and self.lean is not None:
            if len(query) > BIG_DOCUMENT:  # parsing it would stall every other request
                plan = await off_loop(self.lean.plan, query, operation)
            else:
                plan = self.lean.plan(query, operation)
            if plan is not None:
                out = await self.lean.execute(plan, variables, self.catalog, principal)
                if out is not None:
                    return out
        result = await self.schema.execute(query, variable_values=variables,
                                           context_value=Context(self.catalog, principal),
                                           operation_name=operation)
        out = {"data": result.data}
        if result.errors:
            out["errors"] = [formatted(e) for e in result.errors]
        return out

    def _too_large(self) -> bytes:
        return error_body("BAD_INPUT", f"the request body is over "
                                       f"{self.settings.max_body_bytes:,} bytes: send fewer "
                                       "items per request")


def payload_problem(payload) -> str | None:
    if not isinstance(payload, dict):
        return 'the body must be one JSON object: {"query": "...", "variables": {...}}'
    if not isinstance(payload.get("query"), str):
        return 'the body needs "query": a GraphQL document as a string'
    if payload.get("variables") is not None and not isinstance(payload["variables"], dict):
        return '"variables" must be a JSON object'
    name = payload.get("operationName")
    if name is not None and not isinstance(name, str):
        return '"operationName" must be a string'
    return None


def create_app(catalog: Catalog, *, background_sync: bool = True, lean: bool = True):
    endpoint = GraphQLEndpoint(catalog, lean=lean)
    ide_html = get_graphql_ide_html("graphiql")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "revision": catalog.index.revision})

    async def graphiql(request: Request) -> Response:
        if request.query_params.get("query"):
            return Response(error_body("BAD_INPUT", "send GraphQL operations with POST "
                                                    "/graphql; GET serves GraphiQL only"),
                            status_code=405, media_type="application/json")
        return HTMLResponse(ide_html)

    async def method_not_allowed(request: Request) -> Response:
        return Response(error_body("BAD_INPUT", "use POST /graphql (GET serves GraphiQL)"),
                        status_code=405, media_type="application/json")

    @asynccontextmanager
    async def lifespan(app):
        await off_loop(catalog.reload)
        # The index is long-lived: move it out of the collector's generations, so full
        # collections stop walking it (they paused checks 300-500 ms on a warm cache).
        gc.collect()
        gc.freeze()
        if background_sync:
            catalog.start_background_sync()
        yield
        catalog.close()

    site = Starlette(routes=[
        Route("/healthz", healthz, methods=["GET"]),
        Route("/graphql", graphiql, methods=["GET"]),
        Route("/graphql", method_not_allowed, methods=["PUT", "PATCH", "DELETE"]),
        notice_route(catalog),
    ], lifespan=lifespan)

    async def app(scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and \
                scope["path"] == "/graphql":
            await endpoint(scope, receive, send)
        else:
            await site(scope, receive, send)

    app.endpoint = endpoint  # type: ignore[attr-defined]  (tests compare lean and strawberry)
    return app


def app_factory():
    """For uvicorn --factory (and --workers): settings from the environment."""
    logging.basicConfig(level=logging.INFO)
    return create_app(Catalog())
