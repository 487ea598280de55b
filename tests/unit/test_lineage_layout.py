"""The lineage layout and picture (catalog/web/layout.py, lineage.py): pure, no browser."""

from __future__ import annotations

import random

import pytest

from catalog.domain.model import Edge, LineageResult
from catalog.web import layout as L
from catalog.web.lineage import picture


def boxes_overlap(a, b) -> bool:
    return abs(a[0] - b[0]) < L.NODE_W and abs(a[1] - b[1]) < L.NODE_H


def random_dag(n: int, seed: int) -> tuple[list[str], list[tuple[str, str]]]:
    rng = random.Random(seed)
    names = [f"s.d.f{i:03d}" for i in range(n)]
    edges = {(names[rng.randrange(max(0, i - 12), i)], names[i]) for i in range(1, n)
             for _ in range(rng.choice((1, 1, 2)))}
    return names, sorted(edges)


def test_sources_left_every_edge_points_right():
    names, edges = random_dag(80, 1)
    lay = L.layout(names, edges)
    assert set(lay.positions) == set(names)
    for u, d in edges:
        assert lay.positions[u][0] < lay.positions[d][0]
    sources = {n for n in names if all(d != n for _, d in edges)}
    assert any(lay.positions[s][0] == min(x for x, _ in lay.positions.values())
               for s in sources)


def test_no_two_nodes_overlap_and_all_fit_in_the_canvas():
    names, edges = random_dag(200, 2)
    lay = L.layout(names, edges)
    by_rank: dict[float, list] = {}
    for x, y in lay.positions.values():
        by_rank.setdefault(x, []).append(y)
        assert 0 <= x and x + L.NODE_W <= lay.width and 0 <= y and y + L.NODE_H <= lay.height
    for ys in by_rank.values():
        ys.sort()
        assert all(b - a >= L.NODE_H for a, b in zip(ys, ys[1:], strict=False))


def test_long_edges_bend_through_every_rank_they_cross():
    lay = L.layout(["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")])
    route = next(r for r in lay.routes if (r.upstream, r.downstream) == ("a", "d"))
    assert len(route.points) == 2 + 2 * 2  # two ranks crossed, two bend points each
    assert [p[0] for p in route.points] == sorted(p[0] for p in route.points)


def test_crossing_reduction_untangles_a_crossed_pair():
    # Sorted by name, a2 above b2 but a1 feeds b2 and b1 feeds a2: one crossing, removable.
    lay = L.layout(["a1", "b1", "a2", "b2"], [("a1", "b2"), ("b1", "a2")])
    assert lay.crossings == 0
    assert L.count_crossings([["a1", "b1"], ["a2", "b2"]], {"a1": ["b2"], "b1": ["a2"]}) == 1


def test_sources_sit_next_to_what_they_feed():
    # x feeds only the last field of a long chain: it is drawn beside it, not at the far left.
    chain = [("a", "b"), ("b", "c"), ("c", "d"), ("x", "d")]
    lay = L.layout(["a", "b", "c", "d", "x"], chain)
    assert lay.positions["x"][0] == lay.positions["c"][0]


def test_layout_is_deterministic_and_refuses_cycles():
    names, edges = random_dag(60, 3)
    assert L.layout(names, edges) == L.layout(list(reversed(names)), list(reversed(edges)))
    with pytest.raises(ValueError, match="cycle"):
        L.layout(["a", "b"], [("a", "b"), ("b", "a")])


def test_inversions_match_a_brute_force_count():
    rng = random.Random(4)
    for _ in range(50):
        values = [rng.randrange(10) for _ in range(rng.randrange(30))]
        brute = sum(1 for i in range(len(values)) for j in range(i + 1, len(values))
                    if values[i] > values[j])
        assert L._inversions(values) == brute


def lineage_of(names, edges, root) -> LineageResult:
    return LineageResult(root, tuple([root] + [n for n in names if n != root]),
                         tuple(Edge(u, d, "sum") for u, d in edges), False)


def test_picture_folds_beyond_the_limit_and_says_how_many():
    names, edges = random_dag(300, 5)
    result = lineage_of(names, edges, names[-1])
    pic = picture(result, {n: "historical" for n in names}, max_nodes=200)
    assert len(pic.nodes) == 200 and pic.total == 300 and pic.folded == 100
    drawn = {n.name for n in pic.nodes}
    assert all(e.upstream in drawn and e.downstream in drawn for e in pic.edges)
    hidden = sum(1 for u, d in edges if (u in drawn) != (d in drawn))
    assert sum(n.folded for n in pic.nodes) == hidden > 0


def test_picture_keeps_failing_paths_even_when_folding():
    names, edges = random_dag(300, 6)
    root = names[-1]
    far = names[0]
    result = lineage_of(names, edges, root)
    path = [root, far]  # as a check would give it, [F, ..., A]
    pic = picture(result, {}, {n: "denied" for n in names}, failing_paths=[path],
                  max_nodes=20)
    marked = {n.name: n for n in pic.nodes}
    assert far in marked and marked[far].fails and marked[root].root
    assert all(n.status == "denied" for n in pic.nodes)


def test_picture_marks_failing_edges_and_labels_transforms():
    result = LineageResult("c", ("c", "b", "a"),
                           (Edge("a", "b", "join on a very long key name"), Edge("b", "c")),
                           False)
    pic = picture(result, {"a": "x", "b": "y", "c": "z"}, failing_paths=[("c", "b", "a")])
    assert all(e.on_path for e in pic.edges)
    labelled = next(e for e in pic.edges if e.upstream == "a")
    assert labelled.transform == "join on a very long key name"
    assert labelled.label.endswith("…") and len(labelled.label) <= 19
