"""Every GraphQL operation over HTTP, as an admin, on the demo catalog: what it answers and
what it changes. Role and error cases are in test_api_roles.py and test_api_errors.py."""

from __future__ import annotations

import pytest
from api_helpers import DECISION_PARTS, FIELD_PARTS, codes

pytestmark = pytest.mark.anyio

BABY_PATH = ["dwh.marts.audiences.baby_club_member", "ml.scores.pregnancy_likelihood",
             "dwh.marts.customer_360.purchase_categories_12m",
             "dwh.marts.orders_enriched.product_categories", "orders.orders.line_items"]
CHURN_PATH = ["ml.scores.churn_risk", "dwh.marts.customer_360.avg_basket_value",
              "dwh.marts.orders_enriched.net_amount", "payments.transactions.amount"]
UP, PD = "UPSTREAM_NOT_PERMITTED", "POLICY_DENIED"

# seeds/demo/README.md: (field, purpose, channel) -> (allowed, [(code, rule, path)], consent)
README_CHECKS = [
    (("crm.customers.email", "service.delivery", "email"), (True, [], False)),
    (("crm.customers.email", "marketing.direct", "email"), (True, [], True)),
    (("ml.scores.next_best_product", "personalization.recommendations", "web"),
     (True, [], None)),
    (("ml.scores.pregnancy_likelihood", "personalization.recommendations", "web"),
     (False, [(PD, "boudoir-topics", None)], None)),
    (("dwh.marts.audiences.baby_club_member", "marketing.direct", "email"),
     (False, [(UP, None, BABY_PATH), (PD, "boudoir-topics", None)], True)),
    (("ml.scores.churn_risk", "marketing.direct", "email"),
     (False, [(UP, None, CHURN_PATH)], True)),
    (("ml.scores.churn_risk", "service.support", "call_center"), (True, [], None)),
    (("dwh.marts.customer_360.email_hash", "marketing.advertising", "ads"),
     (False, [(UP, None, ["dwh.marts.customer_360.email_hash", "crm.customers.email"])], True)),
    (("ml.scores.store_visit_propensity", "marketing.direct", "push"),
     (False, [(PD, "helicoptering", None), (PD, "sensitive-data-private-channels", None)],
      True)),
    (("shop.app.devices.gps_location", "service.delivery", "in_app"), (True, [], None)),
    (("shop.web.tracking.ad_pixel_id", "marketing.advertising", "ads"),
     (False, [(PD, "digging-too-deep-cross-site", None),
              (PD, "sensitive-data-private-channels", None)], None)),
    (("dwh.marts.attribution.ad_touchpoints", "analytics.aggregate", "internal"),
     (True, [], None)),
    (("broker.acme_feed.credit_score", "pricing.individual", "web"),
     (False, [(PD, "surveillance-pricing", None)], None)),
    (("broker.acme_feed.credit_score", "marketing.direct", "email"),
     (False, [(PD, "digging-too-deep", None)], None)),
    (("dwh.marts.customer_360.age_band", "personalization.onsite", "web"),
     (False, [(PD, "digging-too-deep", None)], None)),
    (("crm.customers.phone", "service.security", "call_center"),
     (False, [("CHANNEL_NOT_PERMITTED", None, None)], None)),
    (("crm.customers.fax_number", "service.support", "call_center"),
     (False, [("FIELD_DEPRECATED", None, None)], None)),
    (("crm.customers.postal_address", "marketing.direct", "direct_mail"),
     (False, [(PD, "sensitive-data-private-channels", None)], True)),
]


def assert_decision(d: dict, request: tuple, expected: tuple) -> None:
    allowed, reasons, consent = expected
    assert (d["field"], d["purpose"], d["channel"]) == request
    assert d["allowed"] is allowed, (request, d["reasons"])
    got = [(r["code"], r["rule"], r["path"]) for r in d["reasons"]]
    assert got == reasons, request
    assert all(r["message"] for r in d["reasons"])
    if consent is not None:
        assert ("CONSENT_REQUIRED" in d["obligations"]) is consent, (request, d["obligations"])
    assert d["effectiveCategories"]


async def test_check_and_check_many_answer_as_the_demo_readme_says(read_api):
    revision = await read_api.revision()
    for request, expected in README_CHECKS:
        d = await read_api.check(*request)
        assert_decision(d, request, expected)
        assert d["revision"] == revision
    q = f"query($r: [CheckInput!]!) {{ checkMany(requests: $r) {{ {DECISION_PARTS} }} }}"
    requests = [{"field": f, "purpose": p, "channel": c} for (f, p, c), _ in README_CHECKS]
    many = (await read_api.data(q, {"r": requests[::-1]}))["checkMany"]  # same order as asked
    for d, (request, expected) in zip(many, README_CHECKS[::-1], strict=True):
        assert_decision(d, request, expected)
    pregnancy = await read_api.check("ml.scores.pregnancy_likelihood",
                                     "personalization.recommendations", "web")
    assert pregnancy["effectiveCategories"] == ["external.health", "historical.purchases"]
    price = await read_api.check("ml.scores.price_sensitivity", "pricing.individual", "web")
    assert codes(price) == [UP] * 10 + [PD]
    assert (await read_api.data("{ checkMany(requests: []) { allowed } }"))["checkMany"] == []


async def test_check_with_inline_arguments_and_at_least_revision_of_now(read_api):
    revision = await read_api.revision()
    d = (await read_api.data(
        f'{{ check(field: "crm.customers.email", purpose: "service.delivery", channel: '
        f'"email", atLeastRevision: {revision}) {{ allowed revision }} }}'))["check"]
    assert d == {"allowed": True, "revision": revision}


async def test_field_returns_the_record_and_null_for_names_it_lacks(read_api):
    f = await read_api.field("dwh.marts.customer_360.age_band")
    assert f["name"] == "dwh.marts.customer_360.age_band"
    assert f["upstream"] == ["broker.acme_feed.estimated_age", "crm.customers.birth_date"]
    assert f["downstream"] == ["ml.scores.customer_segment"]
    assert f["deprecated"] is False and f["revision"] >= 1
    assert "external.demographics" in f["effectiveCategories"]
    assert (await read_api.field("crm.customers.fax_number"))["deprecated"] is True
    for name in ["crm.customers.nope", "CRM.customers.email", "crm.customers.email ", "",
                 "email", "crm.email", "crm..email", "crm.customers.e mail", "a.b.c" * 400,
                 "crm.customers.émail", "'; DROP TABLE field; --"]:
        assert await read_api.field(name) is None, name


async def test_lineage_walks_each_direction_to_the_asked_depth(read_api):
    q = """query($f: String!, $d: LineageDirection!, $n: Int!) {
      lineage(field: $f, direction: $d, depth: $n) {
        root partial nodes { name } edges { upstream downstream transform } } }"""

    async def lineage(field, direction="UPSTREAM", depth=10):
        out = (await read_api.data(q, {"f": field, "d": direction, "n": depth}))["lineage"]
        assert out["root"] == field and out["partial"] is False
        assert field in [n["name"] for n in out["nodes"]]  # nodes include the root
        return {n["name"] for n in out["nodes"]}, {(e["upstream"], e["downstream"])
                                                  for e in out["edges"]}

    nodes, edges = await lineage("dwh.marts.audiences.baby_club_member")
    assert set(BABY_PATH) <= nodes
    assert ("ml.scores.pregnancy_likelihood", "dwh.marts.audiences.baby_club_member") in edges
    nodes, edges = await lineage("dwh.marts.audiences.baby_club_member", depth=1)
    assert nodes == set(BABY_PATH[:2])
    assert edges == {(BABY_PATH[1], BABY_PATH[0])}
    nodes, _ = await lineage("orders.orders.line_items", "DOWNSTREAM", 50)
    assert set(BABY_PATH) <= nodes and "crm.customers.email" not in nodes
    nodes, _ = await lineage("orders.orders.line_items", "UPSTREAM")
    assert nodes == {"orders.orders.line_items"}
    nodes, edges = await lineage("dwh.marts.customer_360.email_hash", "BOTH")
    assert nodes == {"dwh.marts.customer_360.email_hash", "crm.customers.email"}
    # The defaults: UPSTREAM, depth 10.
    out = (await read_api.data('{ lineage(field: "ml.scores.churn_risk") { nodes { name } } }'))
    names = {n["name"] for n in out["lineage"]["nodes"]}
    assert "payments.transactions.amount" in names and "crm.customers.email" not in names
    # A field without lineage answers just itself.
    nodes, edges = await lineage("crm.customers.gender", "BOTH", 50)
    assert (nodes, edges) == ({"crm.customers.gender"}, set())


REGISTER = f"mutation($i: FieldInput!) {{ registerField(input: $i) {{ {FIELD_PARTS} }} }}"
REGISTER_MANY = (f"mutation($i: [FieldInput!]!) {{ registerFields(inputs: $i) "
                 f"{{ {FIELD_PARTS} }} }}")


async def test_register_field_creates_then_updates_keeping_what_is_omitted(api):
    name = "crm.customers.preferred_language"
    created = (await api.data(REGISTER, {"i": {
        "name": name, "category": "internal.preferences", "source": "zero_party",
        "owner": "crm-team", "description": "chosen language", "sourceSystem": "Salesforce",
        "grants": [{"purpose": "service", "channels": ["email", "web"]},
                   {"purpose": "marketing.direct", "channels": ["email"],
                    "requiresConsent": True}]}}))["registerField"]
    assert created["grants"] == [
        {"purpose": "marketing.direct", "channels": ["email"], "requiresConsent": True},
        {"purpose": "service", "channels": ["email", "web"], "requiresConsent": False}]
    assert created["revision"] == await api.revision()
    assert await api.field(name) == created
    allowed = await api.check(name, "service.support", "web", at_least=created["revision"])
    assert allowed["allowed"] is True
    # Given attributes replace; omitted ones (description, sourceSystem, grants) stay.
    updated = (await api.data(REGISTER, {"i": {
        "name": name, "category": "internal.preferences", "source": "first_party",
        "owner": "web-team"}}))["registerField"]
    assert updated["revision"] > created["revision"]
    assert {k: updated[k] for k in ("source", "owner")} == {"source": "first_party",
                                                           "owner": "web-team"}
    for kept in ("description", "sourceSystem", "grants", "category"):
        assert updated[kept] == created[kept], kept
    # Given grants replace all grants.
    regranted = (await api.data(REGISTER, {"i": {
        "name": name, "category": "internal.preferences", "source": "first_party",
        "owner": "web-team", "grants": []}}))["registerField"]
    assert regranted["grants"] == []
    denied = await api.check(name, "service.support", "web", at_least=regranted["revision"])
    assert codes(denied) == ["PURPOSE_NOT_GRANTED"]
    # Registering what is there changes nothing.
    revision = await api.revision()
    same = (await api.data(REGISTER, {"i": {
        "name": name, "category": "internal.preferences", "source": "first_party",
        "owner": "web-team"}}))["registerField"]
    assert same == regranted and await api.revision() == revision


async def test_register_fields_is_all_or_nothing(api):
    good = [{"name": f"crm.customers.extra_{i}", "category": "internal.preferences",
             "source": "zero_party", "owner": "crm-team"} for i in range(3)]
    before = await api.snapshot(*(g["name"] for g in good))
    bad = [*good[:2], {**good[2], "category": "internal.nonsense"}]
    err = await api.error(REGISTER_MANY, {"i": bad}, code="BAD_INPUT")
    assert "internal.nonsense" in err["message"]
    assert await api.snapshot(*(g["name"] for g in good)) == before
    out = (await api.data(REGISTER_MANY, {"i": good}))["registerFields"]
    assert [f["name"] for f in out] == [g["name"] for g in good]  # input order
    assert len({f["revision"] for f in out}) == 1  # one commit
    assert (await api.field("crm.customers.extra_1"))["owner"] == "crm-team"
    # Existing and new in one call: the existing one is updated.
    out = (await api.data(REGISTER_MANY, {"i": [
        {**good[0], "owner": "new-owner"},
        {"name": "crm.customers.extra_9", "category": "tracking", "source": "first_party",
         "owner": "crm-team"}]}))["registerFields"]
    assert out[0]["owner"] == "new-owner" and out[1]["name"] == "crm.customers.extra_9"


async def test_deprecate_field(api):
    q = "mutation($n: String!) { deprecateField(name: $n) { name deprecated revision } }"
    out = (await api.data(q, {"n": "crm.customers.email"}))["deprecateField"]
    assert out["deprecated"] is True
    d = await api.check("crm.customers.email", "service.delivery", "email",
                        at_least=out["revision"])
    assert codes(d) == ["FIELD_DEPRECATED"]
    # Deprecating again changes nothing.
    again = (await api.data(q, {"n": "crm.customers.email"}))["deprecateField"]
    assert again == out


GRANT = """mutation($f: String!, $g: GrantInput!) {
  grantPurpose(field: $f, grant: $g) { name revision grants { purpose channels requiresConsent } }
}"""
REVOKE = """mutation($f: String!, $p: String!) {
  revokePurpose(field: $f, purpose: $p) { name revision grants { purpose channels } }
}"""


async def test_grant_purpose_replaces_the_grant_for_that_purpose(api):
    email = "crm.customers.email"
    before = await api.check(email, "service.support", "sms")
    assert codes(before) == ["CHANNEL_NOT_PERMITTED"]
    out = (await api.data(GRANT, {"f": email, "g": {"purpose": "service",
                                                    "channels": ["sms", "email"]}}))
    field = out["grantPurpose"]
    service = [g for g in field["grants"] if g["purpose"] == "service"]
    assert service == [{"purpose": "service", "channels": ["email", "sms"],
                        "requiresConsent": False}]
    after = await api.check(email, "service.support", "sms", at_least=field["revision"])
    assert after["allowed"] is True and after["revision"] >= field["revision"]
    # No channel list: every channel. requiresConsent adds the obligation.
    out = await api.data(GRANT, {"f": email, "g": {"purpose": "analytics",
                                                   "requiresConsent": True}})
    grant = [g for g in out["grantPurpose"]["grants"] if g["purpose"] == "analytics"]
    assert grant == [{"purpose": "analytics", "channels": None, "requiresConsent": True}]
    d = await api.check(email, "analytics.profiling", "internal",
                        at_least=out["grantPurpose"]["revision"])
    assert d["allowed"] is True and d["obligations"] == ["CONSENT_REQUIRED"]


async def test_revoke_purpose_denies_at_the_returned_revision(api):
    email = "crm.customers.email"
    out = (await api.data(REVOKE, {"f": email, "p": "marketing.direct"}))["revokePurpose"]
    assert "marketing.direct" not in [g["purpose"] for g in out["grants"]]
    d = await api.check(email, "marketing.direct", "email", at_least=out["revision"])
    assert d["allowed"] is False and codes(d) == ["PURPOSE_NOT_GRANTED"]
    assert d["revision"] >= out["revision"]
    # Downstream fields feel it too.
    d = await api.check("dwh.marts.customer_360.email_hash", "marketing.direct", "email",
                        at_least=out["revision"])
    assert "UPSTREAM_NOT_PERMITTED" in codes(d)
    err = await api.error(REVOKE, {"f": email, "p": "marketing.direct"}, code="NOT_FOUND")
    assert "marketing.direct" in err["message"]


ADD = """mutation($u: String!, $d: String!, $t: String) {
  addLineage(upstream: $u, downstream: $d, transform: $t) { upstream downstream transform } }"""
ADD_MANY = """mutation($e: [LineageEdgeInput!]!) {
  addLineages(edges: $e) { upstream downstream transform } }"""
REMOVE = "mutation($u: String!, $d: String!) { removeLineage(upstream: $u, downstream: $d) }"


async def test_add_lineage_changes_decisions_downstream(api):
    broker, score = "broker.acme_feed.credit_score", "ml.scores.next_best_product"
    ok = await api.check(score, "personalization.recommendations", "web")
    assert ok["allowed"] is True
    before = await api.field(score)
    edge = (await api.data(ADD, {"u": broker, "d": score, "t": "join"}))["addLineage"]
    assert edge == {"upstream": broker, "downstream": score, "transform": "join"}
    after = await api.field(score)
    assert broker in after["upstream"] and score in (await api.field(broker))["downstream"]
    # An edge change moves both fields' revisions (docs/semantics.md §4).
    assert after["revision"] > before["revision"]
    assert (await api.field(broker))["revision"] == after["revision"]
    d = await api.check(score, "personalization.recommendations", "web",
                        at_least=after["revision"])
    assert d["allowed"] is False
    assert ("UPSTREAM_NOT_PERMITTED", [score, broker]) in [(r["code"], r["path"])
                                                           for r in d["reasons"]]
    assert ("POLICY_DENIED", "digging-too-deep") in [(r["code"], r["rule"])
                                                     for r in d["reasons"]]
    # Adding it again keeps one edge and takes the new transform.
    again = (await api.data(ADD, {"u": broker, "d": score, "t": "join v2"}))["addLineage"]
    assert again["transform"] == "join v2"
    assert (await api.field(score))["upstream"].count(broker) == 1


async def test_add_lineages_is_all_or_nothing(api):
    edges = [{"upstream": "crm.customers.gender", "downstream": "ml.scores.customer_segment"},
             {"upstream": "crm.customers.household_size",
              "downstream": "ml.scores.customer_segment", "transform": "feature"}]
    cycle = {"upstream": "ml.scores.churn_risk",
             "downstream": "dwh.marts.customer_360.lifetime_value"}
    names = ["ml.scores.customer_segment", "crm.customers.gender",
             "dwh.marts.customer_360.lifetime_value"]
    before = await api.snapshot(*names)
    err = await api.error(ADD_MANY, {"e": [*edges, cycle]}, code="CONFLICT")
    assert "cycle" in err["message"]
    unknown = {"upstream": "crm.customers.nope", "downstream": "ml.scores.customer_segment"}
    await api.error(ADD_MANY, {"e": [*edges, unknown]}, code="NOT_FOUND")
    assert await api.snapshot(*names) == before
    out = (await api.data(ADD_MANY, {"e": edges}))["addLineages"]
    assert out == [{**e, "transform": e.get("transform")} for e in edges]
    up = (await api.field("ml.scores.customer_segment"))["upstream"]
    assert {"crm.customers.gender", "crm.customers.household_size"} <= set(up)


async def test_remove_lineage(api):
    u, d = "crm.customers.email", "dwh.marts.customer_360.email_hash"
    assert (await api.data(REMOVE, {"u": u, "d": d}))["removeLineage"] is True
    assert u not in (await api.field(d))["upstream"]
    revision = (await api.field(d))["revision"]
    check = await api.check(d, "marketing.advertising", "ads", at_least=revision)
    assert "UPSTREAM_NOT_PERMITTED" not in codes(check)
    before = await api.revision()
    assert (await api.data(REMOVE, {"u": u, "d": d}))["removeLineage"] is False
    assert await api.revision() == before


async def test_every_write_raises_the_revision(api):
    seen = [await api.revision()]
    email = "crm.customers.email"
    steps = [
        (REGISTER, {"i": {"name": "crm.customers.x1", "category": "tracking",
                          "source": "first_party", "owner": "o"}}, "registerField"),
        (GRANT, {"f": email, "g": {"purpose": "pricing"}}, "grantPurpose"),
        (REVOKE, {"f": email, "p": "pricing"}, "revokePurpose"),
        (ADD, {"u": email, "d": "crm.customers.x1"}, "addLineage"),
        ("mutation { deprecateField(name: \"crm.customers.x1\") { revision } }", None,
         "deprecateField"),
    ]
    for query, variables, root in steps:
        out = (await api.data(query, variables))[root]
        if isinstance(out, dict) and "revision" in out:
            assert out["revision"] > seen[-1], root
        now = await api.revision()
        assert now > seen[-1], root
        seen.append(now)
