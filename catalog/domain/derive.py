"""What a taxonomy makes of a field: its effective categories and sources, its sensitivity, and
bit masks over the taxonomy's (purpose, channel) cells (docs/semantics.md §3, steps 3-4):

- own:     cells the field's own grants permit;
- up_ok:   cells every ancestor permits, the AND of the parents' own & up_ok;
- consent: cells where a governing grant on the field or an ancestor asks for consent.

A Cells object belongs to one taxonomy and memoizes by value (grant lists, channel lists,
category sets), so the snapshots that share a taxonomy share it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from catalog.domain.model import FieldRecord, Grant
from catalog.domain.names import key_chain
from catalog.domain.taxonomy import Taxonomy


@dataclass(frozen=True, slots=True)
class Derived:
    categories: frozenset[str]
    sources: frozenset[str]
    sensitivity: int
    own: int
    up_ok: int
    consent: int


def governing_grant(grants: Iterable[Grant], purpose: str) -> Grant | None:
    """Of the grants whose purpose covers `purpose`, the most specific one."""
    by_purpose = {g.purpose: g for g in grants}
    for key in key_chain(purpose):
        if key in by_purpose:
            return by_purpose[key]
    return None


def benefit_stated(grants: Iterable[Grant], purpose: str) -> bool:
    """Does the governing grant for purpose state a customer benefit? (No grant: no.)"""
    grant = governing_grant(grants, purpose)
    return grant is not None and bool(grant.customer_benefit)


class Cells:
    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        purposes, channels = sorted(taxonomy.purposes), sorted(taxonomy.channels)
        self.purposes, self.channels = purposes, channels
        self.bit = {(p, c): 1 << (i * len(channels) + j)
                    for i, p in enumerate(purposes) for j, c in enumerate(channels)}
        self.all = (1 << len(self.bit)) - 1
        self._chains = [(i * len(channels), key_chain(p)) for i, p in enumerate(purposes)]
        self._masks: dict[tuple[Grant, ...], tuple[int, int]] = {}
        # The same, by the grant list's identity first (hashing a tuple of Grants runs
        # Python code per grant; a million fields share a few thousand lists). The entry
        # holds the list, so its id is not reused while the entry lives.
        self._masks_by_id: dict[int, tuple[tuple[Grant, ...], tuple[int, int]]] = {}
        self._rows: dict[tuple[str, ...] | None, int] = {}
        self._sensitivity: dict[frozenset[str], int] = {}
        self._interned: dict[frozenset[str], frozenset[str]] = {}

    def derive(self, rec: FieldRecord, parents: Iterable[Derived]) -> Derived:
        own, own_consent = self.grant_masks(rec.grants)
        cats = sources = None
        up_ok = self.all
        consent = own_consent
        for p in parents:
            # Interned sets: on a deep catalog most parents carry the very same ones.
            cats = p.categories if cats is None or cats is p.categories else cats | p.categories
            sources = p.sources if sources is None or sources is p.sources else \
                sources | p.sources
            up_ok &= p.own & p.up_ok
            consent |= p.consent
        categories = self._intern(frozenset((rec.category,)) if cats is None else
                                  cats if rec.category in cats else cats | {rec.category})
        sources = self._intern(frozenset((rec.source,)) if sources is None else
                               sources if rec.source in sources else sources | {rec.source})
        sensitivity = self._sensitivity.get(categories)
        if sensitivity is None:
            sensitivity = self._sensitivity[categories] = self.taxonomy.sensitivity(categories)
        return Derived(categories, sources, sensitivity, own, up_ok, consent)

    def _intern(self, s: frozenset[str]) -> frozenset[str]:
        return self._interned.setdefault(s, s)

    def grant_masks(self, grants: tuple[Grant, ...]) -> tuple[int, int]:
        """(own, consent) cell masks of a field's grants; per purpose the most specific
        grant governs. Memoized per grant list, built from per-grant channel rows."""
        hit = self._masks_by_id.get(id(grants))
        if hit is not None and hit[0] is grants:
            return hit[1]
        masks = self._masks.get(grants)
        if masks is None:
            by_purpose = {g.purpose: g for g in grants}
            own = consent = 0
            for shift, chain in self._chains:
                g = next((by_purpose[k] for k in chain if k in by_purpose), None)
                if g is None:
                    continue
                row = self._channel_row(g) << shift
                own |= row
                if g.requires_consent:
                    consent |= row
            masks = self._masks[grants] = (own, consent)
        if len(self._masks_by_id) < 100_000:  # bounded: lists beyond it take the slow way
            self._masks_by_id[id(grants)] = (grants, masks)
        return masks

    def _channel_row(self, g: Grant) -> int:
        """The channels a grant covers, as bits of one purpose's row of cells."""
        row = self._rows.get(g.channels)
        if row is None:
            row = self._rows[g.channels] = sum(1 << j for j, c in enumerate(self.channels)
                                               if g.covers_channel(c))
        return row
