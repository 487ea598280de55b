"""The in-memory catalog index and decision engine (CONTRACT §5).

Everything a check needs is precomputed per field: effective categories and sources, the
sensitivity, and three bit masks over the (purpose, channel) cells of the taxonomy:

- own:     cells F's own grants permit (step 3);
- up_ok:   cells every ancestor permits (step 4), the AND of the parents' own & up_ok;
- consent: cells where a governing grant on F or an ancestor asks for consent.

A check is then a few dict lookups and bit tests; verdicts are cached per field and cell and
dropped when the field or anything upstream of it changes. A write recomputes only the changed
fields and their descendants, in topological order, and stops early where nothing changed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace

from catalog.domain.decision import CONSENT_REQUIRED, Decision, Reason, ReasonCode, Verdict
from catalog.domain.lineage import LineageGraph
from catalog.domain.model import Edge, FieldRecord, Grant, LineageResult
from catalog.domain.names import check_field_name, key_chain
from catalog.domain.rules import PolicyRule
from catalog.domain.taxonomy import Taxonomy
from catalog.errors import BadInput

C = ReasonCode
MAX_CACHED = 2_000_000  # cached verdicts; about 0.5 GB at the most


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


class CatalogIndex:
    def __init__(self, taxonomy: Taxonomy, rules: Iterable[PolicyRule] = (),
                 revision: int = 0) -> None:
        self.lock = threading.RLock()
        self.revision = revision
        self.fields: dict[str, FieldRecord] = {}
        self.graph = LineageGraph()
        self._derived: dict[str, Derived] = {}
        self._verdicts: dict[str, dict[tuple[str, str], Decision]] = {}
        self._reasons: dict[str, dict[tuple[str, str], Reason]] = {}  # own step-3 failures
        self._cached = 0
        self._interned: dict[frozenset[str], frozenset[str]] = {}
        self._set_taxonomy(taxonomy)
        self._set_rules(rules)

    @classmethod
    def build(cls, taxonomy: Taxonomy, rules: Iterable[PolicyRule],
              fields: Iterable[FieldRecord], edges: Iterable[Edge],
              revision: int = 0) -> CatalogIndex:
        index = cls(taxonomy, rules, revision)
        index.apply(fields=fields, add_edges=edges, revision=revision)
        return index

    # -- configuration -----------------------------------------------------------------------
    def _set_taxonomy(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        purposes, channels = sorted(taxonomy.purposes), sorted(taxonomy.channels)
        self._purposes, self._channels = purposes, channels
        self._cell = {(p, c): 1 << (i * len(channels) + j)
                      for i, p in enumerate(purposes) for j, c in enumerate(channels)}
        self._all = (1 << len(self._cell)) - 1
        self._masks: dict[tuple[Grant, ...], tuple[int, int]] = {}
        # Rule hits depend on sensitivities, which the taxonomy resolves: drop them too.
        self._rule_hits: dict[tuple, tuple[tuple[PolicyRule, ...], bool]] = {}

    def _set_rules(self, rules: Iterable[PolicyRule]) -> None:
        self.rules = tuple(sorted(rules, key=lambda r: r.key))
        self._asks_benefit = any(r.unstated_benefit is not None for r in self.rules)
        self._rule_hits: dict[tuple, tuple[tuple[PolicyRule, ...], bool]] = {}

    # -- reading -----------------------------------------------------------------------------
    def get(self, name: str) -> FieldRecord | None:
        return self.fields.get(name) if isinstance(name, str) else None

    def upstream(self, name: str) -> list[str]:
        return self.graph.parents(name)

    def downstream(self, name: str) -> list[str]:
        return self.graph.children(name)

    def effective_categories(self, name: str) -> tuple[str, ...]:
        d = self._derived.get(name)
        return tuple(sorted(d.categories)) if d else ()

    def effective_sources(self, name: str) -> tuple[str, ...]:
        d = self._derived.get(name)
        return tuple(sorted(d.sources)) if d else ()

    def sensitivity(self, name: str) -> int:
        d = self._derived.get(name)
        return d.sensitivity if d else 0

    def lineage(self, root: str, direction: str = "UPSTREAM", depth: int = 10,
                max_nodes: int = 10_000) -> LineageResult:
        with self.lock:
            return self.graph.lineage(root, direction, depth, max_nodes)

    # -- deciding ----------------------------------------------------------------------------
    def check(self, field: str, purpose: str, channel: str) -> Decision:
        # Lock-free fast path: a cached decision made at the current revision is valid (a
        # write drops the cache of everything it affects before it moves the revision).
        cache = self._verdicts.get(field)
        if cache is not None:
            hit = cache.get((purpose, channel))
            if hit is not None and hit.revision == self.revision:
                return hit
        with self.lock:
            return self._check(field, purpose, channel)

    def check_many(self, requests: Iterable[tuple[str, str, str]]) -> list[Decision]:
        with self.lock:
            return [self._check(f, p, c) for f, p, c in requests]

    def _check(self, field: str, purpose: str, channel: str) -> Decision:
        cache = self._verdicts.get(field)
        if cache is not None:
            hit = cache.get((purpose, channel))
            if hit is not None:
                if hit.revision != self.revision:  # still valid; restamp it
                    hit = cache[(purpose, channel)] = replace(hit, revision=self.revision)
                return hit
        rec = self.fields.get(field) if isinstance(field, str) else None
        if rec is None or (purpose, channel) not in self._cell:
            return self._unknown(rec, field, purpose, channel)
        decision = self._decide(rec, purpose, channel).at(field, purpose, channel,
                                                          self.revision)
        if cache is None:
            cache = self._verdicts[field] = {}
        if self._cached >= MAX_CACHED:  # bound memory under a random load on a huge catalog
            self._verdicts.clear()
            self._reasons.clear()
            self._cached = 0
            cache = self._verdicts[field] = {}
        cache[(purpose, channel)] = decision
        self._cached += 1
        return decision

    def _unknown(self, rec, field, purpose, channel) -> Decision:
        reasons = []
        if rec is None:
            reasons.append(Reason(C.UNKNOWN_FIELD, f"field {field!r} is not in the catalog: "
                                  "register it before using it"))
        if purpose not in self.taxonomy.purposes:
            reasons.append(Reason(C.UNKNOWN_PURPOSE, f"purpose {purpose!r} is not in the "
                                  "taxonomy: use one of " + ", ".join(self._purposes)))
        if channel not in self.taxonomy.channels:
            reasons.append(Reason(C.UNKNOWN_CHANNEL, f"channel {channel!r} is not in the "
                                  "taxonomy: use one of " + ", ".join(self._channels)))
        cats = self.effective_categories(field) if rec is not None else ()
        d = self._derived.get(field) if rec is not None else None
        intensity = self.taxonomy.spectrum.of_decision(
            purpose, d.categories if d is not None else frozenset())
        return Decision(False, field, purpose, channel, tuple(reasons), (), cats, self.revision,
                        intensity)

    def _decide(self, rec: FieldRecord, purpose: str, channel: str) -> Verdict:
        name = rec.name
        d = self._derived[name]
        bit = self._cell[(purpose, channel)]
        reasons: list[Reason] = []
        if rec.deprecated:
            reasons.append(Reason(C.FIELD_DEPRECATED, f"field {name} is deprecated: use the "
                                  "field that replaces it"))
        if not d.own & bit:
            reasons.append(self._grant_reason(rec, purpose, channel))
        if not d.up_ok & bit:
            derived = self._derived
            paths = self.graph.shortest_paths_up(
                name,
                failing=lambda a: not derived[a].own & bit,
                explore=lambda a: not derived[a].up_ok & bit,
            )
            for path in paths:
                inner = self._own_reason(path[-1], purpose, channel)
                reasons.append(Reason(
                    C.UPSTREAM_NOT_PERMITTED,
                    f"{name} is derived from {path[-1]} (via {' -> '.join(path)}), and "
                    f"{inner.message}", path=path))
        denied, consent = self._rules_for(d, rec, purpose, channel)
        for rule in denied:
            why = rule.description or rule.explain()
            reasons.append(Reason(
                C.POLICY_DENIED,
                f"rule {rule.key} denies {purpose} in {channel} for {name} ({why}; matches "
                f"{rule.explain()}, effective categories {', '.join(sorted(d.categories))}, "
                f"sensitivity {d.sensitivity})", rule=rule.key))
        reasons.sort(key=Reason.sort_key)
        obligations = (CONSENT_REQUIRED,) if consent or d.consent & bit else ()
        return Verdict(tuple(reasons), obligations, tuple(sorted(d.categories)),
                       self.taxonomy.spectrum.of_decision(purpose, d.categories))

    def _own_reason(self, name: str, purpose: str, channel: str) -> Reason:
        """_grant_reason, cached: an ancestor's failure is cited by all its descendants."""
        per_field = self._reasons.get(name)
        if per_field is None:
            per_field = self._reasons[name] = {}
        reason = per_field.get((purpose, channel))
        if reason is None:
            reason = per_field[(purpose, channel)] = self._grant_reason(
                self.fields[name], purpose, channel)
        return reason

    def _grant_reason(self, rec: FieldRecord, purpose: str, channel: str) -> Reason:
        grant = governing_grant(rec.grants, purpose)
        if grant is None:
            return Reason(C.PURPOSE_NOT_GRANTED, f"no grant on {rec.name} covers {purpose}: "
                          f"grant {purpose} on {rec.name}")
        return Reason(C.CHANNEL_NOT_PERMITTED,
                      f"the grant {grant.purpose} on {rec.name} allows channels "
                      f"{', '.join(grant.channels or ())}, not {channel}: add {channel} to the "
                      f"grant {grant.purpose} on {rec.name}")

    def _rules_for(self, d: Derived, rec: FieldRecord, purpose: str, channel: str):
        # With an unstatedBenefit rule the match also depends on the field's own governing
        # grant: whether it states a benefit joins the key (None while no rule asks).
        stated = benefit_stated(rec.grants, purpose) if self._asks_benefit else None
        key = (d.categories, d.sources, purpose, channel, stated)
        hit = self._rule_hits.get(key)
        if hit is None:
            matched = [r for r in self.rules if r.matches(
                categories=d.categories, sources=d.sources, sensitivity=d.sensitivity,
                purpose=purpose, channel=channel, benefit_stated=bool(stated))]
            hit = (tuple(r for r in matched if r.effect == "DENY"),
                   any(r.effect == "REQUIRE_CONSENT" for r in matched))
            self._rule_hits[key] = hit
        return hit

    # -- validating --------------------------------------------------------------------------
    def validate_record(self, rec: FieldRecord) -> None:
        """BAD_INPUT unless the record's name and every key in it are valid."""
        check_field_name(rec.name)
        tax = self.taxonomy
        tax.require("category", rec.category)
        tax.require("source", rec.source)
        if not rec.owner or not rec.owner.strip():
            raise BadInput(f"field {rec.name}: owner must not be empty")
        seen = set()
        for g in rec.grants:
            tax.require("purpose", g.purpose)
            if g.purpose in seen:
                raise BadInput(f"field {rec.name}: purpose {g.purpose} is granted twice; "
                               "give one grant per purpose")
            seen.add(g.purpose)
            for c in g.channels or ():
                tax.require("channel", c)

    def validate_new_edges(self, edges: list[Edge]) -> None:
        with self.lock:
            self.graph.validate_new_edges(edges, self.fields)

    # -- changing ----------------------------------------------------------------------------
    def apply(self, *, fields: Iterable[FieldRecord] = (), add_edges: Iterable[Edge] = (),
              remove_edges: Iterable[tuple[str, str]] = (), taxonomy: Taxonomy | None = None,
              rules: Iterable[PolicyRule] | None = None, revision: int | None = None) -> None:
        """Apply committed changes and recompute what they affect."""
        with self.lock:
            dirty: set[str] = set()
            if taxonomy is not None:
                self._set_taxonomy(taxonomy)
                dirty.update(self.fields)
            if rules is not None:
                self._set_rules(rules)
                self._verdicts.clear()
                self._cached = 0
            for rec in fields:
                self.fields[rec.name] = rec
                self.graph.add_node(rec.name)
                dirty.add(rec.name)
            for upstream, downstream in remove_edges:
                self.graph.remove_edge(upstream, downstream)
                dirty.add(downstream)
            for edge in add_edges:
                self.graph.add_edge(edge)
                dirty.add(edge.downstream)
            self._recompute(dirty)
            if revision is not None:
                self.revision = revision

    def _recompute(self, dirty: set[str]) -> None:
        if not dirty:
            return
        affected = dirty | self.graph.descendants(dirty)
        changed: set[str] = set()
        pred = self.graph.g.pred
        order = self.graph.topological(affected) if len(affected) > 1 else list(affected)
        for name in order:
            self._verdicts.pop(name, None)
            self._reasons.pop(name, None)
            if name not in dirty and not any(p in changed for p in pred[name]):
                continue
            new = self._derive(name)
            if self._derived.get(name) != new:
                self._derived[name] = new
                changed.add(name)

    def _derive(self, name: str) -> Derived:
        rec = self.fields[name]
        own, own_consent = self._grant_masks(rec.grants)
        cats = {rec.category}
        sources = {rec.source}
        up_ok = self._all
        consent = own_consent
        for parent in self.graph.g.pred[name]:
            p = self._derived[parent]
            cats |= p.categories
            sources |= p.sources
            up_ok &= p.own & p.up_ok
            consent |= p.consent
        categories = self._intern(frozenset(cats))
        return Derived(categories, self._intern(frozenset(sources)),
                       self.taxonomy.sensitivity(categories), own, up_ok, consent)

    def _intern(self, s: frozenset[str]) -> frozenset[str]:
        return self._interned.setdefault(s, s)

    def _grant_masks(self, grants: tuple[Grant, ...]) -> tuple[int, int]:
        masks = self._masks.get(grants)
        if masks is None:
            own = consent = 0
            for p in self._purposes:
                g = governing_grant(grants, p)
                if g is None:
                    continue
                for c in self._channels:
                    if g.covers_channel(c):
                        bit = self._cell[(p, c)]
                        own |= bit
                        if g.requires_consent:
                            consent |= bit
            masks = self._masks[grants] = (own, consent)
        return masks
