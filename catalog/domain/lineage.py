"""The lineage graph: a DAG on networkx, upstream -> downstream."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import networkx as nx

from catalog.domain.model import Edge, LineageResult
from catalog.errors import BadInput, Conflict, NotFound

MAX_NODES = 10_000


class LineageGraph:
    def __init__(self) -> None:
        self.g = nx.DiGraph()

    # -- reading -----------------------------------------------------------------------------
    def parents(self, name: str) -> list[str]:
        return sorted(self.g.pred[name]) if name in self.g else []

    def children(self, name: str) -> list[str]:
        return sorted(self.g.succ[name]) if name in self.g else []

    def has_edge(self, upstream: str, downstream: str) -> bool:
        return self.g.has_edge(upstream, downstream)

    def edge(self, upstream: str, downstream: str) -> Edge:
        return Edge(upstream, downstream, self.g.edges[upstream, downstream].get("transform"))

    def descendants(self, names: Iterable[str]) -> set[str]:
        seen: set[str] = set()
        stack = [n for n in names if n in self.g]
        succ = self.g.succ
        while stack:
            for child in succ[stack.pop()]:
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen

    def ancestors(self, name: str) -> set[str]:
        return nx.ancestors(self.g, name) if name in self.g else set()

    def topological(self, names: set[str]) -> list[str]:
        """names in an order where every parent comes before its children. Kahn's algorithm
        on the given nodes only: a networkx subgraph view filters every adjacency it reads,
        which costs seconds once a write touches a large part of a big catalog."""
        pred, succ = self.g.pred, self.g.succ
        waiting = {n: sum(1 for p in pred[n] if p in names) for n in names}
        ready = [n for n, count in waiting.items() if count == 0]
        order: list[str] = []
        while ready:
            node = ready.pop()
            order.append(node)
            for child in succ[node]:
                if child in waiting:
                    waiting[child] -= 1
                    if waiting[child] == 0:
                        ready.append(child)
        return order

    def shortest_paths_up(self, start: str, failing: Callable[[str], bool],
                          explore: Callable[[str], bool]) -> list[tuple[str, ...]]:
        """Shortest path [start, ..., A] to every ancestor A for which failing(A) holds, the
        lexicographically smallest of equally short ones. BFS by level, each level taken in
        order of its paths, so the first path to reach a node is the smallest one. Only nodes
        for which explore(node) holds are walked through (the caller knows where nothing fails
        any more)."""
        found: list[tuple[str, ...]] = []
        paths = {start: (start,)}
        level = [start]
        pred = self.g.pred
        while level:
            nxt: list[str] = []
            for node in sorted(level, key=paths.__getitem__):
                for parent in pred[node]:
                    if parent not in paths:
                        paths[parent] = paths[node] + (parent,)
                        if failing(parent):
                            found.append(paths[parent])
                        if explore(parent):
                            nxt.append(parent)
                    elif len(paths[parent]) == len(paths[node]) + 1:
                        # Same level, reached again: keep the smaller path.
                        candidate = paths[node] + (parent,)
                        if candidate < paths[parent]:
                            paths[parent] = candidate
            level = nxt
        # Paths recorded for failing nodes may have been improved after being recorded.
        return sorted(paths[p[-1]] for p in found)

    # -- changing ----------------------------------------------------------------------------
    def add_node(self, name: str) -> None:
        self.g.add_node(name)

    def validate_new_edges(self, edges: list[Edge], known: set[str] | dict) -> None:
        """Refuse the batch if any edge names an unknown field, is a self-loop, already exists
        or would close a cycle (with the graph and the batch's earlier edges). Leaves the graph
        as it was."""
        added: list[tuple[str, str]] = []
        try:
            for e in edges:
                for name in (e.upstream, e.downstream):
                    if name not in known:
                        raise NotFound(f"field {name!r} is not in the catalog: register it "
                                       "before adding lineage to it")
                if e.upstream == e.downstream:
                    raise BadInput(f"lineage {e.upstream} -> {e.downstream} is a self-loop: a "
                                   "field cannot be derived from itself")
                if self.g.has_edge(e.upstream, e.downstream):
                    continue
                if e.downstream in self.g and e.upstream in self.g and \
                        nx.has_path(self.g, e.downstream, e.upstream):
                    path = nx.shortest_path(self.g, e.downstream, e.upstream)
                    cycle = " -> ".join([e.upstream, *path])
                    raise Conflict(f"lineage {e.upstream} -> {e.downstream} would close a "
                                   f"cycle: {cycle}; lineage must stay acyclic")
                self.g.add_edge(e.upstream, e.downstream)
                added.append((e.upstream, e.downstream))
        finally:
            self.g.remove_edges_from(added)

    def add_edge(self, edge: Edge) -> None:
        self.g.add_edge(edge.upstream, edge.downstream, transform=edge.transform)

    def remove_edge(self, upstream: str, downstream: str) -> None:
        if self.g.has_edge(upstream, downstream):
            self.g.remove_edge(upstream, downstream)

    # -- traversal ---------------------------------------------------------------------------
    def lineage(self, root: str, direction: str, depth: int,
                max_nodes: int = MAX_NODES) -> LineageResult:
        """Nodes within `depth` edges of root, upstream, downstream or both: root first, then
        by distance, then by name. Cut at max_nodes (partial=True)."""
        nodes = [root]
        seen = {root}
        edges: list[Edge] = []
        partial = False
        frontiers: list[tuple[bool, list[str]]] = []  # (upstream?, nodes at the last distance)
        if direction in ("UPSTREAM", "BOTH"):
            frontiers.append((True, [root]))
        if direction in ("DOWNSTREAM", "BOTH"):
            frontiers.append((False, [root]))
        for _ in range(depth):
            # Nodes one edge further out, in either direction (a DAG has no node both up- and
            # downstream of root); admitted by name, so the cut is deterministic.
            found: dict[str, list[bool]] = {}
            for up, level in frontiers:
                adj = self.g.pred if up else self.g.succ
                for node in level:
                    for other in sorted(adj[node]):
                        u, d = (other, node) if up else (node, other)
                        edges.append(Edge(u, d, self.g.edges[u, d].get("transform")))
                        if other not in seen:
                            found.setdefault(other, []).append(up)
            nxt: dict[bool, list[str]] = {up: [] for up, _ in frontiers}
            for other in sorted(found):
                if len(nodes) >= max_nodes:
                    partial = True
                    break
                seen.add(other)
                nodes.append(other)
                for up in dict.fromkeys(found[other]):
                    nxt[up].append(other)
            frontiers = [(up, nxt[up]) for up, _ in frontiers if nxt[up]]
            if not frontiers:
                break
        edges = [e for e in dict.fromkeys(edges) if e.upstream in seen and e.downstream in seen]
        return LineageResult(root, tuple(nodes), tuple(edges), partial)
