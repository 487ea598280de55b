"""Limits and the HTTP edges (docs/semantics.md §7): document depth and aliases, batch
sizes, body size, malformed bodies, unreachable revisions, GET. Past a limit: a BAD_INPUT error,
never a hang; and the server goes on answering."""

from __future__ import annotations

import json
import time

import pytest

from catalog.services import fields as field_service
from catalog.services.auth import SYSTEM
from catalog.settings import Settings

pytestmark = pytest.mark.anyio

CHECK = ('{ check(field: "crm.customers.email", purpose: "service.delivery", '
         'channel: "email") { allowed } }')
MAX_ITEMS = 10_000


async def still_answers(api) -> None:
    assert (await api.data(CHECK))["check"]["allowed"] is True


def nested(depth: int, leaf: str = "name") -> str:
    """A document nesting `depth` levels of (made-up) fields: the limit is refused before
    the fields are looked up."""
    return "{ " + "f { " * (depth - 1) + leaf + " }" * depth


async def test_documents_nest_at_most_10_levels(read_api):
    err = await read_api.error(nested(10), code="BAD_INPUT")
    assert "Cannot query field 'f'" in err["message"], err  # within the limit: validated
    for depth in (11, 12, 60):
        err = await read_api.error(nested(depth), code="BAD_INPUT")
        assert "10" in err["message"] and "nest" in err["message"], err
    # Through fragments (named and inline) the depth is the same.
    via_fragments = """
      query { lineage(field: "crm.customers.email") { ...T } }
      fragment T on Lineage { nodes { grants { ... on Grant { a { ...O } } } } }
      fragment O on Grant { b { c { d { e { f { g { name } } } } } } }"""
    err = await read_api.error(via_fragments, code="BAD_INPUT")
    assert "nest" in err["message"]
    # Introspection nests as deep as it likes (GraphiQL's query: 13 levels).
    deep = ("{ __schema { types { fields { type { " + "ofType { " * 12 + "name"
            + " }" * 16 + " }")
    assert (await read_api.data(deep))["__schema"]["types"]
    await still_answers(read_api)


def aliased(n: int, field: str = "__typename") -> str:
    return "{ " + " ".join(f"a{i}: {field}" for i in range(n)) + " }"


async def test_documents_hold_at_most_100_aliases(read_api):
    assert len(await read_api.data(aliased(100))) == 100
    for n in (101, 2000):
        err = await read_api.error(aliased(n), code="BAD_INPUT")
        assert str(n) in err["message"].replace(",", "") and "100" in err["message"], err
    # Check aliases (the pipelines' fast path) are counted the same.
    check = ('check(field: "crm.customers.email", purpose: "service", channel: "email") '
             "{ allowed }")
    assert len(await read_api.data(aliased(100, check))) == 100
    await read_api.error(aliased(101, check), code="BAD_INPUT")
    # 2,000 aliases through one fragment spread 100 times.
    spread = ("fragment F on Query { " + " ".join(f"f{i}: __typename" for i in range(20))
              + " } query { " + " ".join(["...F"] * 100) + " }")
    err = await read_api.error(spread, code="BAD_INPUT")
    assert "2000" in err["message"].replace(",", ""), err
    # A fragment bomb: 10 aliases, each level spreading the one below 10 times (10^8).
    bomb = ["fragment F0 on Query { " + " ".join(f"b{i}: __typename" for i in range(10)) + " }"]
    bomb += [f"fragment F{k} on Query {{ " + " ".join([f"...F{k - 1}"] * 10) + " }"
             for k in range(1, 8)]
    started = time.monotonic()
    err = await read_api.error("query { ...F7 } " + " ".join(bomb), code="BAD_INPUT")
    assert "aliases" in err["message"]
    assert time.monotonic() - started < 10, "a fragment bomb must not take long to refuse"
    await still_answers(read_api)


def item(i: int) -> dict:
    return {"field": f"crm.customers.f{i}", "purpose": "service", "channel": "email"}


async def test_batches_take_at_most_10000_items(read_api):
    revision = await read_api.revision()
    q = "query($r: [CheckInput!]!) { checkMany(requests: $r) { allowed } }"
    ok = (await read_api.data(q, {"r": [item(i % 50) for i in range(MAX_ITEMS)]}))["checkMany"]
    assert len(ok) == MAX_ITEMS
    err = await read_api.error(q, {"r": [item(i) for i in range(MAX_ITEMS + 1)]}, code="BAD_INPUT")
    assert "10,000" in err["message"] or "10000" in err["message"]
    inline = ("{ checkMany(requests: ["
              + " ".join('{field: "a.b.c", purpose: "service", channel: "email"}'
                         for _ in range(MAX_ITEMS // 10)) + "]) { allowed } }")
    assert len((await read_api.data(inline))["checkMany"]) == MAX_ITEMS // 10
    many = [{"name": f"crm.bulk.f{i}", "category": "tracking", "source": "first_party",
             "owner": "crm-team"} for i in range(MAX_ITEMS + 1)]
    err = await read_api.error("mutation($i: [FieldInput!]!) { registerFields(inputs: $i) "
                               "{ name } }", {"i": many}, code="BAD_INPUT")
    assert "10,000" in err["message"]
    edges = [{"upstream": "crm.customers.email", "downstream": f"crm.bulk.f{i}"}
             for i in range(MAX_ITEMS + 1)]
    err = await read_api.error("mutation($e: [LineageEdgeInput!]!) { addLineages(edges: $e) "
                               "{ upstream } }", {"e": edges}, code="BAD_INPUT")
    assert "10,000" in err["message"]
    assert await read_api.revision() == revision
    assert await read_api.field("crm.bulk.f0") is None
    await still_answers(read_api)


async def post_raw(api, content, headers=None, as_="admin"):
    r = await api.client.post("/graphql", content=content,
                              headers={"Content-Type": "application/json", **api.auth(as_),
                                       **(headers or {})})
    return r


async def test_a_body_over_the_limit_is_refused_with_413(read_api):
    limit = Settings.model_fields["max_body_bytes"].default  # the tests keep the default
    big = json.dumps({"query": CHECK, "variables": {"pad": "x" * limit}}).encode()
    r = await post_raw(read_api, big)
    assert r.status_code == 413
    assert r.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    assert "bytes" in r.json()["errors"][0]["message"]

    async def chunks():  # no Content-Length: the server counts as it reads
        yield b'{"query": "{ __typename }", "variables": {"pad": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}}'

    r = await post_raw(read_api, chunks())
    assert r.status_code == 413
    # A lying Content-Length is refused before the body is read.
    r = await post_raw(read_api, b"{}", headers={"Content-Length": str(limit + 1)})
    assert r.status_code in (400, 413)
    await still_answers(read_api)


BAD_BODIES = [
    (b"{not json", "JSON"),
    (b"", "JSON"),
    (b"\xff\xfe\x00garbage", "JSON"),
    (b'["query", "{ __typename }"]', "object"),
    (b'"{ __typename }"', "object"),
    (b'{"variables": {}}', "query"),
    (b'{"query": 5}', "query"),
    (b'{"query": "{ __typename }", "variables": [1, 2]}', "variables"),
    (b'{"query": "{ __typename }", "variables": "x=1"}', "variables"),
    (b'{"query": "{ __typename }", "operationName": 7}', "operationName"),
]


async def test_malformed_bodies_are_400_bad_input(read_api):
    for body, word in BAD_BODIES:
        r = await post_raw(read_api, body)
        assert r.status_code == 400, (body, r.text)
        [error] = r.json()["errors"]
        assert error["extensions"]["code"] == "BAD_INPUT"
        assert word in error["message"], (body, error)
    await still_answers(read_api)


async def test_an_unreachable_revision_is_a_conflict_not_stale_data(read_api):
    now = await read_api.revision()
    target = now + 1000
    q = ('query($r: Int) { check(field: "crm.customers.email", purpose: "service", '
         'channel: "email", atLeastRevision: $r) { allowed revision } }')
    started = time.monotonic()
    err = await read_api.error(q, {"r": target}, code="CONFLICT")
    assert time.monotonic() - started < 10  # revision_wait is 1 s in tests: no hang
    assert str(target) in err["message"] and str(now) in err["message"]
    assert "not reached" in err["message"]
    many = ("query($r: Int) { checkMany(requests: [{field: \"crm.customers.email\", "
            "purpose: \"service\", channel: \"email\"}], atLeastRevision: $r) { allowed } }")
    await read_api.error(many, {"r": target}, code="CONFLICT")
    # A revision already reached answers at once, at that revision or later.
    d = (await read_api.data(q, {"r": now}))["check"]
    assert d["allowed"] is True and d["revision"] >= now


async def test_at_least_revision_sees_another_process_write(api, demo_catalog, other_catalog):
    """other_catalog stands for another server process on the same database."""
    before = await api.check("crm.customers.email", "marketing.direct", "email")
    assert before["allowed"] is True
    rec = field_service.revoke_purpose(other_catalog, SYSTEM, "crm.customers.email",
                                       "marketing.direct")
    d = await api.check("crm.customers.email", "marketing.direct", "email",
                        at_least=rec.revision, as_="pipeline")
    assert d["allowed"] is False and d["revision"] >= rec.revision
    assert [r["code"] for r in d["reasons"]] == ["PURPOSE_NOT_GRANTED"]


async def test_no_mutation_over_get(read_api):
    before = await read_api.snapshot("crm.customers.email")
    mutation = ('mutation { revokePurpose(field: "crm.customers.email", purpose: "service") '
                "{ revision } }")
    for query in (mutation, CHECK):
        r = await read_api.client.get("/graphql", params={"query": query},
                                      headers=read_api.auth("admin"))
        assert r.status_code == 405, r.text
        [error] = r.json()["errors"]
        assert "POST" in error["message"] and error["extensions"]["code"]
    for method in ("PUT", "DELETE", "PATCH"):
        r = await read_api.client.request(method, "/graphql", headers=read_api.auth("admin"),
                                          content=json.dumps({"query": mutation}))
        assert r.status_code == 405, (method, r.text)
    assert await read_api.snapshot("crm.customers.email") == before


async def test_get_graphql_serves_graphiql_without_a_token(read_api):
    r = await read_api.client.get("/graphql", headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "graphiql" in r.text.lower()
    # GraphiQL needs introspection (with the user's token).
    data = await read_api.data("{ __schema { queryType { name } mutationType { name } } }")
    assert data["__schema"]["queryType"]["name"] == "Query"


async def test_healthz_answers_without_a_token(read_api):
    r = await read_api.client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
