"""/spectrum in the console (semantics §15): the allowed decisions the log holds, drawn as bars
on the server; a bad period says what to fix."""

from __future__ import annotations

import re

from web_helpers import signed_in

from catalog.services import checks, decision_log
from catalog.services.auth import Principal

CELLS = [(f, p, c) for f in ("crm.customers.email", "crm.customers.clothing_size",
                             "shop.web.sessions.viewed_products")
         for p in ("service.delivery", "marketing.direct", "analytics.profiling",
                   "personalization.recommendations") for c in ("email", "web")]


def test_spectrum_page_draws_the_allowed_decisions(demo_catalog, tokens):
    recorder = decision_log.enable(demo_catalog)
    decisions = checks.check_many(demo_catalog, Principal("pipeline", name="p"), CELLS)
    recorder.flush()
    b = signed_in(demo_catalog, tokens, "owner")
    r = b.get("/spectrum")
    assert r.status_code == 200 and 'href="/spectrum"' in r.text and "<svg" in r.text
    for tier in ("utility", "relationship", "surveillance"):
        want = sum(1 for d in decisions if d.allowed and d.intensity == tier)
        title = re.search(rf"<title>{tier}: (\d+)</title>", r.text)
        assert title and int(title.group(1)) == want, tier
    assert "<script" not in r.text.split("</nav>")[1]  # drawn on the server
    empty = b.get("/spectrum?since=2999-01-01")
    assert empty.status_code == 200 and "No allowed decisions" in empty.text
    bad = b.get("/spectrum?since=yesterday")
    assert bad.status_code == 400 and "ISO 8601" in bad.text and 'name="since"' in bad.text
