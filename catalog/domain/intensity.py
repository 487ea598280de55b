"""The personalization spectrum (docs/semantics.md §15): utility < relationship < surveillance.

A purpose's intensity is its own or, unless it states one, its parent's; none anywhere in its
chain counts as surveillance. A category's intensity floor is its own or its parent's, and is
surveillance for every category of sensitivity 4 whatever it states. Floors apply to every
purpose outside the `service` subtree.

`Spectrum` resolves all of it once per taxonomy, so a decision adds two dict lookups and a
max; the floor of a set of effective categories is cached per (interned) set.
"""

from __future__ import annotations

from collections.abc import Mapping

from catalog.errors import BadInput

INTENSITIES = ("utility", "relationship", "surveillance")
RANK = {name: i for i, name in enumerate(INTENSITIES)}
SURVEILLANCE = RANK["surveillance"]
SERVICE = "service"


def check_intensity(value: object, what: str) -> str:
    if value not in RANK:
        raise BadInput(f"{what}: intensity must be utility, relationship or surveillance, "
                       f"not {str(value)[:40]!r}")
    return value  # type: ignore[return-value]


def resolve(stated: Mapping[str, str | None]) -> dict[str, str | None]:
    """Each key's own value or its nearest ancestor's (None when no key in its chain has one).
    Keys must be complete (every parent present), as Taxonomy.build ensures."""
    out: dict[str, str | None] = {}
    for key in sorted(stated, key=lambda k: k.count(".")):
        own = stated[key]
        parent = key.rpartition(".")[0]
        out[key] = own if own is not None else (out.get(parent) if parent else None)
    return out


def in_service(purpose: str) -> bool:
    return purpose == SERVICE or purpose.startswith(SERVICE + ".")


class Spectrum:
    """Resolved intensities of one taxonomy."""

    def __init__(self, purposes: Mapping[str, str | None],
                 floors: Mapping[str, str | None], sensitivity: Mapping[str, int]) -> None:
        self.purpose_rank = {p: RANK[v] if v is not None else SURVEILLANCE
                             for p, v in resolve(purposes).items()}
        self.floor_rank = {c: SURVEILLANCE if sensitivity.get(c) == 4 else
                           (RANK[v] if v is not None else 0)
                           for c, v in resolve(floors).items()}
        # A grant on a purpose covers every purpose below it: the highest of them.
        self.subtree_rank = {p: max(r for q, r in self.purpose_rank.items()
                                    if q == p or q.startswith(p + "."))
                             for p in self.purpose_rank}
        self.floored = {p: not in_service(p) for p in self.purpose_rank}
        # What a decision looks up: purpose -> (rank, whether floors apply); one dict get.
        self._decision = {p: (r, self.floored[p]) for p, r in self.purpose_rank.items()}
        self._floors: dict[frozenset[str], int] = {}  # keyed by the index's interned sets

    def purpose_name(self, purpose: str) -> str | None:
        rank = self.purpose_rank.get(purpose)
        return None if rank is None else INTENSITIES[rank]

    def floor_name(self, category: str) -> str | None:
        """A category's floor; None when it has none (utility would be no floor at all)."""
        rank = self.floor_rank.get(category)
        return INTENSITIES[rank] if rank else None

    def floor(self, categories: frozenset[str]) -> int:
        rank = self._floors.get(categories)
        if rank is None:
            rank = self._floors[categories] = max(
                (self.floor_rank.get(c, 0) for c in categories), default=0)
        return rank

    def of_decision(self, purpose: str, categories: frozenset[str]) -> str | None:
        """The intensity of using a field with these effective categories for purpose.
        On every uncached decision: kept to two dict lookups."""
        entry = self._decision.get(purpose)
        if entry is None:
            return None
        rank, floored = entry
        if floored and rank < SURVEILLANCE:
            floor = self._floors.get(categories)
            if floor is None:
                floor = self.floor(categories)
            if floor > rank:
                rank = floor
        return INTENSITIES[rank]

    def of_grant(self, purpose: str, categories: frozenset[str]) -> str | None:
        """A grant's intensity: the highest among the purposes it covers, raised by the
        floors unless it is in the service subtree."""
        rank = self.subtree_rank.get(purpose)
        if rank is None:
            return None
        if self.floored[purpose]:
            rank = max(rank, self.floor(categories))
        return INTENSITIES[rank]
