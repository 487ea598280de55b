"""Errors over HTTP (docs/semantics.md §8): each has extensions.code and a message that says
what to fix; none changes anything; none shows a stack trace or SQL; a check never errors for
unknown keys but answers a decision with UNKNOWN_*."""

from __future__ import annotations

import re

import pytest
import sqlalchemy.exc
from api_helpers import codes

from catalog.api.graphql.errors import INTERNAL_MESSAGE
from catalog.db import repo
from catalog.services import browse, checks, fields

pytestmark = pytest.mark.anyio

TYPENAME = "{ __typename }"
REGISTER = "mutation($i: FieldInput!) { registerField(input: $i) { name } }"
REGISTER_MANY = "mutation($i: [FieldInput!]!) { registerFields(inputs: $i) { name } }"
GRANT = ("mutation($f: String!, $g: GrantInput!) { grantPurpose(field: $f, grant: $g) "
         "{ name } }")
REVOKE = ("mutation($f: String!, $p: String!) { revokePurpose(field: $f, purpose: $p) "
          "{ name } }")
DEPRECATE = "mutation($n: String!) { deprecateField(name: $n) { name } }"
ADD = ("mutation($u: String!, $d: String!) { addLineage(upstream: $u, downstream: $d) "
       "{ upstream } }")
ADD_MANY = "mutation($e: [LineageEdgeInput!]!) { addLineages(edges: $e) { upstream } }"
REMOVE = "mutation($u: String!, $d: String!) { removeLineage(upstream: $u, downstream: $d) }"
LINEAGE = ("query($f: String!, $n: Int!) { lineage(field: $f, depth: $n) "
           "{ nodes { name } } }")


def fi(name: str = "crm.customers.new_one", **over) -> dict:
    return {"name": name, "category": "tracking.contact", "source": "zero_party",
            "owner": "crm-team", **over}


# -- authentication -------------------------------------------------------------------------
BAD_HEADERS = [None, "", "Bearer", "Bearer ", "Bearer nope", "Basic dXNlcjpwYXNzd29yZA==",
               "Bearer pc_" + "x" * 43, "Bearer " + "x" * 5000, "Token abc"]


async def test_no_or_bad_token_is_unauthenticated(read_api):
    before = await read_api.snapshot("crm.customers.email")
    for header in BAD_HEADERS:
        for query in (TYPENAME, REGISTER.replace("$i", "$i"), "{ check(", "not json at all"):
            headers = {} if header is None else {"Authorization": header}
            r = await read_api.post(query, {"i": fi()}, as_=None, headers=headers)
            assert r.status_code == 401, (header, r.text)
            body = r.json()
            assert body["data"] is None
            [error] = body["errors"]
            assert error["extensions"]["code"] == "UNAUTHENTICATED"
            assert "token" in error["message"]
    # A token with a character too many is as bad as none.
    r = await read_api.post(TYPENAME, as_=None,
                            headers={"Authorization": f"Bearer {read_api.tokens['admin']}x"})
    assert r.status_code == 401
    assert await read_api.snapshot("crm.customers.email") == before
    assert await read_api.data(TYPENAME) == {"__typename": "Query"}


async def test_a_revoked_token_stops_working(api):
    made = (await api.data("mutation { createToken(role: \"pipeline\", name: \"etl\") "
                           "{ id token role } }"))["createToken"]
    assert made["role"] == "pipeline" and made["token"].startswith("pc_")
    api.tokens["etl"] = made["token"]
    assert await api.data(TYPENAME, as_="etl") == {"__typename": "Query"}
    assert (await api.data(f"mutation {{ revokeToken(id: {made['id']}) }}"))["revokeToken"]
    r = await api.post(TYPENAME, as_="etl")
    assert r.status_code == 401
    assert r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# -- bad input --------------------------------------------------------------------------------
LONG_SEGMENT = "crm.customers." + "x" * 129
TOO_LONG = "crm.customers." + ".".join(["x" * 100] * 5)  # > 512 characters
BAD_INPUTS = [
    # label, query, variables, words the message must hold
    ("name with 2 segments", REGISTER, {"i": fi("crm.email")}, ["crm.email", "segments"]),
    ("name with an empty segment", REGISTER, {"i": fi("crm..customers.email")}, ["segments"]),
    ("name with a space", REGISTER, {"i": fi("crm.customers.e mail")}, ["e mail"]),
    ("name with a trailing dot", REGISTER, {"i": fi("crm.customers.")}, ["segments"]),
    ("name with non-ASCII", REGISTER, {"i": fi("crm.customers.émail")}, ["ASCII"]),
    ("segment over 128", REGISTER, {"i": fi(LONG_SEGMENT)}, ["128"]),
    ("name over 512", REGISTER, {"i": fi(TOO_LONG)}, ["512"]),
    ("unknown category", REGISTER, {"i": fi(category="tracking.telepathy")},
     ["tracking.telepathy", "category"]),
    ("upper-case category", REGISTER, {"i": fi(category="Tracking")}, ["Tracking"]),
    ("unknown source", REGISTER, {"i": fi(source="fourth_party")}, ["fourth_party", "source"]),
    ("empty owner", REGISTER, {"i": fi(owner="  ")}, ["owner"]),
    ("unknown purpose in a grant", REGISTER,
     {"i": fi(grants=[{"purpose": "marketing.spam"}])}, ["marketing.spam", "purpose"]),
    ("unknown channel in a grant", REGISTER,
     {"i": fi(grants=[{"purpose": "service", "channels": ["carrier_pigeon"]}])},
     ["carrier_pigeon", "channel"]),
    ("empty channels in a grant", REGISTER,
     {"i": fi(grants=[{"purpose": "service", "channels": []}])}, ["channels", "empty"]),
    ("one purpose granted twice", REGISTER,
     {"i": fi(grants=[{"purpose": "service"}, {"purpose": "service", "channels": ["web"]}])},
     ["service", "twice"]),
    ("registerFields: a name twice", REGISTER_MANY, {"i": [fi(), fi(), fi("crm.customers.b")]},
     ["crm.customers.new_one", "twice"]),
    ("registerFields: one bad of many", REGISTER_MANY,
     {"i": [fi(), fi("crm.customers.b", source="nowhere")]}, ["nowhere"]),
    ("grantPurpose: unknown purpose", GRANT,
     {"f": "crm.customers.email", "g": {"purpose": "world_domination"}}, ["world_domination"]),
    ("grantPurpose: unknown channel", GRANT,
     {"f": "crm.customers.email", "g": {"purpose": "service", "channels": ["email", "fax"]}},
     ["fax", "channel"]),
    ("grantPurpose: empty channels", GRANT,
     {"f": "crm.customers.email", "g": {"purpose": "service", "channels": []}}, ["channels"]),
    ("grantPurpose: upper-case purpose", GRANT,
     {"f": "crm.customers.email", "g": {"purpose": "Service"}}, ["Service"]),
    ("revokePurpose: unknown purpose", REVOKE, {"f": "crm.customers.email", "p": "nonsense"},
     ["nonsense"]),
    ("addLineage: self-loop", ADD, {"u": "crm.customers.email", "d": "crm.customers.email"},
     ["self-loop"]),
    ("addLineage: malformed upstream", ADD, {"u": "crm.email", "d": "crm.customers.email"},
     ["crm.email"]),
    ("addLineage: malformed downstream", ADD, {"u": "crm.customers.email", "d": "x"},
     ["'x'"]),
    ("addLineages: an edge twice", ADD_MANY,
     {"e": [{"upstream": "crm.customers.email", "downstream": "crm.customers.loyalty_tier"},
            {"upstream": "crm.customers.phone", "downstream": "crm.customers.loyalty_tier"},
            {"upstream": "crm.customers.email", "downstream": "crm.customers.loyalty_tier",
             "transform": "again"}]}, ["crm.customers.email", "twice"]),
    ("addLineages: a self-loop among good edges", ADD_MANY,
     {"e": [{"upstream": "crm.customers.email", "downstream": "crm.customers.loyalty_tier"},
            {"upstream": "crm.customers.phone", "downstream": "crm.customers.phone"}]},
     ["self-loop"]),
    ("lineage: depth 0", LINEAGE, {"f": "ml.scores.churn_risk", "n": 0}, ["depth", "50"]),
    ("lineage: depth 51", LINEAGE, {"f": "ml.scores.churn_risk", "n": 51}, ["depth", "50"]),
    ("lineage: negative depth", LINEAGE, {"f": "ml.scores.churn_risk", "n": -1}, ["depth"]),
    ("lineage: unknown direction",
     '{ lineage(field: "ml.scores.churn_risk", direction: SIDEWAYS) { root } }', None,
     ["SIDEWAYS"]),
    ("lineage: direction as a string",
     '{ lineage(field: "ml.scores.churn_risk", direction: "UPSTREAM") { root } }', None,
     ["LineageDirection"]),
    ("check: a number for a name",
     '{ check(field: 5, purpose: "service", channel: "email") { allowed } }', None,
     ["String"]),
    ("check: an argument missing", '{ check(field: "a.b.c", purpose: "service") { allowed } }',
     None, ["channel"]),
    ("checkMany: a request without channel",
     'query($r: [CheckInput!]!) { checkMany(requests: $r) { allowed } }',
     {"r": [{"field": "a.b.c", "purpose": "service"}]}, ["channel"]),
    ("checkMany: requests not a list",
     'query($r: [CheckInput!]!) { checkMany(requests: $r) { allowed } }', {"r": "all"}, []),
    ("atLeastRevision: not an int",
     'query($r: Int) { check(field: "a.b.c", purpose: "p", channel: "c", atLeastRevision: $r) '
     '{ allowed } }', {"r": "latest"}, ["latest"]),
    ("a variable missing", REGISTER, {}, ["$i"]),
    ("an unknown query field", "{ everything }", None, ["everything"]),
    ("a syntax error", '{ check(field: "a.b.c" ', None, ["Syntax"]),
    ("an unknown operation name", TYPENAME + " ", None, []),  # see below: operationName
    ("fields: first 0", "{ fields(first: 0) { nodes { name } } }", None, ["first", "500"]),
    ("fields: first 501", "{ fields(first: 501) { nodes { name } } }", None, ["500"]),
    ("fields: unknown category", '{ fields(category: "astrology") { nodes { name } } }', None,
     ["astrology"]),
    ("fields: unknown purpose", '{ fields(purpose: "astrology") { nodes { name } } }', None,
     ["astrology"]),
    ("fields: a made-up cursor", '{ fields(after: "not-a-cursor") { nodes { name } } }', None,
     ["cursor"]),
    ("history: first 1000", '{ history(field: "crm.customers.email", first: 1000) '
     "{ entries { id } } }", None, ["500"]),
    ("upsertPolicyRule: unknown effect",
     'mutation { upsertPolicyRule(key: "k", rule: {effect: "MAYBE"}) { key } }', None,
     ["MAYBE"]),
    ("upsertPolicyRule: unknown purpose",
     'mutation { upsertPolicyRule(key: "k", rule: {effect: "DENY", purposes: ["fun"]}) '
     "{ key } }", None, ["fun"]),
    ("createToken: unknown role", 'mutation { createToken(role: "god") { token } }', None,
     ["god"]),
    ("createToken: owner without scope", 'mutation { createToken(role: "owner") { token } }',
     None, ["scope"]),
]


async def test_bad_input_for_every_argument_is_bad_input_and_changes_nothing(read_api):
    watched = ("crm.customers.email", "crm.customers.new_one", "crm.customers.loyalty_tier",
               "crm.customers.phone")
    before = await read_api.snapshot(*watched)
    for label, query, variables, words in BAD_INPUTS:
        operation = "Nope" if label == "an unknown operation name" else None
        err = await read_api.error(query, variables, code="BAD_INPUT", operation=operation)
        for word in words:
            assert word in err["message"], f"{label}: {err['message']!r} lacks {word!r}"
        assert len(err["message"]) >= 20, f"{label}: {err['message']!r} says too little"
    assert await read_api.snapshot(*watched) == before
    assert await read_api.field("crm.customers.new_one") is None


async def test_a_bad_input_message_names_what_to_use(read_api):
    err = await read_api.error(REGISTER, {"i": fi(category="tracking.telepathy")}, code="BAD_INPUT")
    assert "tracking.contact" in err["message"] or "use one of" in err["message"]
    err = await read_api.error(REGISTER, {"i": fi("crm.email")}, code="BAD_INPUT")
    assert "system.dataset.column" in err["message"]


# -- checks never fail on unknown keys ------------------------------------------------------
async def test_check_with_unknown_keys_answers_a_decision(read_api):
    cases = [
        (("crm.customers.nope", "service", "email"), ["UNKNOWN_FIELD"]),
        (("not a field name", "service", "email"), ["UNKNOWN_FIELD"]),
        (("crm.customers.email", "mind_control", "email"), ["UNKNOWN_PURPOSE"]),
        (("crm.customers.email", "service", "telepathy"), ["UNKNOWN_CHANNEL"]),
        (("", "", ""), ["UNKNOWN_FIELD", "UNKNOWN_PURPOSE", "UNKNOWN_CHANNEL"]),
        (("crm.customers.nope", "Service", "EMAIL"),
         ["UNKNOWN_FIELD", "UNKNOWN_PURPOSE", "UNKNOWN_CHANNEL"]),
    ]
    for request, expected in cases:
        d = await read_api.check(*request, as_="pipeline")
        assert d["allowed"] is False
        assert codes(d) == expected, request
        assert all(r["message"] for r in d["reasons"])
        assert (d["field"], d["purpose"], d["channel"]) == request
    q = "query($r: [CheckInput!]!) { checkMany(requests: $r) { allowed reasons { code } } }"
    many = (await read_api.data(q, {"r": [
        {"field": "crm.customers.email", "purpose": "service", "channel": "email"},
        {"field": "x.y.z", "purpose": "service", "channel": "email"},
        {"field": "crm.customers.email", "purpose": "service", "channel": "owl"}]},
        as_="pipeline"))["checkMany"]
    assert [d["allowed"] for d in many] == [True, False, False]
    assert [codes(d) for d in many[1:]] == [["UNKNOWN_FIELD"], ["UNKNOWN_CHANNEL"]]


# -- not found and conflicts --------------------------------------------------------------
NOT_FOUND = [
    ("deprecateField", DEPRECATE, {"n": "crm.customers.nope"}),
    ("grantPurpose", GRANT, {"f": "crm.customers.nope", "g": {"purpose": "service"}}),
    ("revokePurpose: unknown field", REVOKE, {"f": "crm.customers.nope", "p": "service"}),
    ("revokePurpose: a purpose the field lacks", REVOKE,
     {"f": "crm.customers.email", "p": "sharing"}),
    ("revokePurpose: a purpose only covered by a broader grant", REVOKE,
     {"f": "crm.customers.customer_id", "p": "service.delivery"}),
    ("addLineage: unknown upstream", ADD,
     {"u": "crm.customers.nope", "d": "crm.customers.email"}),
    ("addLineage: unknown downstream", ADD,
     {"u": "crm.customers.email", "d": "crm.customers.nope"}),
    ("addLineages: one unknown", ADD_MANY,
     {"e": [{"upstream": "crm.customers.email", "downstream": "crm.customers.loyalty_tier"},
            {"upstream": "crm.customers.nope", "downstream": "crm.customers.loyalty_tier"}]}),
    ("removeLineage: unknown upstream", REMOVE,
     {"u": "crm.customers.nope", "d": "crm.customers.email"}),
    ("lineage: unknown field", LINEAGE, {"f": "crm.customers.nope", "n": 3}),
    ("usageMatrix: unknown field", '{ usageMatrix(field: "crm.customers.nope") { allowed } }',
     None),
    ("deleteRule: unknown rule", 'mutation { deleteRule(key: "no-such-rule") }', None),
]


async def test_not_found(read_api):
    before = await read_api.snapshot("crm.customers.email", "crm.customers.loyalty_tier")
    for label, query, variables in NOT_FOUND:
        err = await read_api.error(query, variables, code="NOT_FOUND")
        assert ("nope" in err["message"] or "sharing" in err["message"]
                or "service.delivery" in err["message"] or "no-such-rule" in err["message"]), \
            f"{label}: {err['message']!r}"
    assert await read_api.snapshot("crm.customers.email", "crm.customers.loyalty_tier") == before
    assert await read_api.field("crm.customers.nope") is None


async def test_a_lineage_cycle_is_a_conflict_naming_the_cycle(read_api):
    cases = [("ml.scores.churn_risk", "dwh.marts.customer_360.lifetime_value"),
             # loyalty_tier is fed back from lifetime_value (reverse ETL): 3 hops round.
             ("crm.customers.loyalty_tier", "dwh.marts.orders_enriched.net_amount")]
    for upstream, downstream in cases:
        before = await read_api.snapshot(upstream, downstream)
        err = await read_api.error(ADD, {"u": upstream, "d": downstream}, code="CONFLICT")
        assert "cycle" in err["message"]
        m = re.search(r"(\S+) -> (?:\S+ -> )+(\S+?)(?=[;,.]?\s|[;,.]?$)", err["message"])
        assert m and m.group(1) == m.group(2) == upstream, err["message"]
        assert downstream in err["message"]
        assert await read_api.snapshot(upstream, downstream) == before
    # In one batch: the second edge closes a cycle with the first.
    err = await read_api.error(ADD_MANY, {"e": [
        {"upstream": "crm.customers.gender", "downstream": "crm.customers.household_size"},
        {"upstream": "crm.customers.household_size", "downstream": "crm.customers.gender"}]},
        code="CONFLICT")
    assert "cycle" in err["message"]
    assert "crm.customers.gender" not in (await read_api.field("crm.customers.household_size"))[
        "upstream"]


# -- unexpected errors are masked --------------------------------------------------------
def _boom(*_args, **_kwargs):
    raise RuntimeError("SELECT secret FROM api_token -- Traceback")


def _db_boom(*_args, **_kwargs):
    raise sqlalchemy.exc.OperationalError("SELECT * FROM change_log", {}, Exception("disk"))


async def test_unexpected_errors_are_masked(read_api, monkeypatch):
    revision = await read_api.revision()
    check = ('{ check(field: "crm.customers.email", purpose: "service", channel: "email") '
             "{ allowed } }")
    history = '{ history(field: "crm.customers.email") { entries { id } } }'
    register = 'mutation($i: FieldInput!) { registerField(input: $i) { name } }'
    failing = [(checks, "check", check, None), (browse, "history_page", history, None),
               (fields, "register_fields", register, {"i": fi()})]
    for module, name, query, variables in failing:
        with monkeypatch.context() as mp:
            mp.setattr(module, name, _boom)
            err = await read_api.error(query, variables, code="INTERNAL")  # no leak: api_helpers
            assert err["message"] == INTERNAL_MESSAGE
            assert "secret" not in err["message"]
    with monkeypatch.context() as mp:
        mp.setattr(repo, "history", _db_boom)
        err = await read_api.error(history, code="INTERNAL")
        assert "change_log" not in err["message"]
    # And the server goes on answering.
    assert (await read_api.data(check))["check"]["allowed"] is True
    assert await read_api.revision() == revision


async def test_several_operations_without_an_operation_name_are_refused(api):
    doc = ('query A { __typename } '
           'mutation B { deprecateField(name: "crm.customers.email") { name } }')
    before = await api.field("crm.customers.email")
    err = await api.error(doc, code="BAD_INPUT")
    assert "operationName" in err["message"]
    assert await api.field("crm.customers.email") == before
    assert (await api.data(doc, operation="A")) == {"__typename": "Query"}


async def test_pipelines_may_not_read_the_revision_query(read_api):
    await read_api.error("{ revision }", as_="pipeline", code="FORBIDDEN")
