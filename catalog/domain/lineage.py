"""The lineage graph, upstream -> downstream: an immutable DAG with a topological order.

A LineageGraph never changes after it is made; `evolve` returns the next one and shares
everything it did not touch (the maps are Layered: base dict + small overlay). Readers holding
a graph see it whole, whatever writers do meanwhile.

Cycles are refused with an incrementally maintained topological order (Pearce & Kelly, "A
dynamic topological sort algorithm for directed acyclic graphs", 2006): every node has a
position `order[n]`, parents before children. An edge u -> d with order[u] < order[d] keeps
the order valid and needs no search at all, however deep the graph. Otherwise only the nodes
between the two positions are searched: forward from d (positions below u's) and backward from
u (positions above d's); reaching u from d means a cycle, else the two regions swap their
positions, each keeping its own internal order. Removing an edge never invalidates the order.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from sys import intern
from types import MappingProxyType
from typing import Any

from catalog.domain.edge_rows import EdgeRows
from catalog.domain.layered import Layered
from catalog.domain.model import Edge, LineageResult
from catalog.errors import BadInput, Conflict, NotFound

MAX_NODES = 10_000
NONE: MappingProxyType = MappingProxyType({})  # the parents of a node without any


class Children:
    """A node's children in one graph: the first n items of a list that later graphs extend.

    A new child is appended to the shared list when this is its newest graph (O(1)); a copy of
    every child per added edge would make a write cost grow with the catalog, since a busy
    source column gains children with every pipeline reading it. Older graphs never look past
    their own n, so readers holding them see them whole. An append to a list that already
    holds more (a later graph, or a draft that was dropped) copies the first n instead."""

    __slots__ = ("items", "n")
    _append_lock = threading.Lock()  # two drafts of one graph must not both take slot n

    def __init__(self, items: list, n: int | None = None) -> None:
        self.items = items
        self.n = len(items) if n is None else n

    def __iter__(self) -> Iterator[str]:
        return islice(self.items, self.n)

    def __len__(self) -> int:
        return self.n

    def __contains__(self, name: object) -> bool:
        return name in islice(self.items, self.n)

    def __repr__(self) -> str:
        return f"Children({list(self)!r})"

    def plus(self, child: str) -> Children:
        return self.plus_all([child])

    def plus_all(self, children: list[str]) -> Children:
        """These children and the new ones (one Children for a node that gains many in one
        write, as a dataset-level input gains a child per output column)."""
        items, n = self.items, self.n
        with self._append_lock:
            if len(items) == n:
                items.extend(children)
                return Children(items, n + len(children))
        return Children([*islice(items, n), *children], n + len(children))

    def minus(self, child: str) -> Children:
        return Children([c for c in self if c != child])


NO_CHILDREN = Children([], 0)


class LineageGraph:
    """up[d]: {parent: transform}; down[u]: the children (Children); order[n]: position."""

    __slots__ = ("up", "down", "order", "next_order")

    def __init__(self, up: Layered | None = None, down: Layered | None = None,
                 order: Layered | None = None, next_order: int = 0) -> None:
        self.up = up if up is not None else Layered()
        self.down = down if down is not None else Layered()
        self.order = order if order is not None else Layered()
        self.next_order = next_order

    @classmethod
    def build(cls, nodes: Iterable[str], edges: Iterable[Edge]) -> LineageGraph:
        """A graph from scratch, ordered by Kahn's algorithm (no per-edge search)."""
        return cls.build_rows(nodes, ((e.upstream, e.downstream, e.transform) for e in edges))

    @classmethod
    def build_rows(cls, nodes: Iterable[str],
                   rows: Iterable[tuple[str, str, str | None]]) -> LineageGraph:
        """build() from (upstream, downstream, transform) tuples, as the database gives
        them (no Edge object per edge: start-up reads millions). Names are interned (see
        _Draft.add_edge)."""
        up: dict[str, dict] = {}
        down: dict[str, list] = {}
        order: dict[str, int] = dict.fromkeys(map(intern, nodes), 0)
        up_get, down_get = up.get, down.get
        for u, d, t in rows:
            u, d = intern(u), intern(d)
            parents = up_get(d)
            if parents is None:
                parents = up[d] = {}
            parents[u] = t
            children = down_get(u)
            if children is None:
                children = down[u] = []
            children.append(d)
        waiting = {n: len(p) for n, p in up.items()}
        # First in, first out: nodes keep the order they came in where edges allow, so the
        # edges a catalog registered in that order later need no reordering.
        ready = deque(n for n in order if n not in waiting)
        position = 0
        while ready:
            node = ready.popleft()
            order[node] = position
            position += 1
            for child in down.get(node, ()):
                waiting[child] -= 1
                if waiting[child] == 0:
                    ready.append(child)
        if position != len(order):
            raise Conflict("the stored lineage holds a cycle or an edge to an unknown field")
        return cls(Layered(up), Layered({n: Children(c) for n, c in down.items()}),
                   Layered(order), position)

    # -- reading -----------------------------------------------------------------------------
    def __contains__(self, name: object) -> bool:
        return name in self.order

    def parents(self, name: str) -> list[str]:
        return sorted(self.up.get(name, NONE))

    def children(self, name: str) -> list[str]:
        return sorted(self.down.get(name, ()))

    def has_edge(self, upstream: str, downstream: str) -> bool:
        return upstream in self.up.get(downstream, NONE)

    def edge(self, upstream: str, downstream: str) -> Edge:
        return Edge(upstream, downstream, self.up[downstream][upstream])

    def edges(self) -> Iterator[tuple[str, str]]:
        for d, parents in self.up.items():
            for u in parents:
                yield u, d

    def descendants(self, names: Iterable[str]) -> set[str]:
        seen: set[str] = set()
        stack = [n for n in names if n in self.order]
        down = self.down
        while stack:
            for child in down.get(stack.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen

    def topological(self, names: Iterable[str]) -> list[str]:
        """names with every parent before its children: by their maintained positions."""
        return sorted(names, key=self.order.__getitem__)

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
        up = self.up
        while level:
            nxt: list[str] = []
            for node in sorted(level, key=paths.__getitem__):
                for parent in up.get(node, NONE):
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

    def is_topological(self) -> bool:
        """Every edge goes from a lower position to a higher one (for tests)."""
        order = self.order
        return all(order[u] < order[d] for u, d in self.edges())

    # -- changing ----------------------------------------------------------------------------
    def evolve(self, *, nodes: Iterable[str] = (), add_edges: Iterable[Edge] = (),
               remove_edges: Iterable[tuple[str, str]] = ()) -> LineageGraph:
        """The next graph: new nodes, then removals, then additions (an edge that exists gets
        the new transform). Conflict if an addition would close a cycle; this graph stays as
        it was whatever happens."""
        draft = _Draft(self)
        draft.add_nodes(nodes)
        for u, d in remove_edges:
            draft.remove_edge(u, d)
        draft.add_edges(add_edges)
        return draft.finish()

    def validate_new_edges(self, edges: list[Edge], known: Iterable[str] | dict,
                           pending: Iterable[str] | dict = ()) -> None:
        """Refuse the batch if any edge names an unknown field (in neither known nor pending),
        is a self-loop or would close a cycle (with the graph and the batch's earlier edges),
        reporting the first bad edge. Never changes this graph: readers never see a candidate
        edge.

        The usual batch runs forward: each edge from a lower position to a higher one, nodes
        the graph lacks placed after all others in the order the batch names them. Then the
        order stays valid with the whole batch in it, so nothing can close a cycle, and one
        pass of lookups decides. Otherwise the batch goes through a private draft, edge by
        edge (Pearce-Kelly reordering)."""
        # Layered lookups inlined (positions are ints, 0 included: compared with None)
        order_over, order_base = self.order.over, self.order.base
        known_over, known_base = (known.over, known.base) if isinstance(known, Layered) \
            else ((), known)
        placed: dict[str, int] = {}  # positions of nodes the graph lacks
        after = self.next_order
        for e in edges:
            u, d = e.upstream, e.downstream
            if u not in known_base and u not in known_over and u not in pending \
                    or d not in known_base and d not in known_over and d not in pending \
                    or u == d:
                break  # the draft reports it, or an earlier edge's cycle
            pu = order_over.get(u)
            if pu is None:
                pu = order_base.get(u)
                if pu is None:
                    pu = placed.get(u)
                    if pu is None:
                        pu = placed[u] = after
                        after += 1
            pd = order_over.get(d)
            if pd is None:
                pd = order_base.get(d)
                if pd is None:
                    pd = placed.get(d)
                    if pd is None:
                        pd = placed[d] = after
                        after += 1
            if pu >= pd:
                break
        else:
            return
        self._validate_in_draft(edges, known, pending)

    def _validate_in_draft(self, edges: list[Edge], known, pending) -> None:
        draft = _Draft(self)
        for e in edges:
            for name in (e.upstream, e.downstream):
                if name not in known and name not in pending:
                    raise NotFound(f"field {name!r} is not in the catalog: register it "
                                   "before adding lineage to it")
            if e.upstream == e.downstream:
                raise BadInput(f"lineage {e.upstream} -> {e.downstream} is a self-loop: a "
                               "field cannot be derived from itself")
            draft.add_node(e.upstream)
            draft.add_node(e.downstream)
            draft.add_edge(e)

    # -- traversal ---------------------------------------------------------------------------
    def lineage(self, root: str, direction: str, depth: int,
                max_nodes: int = MAX_NODES, *, rows: bool = False) -> LineageResult:
        """Nodes within `depth` edges of root, upstream, downstream or both: root first, then
        by distance, then by name. Cut at max_nodes (partial=True). Edges: those from every
        node expanded (each node nearer than `depth`) to a node kept, in the order walked
        (by distance, upstream side first, nodes by name, their neighbours by name).

        A level is found with C calls (map, set union and difference, sort); edges are read
        once at the end, only for the nodes kept (a deep catalog answers ~10,000 nodes at
        depth 10): the walk is bound by memory reads, not by Python steps. rows: edges as
        EdgeRows ((upstream, downstream, transform) rows, or each node's parents) instead of
        Edge objects, for a caller that only writes them out (the lean GraphQL path)."""
        nodes = [root]
        seen = {root}
        partial = False
        up_get, down_get = _getter(self.up), _getter(self.down)
        level_up = [root] if direction in ("UPSTREAM", "BOTH") else []
        level_down = [root] if direction in ("DOWNSTREAM", "BOTH") else []
        # Per distance, the nodes expanded with their parents (up side) or children (down).
        expanded: list[tuple[list[tuple[str, Any]], list[tuple[str, Any]]]] = []
        for _ in range(depth):
            if not level_up and not level_down:
                break
            ups = [(n, p) for n, p in zip(level_up, map(up_get, level_up), strict=True) if p]
            downs = [(n, c) for n, c in zip(level_down, map(down_get, level_down),
                                            strict=True) if c]
            expanded.append((ups, downs))
            if partial:  # the nodes kept at the cut are expanded (for edges), nothing more
                break
            found_up = set().union(*[p for _, p in ups])
            found_down = set().union(*[c for _, c in downs])
            # A DAG has no node both up- and downstream of root: the two sides are disjoint.
            fresh = (found_up | found_down if found_down else found_up) - seen
            new = sorted(fresh)
            room = max(max_nodes - len(nodes), 0)
            if len(new) > room:
                new, partial = new[:room], True
                seen.update(new)
            else:
                seen |= fresh
            nodes += new
            if found_up and found_down:
                level_up = [n for n in new if n in found_up]
                level_down = [n for n in new if n in found_down]
            else:
                level_up, level_down = (new, []) if found_up else ([], new)
        edges = EdgeRows(expanded, partial, seen, up_get)
        return LineageResult(root, tuple(nodes), edges if rows else
                             tuple([_edge(u, d, t) for u, d, t in edges]), partial)


def _getter(m: Layered) -> Callable:
    """m.get as a C function when m's overlay is empty (Layered.get is Python code)."""
    return m.base.get if not m.over else m.get


_new_edge = Edge.__new__
_set_up, _set_down, _set_transform = (Edge.upstream.__set__, Edge.downstream.__set__,
                                      Edge.transform.__set__)


def _edge(upstream: str, downstream: str, transform: str | None) -> Edge:
    """Edge(upstream, downstream, transform), at half the cost: a frozen dataclass's __init__
    sets each slot through object.__setattr__; this sets the slots directly."""
    e = _new_edge(Edge)
    _set_up(e, upstream)
    _set_down(e, downstream)
    _set_transform(e, transform)
    return e


class _Draft:
    """The changes of one evolve, over the graph they start from; private to its caller."""

    def __init__(self, base: LineageGraph) -> None:
        self.base = base
        self.up: dict[str, dict] = {}     # nodes whose parents changed: their new parents
        self.down: dict[str, Children] = {}  # nodes whose children changed: their new children
        self.order: dict[str, int] = {}   # positions that changed
        self.next = base.next_order

    def pos(self, name: str) -> int:
        p = self.order.get(name)
        return p if p is not None else self.base.order[name]

    def parents(self, name: str):
        p = self.up.get(name)
        return p if p is not None else self.base.up.get(name, NONE)

    def children(self, name: str):
        c = self.down.get(name)
        return c if c is not None else self.base.down.get(name, NO_CHILDREN)

    def _own_parents(self, name: str) -> dict:
        p = self.up.get(name)
        if p is None:
            p = self.up[name] = dict(self.base.up.get(name, NONE))
        return p


    def add_node(self, name: str) -> None:
        if name not in self.order and name not in self.base.order:
            self.order[intern(name)] = self.next
            self.next += 1

    def add_nodes(self, names: Iterable[str]) -> None:
        """add_node for each (Layered membership inlined: a write names ~100 fields)."""
        order, over, base = self.order, self.base.order.over, self.base.order.base
        for name in names:
            if name not in base and name not in over and name not in order:
                order[intern(name)] = self.next
                self.next += 1

    def remove_edge(self, u: str, d: str) -> None:
        if u in self.parents(d):
            del self._own_parents(d)[u]
            self.down[u] = self.children(u).minus(d)

    def add_edge(self, e: Edge) -> None:
        # One string object per name in every map and set of the graph: a lineage walk then
        # matches names by identity, not by comparing their text (each comparison a cache
        # miss on a big catalog: ~1 ms of a 10,000-node walk).
        u, d = intern(e.upstream), intern(e.downstream)
        if u not in self.parents(d):
            if self.pos(u) > self.pos(d):
                self._reorder(u, d)
            self.down[u] = self.children(u).plus(d)
        self._own_parents(d)[u] = e.transform

    def add_edges(self, edges: Iterable[Edge]) -> None:
        """add_edge for each, the usual case inlined: an edge from a lower position to a
        higher one into a node this draft gave parents already, or whose parents the base
        graph holds (an ingested event adds ~100 edges; lookups through the methods above
        were most of a write's graph work)."""
        up, order = self.up, self.order
        base_up, base_order = self.base.up, self.base.order
        up_over, up_base = base_up.over, base_up.base  # Layered.get inlined (dict values)
        order_over, order_base = base_order.over, base_order.base
        new_children: dict[str, list[str]] = {}  # by parent, added to down[] once
        for e in edges:
            u, d = e.upstream, e.downstream
            parents = up.get(d)
            if parents is None:
                parents = up_over.get(d)
                if parents is None:
                    parents = up_base.get(d, NONE)
                parents = up[d] = dict(parents)
            if u not in parents:
                pu = order.get(u)
                if pu is None:
                    pu = order_over.get(u)
                    if pu is None:
                        pu = order_base[u]
                pd = order.get(d)
                if pd is None:
                    pd = order_over.get(d)
                    if pd is None:
                        pd = order_base[d]
                if pu > pd:
                    self._add_children(new_children)  # the search walks the children
                    self._reorder(u, d)
                kids = new_children.get(u)
                if kids is None:
                    new_children[u] = [d]
                else:
                    kids.append(d)
            parents[u] = e.transform
        self._add_children(new_children)

    def _add_children(self, new_children: dict[str, list[str]]) -> None:
        down = self.down
        for u, kids in new_children.items():
            down[u] = self.children(u).plus_all(kids)
        new_children.clear()

    def _reorder(self, u: str, d: str) -> None:
        """Pearce-Kelly: make room for u -> d where u sits after d, or raise on a cycle."""
        lower, upper = self.pos(d), self.pos(u)
        forward = {d}
        stack = [d]
        while stack:
            for child in self.children(stack.pop()):
                if child == u:
                    raise Conflict(self._cycle_message(u, d, upper))
                if child not in forward and self.pos(child) < upper:
                    forward.add(child)
                    stack.append(child)
        backward = {u}
        stack = [u]
        while stack:
            for parent in self.parents(stack.pop()):
                if parent not in backward and self.pos(parent) > lower:
                    backward.add(parent)
                    stack.append(parent)
        moved = sorted(backward, key=self.pos) + sorted(forward, key=self.pos)
        for name, slot in zip(moved, sorted(map(self.pos, moved)), strict=True):
            self.order[name] = slot

    def _cycle_message(self, u: str, d: str, upper: int) -> str:
        """The shortest path d -> ... -> u (BFS over positions up to u's, children by name)."""
        came = {d: d}
        level = [d]
        while u not in came:
            nxt = []
            for node in level:
                for child in sorted(self.children(node)):
                    if child not in came and self.pos(child) <= upper:
                        came[child] = node
                        nxt.append(child)
            level = nxt
        path = [u]
        while path[-1] != d:
            path.append(came[path[-1]])
        cycle = " -> ".join([u, *reversed(path)])
        return (f"lineage {u} -> {d} would close a cycle: {cycle}; lineage must stay "
                "acyclic")

    def finish(self) -> LineageGraph:
        b = self.base
        return LineageGraph(b.up.evolve(self.up),
                            b.down.evolve(self.down),
                            b.order.evolve(self.order), self.next)
