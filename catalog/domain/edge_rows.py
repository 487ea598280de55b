"""The edges of a lineage walk (LineageGraph.lineage), for a caller that writes them out."""

from __future__ import annotations

from collections.abc import Callable, Iterator


class EdgeRows:
    """A lineage's edges as (upstream, downstream, transform) rows in the walk's order, made
    each time they are iterated. `levels` holds, per distance, the nodes expanded upstream
    with their parents ({parent: transform}) and downstream with their children: a caller
    that writes each node's parent edges as one piece of text (the lean GraphQL path) needs
    no row at all. `cut`: the walk was cut, so a neighbour of a node expanded may be missing
    from the nodes (rows leave its edge out; a piece written from a node's parents would
    not)."""

    __slots__ = ("levels", "cut", "_kept", "_up_get")

    def __init__(self, levels: list, cut: bool, kept: set[str], up_get: Callable) -> None:
        self.levels = levels
        self.cut = cut
        self._kept = kept
        self._up_get = up_get

    def __iter__(self) -> Iterator[tuple[str, str, str | None]]:
        return iter(self.rows())

    def __len__(self) -> int:
        return len(self.rows())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EdgeRows | tuple | list) and self.rows() == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"EdgeRows({self.rows()!r})"

    def rows(self) -> list[tuple[str, str, str | None]]:
        edges: list[tuple[str, str, str | None]] = []
        seen, up_get = self._kept, self._up_get
        for ups, downs in self.levels:
            if self.cut:  # a neighbour may have been cut
                edges += [(o, n, p[o]) for n, p in ups for o in sorted(p) if o in seen]
                edges += [(n, o, up_get(o)[n]) for n, c in downs for o in sorted(c)
                          if o in seen]
            else:  # every neighbour of a node expanded was kept
                edges += [(o, n, p[o]) for n, p in ups for o in sorted(p)]
                edges += [(n, o, up_get(o)[n]) for n, c in downs for o in sorted(c)]
        return edges
