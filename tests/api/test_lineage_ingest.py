"""POST /api/v1/lineage (docs/semantics.md §11): order of checks, error bodies, one transaction per
event, replays, cycles, gzip, and the boudoir-topics case carried by an INDIRECT edge."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import pytest
from api_helpers import assert_no_leak

pytestmark = pytest.mark.anyio
FIXTURES = Path(__file__).parents[1] / "fixtures" / "openlineage"
SPARK = json.loads((FIXTURES / "spark_join_filter.json").read_text())
AUDIENCE = json.loads((FIXTURES / "audience_filtered_on_pregnancy.json").read_text())
DBT = [json.loads(line) for line in (FIXTURES / "dbt_model.jsonl").read_text().splitlines()]
LINEAGE_Q = ("query($f: String!) { lineage(field: $f, depth: 1) { edges { upstream downstream "
             "transform } } }")
UNCLASSIFIED_Q = ('query($p: String) { fields(category: "unclassified", namePrefix: $p, '
                  'first: 100) { nodes { name category source owner } } }')


async def send(api, body, *, as_: str | None = "admin", headers: dict | None = None):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = await api.client.post("/api/v1/lineage", content=content, headers={
        "Content-Type": "application/json", **api.auth(as_), **(headers or {})})
    assert_no_leak(r.text)
    return r


def refused(r, status: int, code: str, *fragments: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code
    for fragment in fragments:
        assert fragment in body["error"]["message"], body
    return body["error"]["message"]


def out_event(output: str, column: str, inputs: list[tuple[str, str]]) -> dict:
    """A COMPLETE event: output dataset column from the input (dataset, column) pairs."""
    return {"eventType": "COMPLETE", "eventTime": "2026-11-30T00:00:00Z",
            "run": {"runId": "r-1"}, "job": {"namespace": "test", "name": output},
            "outputs": [{"namespace": "ns", "name": output, "facets": {"columnLineage": {
                "fields": {column: {"inputFields": [
                    {"namespace": "ns", "name": d, "field": c,
                     "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}]}
                    for d, c in inputs]}}}}}]}


async def test_order_of_checks(read_api):
    before = await read_api.revision()
    garbage = b"not json at all"
    refused(await send(read_api, SPARK, as_=None), 401, "UNAUTHENTICATED", "Bearer")
    refused(await send(read_api, SPARK, as_=None, headers={"Authorization": "Bearer nope"}),
            401, "UNAUTHENTICATED")
    for role in ("pipeline", "reviewer"):  # whatever the body
        refused(await send(read_api, garbage, as_=role), 403, "FORBIDDEN", role)
        refused(await send(read_api, b"x" * 6_000_000, as_=role), 403, "FORBIDDEN")
    refused(await send(read_api, b"[" * 6_000_000), 413, "BAD_INPUT", "bytes")
    bomb = gzip.compress(b" " * 6_000_000)  # small on the wire, too big decoded
    refused(await send(read_api, bomb, headers={"Content-Encoding": "gzip"}), 413, "BAD_INPUT")
    refused(await send(read_api, garbage), 400, "BAD_INPUT", "not JSON")
    refused(await send(read_api, b"[" * 5000 + b"]" * 5000), 400, "BAD_INPUT")
    refused(await send(read_api, garbage, headers={"Content-Encoding": "gzip"}), 400,
            "BAD_INPUT", "gzip")
    missing = {k: v for k, v in SPARK.items() if k != "eventType"}
    refused(await send(read_api, missing, as_="owner"), 400, "BAD_INPUT", "eventType")
    # The CRM owner may not write the warehouse's outputs, even from a valid event.
    refused(await send(read_api, SPARK, as_="owner"), 403, "FORBIDDEN", "sales.orders_enriched")
    assert await read_api.revision() == before


async def test_spark_event_is_one_transaction_and_a_replay_commits_nothing(api):
    before = await api.revision()
    r = await send(api, gzip.compress(json.dumps(SPARK).encode()),
                   headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    assert r.json() == {"revision": before + 1, "fieldsRegistered": 14, "edgesAdded": 17,
                        "edgesUpdated": 0}
    edges = (await api.data(LINEAGE_Q, {"f": "sales.orders_enriched.customer_email"}))
    assert {(e["upstream"], e["transform"]) for e in edges["lineage"]["edges"]} == {
        ("sales.customers.email", "DIRECT/TRANSFORMATION/MASKED"),
        ("sales.orders.customer_id", "INDIRECT/JOIN"),
        ("sales.customers.customer_id", "INDIRECT/JOIN"),
        ("sales.orders.status", "INDIRECT/FILTER")}
    nodes = (await api.data(UNCLASSIFIED_Q, {"p": "sales."}))["fields"]["nodes"]
    assert {(n["name"], n["source"]) for n in nodes if n["name"].startswith(
        "sales.orders_enriched.")} == {(f"sales.orders_enriched.{c}", "derived") for c in (
            "order_id", "customer_email", "country", "total_amount")}
    assert {n["category"] for n in nodes} == {"unclassified"}
    assert {n["owner"] for n in nodes} == {"unowned"}
    assert len(nodes) == 14
    again = await send(api, SPARK)
    assert again.json() == {"revision": before + 1, "fieldsRegistered": 0, "edgesAdded": 0,
                            "edgesUpdated": 0}
    assert await api.revision() == before + 1


async def test_dbt_start_then_complete(api):
    start = (await send(api, DBT[0])).json()
    assert start["fieldsRegistered"] == 6 and start["edgesAdded"] == 0  # inputs' schemas only
    complete = (await send(api, DBT[1])).json()
    assert complete["fieldsRegistered"] == 4 and complete["edgesAdded"] == 8
    edges = (await api.data(LINEAGE_Q, {"f": "jaffle.marts.customers.first_order"}))
    assert {(e["upstream"], e["transform"]) for e in edges["lineage"]["edges"]} == {
        ("jaffle.staging.stg_orders.order_date", "DIRECT/AGGREGATION"),
        ("jaffle.staging.stg_orders.customer_id", "INDIRECT/JOIN,INDIRECT/GROUP_BY")}


async def test_a_cycle_refuses_the_whole_event(api):
    assert (await send(api, out_event("dwh.t", "x", [("src.t", "a")]))).status_code == 200
    before = await api.revision()
    back = out_event("src.t", "a", [("dwh.t", "x")])
    back["outputs"].append(out_event("new.t", "y", [("src.t", "a")])["outputs"][0])
    message = refused(await send(api, back), 409, "CONFLICT", "cycle")
    assert "dwh.t.x -> src.t.a -> dwh.t.x" in message
    assert await api.revision() == before
    assert await api.field("new.t.y") is None  # nothing of the event was written


async def test_collisions_are_refused_naming_both(api):
    body = copy.deepcopy(SPARK)
    body["outputs"][0]["facets"]["schema"]["fields"].append({"name": "Country"})
    before = await api.revision()
    refused(await send(api, body), 400, "BAD_INPUT", "'Country'", "'country'",
            "sales.orders_enriched.country")
    assert await api.revision() == before


async def test_an_audience_filtered_on_the_pregnancy_score_carries_its_category(api):
    """The seeds' boudoir-topics case, arriving as an INDIRECT/FILTER edge."""
    audience = "dwh.marts.audiences.expecting_parents_email"
    r = await send(api, AUDIENCE, as_="dwh_owner")  # inputs outside its scope are fine
    assert r.status_code == 200, r.text
    assert r.json()["fieldsRegistered"] == 1 and r.json()["edgesAdded"] == 2
    d = await api.check(audience, "marketing.direct", "email")
    assert not d["allowed"]
    [unclassified] = [x for x in d["reasons"] if x["rule"] == "unclassified-data"]
    assert audience in unclassified["message"] and "classify" in unclassified["message"]
    # The owner classifies it and grants the purpose: the filter still carries the score.
    await api.data("mutation($i: FieldInput!) { registerField(input: $i) { name } }", {"i": {
        "name": audience, "category": "tracking.contact", "source": "derived",
        "owner": "crm-marketing", "grants": [{"purpose": "marketing.direct",
                                              "channels": ["email"]}]}}, as_="dwh_owner")
    d = await api.check(audience, "marketing.direct", "email")
    assert not d["allowed"]
    assert "external.health" in d["effectiveCategories"]
    assert [x["rule"] for x in d["reasons"] if x["code"] == "POLICY_DENIED"] == [
        "boudoir-topics"]
    edges = (await api.data(LINEAGE_Q, {"f": audience}))["lineage"]["edges"]
    assert {"upstream": "ml.scores.pregnancy_likelihood", "downstream": audience,
            "transform": "INDIRECT/FILTER"} in edges
