"""/overcrowding: the overcrowding watch (docs/semantics.md §10) — per channel and marketing
purpose, how many distinct callers asked and how many decisions they got in a period (by
default the last 30 days), flagged when crowded: services.audit.CROWDED_CALLERS or more
distinct callers, unless the form asks for another threshold. Reviewers and admins only, as
the decision log it reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.responses import Response

from catalog.errors import BadInput, CatalogError
from catalog.services import audit
from catalog.web.console import Console, Page
from catalog.web.present import parse_time

DEFAULT_DAYS = 30


def default_since() -> str:
    return (datetime.now(UTC) - timedelta(days=DEFAULT_DAYS)).date().isoformat()


def threshold(raw: str) -> int:
    if not raw:
        return audit.CROWDED_CALLERS
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise BadInput(f"crowded must be a whole number of callers from 1 to 1000, not "
                       f"{raw[:20]!r}")
    return int(raw)


def overcrowding_page(web: Console, page: Page) -> Response:
    audit.require_auditor(page.principal)  # a 403 page for others, before reading the form
    chosen = {"since": page.arg("since") or default_since(), "until": page.arg("until"),
              "crowded": page.arg("crowded") or str(audit.CROWDED_CALLERS)}
    error, rows, at = None, [], audit.CROWDED_CALLERS
    try:
        at = threshold(chosen["crowded"])
        rows = audit.overcrowding(web.catalog, page.principal,
                                  parse_time(chosen["since"], "since"),
                                  parse_time(chosen["until"], "until"))
    except CatalogError as exc:
        if exc.code != "BAD_INPUT":
            raise
        error = exc.message
    return web.render(page, "overcrowding.html", 400 if error else 200, rows=rows,
                      chosen=chosen, error=error, at=at, days=DEFAULT_DAYS,
                      default_at=audit.CROWDED_CALLERS, purpose=audit.CROWDED_PURPOSE)


ROUTES = [("/overcrowding", overcrowding_page, ["GET"], False)]
