"""Hypothesis strategies for random catalogs: small DAGs of fields with random categories,
sources, deprecation and grants (hierarchical purposes, channel lists, consent), plus random
extra policy rules. Names are drawn so that lexicographic and topological order are unrelated
and equal-length paths tie often."""

from __future__ import annotations

from dataclasses import dataclass

from engine_helpers import (
    RULES_SPEC,
    TOP_PURPOSES,
    extended_spec,
    raw_sensitivities,
    seed_rules,
    taxonomy_from_spec,
)
from engine_reference import RefCatalog
from hypothesis import strategies as st

from catalog.domain.index import CatalogIndex
from catalog.domain.model import Edge, FieldRecord, Grant
from catalog.domain.taxonomy import Taxonomy

SPEC = extended_spec()
TAXONOMY: Taxonomy = taxonomy_from_spec(SPEC)
CATEGORIES = sorted(SPEC["categories"])
PURPOSES = sorted(SPEC["purposes"])
CHANNELS = sorted(SPEC["channels"])
SOURCES = sorted(SPEC["sources"])
# Short labels with shared prefixes, upper case (sorts before lower case), digits, '-', '_'
# and an extra dot (a 4-segment name): "db.t.a" < "db.t.a.b" < "db.t.a1" < "db.t.aa" ...
LABELS = ["a", "b", "c", "d", "e", "f", "g", "h", "B", "Z", "a1", "aa", "a-b", "a_b", "a.b",
          "0", "9x"]
CELLS = [(p, c) for p in PURPOSES for c in CHANNELS]
PROBES = [("", "marketing", "email"), ("db.t.zzz", "service", "web"),
          ("db.t.a", "", "web"), ("db.t.a", "marketing", ""),
          ("db.t.a", "marketing.direct.x", "web.mobile.x"), ("", "", "")]


def name_of(label: str) -> str:
    return f"db.t.{label}"


@dataclass
class World:
    rules: dict[str, dict]
    fields: dict[str, FieldRecord]
    edges: dict[tuple[str, str], str | None]

    def index(self, revision: int = 1) -> CatalogIndex:
        return CatalogIndex.build(TAXONOMY, seed_rules(TAXONOMY, self.rules),
                                  list(self.fields.values()),
                                  [Edge(u, d, t) for (u, d), t in self.edges.items()],
                                  revision=revision)

    def reference(self) -> RefCatalog:
        return RefCatalog(categories=raw_sensitivities(SPEC), purposes=set(PURPOSES),
                          channels=set(CHANNELS), rules=self.rules, fields=dict(self.fields),
                          edges=set(self.edges))


channel_lists = st.one_of(st.none(),
                          st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=3,
                                   unique=True).map(tuple))
consents = st.sampled_from([False, False, False, True])


@st.composite
def grant_sets(draw) -> tuple[Grant, ...]:
    grants: dict[str, Grant] = {}
    if draw(st.sampled_from([True, True, False])):
        # Every top purpose on every channel; overrides below narrow or widen it.
        grants = {p: Grant(p, None, draw(consents)) for p in TOP_PURPOSES}
    extra = draw(st.dictionaries(st.sampled_from(PURPOSES), st.tuples(channel_lists, consents),
                                 max_size=3))
    for p, (chs, consent) in extra.items():
        grants[p] = Grant(p, chs, consent)
    return tuple(grants[p] for p in sorted(grants))


@st.composite
def field_records(draw, name: str) -> FieldRecord:
    return FieldRecord(
        name=name,
        category=draw(st.sampled_from(CATEGORIES)),
        source=draw(st.sampled_from(SOURCES)),
        owner="team",
        deprecated=draw(st.sampled_from([False, False, False, False, True])),
        grants=draw(grant_sets()),
    )


def key_lists(keys: list[str]):
    return st.one_of(st.none(), st.lists(st.sampled_from(keys), min_size=1, max_size=2,
                                         unique=True))


@st.composite
def rule_specs(draw) -> dict:
    spec = {"effect": draw(st.sampled_from(["DENY", "REQUIRE_CONSENT"]))}
    ms = draw(st.one_of(st.none(), st.integers(1, 4)))
    if ms is not None:
        spec["min_sensitivity"] = ms
    for crit, keys in (("categories", CATEGORIES), ("sources", SOURCES),
                       ("purposes", PURPOSES), ("channels", CHANNELS)):
        listed = draw(key_lists(keys))
        if listed is not None:
            spec[crit] = listed
    return spec


@st.composite
def extra_rules(draw, max_size: int = 2) -> dict[str, dict]:
    specs = draw(st.lists(rule_specs(), max_size=max_size))
    prefixes = draw(st.lists(st.sampled_from(["a", "c", "e", "h", "s", "z"]),
                             min_size=len(specs), max_size=len(specs)))
    pairs = zip(prefixes, specs, strict=True)
    return {f"{pre}-extra-{i}": spec for i, (pre, spec) in enumerate(pairs)}


@st.composite
def dags(draw, min_nodes: int = 1, max_nodes: int = 10) -> tuple[list[str], list[tuple]]:
    """Names in a random topological order and edges from earlier to later ones."""
    labels = draw(st.lists(st.sampled_from(LABELS), min_size=min_nodes, max_size=max_nodes,
                           unique=True))
    names = [name_of(x) for x in labels]
    edges = []
    for j in range(len(names)):
        for i in range(j):
            if draw(st.sampled_from([False, False, True])):
                edges.append((names[i], names[j]))
    return names, edges


@st.composite
def worlds(draw, max_nodes: int = 10, with_extra_rules: bool = True) -> World:
    names, edges = draw(dags(max_nodes=max_nodes))
    fields = {n: draw(field_records(n)) for n in names}
    rules = dict(RULES_SPEC)
    if with_extra_rules:
        rules.update(draw(extra_rules()))
    transforms = st.sampled_from([None, "copy", "hash"])
    return World(rules=rules, fields=fields, edges={e: draw(transforms) for e in edges})
