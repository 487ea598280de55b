"""/fields: search by name prefix, filter by category, purpose, source and owner; paged."""

from __future__ import annotations

from starlette.responses import Response

from catalog.errors import CatalogError
from catalog.services import browse, inspect
from catalog.web.console import Console, Page

PAGE_SIZE = 50
FILTERS = ("category", "purpose", "source", "owner")


def fields_list(web: Console, page: Page) -> Response:
    cat, who = web.catalog, page.principal
    q = page.arg("q")
    chosen = {k: page.arg(k) for k in FILTERS}
    keys = inspect.taxonomy_keys(cat, who)
    error, records, cursor, more = None, [], None, False
    try:
        records, cursor, more = browse.fields_page(
            cat, who, prefix=q or None, first=PAGE_SIZE, after=page.arg("after") or None,
            **{k: v or None for k, v in chosen.items()})
    except CatalogError as exc:
        if exc.code != "BAD_INPUT":
            raise
        error = exc.message
    params = {"q": q, **chosen}
    return web.render(page, "fields.html", 400 if error else 200, q=q, chosen=chosen,
                      keys=keys, records=records, cursor=cursor if more else None,
                      params={k: v for k, v in params.items() if v}, error=error,
                      first_page=not page.arg("after"))


ROUTES = [("/fields", fields_list, ["GET"], False)]
