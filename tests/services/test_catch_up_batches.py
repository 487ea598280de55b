"""Catch-up from the change log reads in batches (issue 8, item 4): another process's big
lineage batch costs a few queries to pick up, not one per edge, and the caught-up index holds
exactly the edges committed (transforms included)."""

from __future__ import annotations

import sqlalchemy as sa

from catalog.domain.model import Edge, Grant
from catalog.services import fields, lineage
from catalog.services.fields import FieldInput

N = 1_200


def test_catch_up_reads_a_big_batch_in_few_queries(catalog, other_catalog, admin):
    names = [f"dwh.batch.t.f{i:04d}" for i in range(N + 1)]
    fields.register_fields(catalog, admin, [
        FieldInput(n, category="historical.purchases", source="first_party", owner="dwh",
                   grants=(Grant("service"),)) for n in names])
    other_catalog.sync()
    edges = [Edge(names[i], names[i + 1], "copy" if i % 2 else None) for i in range(N)]
    lineage.add_lineages(other_catalog, admin, edges)

    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    sa.event.listen(catalog.engine, "before_cursor_execute", count)
    try:
        catalog.sync()
    finally:
        sa.event.remove(catalog.engine, "before_cursor_execute", count)
    assert catalog.index.revision == other_catalog.index.revision
    # 1,200 edges, 1,201 fields: a handful of queries per 500 names, not one per edge.
    assert len(statements) <= 25, len(statements)
    index = catalog.index
    assert sorted(index.graph.edges()) == sorted((e.upstream, e.downstream) for e in edges)
    assert all(index.graph.edge(e.upstream, e.downstream) == e for e in edges)
    assert index.graph.is_topological()
