"""/changes (the change log, newest first), /log (the decision log) and /unclassified.

The decision log and the `unclassified` category come with other features (docs/semantics.md §10
and §15); until this catalog has them, their pages say so. Wiring them: /log renders
`entries` the way /changes does; /unclassified lists fields the moment the taxonomy holds
the category."""

from __future__ import annotations

from starlette.responses import Response

from catalog.services import browse, feed, inspect
from catalog.web.console import Console, Page
from catalog.web.present import field_url, summary

UNCLASSIFIED = "unclassified"


def changes_page(web: Console, page: Page) -> Response:
    prefix = page.arg("field")
    before = page.arg("before")
    entries, next_before = feed.recent_changes(
        web.catalog, page.principal, first=50, field_prefix=prefix or None,
        before=int(before) if before.isdigit() else None)
    return web.render(page, "changes.html", entries=entries, next_before=next_before,
                      prefix=prefix, summary=summary, field_url=field_url)


def log_page(web: Console, page: Page) -> Response:
    return web.render(page, "log.html")


def unclassified_page(web: Console, page: Page) -> Response:
    keys = inspect.taxonomy_keys(web.catalog, page.principal)
    if UNCLASSIFIED not in keys["category"]:
        return web.render(page, "unclassified.html", available=False)
    records, cursor, more = browse.fields_page(web.catalog, page.principal,
                                               category=UNCLASSIFIED, first=100,
                                               after=page.arg("after") or None)
    return web.render(page, "unclassified.html", available=True, records=records,
                      cursor=cursor if more else None, field_url=field_url)


ROUTES = [
    ("/changes", changes_page, ["GET"], False),
    ("/log", log_page, ["GET"], False),
    ("/unclassified", unclassified_page, ["GET"], False),
]
