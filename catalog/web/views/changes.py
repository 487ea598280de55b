"""/changes (the change log, newest first), /log (the decision log, docs/semantics.md §10) and
/unclassified (fields waiting for a category; the page says so if the taxonomy lacks it)."""

from __future__ import annotations

from starlette.responses import Response

from catalog.errors import CatalogError
from catalog.services import audit, browse, feed, inspect
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
    """Decisions counted per minute, caller, field, purpose, channel and outcome."""
    chosen = {k: page.arg(k) for k in ("field", "purpose", "channel", "outcome")}
    allowed = {"allowed": True, "denied": False}.get(chosen["outcome"])
    error, entries, cursor, more = None, [], None, False
    try:
        entries, cursor, more = audit.decision_log(
            web.catalog, page.principal, field=chosen["field"] or None,
            purpose=chosen["purpose"] or None, channel=chosen["channel"] or None,
            allowed=allowed, first=100, after=page.arg("after") or None)
    except CatalogError as exc:
        if exc.code != "BAD_INPUT":
            raise
        error = exc.message
    return web.render(page, "log.html", 400 if error else 200, entries=entries,
                      cursor=cursor if more else None, chosen=chosen, error=error,
                      keys=inspect.taxonomy_keys(web.catalog, page.principal),
                      params={k: v for k, v in chosen.items() if v}, field_url=field_url)


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
