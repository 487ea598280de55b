"""The HTTP app: POST /graphql (JSON, bearer token), GET /graphql (GraphiQL), GET /healthz,
GET /metrics (api/metrics.py) and the reviewer console (catalog/web/) at /.

POST /graphql is served by a plain ASGI handler (it is the pipelines' hot path); everything
else goes through Starlette."""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager
from time import perf_counter

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from catalog.api.graphql import lean_raw
from catalog.api.graphql.context import Context, off_loop
from catalog.api.graphql.documents import Documents, Refused
from catalog.api.graphql.errors import formatted
from catalog.api.graphql.lean import LeanExecutor
from catalog.api.graphql.lean_one import OneChecks
from catalog.api.graphql.schema import get_schema
from catalog.api.http_rules import HeaderProblem, request_headers
from catalog.api.lineage_ingest import lineage_endpoint
from catalog.api.metrics import QUERY_KEY
from catalog.api.metrics import attach as attach_metrics
from catalog.errors import CatalogError
from catalog.services import decision_log
from catalog.services.core import Catalog
from catalog.web import console

log = logging.getLogger("catalog.api")
JSON_HEADERS = [(b"content-type", b"application/json")]


def error_body(code: str, message: str) -> bytes:
    return orjson.dumps({"data": None,
                         "errors": [{"message": message, "extensions": {"code": code}}]})


class GraphQLEndpoint:
    """POST /graphql: read the body (bounded), check the headers, authenticate, run the
    operation: documents are prepared once (documents.py), then the lean path or strawberry
    executes them."""

    def __init__(self, catalog: Catalog, *, lean: bool = True) -> None:
        self.catalog = catalog
        self.settings = catalog.settings
        self.schema = get_schema(self.settings.introspection)
        self.documents = Documents(self.schema._schema, introspection=self.settings.introspection)
        self.lean = LeanExecutor(self.schema._schema) if lean else None
        self.one = OneChecks(self) if lean else None
        self.metrics = None

    async def __call__(self, scope, receive, send) -> None:
        started = perf_counter()
        status, body = await self.respond(scope, receive)
        # A length, so the server need not frame the body in chunks.
        headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if self.metrics is not None:  # O(1); counted off the request path (api/metrics.py)
            self.metrics.request(scope.get(QUERY_KEY), started)

    async def respond(self, scope, receive) -> tuple[int, bytes]:
        limit = self.settings.max_body_bytes
        try:
            token, size = request_headers(scope["headers"])
        except HeaderProblem as exc:
            return exc.status, error_body(exc.code, exc.message)
        if size is not None and size.isdigit() and int(size) > limit:
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
        try:
            principal = await self.authenticate(token)
        except CatalogError as exc:
            return 401, error_body(exc.code, exc.message)
        body = b"".join(chunks)
        out = lean_raw.answer(self, body, principal, scope, QUERY_KEY)
        if out is not None:  # the pipelines' checkMany, answered from its bytes
            return 200, out
        if self.one is not None:
            out = self.one.answer(body, principal, scope, QUERY_KEY)
            if out is not None:  # the pipelines' single check, answered from its bytes
                return 200, out
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return 400, error_body("BAD_INPUT", 'the body is not JSON: send {"query": "...", '
                                                '"variables": {...}}')
        problem = payload_problem(payload)
        if problem:
            return 400, error_body("BAD_INPUT", problem)
        scope[QUERY_KEY] = payload["query"]
        out = await self.execute(payload, principal)
        if self.one is not None:
            try:
                self.one.learn(body, payload)
            except Exception:  # never the request's failure: the general path answers again
                log.exception("keeping a single check's bytes failed")
        return 200, out

    async def authenticate(self, token: str):
        auth = self.catalog.authenticator
        cached = auth.verified(token)  # bearer_token took it out of the header
        return cached if cached is not None else await off_loop(auth.authenticate, token)

    async def execute(self, payload: dict, principal, *, lean: bool = True) -> bytes:
        """The response body. Nothing here holds the event loop for long: a new document is
        parsed and validated in a worker thread, once."""
        query, variables = payload["query"], payload.get("variables")
        operation = payload.get("operationName")
        prepared = self.documents.cached(query) or await self.documents.prepare(query)
        if isinstance(prepared, Refused):
            return orjson.dumps({"data": None,
                                 "errors": [formatted(e) for e in prepared.errors]})
        if lean and self.lean is not None:
            plan = self.lean.plan(prepared, operation)
            if plan is not None:
                out = await self.lean.execute(plan, variables, self.catalog, principal)
                if out is not None:
                    return out
        result = await self.schema.execute(
            query, variable_values=variables, operation_name=operation,
            context_value=Context(self.catalog, principal, prepared.document))
        out = {"data": result.data}
        if result.errors:
            out["errors"] = [formatted(e) for e in result.errors]
        return orjson.dumps(out)

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
    metrics, metrics_routes = attach_metrics(catalog, endpoint, endpoint.schema._schema)
    recorder = decision_log.enable(catalog)  # counts API checks; None when turned off

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "revision": catalog.index.revision})

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
        # Young collections every 10,000 allocations, not 700: a write allocates tens of
        # thousands of short-lived objects (an ingested event ~0.5 ms of collections).
        gc.set_threshold(10_000, 50, 100)
        if background_sync:
            catalog.start_background_sync()
        if recorder is not None:
            recorder.start()
        if metrics is not None:
            metrics.start()
        yield
        if metrics is not None:
            metrics.stop()
        if recorder is not None:
            await off_loop(recorder.close)  # a clean shutdown flushes the decision log
        catalog.close()

    site = Starlette(routes=[
        Route("/healthz", healthz, methods=["GET"]),
        Route("/graphql", method_not_allowed, methods=["PUT", "PATCH", "DELETE"]),
        *metrics_routes,
        *console.routes(catalog),  # GET /graphql (GraphiQL, offline), / and the console
        Route("/api/v1/lineage", lineage_endpoint(catalog), methods=["POST"]),
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
