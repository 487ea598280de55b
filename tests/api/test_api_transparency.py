"""docs/semantics.md §15 over HTTP: Decision.intensity, Grant.customerBenefit, transparencyGaps,
PolicyRuleInput.unstatedBenefit, upsertTaxonomyKey(intensity) and GET /notice with a token,
with roles and bad input."""

from __future__ import annotations

import pytest
from api_helpers import Api, assert_no_leak

pytestmark = pytest.mark.anyio

GAPS = """query($first: Int, $after: String) { transparencyGaps(first: $first, after: $after) {
  nodes { field purpose intensity } pageInfo { endCursor hasNextPage } } }"""
GRANT = """mutation($f: String!, $g: GrantInput!) { grantPurpose(field: $f, grant: $g) {
  grants { purpose customerBenefit } } }"""


async def all_gaps(api: Api, as_: str = "reviewer") -> list[tuple[str, str, str]]:
    out, after = [], None
    while True:
        page = (await api.data(GAPS, {"first": 7, "after": after}, as_=as_))["transparencyGaps"]
        out += [(n["field"], n["purpose"], n["intensity"]) for n in page["nodes"]]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            return out


async def test_every_role_sees_intensity(read_api: Api):
    for role in ("admin", "owner", "reviewer", "pipeline"):
        d = await read_api.data("""{ a: check(field: "crm.customers.email",
          purpose: "marketing.direct", channel: "email") { allowed intensity }
          b: check(field: "shop.web.tracking.ad_pixel_id", purpose: "analytics.aggregate",
          channel: "internal") { intensity }
          c: check(field: "crm.customers.email", purpose: "nope", channel: "email") {
          intensity } }""", as_=role)
        assert d == {"a": {"allowed": True, "intensity": "relationship"},
                     "b": {"intensity": "surveillance"}, "c": {"intensity": None}}


async def test_gaps_by_role_and_page(read_api: Api):
    gaps = await all_gaps(read_api)
    assert gaps == sorted(gaps) and len(gaps) == len(set(gaps)) > 7
    assert ("ml.scores.price_sensitivity", "pricing.individual", "surveillance") in gaps
    assert await all_gaps(read_api, "owner") == gaps
    await read_api.error(GAPS, {"first": 5}, code="FORBIDDEN", as_="pipeline")
    await read_api.error(GAPS, {"first": 501}, code="BAD_INPUT", as_="reviewer")


async def test_stating_a_benefit_closes_a_gap(api: Api):
    gap = ("ml.scores.churn_risk", "marketing.direct", "relationship")
    assert gap in await all_gaps(api)
    benefit = "Offers you help before a problem makes you leave."
    d = await api.data(GRANT, {"f": "ml.scores.churn_risk", "g": {
        "purpose": "marketing.direct", "channels": ["email"], "customerBenefit": benefit}},
        as_="admin")
    assert {"purpose": "marketing.direct", "customerBenefit": benefit} in \
        d["grantPurpose"]["grants"]
    assert gap not in await all_gaps(api)


@pytest.mark.parametrize("benefit", ["x" * 501, "line one\nline two", "nul\u0000"])
async def test_bad_benefits(api: Api, benefit: str):
    before = await api.snapshot("crm.customers.email")
    err = await api.error(GRANT, {"f": "crm.customers.email", "g": {
        "purpose": "marketing.direct", "customerBenefit": benefit}}, code="BAD_INPUT",
        as_="owner")
    assert "customerBenefit" in err["message"]
    assert await api.snapshot("crm.customers.email") == before


async def test_intensity_edits_and_bad_values(api: Api):
    upsert = """mutation($k: String!, $i: String) { upsertTaxonomyKey(kind: "purpose",
      key: $k, intensity: $i) { purposes { key intensity } } }"""
    err = await api.error(upsert, {"k": "marketing", "i": "extreme"}, code="BAD_INPUT")
    assert "utility, relationship or surveillance" in err["message"]
    await api.error(upsert, {"k": "marketing", "i": "utility"}, code="FORBIDDEN",
                    as_="reviewer")
    before = await api.check("crm.customers.email", "marketing.direct", "email")
    d = await api.data(upsert, {"k": "marketing.direct", "i": "surveillance"})
    assert {"key": "marketing.direct", "intensity": "surveillance"} in \
        d["upsertTaxonomyKey"]["purposes"]
    q = """{ check(field: "crm.customers.email", purpose: "marketing.direct", channel: "email")
      { allowed intensity } }"""
    assert (await api.data(q, as_="pipeline"))["check"] == {"allowed": before["allowed"],
                                                            "intensity": "surveillance"}


async def test_mandate_rule_over_the_api(api: Api):
    rule = """mutation($r: PolicyRuleInput!) { upsertPolicyRule(key: "transparency-mandate",
      rule: $r) { key unstatedBenefit purposes } }"""
    d = await api.data(rule, {"r": {"effect": "DENY", "unstatedBenefit": True,
                                    "purposes": ["marketing", "personalization"]}},
                       as_="reviewer")
    assert d["upsertPolicyRule"]["unstatedBenefit"] is True
    denied = await api.check("dwh.marts.customer_360.lifetime_value", "marketing.direct",
                             "email")
    assert "transparency-mandate" in [r["rule"] for r in denied["reasons"]]
    stated = await api.check("crm.customers.email", "marketing.direct", "email")
    assert stated["allowed"]
    listed = await api.data("{ policyRules { key unstatedBenefit } }", as_="reviewer")
    assert {"key": "transparency-mandate", "unstatedBenefit": True} in listed["policyRules"]


async def test_the_notice_page_for_machines(read_api: Api):
    """/notice is a console page (tests/web); a machine may still fetch it with its token."""
    client = read_api.client
    r = await client.get("/notice", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    r = await client.get("/notice", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and "invalid or revoked token" in r.text
    r = await client.get("/notice", headers=read_api.auth("pipeline"))
    assert r.status_code == 403
    r = await client.get("/notice", headers=read_api.auth("reviewer"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert_no_leak(r.text)
    assert "Making the service work" in r.text and "Building on our relationship" in r.text
    assert "Shows you the products you recently looked at" in r.text
    # Denied uses never appear: the pregnancy score's and the bought data's purposes.
    assert "pregnancy" not in r.text.lower().replace("includes pregnancy", "")
    assert "crm.customers" not in r.text  # no field names: categories only
