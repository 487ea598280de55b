"""GET /metrics (docs/semantics.md §14), read with prometheus-client's own text parser: decisions by
outcome, requests by operation with latency, index revision and lag, hidden when off; and one
scrape of a two-worker `catalog serve` covering both workers."""

from __future__ import annotations

import time

import httpx
import pytest
from api_helpers import Api
from conftest import role_tokens
from prometheus_client.parser import text_string_to_metric_families
from test_api_multiprocess import start_server  # noqa: F401  (a fixture)

from catalog.api.app import create_app
from catalog.domain.model import Grant
from catalog.services import decision_log, fields

EMAIL = "crm.customers.email"
CHECK = ("query($f: String!, $p: String!, $c: String!) { check(field: $f, purpose: $p, "
         "channel: $c) { allowed } }")
MANY = "query($r: [CheckInput!]!) { checkMany(requests: $r) { allowed } }"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """(sample name, sorted labels) -> value, parsed by prometheus-client."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(parsed: dict, name: str, **labels) -> float:
    return parsed.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(client: httpx.AsyncClient) -> dict:
    r = await client.get("/metrics")  # no token
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return samples(r.text)


@pytest.fixture
async def served(demo_catalog):
    app = create_app(demo_catalog, background_sync=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://catalog.test") as client:
        yield Api(client, role_tokens(demo_catalog)), client


@pytest.mark.anyio
async def test_metrics_count_decisions_and_requests_by_operation(served, demo_catalog):
    api, client = served
    before = await scrape(client)
    singles = [(await api.data(CHECK, {"f": EMAIL, "p": p, "c": "email"}, as_="pipeline"))
               ["check"] for p in ("service.delivery", "marketing.direct", "sharing.sale")]
    cells = [{"field": EMAIL, "purpose": "service.delivery", "channel": c}
             for c in ("email", "sms", "ads", "web")] * 25
    answers = (await api.data(MANY, {"r": cells}, as_="pipeline"))["checkMany"]
    await api.data("{ revision }")
    (await api.post("{ nonsense }")).json()
    after = await scrape(client)

    allowed = sum(d["allowed"] for d in singles + answers)
    denied = sum(not d["allowed"] for d in singles + answers)
    assert allowed and denied
    assert value(after, "catalog_decisions_total", allowed="true") - \
        value(before, "catalog_decisions_total", allowed="true") == allowed
    assert value(after, "catalog_decisions_total", allowed="false") - \
        value(before, "catalog_decisions_total", allowed="false") == denied
    count = "catalog_request_duration_seconds_count"
    assert value(after, count, operation="check") == 3
    assert value(after, count, operation="checkMany") == 1
    assert value(after, count, operation="revision") == 1
    assert value(after, count, operation="invalid") == 1
    assert value(after, "catalog_request_duration_seconds_bucket", operation="check",
                 le="+Inf") == 3
    assert value(after, "catalog_request_duration_seconds_sum", operation="check") > 0
    revision = demo_catalog.index.revision
    assert value(after, "catalog_index_revision") == revision
    assert value(after, "catalog_database_revision") == revision
    assert value(after, "catalog_index_lag_revisions") == 0
    recorder = decision_log.recorder_of(demo_catalog)
    if recorder is not None:  # counted, not flushed: nothing runs its flush in this test
        assert value(after, "catalog_decision_log_backlog") == recorder.waiting >= 103
    assert ("catalog_sync_errors_total", ()) in after


@pytest.mark.anyio
async def test_lag_shows_writes_the_index_has_not_seen(served, demo_catalog, other_catalog,
                                                       admin):
    _, client = served
    demo_catalog.index  # loaded  # noqa: B018
    fields.grant_purpose(other_catalog, admin, EMAIL, Grant("sharing.partners"))
    parsed = await scrape(client)
    assert value(parsed, "catalog_index_lag_revisions") == 1
    assert value(parsed, "catalog_database_revision") == \
        value(parsed, "catalog_index_revision") + 1


@pytest.mark.anyio
async def test_metrics_off_hides_the_endpoint(demo_catalog, monkeypatch):
    monkeypatch.setattr(demo_catalog.settings, "metrics", False)
    app = create_app(demo_catalog, background_sync=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://catalog.test") as client:
        assert (await client.get("/metrics")).status_code == 404
        tokens = role_tokens(demo_catalog)
        r = await client.post("/graphql", json={"query": "{ revision }"},
                              headers={"Authorization": f"Bearer {tokens['pipeline']}"})
        assert r.status_code == 200 and demo_catalog.seen is None


@pytest.mark.slow
def test_one_scrape_covers_every_worker(database_url, demo_catalog, start_server):  # noqa: F811
    if database_url.startswith("sqlite"):
        pytest.skip("one multi-worker run is enough; it runs on PostgreSQL")
    token = role_tokens(demo_catalog)["pipeline"]
    [base] = start_server(workers=2)
    asked = 40
    for i in range(asked):  # a new connection each: the kernel spreads them over the workers
        with httpx.Client(base_url=base, timeout=30) as c:
            r = c.post("/graphql", json={"query": CHECK, "variables": {
                "f": EMAIL, "p": "service.delivery" if i % 2 else "sharing.sale",
                "c": "email"}}, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200 and "errors" not in r.json()
    time.sleep(2.5)  # every worker flushes each second
    for _ in range(6):  # each scrape may land on either worker: every one sees the sum
        with httpx.Client(base_url=base, timeout=30) as c:
            parsed = samples(c.get("/metrics").text)
        assert value(parsed, "catalog_decisions_total", allowed="true") == asked / 2
        assert value(parsed, "catalog_decisions_total", allowed="false") == asked / 2
        assert value(parsed, "catalog_request_duration_seconds_count",
                     operation="check") == asked
        assert value(parsed, "catalog_index_revision") == demo_catalog.index.revision


def test_a_flush_counts_what_observing_each_request_would(demo_catalog):
    """The flush drains both queues in bulk: the same buckets, sums and outcome counts as a
    Histogram.observe and a Counter.inc per request and decision."""
    from prometheus_client import CollectorRegistry, Histogram, generate_latest

    from catalog.api.metrics import BUCKETS

    metrics = create_app(demo_catalog, background_sync=False).endpoint.metrics
    metrics.flush()
    index = demo_catalog.index
    decisions = [index.check(EMAIL, p, "email") for p in ("service.delivery", "sharing.sale")]
    assert {d.allowed for d in decisions} == {True, False}
    registry = CollectorRegistry()
    reference = Histogram("h", "h", ["operation"], buckets=BUCKETS, registry=registry)
    for i, s in enumerate([0.0002, 0.0007, 0.003, 0.003, 0.07, 0.3, 20.0, 0.04, 0.0004]):
        query = (CHECK, MANY, "{ revision }")[i % 3]
        metrics.request(query, time.perf_counter() - s)  # s and a few microseconds
        reference.labels(metrics.operation(query)).observe(s)
        demo_catalog.seen.append(decisions[i % 2])
    demo_catalog.seen.append(decisions * 5)  # a checkMany's list
    got = samples(metrics.exposition().decode())
    want = samples(generate_latest(registry).decode())
    assert len(want) == 3 * (len(BUCKETS) + 2) + 3  # _created too
    for (name, labels), v in want.items():
        if name.endswith("_bucket") or name.endswith("_count"):
            assert value(got, "catalog_request_duration_seconds" + name[1:], **dict(labels)) == v
        elif name.endswith("_sum"):
            assert value(got, "catalog_request_duration_seconds_sum", **dict(labels)) == \
                pytest.approx(v, abs=1e-3)
    assert value(got, "catalog_decisions_total", allowed="true") == 5 + 5
    assert value(got, "catalog_decisions_total", allowed="false") == 4 + 5
