"""The reviewer console (docs/semantics.md §13): how a page request is handled.

Every page is a plain function `view(web, page) -> Response`, run off the event loop (the
services it calls are synchronous). Around it, `Console.handler` reads the form (bounded),
finds the session, redirects to /signin without one, refuses a POST without the session's
CSRF token (403, before the view runs: nothing changes), and turns a catalog error into a
page that says what to fix. A view that redisplays a form catches the error itself."""

from __future__ import annotations

import gzip
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from catalog.errors import CatalogError
from catalog.services import sessions
from catalog.services.core import Catalog
from catalog.services.sessions import Session
from catalog.web.assets import Assets

log = logging.getLogger("catalog.web")
TEMPLATES = Path(__file__).resolve().parent / "templates"
COOKIE = "catalog_session"
MAX_FORM_BYTES = 64_000
STATUS = {"BAD_INPUT": 400, "UNAUTHENTICATED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404,
          "CONFLICT": 409}
# Everything from this server: the browser itself refuses anything from elsewhere.
HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; font-src 'self' "
                               "data:; style-src 'self' 'unsafe-inline'; frame-ancestors "
                               "'none'; form-action 'self'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


@dataclass
class Page:
    """One request as a view sees it."""

    request: Request
    session: Session | None
    form: dict[str, list[str]] = field(default_factory=dict)

    @property
    def principal(self):
        return self.session.principal if self.session else None

    def arg(self, name: str) -> str:
        """A query parameter, stripped; '' when absent."""
        return (self.request.query_params.get(name) or "").strip()

    def value(self, name: str) -> str:
        """A form field, stripped; '' when absent."""
        return (self.form.get(name) or [""])[0].strip()

    def values(self, name: str) -> list[str]:
        return [v.strip() for v in self.form.get(name, []) if v.strip()]


View = Callable[["Console", Page], Response]


class Console:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.assets = Assets()
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), trim_blocks=True,
                               lstrip_blocks=True, autoescape=select_autoescape(["html"]))
        self.env.globals.update(static=self.assets.url, quote=lambda s: quote(s, safe=""))

    def render(self, page: Page | None, template: str, status: int = 200,
               **values) -> HTMLResponse:
        session = page.session if page else None
        html = self.env.get_template(template).render(
            session=session, user=session.principal if session else None,
            csrf_token=session.csrf_token if session else "",
            path=page.request.url.path if page else "", **values)
        return HTMLResponse(html, status_code=status, headers=HEADERS)

    def error(self, page: Page | None, exc: CatalogError) -> HTMLResponse:
        status = STATUS.get(exc.code, 400)
        return self.render(page, "error.html", status, code=exc.code, message=exc.message)

    def route(self, path: str, view: View, methods: list[str], public: bool = False) -> Route:
        async def endpoint(request: Request) -> Response:
            form: dict[str, list[str]] = {}
            if request.method == "POST":
                body = b""
                async for chunk in request.stream():
                    body += chunk
                    if len(body) > MAX_FORM_BYTES:
                        return HTMLResponse("form too large", status_code=413)
                form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
            try:
                response = await run_in_threadpool(self._handle, view, request, form, public)
                return compressed(request, response)
            except Exception:  # never a trace to the browser; the log has it
                log.exception("console page %s failed", request.url.path)
                return self.render(None, "error.html", 500, code="INTERNAL",
                                   message="the page failed; the server log says why")

        return Route(path, endpoint, methods=methods)

    def _handle(self, view: View, request: Request, form, public: bool) -> Response:
        session = sessions.find(self.catalog, request.cookies.get(COOKIE))
        page = Page(request, session, form)
        if session is None and not public:
            if request.method != "POST":
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/signin?next={quote(target, safe='')}", 303)
            return self.render(page, "error.html", 403, code="UNAUTHENTICATED",
                               message="your session has ended: sign in again, then repeat "
                                       "the change")
        if request.method == "POST" and not public:
            sent = page.value("csrf_token")
            if not sent or not hmac.compare_digest(sent, session.csrf_token):
                return self.render(page, "error.html", 403, code="FORBIDDEN",
                                   message="this form is stale or did not come from this "
                                           "console (no valid csrf_token): reload the page "
                                           "and submit it again")
        try:
            return view(self, page)
        except CatalogError as exc:
            return self.error(page, exc)


def compressed(request: Request, response: Response) -> Response:
    """Pages gzipped for browsers that take it: a big lineage is ~250 KB of SVG, ~20 KB
    compressed."""
    body = getattr(response, "body", b"")
    if len(body) < 2048 or "gzip" not in request.headers.get("accept-encoding", "") \
            or "content-encoding" in response.headers:
        return response
    response.body = gzip.compress(body, 5)
    response.headers["content-encoding"] = "gzip"
    response.headers["content-length"] = str(len(response.body))
    response.headers["vary"] = "accept-encoding"
    return response


def routes(catalog: Catalog) -> list[Route]:
    """GET /graphql (GraphiQL), /static/..., / and the console's pages."""
    from catalog.web.views import (
        auth,
        changes,
        check,
        crowding,
        field,
        fields,
        graphiql,
        rules,
        spectrum,
        transparency,
    )

    web = Console(catalog)
    table = [Route("/static/{path:path}", web.assets.serve, methods=["GET"])]
    for module in (auth, fields, field, check, rules, changes, crowding, spectrum,
                   transparency, graphiql):
        for path, view, methods, public in module.ROUTES:
            table.append(web.route(path, view, methods, public))
    return table
