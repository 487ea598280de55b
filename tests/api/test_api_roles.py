"""docs/semantics.md §5, over HTTP: every role against every mutation and query. A role
acting outside its rights gets FORBIDDEN and changes nothing (the catalog revision and the fields
involved are as they were)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from api_helpers import Api

pytestmark = pytest.mark.anyio

# Tokens made in conftest.py: owner has scope "crm.", dwh_owner "dwh.marts.".
CALLERS = ("admin", "owner", "dwh_owner", "reviewer", "pipeline")


@dataclass
class Case:
    name: str
    query: str
    variables: dict
    allowed: set[str]  # callers besides admin that may do it
    touches: tuple[str, ...] = ()  # fields to compare before and after a forbidden attempt
    # Run by an admin before each attempt, so that every attempt would succeed if allowed;
    # returns variables to add.
    prepare: Callable[[Api], Awaitable[dict]] | None = None
    check: Callable[[dict], None] | None = field(default=None, repr=False)


def new_field(name: str) -> dict:
    return {"name": name, "category": "internal.preferences", "source": "zero_party",
            "owner": "someone", "grants": [{"purpose": "service"}]}


REGISTER = "mutation($i: FieldInput!) { registerField(input: $i) { name revision } }"
REGISTER_MANY = "mutation($i: [FieldInput!]!) { registerFields(inputs: $i) { name } }"
DEPRECATE = "mutation($n: String!) { deprecateField(name: $n) { name deprecated } }"
GRANT = ("mutation($f: String!, $g: GrantInput!) { grantPurpose(field: $f, grant: $g) "
         "{ name grants { purpose } } }")
REVOKE = ("mutation($f: String!, $p: String!) { revokePurpose(field: $f, purpose: $p) "
          "{ name grants { purpose } } }")
ADD = ("mutation($u: String!, $d: String!) { addLineage(upstream: $u, downstream: $d) "
       "{ upstream downstream } }")
ADD_MANY = ("mutation($e: [LineageEdgeInput!]!) { addLineages(edges: $e) "
            "{ upstream downstream } }")
REMOVE = "mutation($u: String!, $d: String!) { removeLineage(upstream: $u, downstream: $d) }"
UPSERT_RULE = ("mutation($k: String!, $r: PolicyRuleInput!) { upsertPolicyRule(key: $k, "
               "rule: $r) { key effect } }")
DELETE_RULE = "mutation($k: String!) { deleteRule(key: $k) }"
CREATE_TOKEN = ("mutation($role: String!, $scope: String) { createToken(role: $role, "
                "scope: $scope) { id token } }")
REVOKE_TOKEN = "mutation($id: Int!) { revokeToken(id: $id) }"
UPSERT_TAXONOMY_KEY = ("mutation($k: String!) { upsertTaxonomyKey(kind: \"purpose\", key: $k, "
                       "description: \"surveys\") { purposes { key } } }")

TEST_RULE = {"effect": "DENY", "purposes": ["pricing"], "channels": ["ads"],
             "description": "no pricing in ads"}


def regrant(field_name: str, purpose: str):
    async def prepare(api: Api) -> dict:
        await api.data(GRANT, {"f": field_name, "g": {"purpose": purpose}})
        return {}
    return prepare


def relink(upstream: str, downstream: str):
    async def prepare(api: Api) -> dict:
        await api.data(ADD, {"u": upstream, "d": downstream})
        return {}
    return prepare


async def ensure_rule(api: Api) -> dict:
    await api.data(UPSERT_RULE, {"k": "test-rule", "r": TEST_RULE})
    return {}


async def fresh_token(api: Api) -> dict:
    made = await api.data(CREATE_TOKEN, {"role": "pipeline"})
    return {"id": made["createToken"]["id"]}


MUTATIONS = [
    Case("registerField in crm.", REGISTER, {"i": new_field("crm.customers.pet_name")},
         {"owner"}, ("crm.customers.pet_name",)),
    Case("registerField in dwh.marts.", REGISTER,
         {"i": new_field("dwh.marts.customer_360.pet_count")}, {"dwh_owner"},
         ("dwh.marts.customer_360.pet_count",)),
    Case("registerField updating crm.", REGISTER,
         {"i": {**new_field("crm.customers.gender"), "category": "external.demographics"}},
         {"owner"}, ("crm.customers.gender",)),
    Case("registerField next to the scope", REGISTER, {"i": new_field("crmx.customers.a")},
         set(), ("crmx.customers.a",)),
    Case("registerFields across scopes", REGISTER_MANY,
         {"i": [new_field("crm.customers.a1"), new_field("dwh.marts.x.a1")]}, set(),
         ("crm.customers.a1", "dwh.marts.x.a1")),
    Case("registerFields in crm.", REGISTER_MANY,
         {"i": [new_field("crm.customers.a2"), new_field("crm.contacts.a2")]}, {"owner"},
         ("crm.customers.a2", "crm.contacts.a2")),
    Case("deprecateField in crm.", DEPRECATE, {"n": "crm.customers.household_size"},
         {"owner"}, ("crm.customers.household_size",)),
    Case("deprecateField in dwh.marts.", DEPRECATE, {"n": "dwh.marts.customer_360.age_band"},
         {"dwh_owner"}, ("dwh.marts.customer_360.age_band",)),
    Case("grantPurpose in crm.", GRANT,
         {"f": "crm.customers.email", "g": {"purpose": "pricing", "channels": ["web"]}},
         {"owner"}, ("crm.customers.email",)),
    Case("grantPurpose on an ml score", GRANT,
         {"f": "ml.scores.churn_risk", "g": {"purpose": "sharing"}}, set(),
         ("ml.scores.churn_risk",)),
    Case("revokePurpose in crm.", REVOKE, {"f": "crm.customers.phone", "p": "marketing.direct"},
         {"owner"}, ("crm.customers.phone",), prepare=regrant("crm.customers.phone",
                                                              "marketing.direct")),
    Case("revokePurpose in payments.", REVOKE,
         {"f": "payments.transactions.amount", "p": "service"}, set(),
         ("payments.transactions.amount",),
         prepare=regrant("payments.transactions.amount", "service")),
    Case("addLineage into crm.", ADD,
         {"u": "orders.orders.order_date", "d": "crm.customers.loyalty_tier"}, {"owner"},
         ("orders.orders.order_date", "crm.customers.loyalty_tier")),
    Case("addLineage out of crm.", ADD,
         {"u": "crm.customers.first_name", "d": "dwh.marts.customer_360.customer_key"},
         {"dwh_owner"}, ("crm.customers.first_name", "dwh.marts.customer_360.customer_key")),
    Case("addLineages into two scopes", ADD_MANY,
         {"e": [{"upstream": "orders.orders.order_id", "downstream": "crm.customers.loyalty_tier"},
                {"upstream": "orders.orders.order_id",
                 "downstream": "dwh.marts.customer_360.lifetime_value"}]}, set(),
         ("crm.customers.loyalty_tier", "dwh.marts.customer_360.lifetime_value")),
    Case("removeLineage into crm.", REMOVE,
         {"u": "dwh.marts.customer_360.lifetime_value", "d": "crm.customers.loyalty_tier"},
         {"owner"}, ("crm.customers.loyalty_tier", "dwh.marts.customer_360.lifetime_value"),
         prepare=relink("dwh.marts.customer_360.lifetime_value", "crm.customers.loyalty_tier")),
    Case("removeLineage out of crm.", REMOVE,
         {"u": "crm.customers.email", "d": "dwh.marts.customer_360.email_hash"}, {"dwh_owner"},
         ("crm.customers.email", "dwh.marts.customer_360.email_hash"),
         prepare=relink("crm.customers.email", "dwh.marts.customer_360.email_hash")),
    Case("upsertPolicyRule", UPSERT_RULE, {"k": "test-rule", "r": TEST_RULE}, {"reviewer"}),
    Case("deleteRule", DELETE_RULE, {"k": "test-rule"}, {"reviewer"}, prepare=ensure_rule),
    Case("createToken", CREATE_TOKEN, {"role": "admin"}, set()),
    Case("revokeToken", REVOKE_TOKEN, {}, set(), prepare=fresh_token),
    Case("upsertTaxonomyKey", UPSERT_TAXONOMY_KEY, {"k": "analytics.surveys"}, set()),
]


async def test_every_role_against_every_mutation(api):
    for case in MUTATIONS:
        for caller in CALLERS:
            variables = dict(case.variables)
            if case.prepare is not None:
                variables.update(await case.prepare(api))
            if caller == "admin" or caller in case.allowed:
                continue
            before = await api.snapshot(*case.touches)
            err = await api.error(case.query, variables, as_=caller, code="FORBIDDEN")
            assert len(err["message"]) > 15, err
            assert await api.snapshot(*case.touches) == before, f"{case.name} as {caller}"
        # The role under test first (admin afterwards may find nothing left to change).
        for caller in [*sorted(case.allowed), "admin"]:
            variables = dict(case.variables)
            if case.prepare is not None:
                variables.update(await case.prepare(api))
            before = await api.revision()
            data = await api.data(case.query, variables, as_=caller)
            assert data, f"{case.name} as {caller}"
            if caller != "admin":
                assert await api.revision() > before, f"{case.name} as {caller} changed nothing"


async def test_owner_scope(api):
    """In scope ok, out of scope FORBIDDEN; lineage is the downstream owner's to change."""
    crm, dwh = "crm.customers.clothing_size", "dwh.marts.customer_360.browse_affinity"
    out = await api.data(GRANT, {"f": crm, "g": {"purpose": "analytics"}}, as_="owner")
    assert "analytics" in [g["purpose"] for g in out["grantPurpose"]["grants"]]
    err = await api.error(GRANT, {"f": dwh, "g": {"purpose": "analytics"}}, as_="owner",
                          code="FORBIDDEN")
    assert "crm." in err["message"] and dwh in err["message"]
    # Upstream out of scope, downstream in: ok. The other way round: forbidden.
    assert await api.data(ADD, {"u": dwh, "d": crm}, as_="owner")
    before = await api.snapshot(crm, dwh)
    await api.error(ADD, {"u": crm, "d": "dwh.marts.customer_360.home_region"}, as_="owner",
                    code="FORBIDDEN")
    await api.error(REMOVE, {"u": dwh, "d": crm}, as_="dwh_owner", code="FORBIDDEN")
    assert await api.snapshot(crm, dwh) == before
    assert (await api.data(REMOVE, {"u": dwh, "d": crm}, as_="owner"))["removeLineage"] is True
    # A new field in scope may be created by the owner.
    out = await api.data(REGISTER, {"i": new_field("crm.loyalty.points.balance")}, as_="owner")
    assert out["registerField"]["name"] == "crm.loyalty.points.balance"


READS = {
    "check": '{ check(field: "crm.customers.email", purpose: "service", channel: "email") '
             '{ allowed } }',
    "checkMany": '{ checkMany(requests: [{field: "crm.customers.email", purpose: "service", '
                 'channel: "email"}]) { allowed } }',
    "field": '{ field(name: "crm.customers.email") { name grants { purpose } } }',
    "lineage": '{ lineage(field: "ml.scores.churn_risk") { nodes { name } } }',
    "fields": "{ fields(first: 2) { nodes { name } } }",
    "history": '{ history(field: "crm.customers.email") { entries { action } } }',
    "usageMatrix": '{ usageMatrix(field: "crm.customers.email") { allowed } }',
    "taxonomy": "{ taxonomy { purposes { key } } }",
    "policyRules": "{ policyRules { key } }",
    "tokens": "{ tokens { id role } }",
    "revision": "{ revision }",
}
READERS = {
    "admin": set(READS),
    "reviewer": set(READS) - {"tokens"},
    "owner": set(READS) - {"tokens"},
    "dwh_owner": set(READS) - {"tokens"},
    "pipeline": {"check", "checkMany", "field"},
}


async def test_every_role_against_every_query(read_api):
    for caller, may in READERS.items():
        for name, query in READS.items():
            if name in may:
                data = await read_api.data(query, as_=caller)
                assert data[name], f"{name} as {caller}"
            else:
                err = await read_api.error(query, as_=caller, code="FORBIDDEN")
                # The refusal names what was asked and who asked.
                assert f"may not query {name}" in err["message"], err
                assert f"role {caller.split('_')[-1]} " in err["message"], err


async def test_pipeline_may_only_check_and_read_fields(read_api):
    revision = await read_api.revision()
    d = await read_api.check("crm.customers.email", "marketing.direct", "email", as_="pipeline",
                             at_least=revision)
    assert d["allowed"] is True
    for query in (READS["lineage"], READS["history"], READS["fields"], READS["policyRules"]):
        err = await read_api.error(query, as_="pipeline", code="FORBIDDEN")
        assert "pipeline" in err["message"]
    # One forbidden root field in a document fails that field only; allowed ones answer.
    both = READS["check"][:-1] + " policyRules { key } }"
    body = await read_api.run(both, as_="pipeline")
    assert body["data"] is None  # policyRules is non-null, so its error nulls the data
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]


async def test_forbidden_comes_before_validation(read_api):
    """A caller without the right gets FORBIDDEN whatever it sends: no validation message
    (which would list taxonomy keys a pipeline may not read) and nothing changed."""
    bad = [
        (GRANT, {"f": "crm.customers.email", "g": {"purpose": "nope"}}),
        (REVOKE, {"f": "crm.customers.email", "p": "nope"}),
        (REGISTER, {"i": {**new_field("crm.x"), "category": "nope"}}),
        (ADD, {"u": "bad", "d": "also bad"}),
        (ADD_MANY, {"e": [{"upstream": "x", "downstream": "y"}] * 2}),
    ]
    revision = await read_api.revision()
    for caller in ("pipeline", "reviewer"):
        for query, variables in bad:
            err = await read_api.error(query, variables, as_=caller, code="FORBIDDEN")
            assert "use one of" not in err["message"], (caller, query, err)
    # An owner out of its scope alike.
    for query, variables in bad[:2]:
        err = await read_api.error(query, {**variables, "f": "ml.scores.churn_risk"},
                                   as_="owner", code="FORBIDDEN")
        assert "use one of" not in err["message"]
    assert await read_api.revision() == revision
