"""The real client: openlineage-python's OpenLineageClient, HTTP transport, API-key auth and
gzip, against `catalog serve` on a free loopback port (docs/semantics.md §11)."""

from __future__ import annotations

import uuid

import httpx
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset, schema_dataset
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpCompression,
    HttpConfig,
    HttpTransport,
)
from test_api_multiprocess import gql, start_server  # noqa: F401  (the fixture)

from catalog.services.auth import SYSTEM, create_token

NS = "postgres://shop-db:5432"
CHECK = ("query($f: String!, $p: String!, $c: String!) { check(field: $f, purpose: $p, "
         "channel: $c) { allowed reasons { code rule message } } }")
LINEAGE = ("query($f: String!) { lineage(field: $f) { edges { upstream downstream transform "
           "} } }")
REGISTER = ("mutation($i: FieldInput!) { registerField(input: $i) { revision } }")


def events() -> list[RunEvent]:
    schema = schema_dataset.SchemaDatasetFacet(fields=[
        schema_dataset.SchemaDatasetFacetFields(name="email", type="text"),
        schema_dataset.SchemaDatasetFacetFields(name="order_count", type="bigint")])
    lineage = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            "email": column_lineage_dataset.Fields(inputFields=[
                column_lineage_dataset.InputField(
                    namespace=NS, name="shop.public.customers", field="email",
                    transformations=[column_lineage_dataset.Transformation(
                        type="DIRECT", subtype="IDENTITY", masking=False)])]),
            "order_count": column_lineage_dataset.Fields(inputFields=[
                column_lineage_dataset.InputField(
                    namespace=NS, name="shop.public.orders", field="order_id",
                    transformations=[column_lineage_dataset.Transformation(
                        type="DIRECT", subtype="AGGREGATION", masking=False)])])},
        dataset=[column_lineage_dataset.InputField(
            namespace=NS, name="shop.public.orders", field="status",
            transformations=[column_lineage_dataset.Transformation(
                type="INDIRECT", subtype="FILTER")])])
    run = Run(runId=str(uuid.uuid4()))
    job = Job(namespace="airflow", name="marts.customer_orders")
    inputs = [InputDataset(namespace=NS, name="shop.public.customers"),
              InputDataset(namespace=NS, name="shop.public.orders")]
    out = OutputDataset(namespace=NS, name="shop.marts.customer_orders",
                        facets={"schema": schema, "columnLineage": lineage})
    return [RunEvent(eventType=state, eventTime="2026-11-30T05:00:00Z", run=run, job=job,
                     inputs=inputs, outputs=[out], producer="https://example.com/tests")
            for state in (RunState.START, RunState.COMPLETE)]


def test_openlineage_client_feeds_lineage_and_checks_deny_until_classified(
        catalog, start_server):  # noqa: F811
    admin = create_token(catalog, SYSTEM, role="admin", name="test-admin")[1]
    owner = create_token(catalog, SYSTEM, role="owner", scope="shop.", name="shop-team")[1]
    [base] = start_server()
    client = OpenLineageClient(transport=HttpTransport(HttpConfig(
        url=base, auth=ApiKeyTokenProvider({"api_key": owner}),
        compression=HttpCompression.GZIP)))
    for event in events():
        client.emit(event)  # raises on any non-2xx answer

    with httpx.Client(base_url=base, timeout=30) as http:
        edges = gql(http, admin, LINEAGE, {"f": "shop.marts.customer_orders.order_count"})
        assert {(e["upstream"], e["transform"]) for e in edges["lineage"]["edges"]} == {
            ("shop.public.orders.order_id", "DIRECT/AGGREGATION"),
            ("shop.public.orders.status", "INDIRECT/FILTER")}
        email = "shop.marts.customer_orders.email"
        decision = gql(http, admin, CHECK, {"f": email, "p": "service.support",
                                            "c": "email"})["check"]
        assert not decision["allowed"]
        assert "unclassified-data" in {r["rule"] for r in decision["reasons"]}

        # The owner classifies the output and its input and grants the purpose: allowed.
        grant = [{"purpose": "service.support", "channels": ["email"]}]
        for name, category in ((email, "tracking.contact"),
                               ("shop.public.customers.email", "tracking.contact"),
                               ("shop.public.orders.status", "historical.purchases")):
            gql(http, owner, REGISTER, {"i": {"name": name, "category": category,
                                              "source": "first_party", "owner": "shop-team",
                                              "grants": grant}})
        decision = gql(http, owner, CHECK, {"f": email, "p": "service.support",
                                            "c": "email"})["check"]
        assert decision["allowed"], decision["reasons"]
        # An output still derived from unclassified inputs stays denied, naming them.
        decision = gql(http, admin, CHECK, {"f": "shop.marts.customer_orders.order_count",
                                            "p": "service.support", "c": "email"})["check"]
        [reason] = [r for r in decision["reasons"] if r["rule"] == "unclassified-data"]
        assert "shop.public.orders.order_id" in reason["message"]
        assert "shop.marts.customer_orders.order_count is unclassified" in reason["message"]
