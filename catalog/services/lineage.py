"""Use cases on lineage: add edges (one or many, all or nothing), remove, traverse."""

from __future__ import annotations

from catalog.db import repo
from catalog.db.records import edge_json
from catalog.domain.index import CatalogIndex
from catalog.domain.model import Edge, LineageResult
from catalog.domain.names import check_field_name
from catalog.errors import BadInput, NotFound
from catalog.services.auth import Principal, require
from catalog.services.checks import snapshot
from catalog.services.core import Catalog
from catalog.services.fields import check_batch

MAX_DEPTH = 50
MAX_NODES = 10_000


def add_lineages(cat: Catalog, principal: Principal, edges: list[Edge]) -> list[Edge]:
    """Add edges, all or nothing. An edge that exists already gets the new transform."""
    check_batch(edges, "edges")
    seen: set[tuple[str, str]] = set()
    for e in edges:
        require(principal, "write", e.downstream)  # first: no validation detail to the unentitled
        check_field_name(e.upstream)
        check_field_name(e.downstream)
        if (e.upstream, e.downstream) in seen:
            raise BadInput(f"lineage {e.upstream} -> {e.downstream} appears twice in one call")
        seen.add((e.upstream, e.downstream))
    with cat.write(principal.actor) as txn:
        index = cat.index
        index.validate_new_edges(edges)
        new = [e for e in edges if not index.graph.has_edge(e.upstream, e.downstream)]
        updated = [e for e in edges if index.graph.has_edge(e.upstream, e.downstream)
                   and index.graph.edge(e.upstream, e.downstream) != e]
        ids = repo.field_ids(conn=txn.conn, names={n for e in new + updated
                                                   for n in (e.upstream, e.downstream)})
        repo.insert_edges(conn=txn.conn, edges=new, ids=ids)
        for e in updated:
            repo.update_edge_transform(conn=txn.conn, edge=e, ids=ids)
        for e in new + updated:
            before = index.graph.edge(e.upstream, e.downstream) if e in updated else None
            txn.log.append({"action": "add_lineage" if before is None else "update_lineage",
                            "entity": "edge", "field": e.downstream, "other": e.upstream,
                            "before": edge_json(before), "after": edge_json(e)})
            txn.touched.update((e.upstream, e.downstream))
        txn.add_edges.extend(new + updated)
    return edges


def remove_lineage(cat: Catalog, principal: Principal, upstream: str, downstream: str) -> bool:
    """Remove an edge; False when there was none."""
    require(principal, "write", downstream)
    with cat.write(principal.actor) as txn:
        index = cat.index
        for name in (upstream, downstream):
            if index.get(name) is None:
                raise NotFound(f"field {name!r} is not in the catalog")
        if not index.graph.has_edge(upstream, downstream):
            return False
        before = index.graph.edge(upstream, downstream)
        ids = repo.field_ids(conn=txn.conn, names=[upstream, downstream])
        repo.delete_edge(conn=txn.conn, upstream=upstream, downstream=downstream, ids=ids)
        txn.log.append({"action": "remove_lineage", "entity": "edge", "field": downstream,
                        "other": upstream, "before": edge_json(before), "after": None})
        txn.touched.update((upstream, downstream))
        txn.remove_edges.append((upstream, downstream))
    return True


def lineage(cat: Catalog, principal: Principal, field: str, direction: str = "UPSTREAM",
            depth: int = 10, *, index: CatalogIndex | None = None) -> LineageResult:
    require(principal, "read")
    if direction not in ("UPSTREAM", "DOWNSTREAM", "BOTH"):
        raise BadInput(f"direction must be UPSTREAM, DOWNSTREAM or BOTH, not {direction!r}")
    if not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH:
        raise BadInput(f"depth {depth!r} is out of range: use 1 to {MAX_DEPTH}")
    index = snapshot(cat, index)
    if index.get(field) is None:
        raise NotFound(f"field {field!r} is not in the catalog")
    return index.lineage(field, direction, depth, MAX_NODES)
