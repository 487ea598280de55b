"""POST /api/v1/lineage: OpenLineage events as an OpenLineage client's HTTP transport sends
them (JSON, optionally gzip), with a bearer token. This module only reads the body within its
limit, authenticates and translates errors; the service parses, maps and writes.

Order of checks (docs/semantics.md §11): 401 no or bad token; 403 a role that may not write;
413 a body over the limit; 400 not an event; 403 an owner's scope missing an output column;
400 what the event gets wrong; 409 a cycle."""

from __future__ import annotations

import logging
import zlib

import orjson
from starlette.requests import Request
from starlette.responses import Response

from catalog.api.graphql.context import off_loop
from catalog.domain.openlineage import parse_event
from catalog.errors import BadInput, CatalogError
from catalog.services.core import Catalog
from catalog.services.ingest import ingest_events, require_ingest

log = logging.getLogger("catalog.api")
STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "BAD_INPUT": 400, "NOT_FOUND": 404,
          "CONFLICT": 409}


class TooLarge(Exception):
    pass


def error(status: int, code: str, message: str) -> Response:
    return Response(orjson.dumps({"error": {"code": code, "message": message}}),
                    status_code=status, media_type="application/json")


def lineage_endpoint(catalog: Catalog):
    limit = catalog.settings.max_body_bytes

    async def endpoint(request: Request) -> Response:
        try:
            auth = catalog.authenticator
            header = request.headers.get("authorization")
            principal = auth.cached(header) or await off_loop(auth.authenticate, header)
            require_ingest(principal)
            body = await read_body(request, limit)
            result = await off_loop(ingest_body, catalog, principal, body)
        except TooLarge:
            return error(413, "BAD_INPUT", f"the event is over {limit:,} bytes "
                         "(CATALOG_MAX_BODY_BYTES, after gzip decoding): send smaller events")
        except CatalogError as exc:
            return error(STATUS.get(exc.code, 500), exc.code, exc.message)
        except Exception:  # never a trace or SQL to the caller; the log has it
            log.exception("lineage ingestion failed")
            return error(500, "INTERNAL", "the event could not be stored; nothing was written; "
                                          "try again, and tell the catalog's operators if it "
                                          "persists")
        return Response(orjson.dumps(result.as_json()), media_type="application/json")

    return endpoint


def ingest_body(catalog: Catalog, principal, body: bytes):
    return ingest_events(catalog, principal, [parse_event(decode_json(body))])


async def read_body(request: Request, limit: int) -> bytes:
    size = request.headers.get("content-length", "")
    if size.isdigit() and int(size) > limit:
        raise TooLarge()
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise TooLarge()
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        return gunzip(body, limit)
    if encoding not in ("", "identity"):
        raise BadInput(f"Content-Encoding {encoding!r} is not supported: send gzip or plain "
                       "JSON")
    return body


def gunzip(body: bytes, limit: int) -> bytes:
    """Decode at most limit bytes: a small gzip body must not expand into gigabytes."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise BadInput("the body is not valid gzip, though Content-Encoding says gzip") from None
    if len(out) > limit:
        raise TooLarge()
    if not inflater.eof:
        raise BadInput("the gzip body is truncated: send the whole event")
    return out


def decode_json(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"the body is not JSON ({str(exc).split(':')[0]}): send one "
                       "OpenLineage event as a JSON object") from None
