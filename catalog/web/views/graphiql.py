"""GET /graphql: GraphiQL from this server's own files (fetched from npm at setup; see
web-assets/). Without them the page says how to get them: never a blank page."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from catalog.web.assets import VENDOR
from catalog.web.console import Console, Page


def graphiql(web: Console, page: Page) -> Response:
    if page.arg("query"):
        body = orjson.dumps({"data": None, "errors": [{
            "message": "send GraphQL operations with POST /graphql; GET serves GraphiQL only",
            "extensions": {"code": "BAD_INPUT"}}]})
        return Response(body, status_code=405, media_type="application/json")
    ready = web.assets.has(*(name for name in VENDOR))
    return web.render(page, "graphiql.html" if ready else "graphiql_missing.html",
                      vendor=VENDOR)


ROUTES = [("/graphql", graphiql, ["GET"], True)]
