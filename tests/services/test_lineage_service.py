"""Adding and removing lineage through the services: all or nothing, acyclic, named errors."""

from __future__ import annotations

import re

import pytest

from catalog.db import repo
from catalog.domain.decision import ReasonCode
from catalog.domain.model import Edge, Grant
from catalog.errors import BadInput, Conflict, NotFound
from catalog.services import checks, fields, lineage
from catalog.services.fields import FieldInput

A, B, C, D = "shop.orders.a", "shop.orders.b", "dwh.marts.orders.c", "dwh.marts.orders.d"


@pytest.fixture
def chain(catalog, admin):
    """Fields a, b, c, d; lineage a -> b -> c. Returns the revision after."""
    fields.register_fields(catalog, admin, [
        FieldInput(n, category="historical.purchases", source="first_party", owner="shop",
                   grants=(Grant("service"),)) for n in (A, B, C, D)])
    lineage.add_lineages(catalog, admin, [Edge(A, B, "copy"), Edge(B, C, "sum")])
    return catalog.index.revision


def db_revision(cat) -> int:
    with cat.engine.connect() as conn:
        return repo.current_revision(conn=conn)


def stored_edges(cat, fresh_description) -> list:
    return fresh_description(str(cat.settings.database_url))["edges"]


def test_add_lineage(catalog, admin, chain, fresh_description):
    assert catalog.index.upstream(C) == [B] and catalog.index.downstream(A) == [B]
    assert stored_edges(catalog, fresh_description) == [[A, B, "copy"], [B, C, "sum"]]
    assert db_revision(catalog) == chain


def test_a_cycle_is_a_conflict_that_names_it(catalog, admin, chain):
    with pytest.raises(Conflict) as err:
        lineage.add_lineages(catalog, admin, [Edge(C, A)])
    message = err.value.message
    assert "cycle" in message
    assert f"{C} -> {A} -> {B} -> {C}" in message
    assert re.search(r"(\S+) -> .* -> \1(\W|$)", message)
    assert db_revision(catalog) == chain


def test_a_cycle_within_one_batch_writes_nothing(catalog, admin, chain, fresh_description):
    before = stored_edges(catalog, fresh_description)
    with pytest.raises(Conflict, match="cycle"):
        lineage.add_lineages(catalog, admin, [Edge(C, D), Edge(D, A)])
    with pytest.raises(Conflict, match="cycle"):
        lineage.add_lineages(catalog, admin, [Edge(D, "shop.orders.a"), Edge(A, D)])
    assert stored_edges(catalog, fresh_description) == before
    assert catalog.index.upstream(D) == [] and db_revision(catalog) == chain


@pytest.mark.parametrize("edges, error", [
    ([Edge(A, A)], BadInput),
    ([Edge(C, D), Edge(D, D)], BadInput),
    ([Edge(A, "shop.orders.none")], NotFound),
    ([Edge(C, D), Edge("shop.orders.none", D)], NotFound),
    ([Edge(C, D), Edge(A, D), Edge(C, D, "again")], BadInput),
    ([Edge(C, D), Edge("not-a-name", D)], BadInput),
], ids=["self-loop", "self-loop-in-batch", "unknown", "unknown-in-batch", "repeated",
        "malformed"])
def test_bad_edges_write_nothing(catalog, admin, chain, edges, error):
    with pytest.raises(error):
        lineage.add_lineages(catalog, admin, edges)
    assert catalog.index.upstream(D) == [] and db_revision(catalog) == chain


def test_adding_an_existing_edge_updates_its_transform(catalog, admin, chain,
                                                       fresh_description):
    lineage.add_lineages(catalog, admin, [Edge(A, B, "copy")])  # the same: nothing to do
    assert db_revision(catalog) == chain
    lineage.add_lineages(catalog, admin, [Edge(A, B, "lower(copy)"), Edge(C, D)])
    assert db_revision(catalog) == chain + 1
    assert stored_edges(catalog, fresh_description) == sorted([
        [A, B, "lower(copy)"], [B, C, "sum"], [C, D, None]])


def test_remove_lineage(catalog, admin, pipeline, chain, fresh_description):
    fields.revoke_purpose(catalog, admin, A, "service")
    denied = checks.check(catalog, pipeline, C, "service", "web")
    assert [(r.code, r.path) for r in denied.reasons] == [
        (ReasonCode.UPSTREAM_NOT_PERMITTED, (C, B, A))]
    assert lineage.remove_lineage(catalog, admin, A, B) is True
    assert checks.check(catalog, pipeline, C, "service", "web").allowed
    assert stored_edges(catalog, fresh_description) == [[B, C, "sum"]]
    revision = db_revision(catalog)
    assert lineage.remove_lineage(catalog, admin, A, B) is False
    with pytest.raises(NotFound):
        lineage.remove_lineage(catalog, admin, A, "shop.orders.none")
    assert db_revision(catalog) == revision == catalog.index.revision


def test_lineage_query(catalog, admin, reviewer, chain):
    result = lineage.lineage(catalog, reviewer, C, "UPSTREAM", 1)
    assert result.nodes == (C, B) and result.edges == (Edge(B, C, "sum"),)
    assert lineage.lineage(catalog, reviewer, A, "DOWNSTREAM", 10).nodes == (A, B, C)
    with pytest.raises(BadInput):
        lineage.lineage(catalog, reviewer, C, "UPSTREAM", 51)
    with pytest.raises(BadInput):
        lineage.lineage(catalog, reviewer, C, "SIDEWAYS", 1)
    with pytest.raises(NotFound):
        lineage.lineage(catalog, reviewer, "shop.orders.none")
