"""A layered drawing of a DAG, left to right (Sugiyama, as Graphviz's dot does it): a pure
function from nodes and edges to positions, so it is tested without a browser.

1. Rank: longest path from the sources, then every node pulled right next to its nearest
   child, so a source sits just left of what it feeds. Sources land left, sinks right.
2. Edges that span several ranks get a virtual node per rank crossed, so each edge joins
   neighbouring ranks and bends around the nodes instead of crossing them.
3. Order within each rank: barycenter sweeps, down and up, keeping the order with the fewest
   crossings seen (crossings counted by inversions, O(E log E) per pair of ranks).
4. Coordinates: x from the rank; y by least squares towards the neighbours' mean, subject to
   a minimum gap, solved exactly per rank by pool-adjacent-violators.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

NODE_W, NODE_H = 250.0, 46.0  # a drawn field
GAP_X, GAP_Y = 120.0, 18.0  # room for transform labels between ranks; between neighbours
VIRTUAL_H = 6.0  # a bend point takes this much height in its rank
MARGIN = 16.0
SWEEPS = 12


@dataclass(frozen=True, slots=True)
class Route:
    upstream: str
    downstream: str
    points: tuple[tuple[float, float], ...]  # upstream's right side to downstream's left


@dataclass(frozen=True, slots=True)
class Layout:
    positions: dict[str, tuple[float, float]]  # name -> (x, y) of the node's top-left corner
    routes: tuple[Route, ...]
    ranks: tuple[tuple[str, ...], ...]  # real nodes per rank, top to bottom
    width: float
    height: float
    crossings: int


def layout(nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> Layout:
    names = sorted(set(nodes))
    known = set(names)
    pairs = sorted({(u, d) for u, d in edges if u in known and d in known and u != d})
    rank = ranks(names, pairs)
    layers, chains = _with_virtuals(names, pairs, rank)
    ups, downs = _adjacency(chains)
    layers, crossings = order(layers, ups, downs)
    ys = _coordinates(layers, ups, downs)
    positions = {n: (MARGIN + r * (NODE_W + GAP_X), ys[n] - NODE_H / 2)
                 for r, layer in enumerate(layers) for n in layer if not _virtual(n)}
    routes = []
    for (u, d), chain in chains.items():
        points = [(positions[u][0] + NODE_W, ys[u])]
        for v in chain[1:-1]:
            x = MARGIN + rank_of(v, rank) * (NODE_W + GAP_X)
            points += [(x, ys[v]), (x + NODE_W, ys[v])]
        points.append((positions[d][0], ys[d]))
        routes.append(Route(u, d, tuple(points)))
    height = max((ys[n] + _height(n) / 2 for layer in layers for n in layer), default=0)
    return Layout(
        positions=positions, routes=tuple(routes),
        ranks=tuple(tuple(n for n in layer if not _virtual(n)) for layer in layers),
        width=MARGIN * 2 + max(len(layers), 1) * (NODE_W + GAP_X) - GAP_X,
        height=height + MARGIN, crossings=crossings)


def ranks(names: Sequence[str], pairs: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Rank per node: longest path from a source, then pulled right next to its children."""
    parents, children = defaultdict(list), defaultdict(list)
    for u, d in pairs:
        parents[d].append(u)
        children[u].append(d)
    waiting = {n: len(parents[n]) for n in names}
    ready = [n for n in names if waiting[n] == 0]
    topo: list[str] = []
    while ready:
        n = ready.pop()
        topo.append(n)
        for c in children[n]:
            waiting[c] -= 1
            if waiting[c] == 0:
                ready.append(c)
    if len(topo) != len(names):
        raise ValueError("the lineage graph has a cycle; a layered drawing needs a DAG")
    rank = {}
    for n in topo:
        rank[n] = max((rank[p] + 1 for p in parents[n]), default=0)
    for n in reversed(topo):  # children are final before their parents
        if children[n]:
            rank[n] = min(rank[c] for c in children[n]) - 1
    low = min(rank.values(), default=0)
    return {n: r - low for n, r in rank.items()}


def _virtual(name: str) -> bool:
    return name.startswith("\0")


def _height(name: str) -> float:
    return VIRTUAL_H if _virtual(name) else NODE_H


def rank_of(name: str, rank: dict[str, int]) -> int:
    return rank[name] if not _virtual(name) else int(name.rsplit("\0", 1)[1])


def _with_virtuals(names, pairs, rank):
    layers: list[list[str]] = [[] for _ in range(max(rank.values(), default=0) + 1)]
    for n in names:
        layers[rank[n]].append(n)
    chains: dict[tuple[str, str], list[str]] = {}
    for u, d in pairs:
        chain = [u]
        for r in range(rank[u] + 1, rank[d]):
            v = f"\0{u}\0{d}\0{r}"
            layers[r].append(v)
            chain.append(v)
        chains[(u, d)] = chain + [d]
    return layers, chains


def _adjacency(chains):
    ups, downs = defaultdict(list), defaultdict(list)
    for chain in chains.values():
        for a, b in zip(chain, chain[1:], strict=False):
            downs[a].append(b)
            ups[b].append(a)
    return ups, downs


def order(layers: list[list[str]], ups, downs) -> tuple[list[list[str]], int]:
    """Barycenter sweeps; the order with the fewest crossings wins."""
    current = [list(layer) for layer in layers]
    best, best_crossings = [list(x) for x in current], count_crossings(current, downs)
    stale = 0
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        indices = range(1, len(current)) if down else range(len(current) - 2, -1, -1)
        for i in indices:
            fixed = {n: k for k, n in enumerate(current[i - 1 if down else i + 1])}
            near = ups if down else downs
            keyed = []
            for k, n in enumerate(current[i]):
                others = [fixed[m] for m in near[n] if m in fixed]
                keyed.append((sum(others) / len(others) if others else k, k, n))
            current[i] = [n for _, _, n in sorted(keyed)]
        crossings = count_crossings(current, downs)
        if crossings < best_crossings:
            best, best_crossings, stale = [list(x) for x in current], crossings, 0
        else:
            stale += 1
        if best_crossings == 0 or stale >= 4:  # four sweeps without a gain: it has settled
            break
    return best, best_crossings


def count_crossings(layers: list[list[str]], downs) -> int:
    total = 0
    for upper, lower in zip(layers, layers[1:], strict=False):
        pos = {n: k for k, n in enumerate(lower)}
        ends = sorted((k, pos[m]) for k, n in enumerate(upper) for m in downs[n] if m in pos)
        total += _inversions([b for _, b in ends])
    return total


def _inversions(values: list[int]) -> int:
    """Pairs i < j with values[i] > values[j]."""
    seen: list[int] = []
    count = 0
    for v in values:
        k = bisect_right(seen, v)
        count += len(seen) - k  # earlier values greater than v
        seen.insert(k, v)
    return count


def _coordinates(layers, ups, downs) -> dict[str, float]:
    ys: dict[str, float] = {}
    for layer in layers:  # stacked from the top
        y = MARGIN
        for n in layer:
            ys[n] = y + _height(n) / 2
            y += _height(n) + GAP_Y
    for sweep in range(4):
        down = sweep % 2 == 0
        indices = range(1, len(layers)) if down else range(len(layers) - 2, -1, -1)
        for i in indices:
            near = ups if down else downs
            wanted = []
            for n in layers[i]:
                others = [ys[m] for m in near[n]]
                wanted.append(sum(others) / len(others) if others else ys[n])
            for n, y in zip(layers[i], _spread(layers[i], wanted), strict=True):
                ys[n] = y
    low = min((ys[n] - _height(n) / 2 for n in ys), default=MARGIN)
    return {n: y - low + MARGIN for n, y in ys.items()}


def _spread(layer: list[str], wanted: list[float]) -> list[float]:
    """Positions closest (least squares) to `wanted`, in order, at least a gap apart: with
    offsets o_i (the sum of gaps above node i), z_i = y_i - o_i must not decrease, which is
    isotonic regression of wanted_i - o_i (pool adjacent violators)."""
    offsets, o = [], 0.0
    for k, n in enumerate(layer):
        if k:
            o += (_height(layer[k - 1]) + _height(n)) / 2 + GAP_Y
        offsets.append(o)
    blocks: list[list[float]] = []  # [mean, weight]
    for w, off in zip(wanted, offsets, strict=True):
        blocks.append([w - off, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2 = blocks.pop()
            m1, w1 = blocks[-1]
            blocks[-1] = [(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2]
    z = [m for m, weight in blocks for _ in range(int(weight))]
    return [zi + off for zi, off in zip(z, offsets, strict=True)]
