"""The incrementally maintained topological order of the lineage graph (Pearce-Kelly), by
property: on random sequences of additions (valid or refused) and removals, the order is
always a topological order, cycle refusal agrees with a plain reachability search, the cycle
named is a real one, and a graph never changes once made (every evolve is a new graph)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.domain.lineage import LineageGraph
from catalog.domain.model import Edge
from catalog.errors import BadInput, Conflict, NotFound

PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
N = 12
NAMES = [f"n.n.x{i:02d}" for i in range(N)]


def reaches(edges: set[tuple[str, str]], start: str, goal: str) -> bool:
    """Plain depth-first reachability, the reference."""
    seen, stack = {start}, [start]
    while stack:
        node = stack.pop()
        if node == goal:
            return True
        for u, d in edges:
            if u == node and d not in seen:
                seen.add(d)
                stack.append(d)
    return False


def assert_order(graph: LineageGraph, edges: set[tuple[str, str]]) -> None:
    assert set(graph.edges()) == edges
    positions = [graph.order[n] for n in NAMES]
    assert len(set(positions)) == len(positions)  # a total order
    assert graph.is_topological()
    assert all(graph.order[u] < graph.order[d] for u, d in edges)


steps = st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(0, N - 1), st.integers(0, N - 1)),
    st.tuples(st.just("add"), st.integers(0, N - 1), st.integers(0, N - 1)),
    st.tuples(st.just("batch"), st.lists(st.tuples(st.integers(0, N - 1),
                                                   st.integers(0, N - 1)), max_size=4)),
    st.tuples(st.just("remove"), st.integers(0, 10 ** 6)),
), max_size=60)


@PROPS
@given(st.permutations(NAMES), steps)
def test_order_stays_topological_and_refusal_matches_reachability(start_order, ops):
    graph = LineageGraph().evolve(nodes=start_order)  # positions unrelated to names
    edges: set[tuple[str, str]] = set()
    for op in ops:
        before_graph, before_edges = graph, set(edges)
        if op[0] == "remove":
            if not edges:
                continue
            u, d = sorted(edges)[op[1] % len(edges)]
            graph = graph.evolve(remove_edges=[(u, d)])
            edges.discard((u, d))
        else:
            pairs = [(op[1], op[2])] if op[0] == "add" else op[1]
            batch = [Edge(NAMES[a], NAMES[b]) for a, b in pairs if a != b]
            # The reference: edge by edge, a cycle iff downstream already reaches upstream.
            trial, refused = set(edges), False
            for e in batch:
                if reaches(trial, e.downstream, e.upstream):
                    refused = True
                    break
                trial.add((e.upstream, e.downstream))
            try:
                graph.validate_new_edges(batch, NAMES)
                nxt = graph.evolve(add_edges=batch)
            except Conflict as err:
                assert refused, batch
                cycle = err.message.split("cycle: ")[1].split(";")[0].split(" -> ")
                assert cycle[0] == cycle[-1]
                hops = set(zip(cycle, cycle[1:], strict=False))
                assert hops - set(trial) - {(e.upstream, e.downstream) for e in batch} == set()
            else:
                assert not refused, batch
                graph, edges = nxt, trial
        assert_order(graph, edges)
        # The graph the step started from is untouched (readers holding it see no change).
        assert set(before_graph.edges()) == before_edges
        assert before_graph.is_topological()


def test_forward_edge_moves_nothing():
    graph = LineageGraph().evolve(nodes=NAMES)
    nxt = graph.evolve(add_edges=[Edge(NAMES[0], NAMES[5])])
    assert nxt.order.flat() == graph.order.flat()


def test_backward_edge_reorders_only_the_region_between():
    chain = [Edge(NAMES[i], NAMES[i + 1]) for i in range(3)]  # x00 -> x01 -> x02 -> x03
    graph = LineageGraph().evolve(nodes=NAMES, add_edges=chain)
    nxt = graph.evolve(add_edges=[Edge(NAMES[9], NAMES[1])])
    moved = {n for n in NAMES if nxt.order[n] != graph.order[n]}
    assert NAMES[9] in moved
    assert moved <= {NAMES[i] for i in (1, 2, 3, 9)}  # nothing before x01 or after x09 moves
    assert nxt.is_topological()


def test_cycle_message_names_the_shortest_path():
    chain = [Edge(NAMES[i], NAMES[i + 1]) for i in range(4)] + [Edge(NAMES[0], NAMES[3])]
    graph = LineageGraph().evolve(nodes=NAMES, add_edges=chain)
    with pytest.raises(Conflict) as err:
        graph.validate_new_edges([Edge(NAMES[4], NAMES[0])], NAMES)
    assert "cycle: n.n.x04 -> n.n.x00 -> n.n.x03 -> n.n.x04;" in err.value.message


def first_bad(batch: list[Edge], edges: set[tuple[str, str]], known: set[str]) -> str | None:
    """The reference for a batch: the error kind of its first bad edge, edge by edge."""
    trial = set(edges)
    for e in batch:
        if e.upstream not in known or e.downstream not in known:
            return "NOT_FOUND"
        if e.upstream == e.downstream:
            return "BAD_INPUT"
        if reaches(trial, e.downstream, e.upstream):
            return "CONFLICT"
        trial.add((e.upstream, e.downstream))
    return None


EXTRA = [f"n.n.new{i}" for i in range(3)]  # fields a write registers before its edges
UNKNOWN = "n.n.nowhere"


@PROPS
@given(st.permutations(NAMES),
       st.lists(st.tuples(st.integers(0, N - 1), st.integers(0, N - 1)), max_size=8),
       st.lists(st.tuples(st.integers(0, N + 3), st.integers(0, N + 3)), max_size=6))
def test_batch_refusal_names_the_first_bad_edge(start_order, existing, pairs):
    """Batches with fields the graph lacks (pending), unknown fields and self-loops: valid
    exactly when the edge-by-edge reference accepts it, else refused with the kind of error
    of the first bad edge, whichever way the batch is checked (one forward pass or the
    draft)."""
    names = NAMES + EXTRA + [UNKNOWN]
    graph = LineageGraph().evolve(nodes=start_order)
    edges: set[tuple[str, str]] = set()
    for a, b in existing:  # a random DAG: keep the edges that close no cycle
        if a != b and not reaches(edges, NAMES[b], NAMES[a]):
            graph = graph.evolve(add_edges=[Edge(NAMES[a], NAMES[b])])
            edges.add((NAMES[a], NAMES[b]))
    batch = list({(names[a], names[b]): Edge(names[a], names[b]) for a, b in pairs}.values())
    expected = first_bad(batch, edges, set(NAMES) | set(EXTRA))
    try:
        graph.validate_new_edges(batch, NAMES, pending=set(EXTRA))
    except (Conflict, NotFound, BadInput) as err:
        assert err.code == expected, (batch, err.message)
    else:
        assert expected is None, batch
        nxt = graph.evolve(nodes=EXTRA, add_edges=batch)  # what the write then applies
        assert nxt.is_topological()
