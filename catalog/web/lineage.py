"""The lineage picture as the templates draw it: which nodes to show (at most MAX_DRAWN; the
rest folded into '+N' marks), their positions (layout.py), labels, permit states, and the
failing paths of a check. Pure: the views hand it a lineage result and what they know."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from catalog.domain.model import LineageResult
from catalog.web import layout as L

MAX_DRAWN = 200  # readable as one picture; beyond it, the farthest fields fold
NAME_CHARS = 31  # 12px monospace in a 250px box
LABEL_CHARS = 19


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    label: str  # the name, shortened from the left to fit
    x: float
    y: float
    category: str
    status: str | None  # allowed | consent | denied, for the chosen purpose and channel
    root: bool
    on_path: bool  # on a failing path of the check
    fails: bool  # the ancestor a failing path ends at
    folded: int  # neighbours not drawn


@dataclass(frozen=True, slots=True)
class Edge:
    upstream: str
    downstream: str
    d: str  # SVG path
    transform: str | None
    label: str | None
    lx: float
    ly: float
    on_path: bool


@dataclass(frozen=True, slots=True)
class Picture:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    width: float
    height: float
    total: int  # fields in the lineage
    folded: int  # fields not drawn
    partial: bool  # the lineage itself was cut
    node_w: float = L.NODE_W
    node_h: float = L.NODE_H


def shorten(text: str, limit: int) -> str:
    """Keep the end (a field's column is its most telling part)."""
    return text if len(text) <= limit else "…" + text[-(limit - 1):]


def clip(text: str, limit: int) -> str:
    """Keep the start (a transform reads from its beginning)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def failing_edges(paths: Iterable[Sequence[str]]) -> set[tuple[str, str]]:
    """(upstream, downstream) pairs of check paths [F, ..., A] (F derived from ... from A)."""
    return {(p[i + 1], p[i]) for p in paths for i in range(len(p) - 1)}


def picture(result: LineageResult, categories: Mapping[str, str],
            statuses: Mapping[str, str] | None = None, *,
            failing_paths: Iterable[Sequence[str]] = (), max_nodes: int = MAX_DRAWN) -> Picture:
    paths = [tuple(p) for p in failing_paths]
    on_path = {n for p in paths for n in p}
    # Keep the root, then the failing paths, then by distance from the root (result order).
    keep: dict[str, None] = {result.root: None}
    known = set(result.nodes)
    for n in [*sorted(n for n in on_path if n in known), *result.nodes]:
        if len(keep) >= max_nodes:
            break
        keep[n] = None
    pairs = [(e.upstream, e.downstream) for e in result.edges]
    drawn = [(u, d) for u, d in pairs if u in keep and d in keep]
    folded_at: dict[str, int] = {}
    for u, d in pairs:
        if (u in keep) != (d in keep):
            inside = u if u in keep else d
            folded_at[inside] = folded_at.get(inside, 0) + 1
    lay = L.layout(keep, drawn)
    red = failing_edges(paths)
    fails = {p[-1] for p in paths}
    nodes = tuple(
        Node(name=n, label=shorten(n, NAME_CHARS), x=x, y=y, category=categories.get(n, "?"),
             status=(statuses or {}).get(n), root=n == result.root, on_path=n in on_path,
             fails=n in fails, folded=folded_at.get(n, 0))
        for n, (x, y) in sorted(lay.positions.items()))
    transforms = {(e.upstream, e.downstream): e.transform for e in result.edges}
    edges = []
    for route in lay.routes:
        key = (route.upstream, route.downstream)
        (x0, y0), (x1, y1) = route.points[0], route.points[1]
        t = transforms.get(key)
        edges.append(Edge(route.upstream, route.downstream, svg_path(route.points), t,
                          clip(t, LABEL_CHARS) if t else None, (x0 + x1) / 2,
                          (y0 + y1) / 2 - 4, key in red))
    edges.sort(key=lambda e: e.on_path)  # failing paths drawn last, on top
    return Picture(nodes, tuple(edges), lay.width, lay.height, len(result.nodes),
                   len(result.nodes) - len(keep), result.partial)


def svg_path(points: Sequence[tuple[float, float]]) -> str:
    """Straight through bend points on one line, an S-curve between ranks."""
    (x, y), out = points[0], [f"M{points[0][0]:.0f},{points[0][1]:.0f}"]
    for nx, ny in points[1:]:
        if abs(ny - y) < 0.5:
            out.append(f"L{nx:.0f},{ny:.0f}")
        else:
            mid = (x + nx) / 2
            out.append(f"C{mid:.0f},{y:.0f} {mid:.0f},{ny:.0f} {nx:.0f},{ny:.0f}")
        x, y = nx, ny
    return " ".join(out)
