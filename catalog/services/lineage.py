"""Use cases on lineage: add edges (one or many, all or nothing), remove, traverse."""

from __future__ import annotations

from catalog.domain.index import CatalogIndex
from catalog.domain.model import Edge, LineageResult
from catalog.domain.names import check_field_name, check_text
from catalog.errors import BadInput, NotFound
from catalog.services import writes
from catalog.services.auth import Principal, require
from catalog.services.checks import snapshot
from catalog.services.core import Catalog, Txn
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
        check_text(e.transform, f"lineage {e.upstream} -> {e.downstream}: transform",
                   multiline=True)
        if (e.upstream, e.downstream) in seen:
            raise BadInput(f"lineage {e.upstream} -> {e.downstream} appears twice in one call")
        seen.add((e.upstream, e.downstream))
    with cat.write(principal.actor) as txn:
        add_edges_in(txn, cat.index, edges)
    return edges


def add_edges_in(txn: Txn, index: CatalogIndex, edges: list[Edge]) -> tuple[list[Edge],
                                                                            list[Edge]]:
    """Add edges inside an open write (an edge that exists gets the new transform): validate,
    save, log. Fields registered earlier in the same transaction count as known. Returns the
    (new, updated) edges."""
    index.validate_new_edges(edges, pending=txn.fields)
    up_over, up_base = index.graph.up.over, index.graph.up.base  # Layered.get inlined
    new, updated, changes = [], [], []
    for e in edges:
        parents = up_over.get(e.downstream)
        if parents is None:
            parents = up_base.get(e.downstream)
        if parents is None or e.upstream not in parents:
            new.append(e)
        elif parents[e.upstream] != e.transform:
            updated.append(e)
            changes.append((Edge(e.upstream, e.downstream, parents[e.upstream]), e))
    writes.add_edges(txn, new, changes)
    return new, updated


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
        writes.remove_edges(txn, [index.graph.edge(upstream, downstream)])
    return True


def lineage(cat: Catalog, principal: Principal, field: str, direction: str = "UPSTREAM",
            depth: int = 10, *, index: CatalogIndex | None = None,
            rows: bool = False) -> LineageResult:
    """rows: edges as (upstream, downstream, transform) tuples (see LineageGraph.lineage)."""
    require(principal, "read", asked="query lineage")
    if direction not in ("UPSTREAM", "DOWNSTREAM", "BOTH"):
        raise BadInput(f"direction must be UPSTREAM, DOWNSTREAM or BOTH, not {direction!r}")
    if not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH:
        raise BadInput(f"depth {depth!r} is out of range: use 1 to {MAX_DEPTH}")
    index = snapshot(cat, index)
    if index.get(field) is None:
        raise NotFound(f"field {field!r} is not in the catalog")
    return index.lineage(field, direction, depth, MAX_NODES, rows=rows)
