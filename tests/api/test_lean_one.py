"""The pipelines' single check answered from the request's bytes (api/graphql/lean_one.py)
must answer exactly as GraphQL execution does, be counted like any check, and never answer
from a snapshot the catalog has moved on from or for names the catalog lacks."""

from __future__ import annotations

import json

import orjson
import pytest
from api_helpers import answers, served_and_reference
from sqlalchemy import text

from catalog.api.graphql.lean_one import OneChecks
from catalog.services import decision_log

pytestmark = pytest.mark.anyio

QUERY = ("query Check($field: String!, $purpose: String!, $channel: String!) { "
         "check(field: $field, purpose: $purpose, channel: $channel) "
         "{ allowed revision reasons { code rule } obligations } }")
AS_OF_QUERY = QUERY.replace("$channel: String!)", "$channel: String!, $asOf: AsOf)").replace(
    "channel: $channel)", "channel: $channel, asOf: $asOf)")
EMAIL = {"field": "crm.customers.email", "purpose": "marketing.direct", "channel": "email"}
SCORE = {"field": "ml.scores.pregnancy_likelihood", "purpose": "marketing.direct",
         "channel": "push"}


def body(variables: dict, **extra) -> bytes:
    return orjson.dumps({"query": QUERY, "operationName": "Check", **extra,
                         "variables": variables})


@pytest.fixture
def hits(monkeypatch) -> list[bytes]:
    """Every body OneChecks answered."""
    seen: list[bytes] = []
    real = OneChecks.answer

    def spy(self, data, *args):
        out = real(self, data, *args)
        if out is not None:
            seen.append(data)
        return out

    monkeypatch.setattr(OneChecks, "answer", spy)
    return seen


@pytest.fixture
async def clients(demo_catalog):
    async with served_and_reference(demo_catalog, "one-test") as pair:
        yield pair


async def test_a_check_asked_again_is_answered_from_its_bytes(clients, hits):
    for variables in (EMAIL, SCORE):
        first, want = await answers(clients, body(variables))
        assert first == want and "errors" not in want
    assert hits == []
    for variables in (EMAIL, SCORE, EMAIL):
        got, want = await answers(clients, body(variables))
        assert got == want
    assert hits == [body(EMAIL), body(SCORE), body(EMAIL)]
    # a kept document with a kept request from another body: the same answer
    got, want = await answers(clients, body(SCORE))
    assert got == want and len(hits) == 4


@pytest.mark.parametrize("name", ["spaced", "keys in another order", "an extra variable",
                                  "an extra key", "another operation name", "asOf null",
                                  "asOf time"])
async def test_other_shapes_take_the_general_path(clients, hits, name):
    await answers(clients, body(EMAIL))
    await answers(clients, body(EMAIL))
    assert len(hits) == 1
    others = {
        "spaced": json.dumps({"query": QUERY, "operationName": "Check",
                              "variables": EMAIL}).encode(),
        "keys in another order": body({"channel": "email", "field": EMAIL["field"],
                                       "purpose": "marketing.direct"}),
        "an extra variable": body({**EMAIL, "x": 1}),
        "an extra key": body(EMAIL, extensions={"a": 1}),
        "another operation name": body(EMAIL).replace(b'"Check"', b'"Other"'),
        "asOf null": orjson.dumps({"query": AS_OF_QUERY, "operationName": "Check",
                                   "variables": {**EMAIL, "asOf": None}}),
        "asOf time": orjson.dumps({"query": AS_OF_QUERY, "operationName": "Check",
                                   "variables": {**EMAIL, "asOf": {
                                       "time": "2030-01-01T00:00:00Z"}}}),
    }
    for _ in range(2):
        got, want = await answers(clients, others[name])
        assert got == want
    assert len(hits) == 1


async def test_a_spelling_is_kept_as_it_came(clients, hits):
    """An escaped name is a piece of its own, kept with the decision its decoding gave."""
    escaped = body(EMAIL).replace(b"crm.customers.email", b"crm.customers.\\u0065mail")
    for _ in range(2):
        got, want = await answers(clients, escaped)
        assert got == want and "errors" not in want
    assert hits == [escaped]
    got, want = await answers(clients, body(EMAIL))
    assert got == want and hits == [escaped]  # the plain spelling: not kept yet


async def test_documents_the_general_path_refuses_are_not_kept(clients, hits):
    wrong = orjson.dumps({"query": QUERY.replace("obligations", "nope"),
                          "operationName": "Check", "variables": EMAIL})
    for _ in range(2):
        got, want = await answers(clients, wrong)
        assert got == want and want["errors"]
    assert hits == []


async def test_as_of_checks_are_kept_apart_and_outlive_writes(api, clients, hits):
    """A check at asOf {revision: r} asked again is answered from its bytes, before and
    after later writes (the catalog at r does not change), and never for a document that
    does not take asOf, nor a current one for a document that does."""
    revision = await api.revision()
    past = orjson.dumps({"query": AS_OF_QUERY, "operationName": "Check",
                         "variables": {**EMAIL, "asOf": {"revision": revision}}})
    for _ in range(2):
        got, want = await answers(clients, past)
        assert got == want and got["data"]["check"]["revision"] == revision
    assert hits == [past]
    await api.data('mutation { grantPurpose(field: "crm.customers.email", '
                   'grant: {purpose: "analytics", channels: ["web"]}) { name } }')
    got, want = await answers(clients, past)
    assert got == want and got["data"]["check"]["revision"] == revision
    assert hits == [past, past]
    # the as-of request under the current document's prefix, and the other way round
    crossed = body(EMAIL)[:-2] + b',"asOf":{"revision":%d}}}' % revision
    now = orjson.dumps({"query": AS_OF_QUERY, "operationName": "Check", "variables": EMAIL})
    for odd in (crossed, now, crossed, now):
        got, want = await answers(clients, odd)
        assert got == want
    assert hits == [past, past]


async def test_unknown_names_are_never_kept(clients, hits):
    odd = {"field": "no.such.field", "purpose": "marketing.direct", "channel": "email"}
    for _ in range(3):
        got, want = await answers(clients, body(odd))
        assert got == want
        assert want["data"]["check"]["reasons"][0]["code"] == "UNKNOWN_FIELD"
    assert hits == []


async def test_answers_follow_every_write(api, clients, hits):
    analytics = {"field": "crm.customers.email", "purpose": "analytics", "channel": "web"}
    await answers(clients, body(analytics))
    before, want = await answers(clients, body(analytics))
    assert before == want and len(hits) == 1
    await api.data('mutation { grantPurpose(field: "crm.customers.email", '
                   'grant: {purpose: "analytics", channels: ["web"]}) { name } }')
    after, want = await answers(clients, body(analytics))
    assert after == want and len(hits) == 1  # a new snapshot: the general path answered
    assert after["data"]["check"]["revision"] > before["data"]["check"]["revision"]
    again, want = await answers(clients, body(analytics))
    assert again == want and len(hits) == 2


async def test_checks_answered_from_bytes_are_counted(demo_catalog, clients, hits):
    served, _ = clients
    for _ in range(3):
        assert (await served.post("/graphql", content=body(EMAIL))).status_code == 200
    assert len(hits) == 2
    decision_log.recorder_of(demo_catalog).flush()
    with demo_catalog.engine.connect() as conn:
        rows = conn.execute(text("SELECT field, purpose, channel, sum(count) FROM decision_log "
                                 "WHERE caller = 'one-test' GROUP BY field, purpose, channel"))
        counts = {(f, p, c): n for f, p, c, n in rows}
    assert counts == {(EMAIL["field"], EMAIL["purpose"], EMAIL["channel"]): 3}


async def test_a_bad_token_is_refused_before_anything(clients, hits):
    served, _ = clients
    await answers(clients, body(EMAIL))
    await answers(clients, body(EMAIL))
    bad = await served.post("/graphql", content=body(EMAIL),
                            headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and len(hits) == 1
