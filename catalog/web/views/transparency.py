"""/gaps (grants that state no customer benefit although their use is relationship or
surveillance, docs/semantics.md §15) and /notice (the customer notice).

/notice is customer-facing, so it is shown in its own plain layout, the page `catalog notice
--format html` prints with only a thin bar back to the console above it: what a reviewer reads
is what customers would read, and the console's menus never end up in a published copy. A
machine may fetch it with the header `Authorization: Bearer <token>` (any role but pipeline)
instead of a console session."""

from __future__ import annotations

from urllib.parse import quote

from starlette.responses import HTMLResponse, RedirectResponse, Response

from catalog import notice
from catalog.errors import CatalogError
from catalog.services import transparency
from catalog.services.checks import snapshot
from catalog.web.console import HEADERS, STATUS, Console, Page
from catalog.web.present import field_url

PAGE_SIZE = 50


def gaps_page(web: Console, page: Page) -> Response:
    cat, who = web.catalog, page.principal
    index = snapshot(cat, None)  # the owners shown belong to the gaps listed
    gaps, cursor, more = transparency.gaps_page(cat, who, PAGE_SIZE,
                                                page.arg("after") or None, index=index)
    owners = {g.field: index.fields[g.field].owner for g in gaps}
    return web.render(page, "gaps.html", gaps=gaps, owners=owners,
                      cursor=cursor if more else None, first_page=not page.arg("after"),
                      field_url=field_url)


def notice_page(web: Console, page: Page) -> Response:
    principal = page.principal
    header = page.request.headers.get("authorization")
    if principal is None and not header:
        return RedirectResponse(f"/signin?next={quote('/notice', safe='')}", 303)
    try:
        if principal is None:  # a machine with a bearer token
            principal = web.catalog.authenticator.authenticate(header)
        text = notice.render(transparency.current_notice(web.catalog, principal), "html",
                             console=page.session is not None)
    except CatalogError as exc:
        if page.session is not None:
            raise
        return Response(f"{exc.code}: {exc.message}\n", status_code=STATUS.get(exc.code, 400),
                        media_type="text/plain; charset=utf-8", headers=HEADERS)
    return HTMLResponse(text, headers=HEADERS)


# /notice is routed as public: the view itself decides between the session and the header.
ROUTES = [
    ("/gaps", gaps_page, ["GET"], False),
    ("/notice", notice_page, ["GET"], True),
]
