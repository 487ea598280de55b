"""/check: field, purpose, channel -> the decision with its reasons, and the failing lineage
paths drawn on the picture."""

from __future__ import annotations

from starlette.responses import Response

from catalog.domain.decision import ReasonCode
from catalog.services import checks, inspect
from catalog.web.console import Console, Page
from catalog.web.present import field_url
from catalog.web.views.field import MAX_DEPTH, lineage_picture

ASKED = ("field", "purpose", "channel")


def check_page(web: Console, page: Page) -> Response:
    cat, who = web.catalog, page.principal
    asked = {k: page.arg(k) for k in ASKED}
    keys = inspect.taxonomy_keys(cat, who)
    if not any(asked.values()):
        return web.render(page, "check.html", asked=asked, keys=keys)
    missing = [k for k in ASKED if not asked[k]]
    if missing:
        return web.render(page, "check.html", 400, asked=asked, keys=keys, missing=missing,
                          error=f"give the {' and the '.join(missing)} to check")
    d = checks.check(cat, who, asked["field"], asked["purpose"], asked["channel"],
                     logged=False)
    paths = [r.path for r in d.reasons if r.code == ReasonCode.UPSTREAM_NOT_PERMITTED and r.path]
    known = not any(r.code.startswith("UNKNOWN_") for r in d.reasons)
    pic, cut = None, False
    if known:
        longest = max((len(p) - 1 for p in paths), default=3)
        cut = longest > MAX_DEPTH
        pic = lineage_picture(web, page, d.field, "UPSTREAM", max(1, min(longest, MAX_DEPTH)),
                              d.purpose, d.channel, failing_paths=paths)
    return web.render(page, "check.html", asked=asked, keys=keys, d=d,
                      verdict=inspect.status_of(d), pic=pic, cut=cut, field_url=field_url)


ROUTES = [("/check", check_page, ["GET"], False)]
