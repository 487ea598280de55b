"""lineage() walks levels with set operations and reads edges at the end; it must answer
exactly what the plain per-node walk it replaced answered (kept here as the reference), on
random DAGs, in every direction, at every depth and node cap."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.domain.lineage import NONE, LineageGraph
from catalog.domain.model import Edge, LineageResult


def reference_lineage(graph: LineageGraph, root: str, direction: str, depth: int,
                      max_nodes: int) -> LineageResult:
    nodes = [root]
    seen = {root}
    edges: list[tuple[str, str, str | None]] = []
    partial = False
    up, down = graph.up, graph.down
    frontiers: list[tuple[bool, list[str]]] = []
    if direction in ("UPSTREAM", "BOTH"):
        frontiers.append((True, [root]))
    if direction in ("DOWNSTREAM", "BOTH"):
        frontiers.append((False, [root]))
    for _ in range(depth):
        found: dict[str, list[bool]] = {}
        for is_up, level in frontiers:
            for node in level:
                if is_up:
                    parents = up.get(node, NONE)
                    for other in sorted(parents):
                        edges.append((other, node, parents[other]))
                        if other not in seen and not partial:
                            found.setdefault(other, []).append(True)
                else:
                    for other in sorted(down.get(node, ())):
                        edges.append((node, other, up[other][node]))
                        if other not in seen and not partial:
                            found.setdefault(other, []).append(False)
        nxt: dict[bool, list[str]] = {is_up: [] for is_up, _ in frontiers}
        for other in sorted(found):
            if len(nodes) >= max_nodes:
                partial = True
                break
            seen.add(other)
            nodes.append(other)
            for is_up in dict.fromkeys(found[other]):
                nxt[is_up].append(other)
        frontiers = [(is_up, nxt[is_up]) for is_up, _ in frontiers if nxt[is_up]]
        if not frontiers:
            break
    kept = [Edge(u, d, t) for u, d, t in dict.fromkeys(edges) if u in seen and d in seen]
    return LineageResult(root, tuple(nodes), tuple(kept), partial)


@st.composite
def dags(draw):
    n = draw(st.integers(1, 25))
    names = [f"w.x.n{i:02d}" for i in range(n)]
    order = draw(st.permutations(names))  # edges go from earlier to later in this order
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                          max_size=3 * n))
    edges = {(order[min(a, b)], order[max(a, b)]): draw(st.sampled_from([None, "t", "u"]))
             for a, b in pairs if a != b}
    return names, [Edge(u, d, t) for (u, d), t in edges.items()]


@settings(max_examples=300, deadline=None)
@given(dags(), st.data())
def test_lineage_equals_the_plain_walk(dag, data):
    names, edges = dag
    graph = LineageGraph.build(names, edges)
    root = data.draw(st.sampled_from(names))
    direction = data.draw(st.sampled_from(["UPSTREAM", "DOWNSTREAM", "BOTH"]))
    depth = data.draw(st.integers(1, 8))
    max_nodes = data.draw(st.integers(1, 30))
    assert graph.lineage(root, direction, depth, max_nodes) == \
        reference_lineage(graph, root, direction, depth, max_nodes)
    rows = graph.lineage(root, direction, depth, max_nodes, rows=True).edges
    assert list(rows) == [(e.upstream, e.downstream, e.transform)
                          for e in reference_lineage(graph, root, direction, depth,
                                                     max_nodes).edges]


@settings(max_examples=200, deadline=None)
@given(dags(), st.data())
def test_a_published_parents_dict_is_one_nodes_and_never_changes(dag, data):
    """The lean GraphQL path keeps a node's parent edges as text by the identity of its
    parents dict (api/graphql/lean_lineage.py): that holds only if no two nodes share one and
    no graph changes one it has published, whatever evolve adds, removes or re-labels."""
    names, edges = dag
    graph = LineageGraph.build(names, edges[: len(edges) // 2])
    for step in range(3):
        before = {d: (p, dict(p)) for d, p in graph.up.items()}
        assert len({id(p) for p, _ in before.values()}) == len(before)
        batch = data.draw(st.lists(st.sampled_from(edges), max_size=4, unique=True)) \
            if edges else []
        remove = [(e.upstream, e.downstream) for e in batch if step == 1]
        add = [Edge(e.upstream, e.downstream, f"v{step}") for e in batch if step != 1]
        nxt = graph.evolve(add_edges=add, remove_edges=remove)
        for d, (p, copy) in before.items():
            assert p == copy  # the old graph's dict did not change
            if d in {e.downstream for e in add} | {d for _, d in remove}:
                assert nxt.up.get(d) is not p or p == dict(nxt.up.get(d, {}))
        graph = nxt
    assert len({id(p) for p in graph.up.values()}) == len(graph.up)
