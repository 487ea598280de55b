"""Helpers shared by the decision-engine unit tests: the seed taxonomy and rules parsed straight
from seeds/*.yaml, small record builders and decision summaries."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path

import yaml

from catalog.domain.decision import Decision
from catalog.domain.index import CatalogIndex
from catalog.domain.model import Edge, FieldRecord, Grant
from catalog.domain.rules import PolicyRule, rule_from_spec
from catalog.domain.taxonomy import Taxonomy

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
TAXONOMY_SPEC: dict = yaml.safe_load((SEEDS / "taxonomy.yaml").read_text())
RULES_SPEC: dict = yaml.safe_load((SEEDS / "rules.yaml").read_text())["rules"]

RULE_KEYS = (
    "boudoir-topics",
    "sensitive-data-private-channels",
    "digging-too-deep",
    "digging-too-deep-cross-site",
    "helicoptering",
    "surveillance-pricing",
    "breaking-bonds",
    "unclassified-data",  # docs/semantics.md §11
)
TOP_PURPOSES = ("analytics", "marketing", "personalization", "pricing", "service", "sharing")
CONSENT = "CONSENT_REQUIRED"


def raw_sensitivities(spec: dict) -> dict[str, int | None]:
    return {k: (v or {}).get("sensitivity") for k, v in spec["categories"].items()}


def taxonomy_from_spec(spec: dict) -> Taxonomy:
    return Taxonomy.build(
        categories=raw_sensitivities(spec),
        purposes=list(spec["purposes"]),
        channels={k: v["privacy"] for k, v in spec["channels"].items()},
        sources=list(spec["sources"]),
        intensities={(kind, k): (v or {}).get("intensity")
                     for section, kind in (("purposes", "purpose"), ("categories", "category"))
                     for k, v in spec[section].items()},
    )


def extended_spec() -> dict:
    """The seed taxonomy plus deeper purpose and channel keys, so hierarchy matters on both,
    and keys that extend another key's string without being below it (web / webshop), so
    coverage by string prefix would show."""
    spec = copy.deepcopy(TAXONOMY_SPEC)
    spec["purposes"]["marketing.direct.newsletter"] = {}
    spec["purposes"]["marketing.directory"] = {}
    spec["channels"]["web.mobile"] = {"privacy": "private"}
    spec["channels"]["web.mobile.app"] = {"privacy": "private"}
    spec["channels"]["webshop"] = {"privacy": "public"}
    spec["categories"]["internal.preferences.sizes"] = {}
    spec["categories"]["tracking.devices"] = {"sensitivity": 1}
    spec["categories"]["financial.payments_history"] = {"sensitivity": 2}
    return spec


def seed_taxonomy() -> Taxonomy:
    return taxonomy_from_spec(TAXONOMY_SPEC)


def seed_rules(taxonomy: Taxonomy, specs: dict | None = None) -> list[PolicyRule]:
    specs = RULES_SPEC if specs is None else specs
    return [rule_from_spec(key, spec, taxonomy) for key, spec in specs.items()]


def G(purpose: str, channels: Iterable[str] | None = None, consent: bool = False) -> Grant:
    """A grant; channels None means 'no channel list' (every channel)."""
    return Grant(purpose, None if channels is None else tuple(channels), consent)


ALL_GRANTS = tuple(G(p) for p in TOP_PURPOSES)


def F(name: str, category: str = "internal.preferences", source: str = "first_party",
      grants: Iterable[Grant] = ALL_GRANTS, deprecated: bool = False,
      owner: str = "team-test") -> FieldRecord:
    """A field record; by default low sensitivity, first party, every purpose granted."""
    return FieldRecord(name=name, category=category, source=source, owner=owner,
                       deprecated=deprecated,
                       grants=tuple(sorted(grants, key=lambda g: g.purpose)))


def E(upstream: str, downstream: str, transform: str | None = None) -> Edge:
    return Edge(upstream, downstream, transform)


def build(taxonomy: Taxonomy, rules: Iterable[PolicyRule], fields: Iterable[FieldRecord],
          edges: Iterable[Edge] = (), revision: int = 1) -> CatalogIndex:
    edges = list(edges)
    index = CatalogIndex.build(taxonomy, rules, list(fields), [], revision=revision)
    if edges:
        index.validate_new_edges(edges)
        index = index.apply(add_edges=edges, revision=revision)
    return index


def reasons(d: Decision) -> list[tuple]:
    """(code, rule, path) of every reason, in the order given."""
    return [(r.code.value, r.rule, r.path) for r in d.reasons]


def codes(d: Decision) -> list[str]:
    return [r.code.value for r in d.reasons]


def sig(d: Decision) -> tuple:
    """Everything a decision says except its messages and revision."""
    return (d.allowed, tuple(reasons(d)), d.obligations, d.effective_categories)
