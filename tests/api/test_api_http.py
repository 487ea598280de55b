"""The HTTP edge of POST /graphql (docs/semantics.md §7, GraphQL over HTTP): content type, the
Authorization header, GraphiQL's introspection query, documents that must cost their sender
only, and memory that does not grow with what callers send."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from api_helpers import Api
from graphql import DocumentNode
from graphql.language.parser import Parser
from graphql.validation.validation_context import ValidationContext

from catalog.api.app import GraphQLEndpoint, create_app
from catalog.api.graphql import lean_json

pytestmark = pytest.mark.anyio

CHECK = ('{ check(field: "crm.customers.email", purpose: "service.delivery", '
         'channel: "email") { allowed } }')

# GraphiQL 3's schema query: graphql-js 16's getIntrospectionQuery({descriptions,
# inputValueDeprecation}); its TypeRef nests 13 levels below the operation.
GRAPHIQL_QUERY = """
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name description type { ...TypeRef } defaultValue isDeprecated deprecationReason
}
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType {
    kind name ofType { kind name ofType { kind name } } } } } } }
}
"""


@dataclass
class Served:
    api: Api
    endpoint: GraphQLEndpoint

    async def raw(self, body: bytes | str, headers: list[tuple[str, str]]) -> httpx.Response:
        return await self.api.client.post("/graphql", content=body, headers=headers)

    def bearer(self, role: str = "pipeline") -> tuple[str, str]:
        return ("Authorization", f"Bearer {self.api.tokens[role]}")


@pytest.fixture
async def served(shared_demo) -> AsyncIterator[Served]:
    """The shared demo catalog (change nothing), with the endpoint at hand."""
    cat, tokens = shared_demo
    app = create_app(cat, background_sync=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://catalog.test") as client:
        yield Served(Api(client, dict(tokens)), app.endpoint)


# -- introspection -------------------------------------------------------------------------
async def test_graphiqls_own_introspection_query_is_answered(served):
    data = await served.api.data(GRAPHIQL_QUERY)
    names = {t["name"] for t in data["__schema"]["types"]}
    assert {"Query", "Decision", "CheckInput", "ReasonCode"} <= names


async def test_introspection_still_counts_aliases_and_its_own_depth_rule(served):
    many = "{ __schema { " + " ".join(f"t{i}: queryType {{ name }}" for i in range(101)) + " } }"
    err = await served.api.error(many, code="BAD_INPUT")
    assert "101 aliases" in err["message"], err
    # graphql-core's MaxIntrospectionDepthRule stays: fields -> type -> fields, over and over.
    loop = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    err = await served.api.error(loop, code="BAD_INPUT")
    assert "introspection" in err["message"].lower(), err


# -- content type and Authorization ------------------------------------------------------------
@pytest.mark.parametrize("content_type, status", [
    (None, 415), ("text/plain", 415), ("application/x-www-form-urlencoded", 415),
    ("application/graphql", 415), ("application/json; charset=latin-1", 415),
    ("application/json", 200), ("application/json; charset=utf-8", 200),
    ("Application/JSON;charset=\"UTF-8\"", 200),
])
async def test_only_json_bodies_are_executed(served, content_type, status):
    headers = [served.bearer()] + ([("Content-Type", content_type)] if content_type else [])
    r = await served.raw(json.dumps({"query": CHECK}), headers)
    assert r.status_code == status, r.text
    body = r.json()
    if status == 415:
        assert body["data"] is None
        assert "application/json" in body["errors"][0]["message"]
    else:
        assert body["data"]["check"]["allowed"] is True


@pytest.mark.parametrize("accept", ["application/graphql-response+json",
                                    "application/json", "application/json; charset=utf-8"])
async def test_usual_accept_headers_are_answered(served, accept):
    r = await served.raw(json.dumps({"query": CHECK}), [
        served.bearer(), ("Content-Type", "application/json"), ("Accept", accept)])
    assert r.status_code == 200 and r.json()["data"]["check"]["allowed"] is True


async def test_a_text_body_changes_nothing(api):
    """A mutation sent as text/plain (a form a browser may post cross-site) is not run."""
    before = await api.revision()
    mutation = 'mutation { deprecateField(name: "crm.customers.email") { deprecated } }'
    r = await api.client.post("/graphql", content=json.dumps({"query": mutation}), headers={
        "Content-Type": "text/plain", **api.auth("admin")})
    assert r.status_code == 415
    assert await api.revision() == before
    assert (await api.field("crm.customers.email"))["deprecated"] is False


@pytest.mark.parametrize("make_header, ok", [
    (lambda t: f"Bearer {t}", True),
    (lambda t: f"bearer {t}", True),
    (lambda t: f"BEARER  {t} ", True),
    (lambda t: t, False),  # the token alone
    (lambda t: f"Basic {t}", False),
    (lambda t: f"Token {t}", False),
    (lambda t: "Bearer", False),
    (lambda t: f"Bearer {t} {t}", False),
])
async def test_authorization_is_exactly_bearer_and_a_token(served, make_header, ok):
    r = await served.raw(json.dumps({"query": CHECK}), [
        ("Content-Type", "application/json"),
        ("Authorization", make_header(served.api.tokens["pipeline"]))])
    if ok:
        assert r.status_code == 200 and r.json()["data"]["check"]["allowed"] is True
    else:
        assert r.status_code == 401, r.text
        error = r.json()["errors"][0]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert "Bearer <token>" in error["message"]


async def test_two_authorization_headers_are_refused(served):
    pipeline, admin = served.api.tokens["pipeline"], served.api.tokens["admin"]
    for first, last in ((pipeline, admin), ("pc_not_a_token", admin), (admin, admin)):
        r = await served.raw(json.dumps({"query": CHECK}), [
            ("Content-Type", "application/json"),
            ("Authorization", f"Bearer {first}"), ("Authorization", f"Bearer {last}")])
        assert r.status_code == 401, r.text
        error = r.json()["errors"][0]
        assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert "2 Authorization headers" in error["message"]


# -- documents cost their sender only ------------------------------------------------------------
def repeated_checks(n: int) -> str:
    one = ('check(field: "crm.customers.email", purpose: "service", channel: "email") '
           "{ allowed }")
    return "{ " + " ".join([one] * n) + " }"


@pytest.fixture
def graphql_work(monkeypatch) -> list[tuple[str, bool]]:
    """Every parse and every validation graphql-core does: (which, on the event loop's
    thread)."""
    calls: list[tuple[str, bool]] = []
    main = threading.main_thread()

    def spy(cls, name):
        original = cls.__init__

        def init(self, *args, **kwargs):
            calls.append((name, threading.current_thread() is main))
            original(self, *args, **kwargs)
        monkeypatch.setattr(cls, "__init__", init)

    spy(Parser, "parse")
    spy(ValidationContext, "validate")
    return calls


async def test_a_huge_selection_is_refused_off_the_event_loop_saying_what_to_do(
        served, graphql_work):
    document = repeated_checks(12_000)  # 828 KB: under the body and token limits
    assert len(document) > 800_000
    err = await served.api.error(document, code="BAD_INPUT", as_="pipeline")
    message = err["message"]
    assert "12,000 fields" in message and "100" in message and "checkMany" in message, err
    assert "variables" in message
    assert graphql_work == [("parse", False)], "parsed once, off the loop, never validated"
    assert len(served.endpoint.documents.cache) == 0  # a refused document is not kept
    assert (await served.api.data(CHECK))["check"]["allowed"] is True


async def test_fields_repeated_below_each_other_are_refused_before_validation(
        served, graphql_work):
    """40 x 25 repeated fields: few enough per selection, but graphql-core would compare
    every pair at every level (seconds); refused in linear time instead."""
    sub = " ".join(["reasons { code }"] * 25)
    document = "{ " + " ".join(
        [f'check(field: "a.b.c", purpose: "service", channel: "email") {{ {sub} }}'] * 40
    ) + " }"
    err = await served.api.error(document, code="BAD_INPUT", as_="pipeline")
    assert "'check.reasons' 1,000 times" in err["message"] and "once" in err["message"], err
    assert [w for w, _ in graphql_work] == ["parse"]


async def test_documents_are_parsed_and_validated_once_and_never_on_the_event_loop(
        served, graphql_work):
    """The lean path and strawberry share one preparation, done in a worker thread; a
    document seen before is neither parsed nor validated again."""
    for query in (CHECK, '{ field(name: "crm.customers.email") { name owner } }',
                  GRAPHIQL_QUERY):
        graphql_work.clear()
        for _ in range(3):
            assert (await served.api.data(query, as_="admin"))
        assert graphql_work == [("parse", False), ("validate", False)], query


async def test_a_concurrent_check_is_answered_while_a_big_document_is_prepared(served):
    """The big document's preparation runs in a thread; checks asked meanwhile are answered
    by the event loop before it is done."""
    await served.api.data(CHECK)  # its document is prepared and cached
    big = asyncio.create_task(served.api.run(repeated_checks(12_000), as_="pipeline"))
    await asyncio.sleep(0)
    answered = 0
    while not big.done() and answered < 20:
        assert (await served.api.data(CHECK))["check"]["allowed"] is True
        answered += 1
    assert answered, "no check was answered while the big document was prepared"
    assert (await big)["errors"][0]["extensions"]["code"] == "BAD_INPUT"


# -- memory does not grow with what callers send --------------------------------------------------
async def test_unknown_names_are_answered_but_not_remembered(served):
    lean_json.clear_memos()
    before = lean_json.memo_usage()
    long_names = [f"crm.customers.{'x' * 100_000}{i}" for i in range(20)]
    for name in long_names:
        decision = await served.api.check(name, "service", "email", as_="pipeline")
        assert [r["code"] for r in decision["reasons"]] == ["UNKNOWN_FIELD"]
    many = await served.api.data(
        "query($r: [CheckInput!]!) { checkMany(requests: $r) { allowed reasons { code } } }",
        {"r": [{"field": "crm.customers.email", "purpose": f"nope{'y' * 10_000}{i}",
                "channel": "email"} for i in range(20)]}, as_="pipeline")
    assert {r["reasons"][0]["code"] for r in many["checkMany"]} == {"UNKNOWN_PURPOSE"}
    assert lean_json.memo_usage() == before
    # A known name is remembered (the memo is in use).
    await served.api.check("crm.customers.email", "sharing.partners", "sms", as_="pipeline")
    assert lean_json.memo_usage()["entries"] == before["entries"] + 1


async def test_the_document_cache_is_bounded_by_bytes_and_nothing_else_keeps_documents(served):
    cache = served.endpoint.documents.cache
    cache.clear()
    cache.max_bytes = 2_000_000
    marker = "#" + "p" * 20_000  # each document ~20 KB of text (~600 KB parsed)
    for i in range(30):
        query = f'{{ field(name: "crm.customers.email") {{ name }} }} {marker}{i}\n'
        assert (await served.api.data(query))["field"]["name"] == "crm.customers.email"
    assert cache.nbytes <= cache.max_bytes and 0 < len(cache) < 30
    gc.collect()
    kept = [d for d in gc.get_objects() if isinstance(d, DocumentNode)
            and d.loc is not None and marker in d.loc.source.body]
    assert len(kept) == len(cache), "documents are kept outside the bounded cache"
