"""The in-memory catalog index and decision engine (docs/semantics.md §3).

Everything a check needs is precomputed per field (catalog/domain/derive.py): effective
categories and sources, the sensitivity, and bit masks over the taxonomy's (purpose, channel)
cells. A check is then a few dict lookups and bit tests.

A CatalogIndex is an immutable snapshot of the catalog at one revision. Readers take one by
reference and use it from start to end: no lock, one revision per answer. A write never
changes a snapshot; `index.apply(...)` returns the next one, which shares every map with this
one except the entries the write affects (fields, graph and per-field state are Layered: a
shared base dict plus a small overlay, folded into a new base now and then). It recomputes
only the changed fields and their descendants, in topological order, and stops early where
nothing changed.

The same operation makes private snapshots: `index.apply(...)` on any snapshot, kept by its
caller and never published, is a what-if world; a fold of the change log up to revision r
from an earlier snapshot is the catalog as of r. `validate_new_edges` checks a batch against
a private draft of the graph, so no reader ever sees a candidate edge.

Verdicts are cached per field and cell in the field's _Node. A node is shared by the
snapshots in which the field's record and derived state are the same, and replaced where a
write changes either, so a write touches only the fields whose state changes, not every
descendant. A verdict that cites ancestors (a lineage path) also depends on the shape of the
graph above the field: it is kept with the structure epoch it was made at, which every write
that changes an existing field's record or an edge into an existing field moves on (edges into
fields the same write registers change nothing above any field there was).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import orjson

from catalog.domain.decision import CONSENT_REQUIRED, Decision, Reason, ReasonCode, Verdict
from catalog.domain.derive import Cells, Derived, benefit_stated, governing_grant
from catalog.domain.layered import Layered
from catalog.domain.lineage import NONE, LineageGraph
from catalog.domain.model import Edge, FieldRecord, LineageResult
from catalog.domain.names import check_field_name
from catalog.domain.rules import PolicyRule
from catalog.domain.taxonomy import Taxonomy
from catalog.domain.unclassified import UNCLASSIFIED_RULE, unclassified_reason
from catalog.errors import BadInput

C = ReasonCode
MAX_CACHED = 2_000_000  # cached verdicts; about 0.5 GB at the most
MAX_FLAT = 500_000  # decisions of one snapshot by request triple (check_many); ~50 MB at most
UNKNOWN = frozenset((C.UNKNOWN_FIELD, C.UNKNOWN_PURPOSE, C.UNKNOWN_CHANNEL))
# Structure epochs, unique across all snapshots: private ones (what-if, as-of) are made from
# the live one too, and an epoch they share with a later live snapshot would let a deep
# verdict cached under one structure answer under another.
_EPOCHS = itertools.count(1)
# How JSON encoders write a list of check requests {field, purpose, channel}: compact
# (orjson, JSON.stringify, Jackson, Go, httpx) and Python's json.dumps defaults, by the
# separator between two requests. A request's key is what lies between two separators: its
# three strings' JSON contents (no quotes) joined by the style's two middles. A style's keys
# are made only once a request in it has been seen (note_raw_style), so the flat dict holds
# one or two keys per decision, never more.
RAW_STYLES = {b'"},{"field":"': (b'","purpose":"', b'","channel":"'),
              b'"}, {"field": "': (b'", "purpose": "', b'", "channel": "')}
_raw_seen: list[tuple[bytes, bytes]] = []


def note_raw_style(separator: bytes) -> bool:
    """True when the style is new: decisions kept before lack its keys."""
    style = RAW_STYLES[separator]
    if style in _raw_seen:
        return False
    _raw_seen.append(style)
    return True


def raw_keys(field: str, purpose: str, channel: str) -> list[bytes]:
    """The request {field, purpose, channel} as each seen style writes it between two
    separators: exactly the bytes a piece of the request array holds (lean_raw.py)."""
    if not _raw_seen:
        return []
    f, p, c = orjson.dumps(field)[1:-1], orjson.dumps(purpose)[1:-1], orjson.dumps(channel)[1:-1]
    return [b"".join((f, to_purpose, p, to_channel, c)) for to_purpose, to_channel in _raw_seen]


@dataclass(slots=True, eq=False)
class _Node:
    """A field's derived state and its caches by cell: `verdicts` that depend on nothing but
    the field's record, derived state and the rules; `deep` verdicts that cite ancestors
    (UPSTREAM_NOT_PERMITTED paths), each with the structure epoch it was made at; `reasons`,
    the field's own step-3 failures as its descendants cite them."""

    derived: Derived
    verdicts: dict | None = None
    deep: dict | None = None
    reasons: dict | None = None


class CatalogIndex:
    def __init__(self, taxonomy: Taxonomy, rules: Iterable[PolicyRule] = (),
                 revision: int = 0) -> None:
        self.revision = revision
        self.fields: Layered[str, FieldRecord] = Layered()
        self.graph = LineageGraph()
        self._nodes: Layered[str, _Node] = Layered()
        self._cached = [0]  # verdicts cached, shared by the snapshots sharing nodes
        self._epoch = next(_EPOCHS)  # moves on with every change to a record or edge
        # This snapshot's decisions by (field, purpose, channel), for check_many: one C-level
        # lookup per request. Only the catalog's own triples go in (never an unknown name),
        # and it is emptied when full: bounded whatever callers send. The same decisions are
        # also kept under their requests' JSON bytes (raw_keys()), for check_many_raw().
        self._flat: dict[tuple | bytes, Decision] = {}
        self._set_taxonomy(taxonomy)
        self._set_rules(rules)

    @classmethod
    def build(cls, taxonomy: Taxonomy, rules: Iterable[PolicyRule],
              fields: Iterable[FieldRecord], edges: Iterable[Edge] = (),
              revision: int = 0, *,
              edge_rows: Iterable[tuple[str, str, str | None]] | None = None) -> CatalogIndex:
        """An index from scratch: plain dicts filled in one topological pass. Edges as Edge
        objects, or as (upstream, downstream, transform) rows (start-up)."""
        index = cls(taxonomy, rules, revision)
        records = {rec.name: rec for rec in fields}
        index.graph = (LineageGraph.build(records, edges) if edge_rows is None
                       else LineageGraph.build_rows(records, edge_rows))
        index.fields = Layered(records)
        index._nodes = Layered(index._derive_all(records))
        return index

    # -- configuration -----------------------------------------------------------------------
    def _set_taxonomy(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._cells = cells = Cells(taxonomy)
        self._purposes, self._channels, self._cell = cells.purposes, cells.channels, cells.bit
        self._cell_keys = {key: key for key in cells.bit}  # the taxonomy's own strings
        # Rule hits depend on sensitivities, which the taxonomy resolves: drop them too.
        self._rule_hits: dict[tuple, tuple[tuple[PolicyRule, ...], bool]] = {}

    def _set_rules(self, rules: Iterable[PolicyRule]) -> None:
        self.rules = tuple(sorted(rules, key=lambda r: r.key))
        self._asks_benefit = any(r.unstated_benefit is not None for r in self.rules)
        self._rule_hits = {}

    # -- reading -----------------------------------------------------------------------------
    def get(self, name: str) -> FieldRecord | None:
        return self.fields.get(name) if isinstance(name, str) else None

    def upstream(self, name: str) -> list[str]:
        return self.graph.parents(name)

    def downstream(self, name: str) -> list[str]:
        return self.graph.children(name)

    def _derived(self, name: str) -> Derived | None:
        node = self._nodes.get(name) if isinstance(name, str) else None
        return node.derived if node is not None else None

    def effective_categories(self, name: str) -> tuple[str, ...]:
        d = self._derived(name)
        return tuple(sorted(d.categories)) if d else ()

    def effective_sources(self, name: str) -> tuple[str, ...]:
        d = self._derived(name)
        return tuple(sorted(d.sources)) if d else ()

    def sensitivity(self, name: str) -> int:
        d = self._derived(name)
        return d.sensitivity if d else 0

    def lineage(self, root: str, direction: str = "UPSTREAM", depth: int = 10,
                max_nodes: int = 10_000, *, rows: bool = False) -> LineageResult:
        return self.graph.lineage(root, direction, depth, max_nodes, rows=rows)

    # -- deciding ----------------------------------------------------------------------------
    def check(self, field: str, purpose: str, channel: str) -> Decision:
        nodes = self._nodes
        node = nodes.over.get(field) or nodes.base.get(field)
        key = (purpose, channel)
        if node is not None:
            if node.verdicts is not None:
                hit = node.verdicts.get(key)
                if hit is not None:
                    if hit.revision != self.revision:  # still valid (same node): restamp it
                        hit = node.verdicts[key] = replace(hit, revision=self.revision)
                    return hit
            if node.deep is not None:
                kept = node.deep.get(key)
                if kept is not None and kept[0] == self._epoch:
                    hit = kept[1]
                    if hit.revision != self.revision:  # restamped once, not on every ask
                        hit = replace(hit, revision=self.revision)
                        node.deep[key] = (kept[0], hit)
                    return hit
        rec = self.fields.get(field) if isinstance(field, str) else None
        if rec is None or node is None or key not in self._cell:
            return self._unknown(rec, field, purpose, channel)
        decision = self._decide(rec, purpose, channel).at(field, purpose, channel,
                                                          self.revision)
        if self._cached[0] >= MAX_CACHED:  # bound memory under a random load on a huge catalog
            self._drop_caches()
        # unclassified-data names the lineage path to the field to classify in its message:
        # it depends on the graph's shape above the field as much as an upstream path does
        if any(r.path is not None or r.rule == UNCLASSIFIED_RULE for r in decision.reasons):
            if node.deep is None:
                node.deep = {}
            node.deep[key] = (self._epoch, decision)
        else:
            if node.verdicts is None:
                node.verdicts = {}
            node.verdicts[key] = decision
        self._cached[0] += 1
        return decision

    def check_many(self, requests: Iterable[tuple[str, str, str]]) -> list[Decision]:
        """check() for each request, in order. A batch of triples asked before from this
        snapshot is one lookup each in C (map over the flat dict); the rest go through check()
        and join the flat dict when they name the catalog's own field, purpose and channel."""
        if type(requests) is not list:
            requests = list(requests)
        flat = self._flat
        try:
            out = list(map(flat.get, requests))
        except TypeError:  # an unhashable request (a list): as tuples
            requests = [tuple(r) for r in requests]
            out = [None] * len(requests)
        if all(out):  # Decision objects are always true: this finds the misses in C
            return out
        check = self.check
        for i, d in enumerate(out):
            if d is None:
                f, p, c = requests[i]
                d = out[i] = check(f, p, c)
                if not (d.reasons and d.reasons[0].code in UNKNOWN):
                    if len(flat) >= MAX_FLAT:
                        flat.clear()
                    # Keyed by the catalog's own strings, not the caller's: ~100 bytes an
                    # entry, whatever the requests were made of.
                    purpose, channel = self._cell_keys[(p, c)]
                    name = self.fields[f].name
                    flat[(name, purpose, channel)] = d
                    for key in raw_keys(name, purpose, channel):
                        flat[key] = d
        return out

    def forget_flat(self) -> None:
        """Drop the decisions kept by request (a new raw style: they lack its keys, and
        check_many() adds keys only to what it decides anew)."""
        self._flat.clear()

    def check_many_raw(self, pieces: list[bytes]) -> list[Decision] | None:
        """check_many() for requests still as their JSON bytes (raw_keys()), or None unless
        every one was answered before from this snapshot (then check_many() answers)."""
        out = list(map(self._flat.get, pieces))
        return out if all(out) else None

    def allowed(self, field: str, purpose: str, channel: str) -> bool:
        """A check's `allowed` alone, without building its reasons (what-if compares up to a
        million cells and needs the full decision only where it flips)."""
        rec = self.fields.get(field) if isinstance(field, str) else None
        bit = self._cell.get((purpose, channel))
        d = self._derived(field)
        if rec is None or bit is None or d is None or rec.deprecated:
            return False
        return bool(d.own & d.up_ok & bit) and not self._rules_for(d, rec, purpose, channel)[0]

    def _drop_caches(self) -> None:
        for layer in (self._nodes.base, self._nodes.over):
            for node in layer.values():
                node.verdicts = node.deep = node.reasons = None
        self._cached[0] = 0
        self._flat.clear()

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
        d = self._derived(field) if rec is not None else None
        intensity = self.taxonomy.spectrum.of_decision(
            purpose, d.categories if d is not None else frozenset())
        return Decision(False, field, purpose, channel, tuple(reasons), (), cats, self.revision,
                        intensity)

    def _decide(self, rec: FieldRecord, purpose: str, channel: str) -> Verdict:
        name = rec.name
        nodes = self._nodes
        d = nodes[name].derived
        bit = self._cell[(purpose, channel)]
        reasons: list[Reason] = []
        if rec.deprecated:
            reasons.append(Reason(C.FIELD_DEPRECATED, f"field {name} is deprecated: use the "
                                  "field that replaces it"))
        if not d.own & bit:
            reasons.append(self._grant_reason(rec, purpose, channel))
        if not d.up_ok & bit:
            paths = self.graph.shortest_paths_up(
                name,
                failing=lambda a: not nodes[a].derived.own & bit,
                explore=lambda a: not nodes[a].derived.up_ok & bit,
            )
            for path in paths:
                inner = self._own_reason(path[-1], purpose, channel)
                reasons.append(Reason(
                    C.UPSTREAM_NOT_PERMITTED,
                    f"{name} is derived from {path[-1]} (via {' -> '.join(path)}), and "
                    f"{inner.message}", path=path))
        denied, consent = self._rules_for(d, rec, purpose, channel)
        for rule in denied:
            if rule.key == UNCLASSIFIED_RULE:  # its own message: which field to classify
                reasons.append(unclassified_reason(self, name, purpose, channel))
                continue
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
        node = self._nodes[name]
        if node.reasons is None:
            node.reasons = {}
        reason = node.reasons.get((purpose, channel))
        if reason is None:
            reason = node.reasons[(purpose, channel)] = self._grant_reason(
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

    def validate_new_edges(self, edges: list[Edge], pending: Mapping | None = None) -> None:
        """NOT_FOUND, BAD_INPUT or CONFLICT (cycle) for the first bad edge of the batch.
        Changes nothing: the candidate edges live in a private draft of the graph. pending:
        fields a write registers before its edges (not in the index yet)."""
        self.graph.validate_new_edges(edges, self.fields, pending or ())

    # -- changing ----------------------------------------------------------------------------
    def apply(self, *, fields: Iterable[FieldRecord] = (), add_edges: Iterable[Edge] = (),
              remove_edges: Iterable[tuple[str, str]] = (), taxonomy: Taxonomy | None = None,
              rules: Iterable[PolicyRule] | None = None,
              revision: int | None = None) -> CatalogIndex:
        """The next snapshot: this one with the changes applied and what they affect
        recomputed. This snapshot stays as it was. Edges must be valid (validate first);
        a cycle raises Conflict and yields nothing."""
        nxt = object.__new__(CatalogIndex)
        nxt.__dict__.update(self.__dict__)
        nxt._flat = {}  # its decisions carry this snapshot's revision
        if taxonomy is not None:
            nxt._set_taxonomy(taxonomy)
        if rules is not None:
            nxt._set_rules(rules)
        records = {rec.name: rec for rec in fields}
        add_edges, remove_edges = list(add_edges), list(remove_edges)
        nxt.fields = self.fields.evolve(records)
        nxt.graph = self.graph.evolve(nodes=records, add_edges=add_edges,
                                      remove_edges=remove_edges)
        if taxonomy is not None:  # sensitivities and cells may all change: derive all
            nxt._cached = [0]
            nxt._nodes = Layered(nxt._derive_all(nxt.fields))
        else:
            # A restamp (only the revision moved: an edge end) derives nothing new, and
            # recomputing it would walk its whole downstream cone on every write.
            over, base = self.fields.over, self.fields.base  # Layered.get inlined
            dirty = {name for name, rec in records.items()
                     if (before := over.get(name) or base.get(name)) is None
                     or not before.same_but_revision(rec)}
            dirty.update(d for _, d in remove_edges)
            dirty.update(e.downstream for e in add_edges)
            nxt._nodes = self._nodes.evolve(nxt._recompute(dirty))
            # Deep verdicts depend on the graph above their field. A write whose dirty fields
            # are all new (an ingested event's outputs, with their edges) changes nothing
            # above any field this snapshot has: their verdicts stay (checks while events
            # stream in would otherwise decide every unclassified field again).
            if any(name in base or name in over for name in dirty):
                nxt._epoch = next(_EPOCHS)
        if rules is not None and taxonomy is None:
            # Every verdict may change: fresh nodes (empty caches) for every field.
            nxt._cached = [0]
            nxt._nodes = Layered({name: _Node(node.derived) for name, node in
                                  nxt._nodes.items()})
        if revision is not None:
            nxt.revision = revision
        return nxt

    def private(self) -> CatalogIndex:
        """This snapshot with caches of its own (fresh nodes): a historical index answers
        from them, and fills none of the snapshots it was made from."""
        nxt = object.__new__(CatalogIndex)
        nxt.__dict__.update(self.__dict__)
        nxt._cached = [0]
        nxt._rule_hits = dict(self._rule_hits)
        nxt._nodes = Layered({name: _Node(node.derived) for name, node in self._nodes.items()})
        nxt._flat = {}  # the live snapshot's flat decisions must never take a historical one
        nxt._epoch = next(_EPOCHS)
        return nxt

    def _recompute(self, dirty: set[str]) -> dict[str, _Node]:
        """New nodes for the dirty fields and for the descendants whose derived state
        changes, in topological order; the walk stops wherever a field's state stays the
        same (its node, and the caches in it, stay shared)."""
        graph, old = self.graph, self._nodes
        position = graph.order.__getitem__
        heap = [(position(n), n) for n in dirty]
        heapq.heapify(heap)
        queued = set(dirty)
        out: dict[str, _Node] = {}
        # Layered lookups inlined: nodes and records are never falsy; parents may be {}
        old_over, old_base = old.over, old.base
        fields_over, fields_base = self.fields.over, self.fields.base
        up_over, up_base = graph.up.over, graph.up.base
        derive = self._cells.derive
        while heap:
            _, name = heapq.heappop(heap)
            before = old_over.get(name) or old_base.get(name)
            parents = up_over.get(name)
            if parents is None:
                parents = up_base.get(name, NONE)
            derived = derive(fields_over.get(name) or fields_base[name],
                             [(out.get(p) or old_over.get(p) or old_base[p]).derived
                              for p in parents])
            changed = before is None or before.derived != derived
            if changed or name in dirty:
                out[name] = _Node(derived)
            if changed:
                for child in graph.down.get(name, ()):
                    if child not in queued:
                        queued.add(child)
                        heapq.heappush(heap, (position(child), child))
        return out

    def _derive_all(self, fields) -> dict[str, _Node]:
        """Nodes for every field, in one topological pass over plain dicts."""
        out: dict[str, _Node] = {}
        graph, derive = self.graph, self._cells.derive
        records = fields if type(fields) is dict else fields.flat()
        up = graph.up.flat() if graph.up.over else graph.up.base
        order = graph.order.flat() if graph.order.over else graph.order.base
        up_get = up.get
        for name in sorted(records, key=order.__getitem__):
            parents = up_get(name)
            out[name] = _Node(derive(records[name], [out[p].derived for p in parents]
                                     if parents else ()))
        return out

    def _derive(self, name: str, derived_of) -> Derived:
        return self._cells.derive(self.fields[name],
                                  map(derived_of, self.graph.up.get(name, NONE)))
