"""GET /notice: the customer notice (docs/semantics.md §15) as an HTML page.

Until the reviewer console has sessions, the page asks for the same bearer token as
/graphql (every role but pipeline); once the console lands it belongs behind its sign-in."""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from catalog import notice
from catalog.api.graphql.context import off_loop
from catalog.errors import CatalogError
from catalog.services.core import Catalog
from catalog.services.transparency import build_notice

STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403}


def notice_route(catalog: Catalog) -> Route:
    async def page(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        try:
            principal = await off_loop(catalog.authenticator.authenticate, header)
            body = await off_loop(lambda: notice.render(build_notice(catalog, principal),
                                                        "html"))
        except CatalogError as exc:
            return HTMLResponse(f"<!doctype html><title>{exc.code}</title><p>"
                                f"{escape(exc.message)}</p>",
                                status_code=STATUS.get(exc.code, 400))
        return HTMLResponse(body)

    return Route("/notice", page, methods=["GET"])
