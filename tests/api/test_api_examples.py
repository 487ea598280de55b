"""Every example operation in graphql/ runs against the demo catalog, over HTTP, as an admin,
with the variables in its sibling <name>.variables.json: no errors, and meaningful data.

A document may hold several operations; they run in file order, each with the same variables
(an operation ignores variables it does not declare). The examples run one after another on
one catalog, in file-name order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, parse

pytestmark = pytest.mark.anyio

GRAPHQL_DIR = Path(__file__).resolve().parents[2] / "graphql"
EXAMPLES = sorted(p for p in GRAPHQL_DIR.glob("*.graphql") if p.name != "schema.graphql")
REQUIRED = {"register", "grant", "lineage", "check", "checkMany", "history", "usageMatrix",
            "fields"}


def operations(path: Path) -> list[str]:
    doc = parse(path.read_text())
    ops = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    assert all(op.name for op in ops), f"{path.name}: name every operation"
    return [op.name.value for op in ops]


def variables(path: Path) -> dict:
    sibling = path.with_name(path.stem + ".variables.json")
    assert sibling.exists(), f"{path.name} needs its variables in {sibling.name}"
    return json.loads(sibling.read_text())


def test_every_required_example_exists():
    assert REQUIRED <= {p.stem for p in EXAMPLES}
    for path in EXAMPLES:
        assert operations(path), f"{path.name} holds no operation"
        variables(path)


def assert_meaningful(value, where: str) -> None:
    """Every root field answered, and no list or object empty."""
    assert value is not None, f"{where} is null"
    if isinstance(value, (list, dict)):
        assert value, f"{where} is empty"
    if isinstance(value, dict):
        for key, v in value.items():
            if key in ("nodes", "entries", "edges", "grants", "checkMany", "usageMatrix"):
                assert_meaningful(v, f"{where}.{key}")
    if isinstance(value, list) and isinstance(value[0], dict):
        assert_meaningful(value[0], f"{where}[0]")


# What each example shows on the demo catalog (seeds/demo/README.md).
def expect_register(results: dict) -> None:
    one = results["RegisterField"]["registerField"]
    many = results["RegisterFields"]["registerFields"]
    assert one["name"] == "crm.customers.preferred_language"
    assert [f["name"] for f in many] == ["shop.app.devices.os_version",
                                         "dwh.marts.customer_360.language_segment"]
    assert many[0]["revision"] > one["revision"]


def expect_grant(results: dict) -> None:
    granted = results["GrantPurpose"]["grantPurpose"]
    revoked = results["RevokePurpose"]["revokePurpose"]
    assert {"purpose": "marketing.direct", "channels": ["email", "push"],
            "requiresConsent": True} in granted["grants"]
    assert "marketing.direct" not in [g["purpose"] for g in revoked["grants"]]
    assert revoked["revision"] > granted["revision"]


def expect_lineage(results: dict) -> None:
    edge = results["AddLineage"]["addLineage"]
    lineage = results["Lineage"]["lineage"]
    assert lineage["root"] == "ml.scores.customer_segment"
    assert {"upstream": edge["upstream"], "downstream": edge["downstream"],
            "transform": "k-means feature"} in lineage["edges"]
    names = {n["name"] for n in lineage["nodes"]}
    assert {"ml.scores.customer_segment", "orders.orders.order_id",
            "dwh.marts.orders_enriched.net_amount"} <= names
    assert lineage["partial"] is False


def expect_check(results: dict) -> None:
    d = results["Check"]["check"]
    assert d["allowed"] is False
    assert [(r["code"], r["rule"]) for r in d["reasons"]] == [
        ("UPSTREAM_NOT_PERMITTED", None), ("POLICY_DENIED", "boudoir-topics")]
    assert d["reasons"][0]["path"][-1] == "orders.orders.line_items"
    assert "CONSENT_REQUIRED" in d["obligations"]


def expect_check_many(results: dict) -> None:
    ds = results["CheckMany"]["checkMany"]
    assert [d["allowed"] for d in ds] == [True, True, True, False, False, True, False, False]
    assert [d["field"] for d in ds][:2] == ["crm.customers.email"] * 2
    assert ds[7]["reasons"][0]["code"] == "FIELD_DEPRECATED"


def expect_history(results: dict) -> None:
    entries = results["History"]["history"]["entries"]
    # The demo is loaded in one transaction: the field is registered deprecated, at once.
    assert [e["action"] for e in entries] == ["register"]
    assert entries[0]["after"]["deprecated"] is True
    assert all(e["field"] == "crm.customers.fax_number" for e in entries)


def expect_usage_matrix(results: dict) -> None:
    ds = results["UsageMatrix"]["usageMatrix"]
    allowed = {(d["purpose"], d["channel"]) for d in ds if d["allowed"]}
    assert ("service.delivery", "email") in allowed
    assert ("marketing.direct", "sms") not in allowed
    assert len(ds) > 100  # every purpose x channel


def expect_fields(results: dict) -> None:
    nodes = results["Fields"]["fields"]["nodes"]
    assert nodes and all(n["name"].startswith("crm.") for n in nodes)
    assert all(n["category"].split(".")[0] == "tracking" for n in nodes)
    assert results["Fields"]["fields"]["pageInfo"]["hasNextPage"] is True
    one = results["Field"]["field"]
    assert one["upstream"] == ["broker.acme_feed.estimated_age", "crm.customers.birth_date"]


EXPECT = {"register": expect_register, "grant": expect_grant, "lineage": expect_lineage,
          "check": expect_check, "checkMany": expect_check_many, "history": expect_history,
          "usageMatrix": expect_usage_matrix, "fields": expect_fields}


async def test_every_example_runs_on_the_demo_catalog(api):
    # One catalog for all examples (they do not get in each other's way): a catalog costs
    # seconds to build on PostgreSQL.
    for path in EXAMPLES:
        document = path.read_text()
        results = {}
        for name in operations(path):
            data = await api.data(document, variables(path), operation=name)
            for root, value in data.items():
                assert_meaningful(value, f"{path.name} {name}: {root}")
            results[name] = data
        if path.stem in EXPECT:
            EXPECT[path.stem](results)
