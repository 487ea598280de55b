"""The lean path writes an upstream lineage from each node's parent edges kept as text
(lean_lineage._parent_text). What it writes must follow every change to the graph: a
transform replaced, an edge added or removed; and a full store must not change an answer.
Each answer is compared with strawberry's, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import orjson

from catalog.api.app import create_app
from catalog.api.graphql import lean_lineage
from catalog.domain.model import Edge
from catalog.services import lineage
from catalog.services.auth import SYSTEM, Principal

QUERY = ("query($f: String!) { lineage(field: $f, depth: 10) "
         "{ root partial nodes { name } edges { upstream downstream transform } } }")
CHURN = "ml.scores.churn_risk"
LTV = "dwh.marts.customer_360.lifetime_value"
SOURCE = "crm.customers.email"


def both_ways(endpoint, field: str) -> dict:
    """The lean answer, asserted equal to strawberry's."""
    body = {"query": QUERY, "variables": {"f": field}}
    who = Principal("reviewer")
    lean = orjson.loads(asyncio.run(endpoint.execute(body, who, lean=True)))
    assert lean == orjson.loads(asyncio.run(endpoint.execute(body, who, lean=False)))
    assert not lean.get("errors"), lean
    return lean["data"]["lineage"]


def edge(answer: dict, upstream: str, downstream: str) -> dict | None:
    return next((e for e in answer["edges"]
                 if (e["upstream"], e["downstream"]) == (upstream, downstream)), None)


def test_kept_parent_texts_follow_every_change(demo_catalog):
    endpoint = create_app(demo_catalog, background_sync=False).endpoint
    before = both_ways(endpoint, CHURN)
    assert edge(before, LTV, CHURN)["transform"] == "gradient-boosted model feature"
    assert lean_lineage._PARENT_TEXTS  # the walk kept its texts

    lineage.add_lineages(demo_catalog, SYSTEM, [Edge(LTV, CHURN, 'new "model" \\ v2')])
    changed = both_ways(endpoint, CHURN)
    assert edge(changed, LTV, CHURN)["transform"] == 'new "model" \\ v2'

    lineage.add_lineages(demo_catalog, SYSTEM, [Edge(SOURCE, LTV, None)])
    added = both_ways(endpoint, CHURN)
    assert edge(added, SOURCE, LTV) == {"upstream": SOURCE, "downstream": LTV,
                                        "transform": None}
    assert SOURCE in [n["name"] for n in added["nodes"]]

    lineage.remove_lineage(demo_catalog, SYSTEM, SOURCE, LTV)
    removed = both_ways(endpoint, CHURN)
    assert edge(removed, SOURCE, LTV) is None
    assert removed == changed


def test_a_full_store_changes_no_answer(demo_catalog, monkeypatch):
    endpoint = create_app(demo_catalog, background_sync=False).endpoint
    monkeypatch.setattr(lean_lineage, "MAX_PARENT_TEXTS", 2)
    first = both_ways(endpoint, CHURN)
    for _ in range(2):
        assert both_ways(endpoint, CHURN) == first
    assert len(lean_lineage._PARENT_TEXTS) <= 2
