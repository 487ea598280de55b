"""The personalization spectrum over HTTP (semantics §15): allowed decisions from the decision
log, counted by the intensity each had and the purpose as requested; roles and bad input.
SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter

import pytest

from catalog.services import decision_log

pytestmark = pytest.mark.anyio

FIELDS = ["crm.customers.email", "crm.customers.clothing_size",
          "shop.web.sessions.viewed_products", "orders.orders.shipping_address",
          "ml.scores.pregnancy_likelihood", "no.such.field"]
PURPOSES = ["service.delivery", "personalization.onsite", "personalization.recommendations",
            "marketing.direct", "analytics.aggregate", "analytics.profiling", "sharing.partners"]
CHANNELS = ["email", "web", "sms"]
MANY = ("query($q: [CheckInput!]!) { checkMany(requests: $q) "
        "{ allowed purpose intensity } }")
SPECTRUM = ("query($s: DateTime, $u: DateTime) { spectrum(since: $s, until: $u) "
            "{ intensity purpose allowed } }")


async def test_counts_equal_the_allowed_checks_sent(api, demo_catalog):
    recorder = decision_log.recorder_of(demo_catalog)
    assert recorder is not None
    cells = [{"field": f, "purpose": p, "channel": c}
             for f in FIELDS for p in PURPOSES for c in CHANNELS]
    sent: Counter = Counter()
    for role, repeat in (("pipeline", 2), ("owner", 1)):
        for _ in range(repeat):
            answers = (await api.data(MANY, {"q": cells}, as_=role))["checkMany"]
            sent.update((d["intensity"], d["purpose"]) for d in answers if d["allowed"])
        one = (await api.data('{ check(field: "crm.customers.email", purpose: '
                              '"marketing.direct", channel: "email") { allowed intensity } }',
                              as_=role))["check"]
        if one["allowed"]:
            sent[(one["intensity"], "marketing.direct")] += 1
    assert len({tier for tier, _ in sent}) >= 2, sent  # the demo spans more than one tier
    assert (await api.data(SPECTRUM, as_="reviewer"))["spectrum"] == []  # not flushed yet
    recorder.flush()
    rows = (await api.data(SPECTRUM, as_="reviewer"))["spectrum"]
    assert Counter({(r["intensity"], r["purpose"]): r["allowed"] for r in rows}) == sent
    tiers = [r["intensity"] for r in rows]
    order = ["utility", "relationship", "surveillance"]
    assert tiers == sorted(tiers, key=order.index)
    later = (await api.data(SPECTRUM, {"s": "2999-01-01T00:00:00Z"}, as_="owner"))["spectrum"]
    assert later == []
    earlier = (await api.data(SPECTRUM, {"u": "2000-01-01T00:00:00Z"}, as_="admin"))
    assert earlier["spectrum"] == []


async def test_spectrum_roles_and_bad_input(read_api):
    await read_api.error("{ spectrum { purpose } }", code="FORBIDDEN", as_="pipeline")
    for role in ("owner", "reviewer", "admin"):
        assert isinstance((await read_api.data("{ spectrum { allowed } }", as_=role))
                          ["spectrum"], list)
    await read_api.error(SPECTRUM, {"s": "2026-02-01T00:00:00Z", "u": "2026-01-01T00:00:00Z"},
                         code="BAD_INPUT", as_="reviewer")
