"""A brute-force reference implementation of docs/semantics.md §3, written from
docs/semantics.md alone.

It shares nothing with catalog.domain but the plain records (FieldRecord, Grant): key
coverage, sensitivity inheritance, rule matching, governing grants, ancestors and paths are all
redone here, slowly and obviously. Rules are taken in their YAML form (key -> spec dict),
the taxonomy as the raw seed spec (categories with optional sensitivity, purposes, channels).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx

from catalog.domain.model import FieldRecord, Grant

# ReasonCode declaration order, copied from the contract's GraphQL enum.
CODES = ["UNKNOWN_FIELD", "UNKNOWN_PURPOSE", "UNKNOWN_CHANNEL", "FIELD_DEPRECATED",
         "PURPOSE_NOT_GRANTED", "CHANNEL_NOT_PERMITTED", "UPSTREAM_NOT_PERMITTED",
         "POLICY_DENIED"]


def key_covers(general: str, specific: str) -> bool:
    """§2: a key covers all keys below it (and itself). Segment-wise, not by string prefix."""
    g, s = general.split("."), specific.split(".")
    return len(g) <= len(s) and s[:len(g)] == g


@dataclass
class RefCatalog:
    categories: dict[str, int | None]   # raw: own sensitivity or None (inherit from parent)
    purposes: set[str]
    channels: set[str]
    rules: dict[str, dict]               # key -> {effect, min_sensitivity?, categories?, ...}
    fields: dict[str, FieldRecord]
    edges: set[tuple[str, str]]          # (upstream, downstream)
    _memo: dict = field(default_factory=dict, repr=False)

    # -- taxonomy -----------------------------------------------------------------------------
    def sensitivity_of(self, category: str) -> int:
        """§3: a sub-category inherits its parent's sensitivity unless listed."""
        key = category
        while True:
            own = self.categories.get(key)
            if own is not None:
                return own
            if "." not in key:
                raise AssertionError(f"category {category} has no sensitivity")
            key = key.rsplit(".", 1)[0]

    # -- graph ----------------------------------------------------------------------------------
    @cached_property
    def graph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        g.add_nodes_from(self.fields)
        g.add_edges_from(self.edges)
        return g

    @cached_property
    def reversed_graph(self) -> nx.DiGraph:
        return self.graph.reverse(copy=True)

    def ancestors(self, name: str) -> set[str]:
        if ("anc", name) not in self._memo:
            self._memo[("anc", name)] = nx.ancestors(self.graph, name)
        return self._memo[("anc", name)]

    def path_to(self, name: str, ancestor: str) -> tuple[str, ...]:
        """The shortest path [name, ..., ancestor] walking edges upstream; of several, the
        lexicographically smallest list. Every shortest path is enumerated and the min taken."""
        key = ("path", name, ancestor)
        if key not in self._memo:
            paths = [tuple(p) for p in
                     nx.all_shortest_paths(self.reversed_graph, name, ancestor)]
            assert all(len(q) == len(paths[0]) for q in paths)
            self._memo[key] = min(paths)
        return self._memo[key]

    # -- grants ---------------------------------------------------------------------------------
    @staticmethod
    def governing(rec: FieldRecord, purpose: str) -> Grant | None:
        """§5.3: of the grants whose purpose covers P, the most specific one."""
        covering = [g for g in rec.grants if key_covers(g.purpose, purpose)]
        if not covering:
            return None
        best = max(covering, key=lambda g: len(g.purpose.split(".")))
        # At most one grant per purpose key, and covering keys form a chain: no tie.
        assert sum(len(g.purpose.split(".")) == len(best.purpose.split("."))
                   for g in covering) == 1
        return best

    @staticmethod
    def grant_covers_channel(grant: Grant, channel: str) -> bool:
        return grant.channels is None or any(key_covers(c, channel) for c in grant.channels)

    def step3(self, name: str, purpose: str, channel: str) -> str | None:
        """None when the field's own grants permit (P, C), else the reason code."""
        grant = self.governing(self.fields[name], purpose)
        if grant is None:
            return "PURPOSE_NOT_GRANTED"
        if not self.grant_covers_channel(grant, channel):
            return "CHANNEL_NOT_PERMITTED"
        return None

    # -- rules ------------------------------------------------------------------------------------
    @staticmethod
    def rule_matches(spec: dict, categories: set[str], sources: set[str], sensitivity: int,
                     purpose: str, channel: str) -> bool:
        """§4: every stated criterion matches; a list criterion matches when any listed key
        covers a value of the field/request."""
        ms = spec.get("min_sensitivity")
        if ms is not None and not sensitivity >= ms:
            return False
        for crit, values in (("categories", categories), ("sources", sources),
                             ("purposes", {purpose}), ("channels", {channel})):
            listed = spec.get(crit)
            if listed is not None and not any(key_covers(k, v) for k in listed for v in values):
                return False
        return True

    # -- the decision -----------------------------------------------------------------------------
    def check(self, f: object, p: object, c: object) -> tuple:
        """(allowed, ((code, rule, path), ...), obligations, effective_categories)."""
        reasons: list[tuple[str, str | None, tuple[str, ...] | None]] = []
        known = isinstance(f, str) and f in self.fields
        if not known:
            reasons.append(("UNKNOWN_FIELD", None, None))
        if not (isinstance(p, str) and p in self.purposes):
            reasons.append(("UNKNOWN_PURPOSE", None, None))
        if not (isinstance(c, str) and c in self.channels):
            reasons.append(("UNKNOWN_CHANNEL", None, None))
        if reasons:
            cats = tuple(sorted(self.effective(f)[0])) if known else ()
            return (False, tuple(reasons), (), cats)

        rec = self.fields[f]
        if rec.deprecated:
            reasons.append(("FIELD_DEPRECATED", None, None))
        own = self.step3(f, p, c)
        if own is not None:
            reasons.append((own, None, None))
        for a in self.ancestors(f):
            if self.step3(a, p, c) is not None:
                reasons.append(("UPSTREAM_NOT_PERMITTED", None, self.path_to(f, a)))

        cats, sources = self.effective(f)
        sensitivity = max(self.sensitivity_of(k) for k in cats)
        consent = False
        for key in sorted(self.rules):
            spec = self.rules[key]
            if self.rule_matches(spec, cats, sources, sensitivity, p, c):
                if spec["effect"] == "DENY":
                    reasons.append(("POLICY_DENIED", key, None))
                elif spec["effect"] == "REQUIRE_CONSENT":
                    consent = True
                else:
                    raise AssertionError(spec)
        for name in {f, *self.ancestors(f)}:
            grant = self.governing(self.fields[name], p)
            if grant is not None and grant.requires_consent and \
                    self.grant_covers_channel(grant, c):
                consent = True

        reasons.sort(key=lambda r: (CODES.index(r[0]), r[1] or "", r[2] or ()))
        return (not reasons, tuple(reasons), ("CONSENT_REQUIRED",) if consent else (),
                tuple(sorted(cats)))

    def effective(self, f: str) -> tuple[set[str], set[str]]:
        """§5.5: F's category and source, with those of all its ancestors."""
        members = {f} | self.ancestors(f)
        return ({self.fields[x].category for x in members},
                {self.fields[x].source for x in members})
