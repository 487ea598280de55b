"""An immutable map with cheap updates: a shared base dict plus a small overlay.

`evolve(changes)` returns a new map holding the same base and a copy of the overlay with the
changes; the old map stays as it was, so readers holding it never see a half-applied write.
When the overlay grows past a bound that depends on the base's size (about 8·√n), the next
`evolve` folds it into a new base: a full copy, paid once every many small writes, so a write
costs O(√n + changes) amortized instead of O(n). Keys are never removed (the catalog never
deletes a field); a value may be replaced by any value, None included.

A lookup is two dict lookups. Hot paths inline it: `m.over.get(k) or m.base.get(k)` when
every value is truthy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from math import isqrt
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")
_MISSING = object()
MIN_OVERLAY = 2048


class Layered(Mapping, Generic[K, V]):
    __slots__ = ("base", "over", "_extra")

    def __init__(self, base: dict | None = None, over: dict | None = None,
                 extra: int | None = None) -> None:
        self.base: dict = base if base is not None else {}
        self.over: dict = over if over is not None else {}
        # Keys of the overlay that the base lacks; None: counted when len() first asks (no
        # write needs the number, and counting it on every write scanned the changes twice).
        self._extra = 0 if extra is None and not self.over else extra

    def __getitem__(self, key):
        value = self.over.get(key, _MISSING)
        if value is _MISSING:
            return self.base[key]
        return value

    def get(self, key, default=None):
        value = self.over.get(key, _MISSING)
        if value is _MISSING:
            return self.base.get(key, default)
        return value

    def __contains__(self, key) -> bool:
        return key in self.over or key in self.base

    def __len__(self) -> int:
        if self._extra is None:
            self._extra = sum(k not in self.base for k in self.over)
        return len(self.base) + self._extra

    def __iter__(self) -> Iterator:
        yield from self.base
        for key in self.over:
            if key not in self.base:
                yield key

    def evolve(self, changes: Mapping) -> Layered:
        """A new map: this one with `changes` set. Never changes this one."""
        if not changes:
            return self
        base = self.base
        over = {**self.over, **changes}
        if len(over) > max(MIN_OVERLAY, 8 * isqrt(len(base))):
            folded = base.copy()  # dict.copy of a dict: half the cost of {**base, **over}
            folded.update(over)
            return Layered(folded, {}, 0)
        return Layered(base, over)

    def flat(self) -> dict:
        """A plain dict copy (for callers that need one)."""
        return {**self.base, **self.over}
