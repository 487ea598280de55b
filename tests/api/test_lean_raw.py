"""The pipelines' checkMany answered from the request's bytes (api/graphql/lean_raw.py) must
answer exactly as GraphQL execution does, for every way a body can be written, and never
from a snapshot the catalog has moved on from."""

from __future__ import annotations

import json

import httpx
import orjson
import pytest
from api_helpers import answers, served_and_reference
from sqlalchemy import text

from catalog.api.app import create_app
from catalog.api.graphql import lean_raw
from catalog.api.graphql.raw_cells import RawCells
from catalog.domain import index as index_module
from catalog.services import decision_log, fields
from catalog.services.auth import SYSTEM, create_token

pytestmark = pytest.mark.anyio

QUERY = ("query CheckMany($requests: [CheckInput!]!) { checkMany(requests: $requests) "
         "{ allowed reasons { code rule } obligations } }")
CLIENT_QUERY = ("query CheckMany($requests: [CheckInput!]!, $atLeastRevision: Int) { "
                "checkMany(requests: $requests, atLeastRevision: $atLeastRevision) "
                "{ allowed field revision reasons { code message path } } }")
FIELDS = ["crm.customers.email", "ml.scores.pregnancy_likelihood",
          "dwh.marts.audiences.baby_club_member", "broker.acme_feed.credit_score",
          "orders.orders.line_items"]
PURPOSES = ["marketing.direct", "service", "analytics", "personalization.recommendations"]
CHANNELS = ["email", "sms", "web", "push"]
REQUESTS = [{"field": f, "purpose": p, "channel": c}
            for f in FIELDS for p in PURPOSES for c in CHANNELS]  # 80: over MIN_BODY


def compact(reqs: list[dict], **extra) -> bytes:
    return orjson.dumps({"query": QUERY, "variables": {"requests": reqs}, **extra})


def as_client(reqs: list[dict], at_least) -> bytes:  # catalog.client's document
    return orjson.dumps({"query": CLIENT_QUERY,
                         "variables": {"requests": reqs, "atLeastRevision": at_least}})


def spaced(reqs: list[dict]) -> bytes:  # Python's json.dumps defaults (requests, httpx < 0.28)
    return json.dumps({"query": QUERY, "variables": {"requests": reqs}}).encode()


# Bodies that mean the same batch but are written otherwise: each must reach the same answer
# through the general path.
OTHERS = {
    "keys in another order": orjson.dumps({"variables": {"requests": [
        {"channel": r["channel"], "field": r["field"], "purpose": r["purpose"]}
        for r in REQUESTS]}, "query": QUERY}),
    "pretty-printed": json.dumps({"query": QUERY, "variables": {"requests": REQUESTS}},
                                 indent=2).encode(),
    "escaped names": compact(REQUESTS).replace(b'"crm.customers.email"',
                                               b'"crm.customers.\\u0065mail"'),
    "an extra key": compact([{**REQUESTS[0], "note": "x"}, *REQUESTS[1:]]),
}


@pytest.fixture
def raw_hits(monkeypatch) -> list[int]:
    """The size of every batch the raw path answered."""
    hits: list[int] = []
    real = lean_raw.answer

    def spy(*args):
        out = real(*args)
        if out is not None:
            hits.append(len(orjson.loads(out)["data"]["checkMany"]))
        return out

    monkeypatch.setattr(lean_raw, "answer", spy)
    return hits


@pytest.fixture
async def clients(demo_catalog):
    """The app as served (lean and raw paths on) and the same catalog with GraphQL execution
    alone (the reference), with a pipeline token."""
    async with served_and_reference(demo_catalog, "raw-test") as pair:
        yield pair


@pytest.mark.parametrize("write", [compact, spaced])
async def test_the_raw_path_answers_as_graphql_does(clients, raw_hits, write):
    body = write(REQUESTS)
    first, want = await answers(clients, body)  # the general path answers, keeps the keys
    assert first == want and "errors" not in want
    assert raw_hits == []
    again, want = await answers(clients, body)
    assert again == want
    assert raw_hits == [len(REQUESTS)]
    assert any(d["allowed"] for d in want["data"]["checkMany"])
    assert any(not d["allowed"] for d in want["data"]["checkMany"])
    # another batch of the same requests, in another order: raw as well
    shuffled = write(REQUESTS[::-1])
    got, want = await answers(clients, shuffled)
    assert got == want and raw_hits == [len(REQUESTS)] * 2


@pytest.mark.parametrize("write", [compact, spaced])
async def test_the_vector_lookup_answers_and_the_dict_backs_it(clients, raw_hits, monkeypatch,
                                                               write):
    """A batch asked again is found whole by the vector lookup (raw_cells.py); when that
    says it cannot, the table's dict answers the same."""
    found: list[bool] = []
    real = RawCells.lookup

    def spy(self, listed, gap):
        out = real(self, listed, gap)
        found.append(out is not None)
        return out

    monkeypatch.setattr(RawCells, "lookup", spy)
    body = write(REQUESTS)
    await answers(clients, body)  # the general path answers, the index keeps the keys
    got, want = await answers(clients, body)  # the dict's misses fill the raw table
    assert got == want and found == [False] and raw_hits == [len(REQUESTS)]
    got, want = await answers(clients, write(REQUESTS[::-1]))
    assert got == want and found == [False, True] and raw_hits == [len(REQUESTS)] * 2
    monkeypatch.setattr(RawCells, "lookup", lambda self, listed, gap: None)
    got, want = await answers(clients, body)
    assert got == want and raw_hits == [len(REQUESTS)] * 3


@pytest.mark.parametrize("name", sorted(OTHERS))
async def test_other_spellings_take_the_general_path(clients, raw_hits, name):
    await answers(clients, compact(REQUESTS))  # the keys of the compact style exist
    for _ in range(2):
        got, want = await answers(clients, OTHERS[name])
        assert got == want
    assert raw_hits == []


def decoys() -> dict[str, tuple[bytes, int]]:
    """Bodies where the request list found around '[{"field":' ... '"}]' is not (or not
    only) the checkMany variable's, and whether the raw path answers them (after decoding
    the whole body, where the cut around the list does not hold), of two asks (a new
    document's first ask goes to the general path)."""
    reqs = orjson.dumps(REQUESTS)
    other = orjson.dumps(REQUESTS[:3])
    query = orjson.dumps(QUERY)
    odd_query = orjson.dumps(QUERY + ' # [{"field":"x"}] "}]')
    return {
        "another variable's list first": (
            b'{"query":' + query + b',"variables":{"other":' + other + b',"requests":'
            + reqs + b"}}", 2),  # the rest lacks requests: decoded whole
        "another variable's list after": (
            b'{"query":' + query + b',"variables":{"requests":' + reqs + b',"other":'
            + other + b"}}", 0),  # the cut takes in both lists: no keys
        "an empty list elsewhere": (
            b'{"query":' + query + b',"variables":{"requests":' + reqs + b',"other":[]}}',
            2),  # two '[]' around the list: the whole body is decoded, then cut
        "the list's marks inside the query, after the list": (
            b'{"variables":{"requests":' + reqs + b'},"query":' + odd_query + b"}", 1),
        "the list's marks inside the query, before the list": (
            b'{"query":' + odd_query + b',"variables":{"requests":' + reqs + b"}}", 1),
        "requests twice, the last empty": (
            b'{"query":' + query + b',"variables":{"requests":' + reqs
            + b',"requests":[]}}', 0),
        "requests twice, the first empty": (
            b'{"query":' + query + b',"variables":{"requests":[],"requests":' + reqs
            + b"}}", 2),
    }


@pytest.mark.parametrize("write", [compact, spaced])
async def test_the_list_itself_is_not_decoded(clients, raw_hits, monkeypatch, write):
    """A plain batch: msgspec reads the body around the list, never the list (the table's
    keys vouch for it)."""
    body = write(REQUESTS)
    await answers(clients, body)
    decoded: list[int] = []
    real = lean_raw._decode
    monkeypatch.setattr(lean_raw, "_decode", lambda b: decoded.append(len(b)) or real(b))
    got, want = await answers(clients, body)
    assert got == want and raw_hits == [len(REQUESTS)]
    assert decoded and max(decoded) < 1024 < len(body)


@pytest.mark.parametrize("name", sorted(decoys()))
async def test_lists_that_are_not_the_requests_variable(clients, raw_hits, name):
    """The raw path decodes the body around the request list it finds; whatever else the
    body holds, it answers what GraphQL execution answers, and answers raw only when the
    list it cut is the variable's."""
    body, raw_hits_expected = decoys()[name]
    await answers(clients, compact(REQUESTS))  # the keys of the compact style exist
    for _ in range(2):
        got, want = await answers(clients, body)
        assert got == want
    assert raw_hits == [len(REQUESTS)] * raw_hits_expected


async def test_decisions_kept_before_a_style_was_seen(clients, raw_hits, monkeypatch):
    """Decisions the index kept by request before any batch in a style came (here: asked
    with the requests written into the document) get that style's keys once it comes;
    they used to stay without them, off the raw path, until the next write."""
    monkeypatch.setattr(index_module, "_raw_seen", [])
    literal = ", ".join(f'{{field: "{r["field"]}", purpose: "{r["purpose"]}", '
                        f'channel: "{r["channel"]}"}}' for r in REQUESTS)
    got, want = await answers(clients, orjson.dumps(
        {"query": f"{{ checkMany(requests: [{literal}]) {{ allowed }} }}"}))
    assert got == want and "errors" not in want
    body = compact(REQUESTS)
    for _ in range(3):
        got, want = await answers(clients, body)
        assert got == want
    assert raw_hits == [len(REQUESTS)] * 2  # the first ask: a new document


async def test_unknown_names_and_separators_inside_names(clients, raw_hits):
    odd = [{"field": "no.such},{field", "purpose": "service", "channel": "web"},
           {"field": 'a"},{"field":"crm.customers.email', "purpose": "service",
            "channel": "web"},
           {"field": "crm.customers.email", "purpose": "nope", "channel": "web"}]
    body = compact(REQUESTS + odd)
    for _ in range(2):
        got, want = await answers(clients, body)
        assert got == want
        assert [d["reasons"][0]["code"] for d in want["data"]["checkMany"][-3:]] == [
            "UNKNOWN_FIELD", "UNKNOWN_FIELD", "UNKNOWN_PURPOSE"]
    assert raw_hits == []  # unknown names are never kept: the general path answers them


async def test_raw_answers_follow_every_write(api, clients, raw_hits):
    email = {"field": "crm.customers.email", "purpose": "analytics", "channel": "web"}
    body = compact([email, *REQUESTS])
    await answers(clients, body)
    before, want = await answers(clients, body)
    assert before == want and raw_hits == [len(REQUESTS) + 1]
    grant = ('mutation { grantPurpose(field: "crm.customers.email", '
             'grant: {purpose: "analytics", channels: ["web"]}) { name } }')
    was = before["data"]["checkMany"][0]
    await api.data(grant)
    after, want = await answers(clients, body)
    assert after == want
    assert after["data"]["checkMany"][0] != was or was["allowed"]
    assert raw_hits == [len(REQUESTS) + 1]  # a new snapshot: the general path answered
    again, want = await answers(clients, body)
    assert again == want and raw_hits == [len(REQUESTS) + 1] * 2


async def test_errors_and_malformed_bodies_are_the_general_paths(clients, raw_hits):
    await answers(clients, compact(REQUESTS))
    too_many = compact(REQUESTS * (fields.MAX_BATCH // len(REQUESTS) + 1))
    got, want = await answers(clients, too_many)
    assert got == want and got["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    for body in (compact(REQUESTS)[:-1], compact(REQUESTS) + b"x",
                 compact(REQUESTS).replace(b'"query"', b'"query":1,"q"', 1),
                 compact(REQUESTS, operationName="Other")):
        got, want = await answers(clients, body)
        assert got == want
    # duplicate keys: the last one counts, for the raw path as for orjson
    dup = compact(REQUESTS)[:-1] + b',"variables":{"requests":[]}}'
    got, want = await answers(clients, dup)
    assert got == want == {"data": {"checkMany": []}}
    assert raw_hits == []


async def test_raw_checks_are_counted_in_the_decision_log(demo_catalog, clients, raw_hits):
    served, _ = clients
    body = compact(REQUESTS)
    for _ in range(3):
        assert (await served.post("/graphql", content=body)).status_code == 200
    assert raw_hits == [len(REQUESTS)] * 2
    decision_log.recorder_of(demo_catalog).flush()
    with demo_catalog.engine.connect() as conn:
        rows = conn.execute(text("SELECT field, purpose, channel, sum(count) FROM decision_log "
                                 "WHERE caller = 'raw-test' GROUP BY field, purpose, channel"))
        counts = {(f, p, c): n for f, p, c, n in rows}
    assert counts == {(r["field"], r["purpose"], r["channel"]): 3 for r in REQUESTS}


async def test_the_clients_batches_wait_for_their_revision(api, clients, raw_hits):
    """catalog.client sends atLeastRevision with every batch: null, or the revision its last
    answer came from. The raw path answers when the snapshot is recent enough, and leaves the
    wait (or the error) to the general path."""
    revision = await api.revision()
    for at_least in (None, revision, 0):
        body = as_client(REQUESTS, at_least)
        for _ in range(2):
            got, want = await answers(clients, body)
            assert got == want and "errors" not in got
            assert {d["revision"] for d in got["data"]["checkMany"]} == {revision}
    assert raw_hits == [len(REQUESTS)] * 5  # all but the first ask of the document
    for odd in (revision + 1, -1, 1.0, "1", 2**31):  # the general path decides
        got, want = await answers(clients, as_client(REQUESTS, odd))
        assert got == want
        if odd in (revision + 1, "1", 2**31):
            assert got["errors"]
    assert raw_hits == [len(REQUESTS)] * 5


async def test_raw_checks_are_counted_in_the_metrics(demo_catalog, raw_hits):
    """/metrics' catalog_decisions counts raw answers from the allowed counts the raw table
    keeps: the same totals as reading every decision."""
    token = create_token(demo_catalog, SYSTEM, role="pipeline", name="raw-metrics")[1]
    app = create_app(demo_catalog, background_sync=False)
    metrics = app.endpoint.metrics
    body = compact(REQUESTS)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"}) as client:
        answers = [(await client.post("/graphql", content=body)).json() for _ in range(3)]
    assert raw_hits == [len(REQUESTS)] * 2
    metrics.flush()
    allowed = sum(d["allowed"] for a in answers for d in a["data"]["checkMany"])
    counted = {v: metrics.decisions.labels(v)._value.get() for v in ("true", "false")}
    assert 0 < allowed < 3 * len(REQUESTS)
    assert counted == {"true": allowed, "false": 3 * len(REQUESTS) - allowed}
