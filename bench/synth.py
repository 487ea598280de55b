"""A synthetic catalog shaped like a real warehouse: raw sources feed staging, staging feeds
marts, marts feed ML features. Six levels (0 = source ... 5 = feature), so lineage is shallow
(at most 5 edges deep) and every derived field has 1-5 parents from lower levels, mostly the
level just below and mostly in its own domain (a team's corner of the warehouse), so upstream
closures stay realistic instead of covering the whole catalog.

Keys (categories, purposes, channels, sources) come from the default seeds (seeds/*.yaml), so
the default rules fire as they would in production. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import yaml

from catalog.domain.model import Edge, FieldRecord, Grant
from catalog.domain.rules import PolicyRule, rule_from_spec
from catalog.domain.taxonomy import Taxonomy

SEEDS = Path(__file__).resolve().parents[1] / "seeds"

# Share of fields per level; level 0 are sources (no parents).
LEVEL_SHARE = (0.20, 0.25, 0.15, 0.20, 0.12, 0.08)
LEVEL_PREFIX = ("raw", "staging", "staging", "marts", "marts", "features")
SYSTEMS = ("crm", "shop", "web", "app", "pos", "billing", "support", "ads", "loyalty", "hr")
DOMAIN_SIZE = 1_000  # fields per domain
CROSS_DOMAIN = 0.03  # share of parents drawn from another domain
WINDOW = 4  # parents lie within this many places of the field's own place
DEEP_WINDOW = 2_000  # deep shape: upstream among the 2,000 fields registered before
DEEP_SOURCES = 100  # deep shape: the first fields are sources
SOURCE_WEIGHTS = {"zero_party": 20, "first_party": 65, "third_party": 15}


def seed_taxonomy() -> Taxonomy:
    """The default taxonomy, parsed from seeds/taxonomy.yaml as `catalog init` loads it."""
    spec = yaml.safe_load((SEEDS / "taxonomy.yaml").read_text())
    return Taxonomy.build(
        categories={k: (v or {}).get("sensitivity") for k, v in spec["categories"].items()},
        purposes=list(spec["purposes"]),
        channels={k: v["privacy"] for k, v in spec["channels"].items()},
        sources=list(spec["sources"]),
        intensities={(kind, k): (v or {}).get("intensity")
                     for section, kind in (("purposes", "purpose"), ("categories", "category"))
                     for k, v in spec[section].items()},
    )


def seed_rules(taxonomy: Taxonomy) -> list[PolicyRule]:
    spec = yaml.safe_load((SEEDS / "rules.yaml").read_text())["rules"]
    return [rule_from_spec(key, value or {}, taxonomy) for key, value in spec.items()]


@dataclass
class SynthCatalog:
    fields: list[FieldRecord]
    edges: list[Edge]
    levels: list[int]  # level of fields[i]
    purposes: list[str]
    channels: list[str]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def at_level(self, *levels: int) -> list[str]:
        return [f.name for f, lv in zip(self.fields, self.levels, strict=True) if lv in levels]


def split_degrees(rng: random.Random, count: int, total: int) -> list[int]:
    """count in-degrees in 1..5 summing to total (clamped to what 1..5 allows)."""
    total = max(count, min(total, 5 * count))
    mean = total / count if count else 0
    # A triangular spread around the mean, then nudged until the sum is exact.
    degrees = [min(5, max(1, round(rng.triangular(1, 5, min(5, max(1, 3 * mean - 6))))))
               for _ in range(count)]
    diff = total - sum(degrees)
    while diff:
        i = rng.randrange(count)
        if diff > 0 and degrees[i] < 5:
            degrees[i] += 1
            diff -= 1
        elif diff < 0 and degrees[i] > 1:
            degrees[i] -= 1
            diff += 1
    return degrees


def generate(n_fields: int, n_edges: int, seed: int = 7,
             taxonomy: Taxonomy | None = None) -> SynthCatalog:
    rng = random.Random(seed)
    tax = taxonomy or seed_taxonomy()
    counts = [int(n_fields * s) for s in LEVEL_SHARE]
    counts[0] += n_fields - sum(counts)
    levels = [lv for lv, n in enumerate(counts) for _ in range(n)]
    n_domains = max(1, n_fields // DOMAIN_SIZE)
    domain = [i % n_domains for i in range(n_fields)]
    # pools[level][domain]: field indexes, in order; rank[i]: i's place in its pool.
    pools: list[list[list[int]]] = [[[] for _ in range(n_domains)] for _ in LEVEL_SHARE]
    rank = [0] * n_fields
    for i, (lv, dm) in enumerate(zip(levels, domain, strict=True)):
        rank[i] = len(pools[lv][dm])
        pools[lv][dm].append(i)

    names = []
    for i, (lv, dm) in enumerate(zip(levels, domain, strict=True)):
        system = SYSTEMS[dm % len(SYSTEMS)]
        prefix = f"{system}.raw_d{dm}" if lv == 0 else f"dwh.{LEVEL_PREFIX[lv]}.{system}_d{dm}"
        names.append(f"{prefix}.col_{i}")

    derived_idx = [i for i in range(n_fields) if levels[i] > 0]
    degrees = split_degrees(rng, len(derived_idx), n_edges) if derived_idx else []
    parents: list[list[int]] = [[] for _ in range(n_fields)]
    for i, degree in zip(derived_idx, degrees, strict=True):
        parents[i] = pick_parents(rng, i, degree, levels, domain, rank, pools, n_domains)

    return build(rng, tax, names, parents, levels, domain)


def build(rng: random.Random, tax: Taxonomy, names: list[str], parents: list[list[int]],
          levels: list[int], domain: list[int]) -> SynthCatalog:
    """Records and edges for fields with the given parents (indexes of earlier fields)."""
    categories = sorted(tax.categories)
    # Low-sensitivity data is the common case; special categories are rare.
    cat_weights = [{1: 6, 2: 10, 3: 4, 4: 1}[tax.categories[c]] for c in categories]
    purposes, channels = sorted(tax.purposes), sorted(tax.channels)
    n_fields = len(names)
    fields: list[FieldRecord] = []
    for i in range(n_fields):
        ps = [fields[p] for p in parents[i]]
        if not ps:
            category = rng.choices(categories, cat_weights)[0]
            source = rng.choices(list(SOURCE_WEIGHTS), list(SOURCE_WEIGHTS.values()))[0]
            grants = source_grants(rng, purposes, channels)
        else:
            # A derived field mostly keeps one parent's category, sometimes computes a new one.
            category = (rng.choice(ps).category if rng.random() < 0.8
                        else rng.choices(categories, cat_weights)[0])
            source = "derived"
            grants = derived_grants(rng, ps, purposes, channels)
        system = SYSTEMS[domain[i] % len(SYSTEMS)]
        fields.append(FieldRecord(
            name=names[i], category=category, source=source, owner=f"team-{domain[i]}",
            description=f"synthetic level-{levels[i]} field", source_system=system,
            grants=grants))
    edges = [Edge(names[p], names[i], "select" if rng.random() < 0.5 else None)
             for i in range(n_fields) for p in parents[i]]
    return SynthCatalog(fields, edges, levels, purposes, channels)


def generate_deep(n_fields: int, n_edges: int, seed: int = 7,
                  taxonomy: Taxonomy | None = None) -> SynthCatalog:
    """The deep warehouse shape of issue 8: fields in registration order, each derived from
    ~n_edges/n_fields fields registered shortly before it (upstream drawn from the DEEP_WINDOW
    fields before), so chains run as deep as the catalog is long and descendant sets are
    large. The first DEEP_SOURCES fields are sources."""
    rng = random.Random(seed)
    tax = taxonomy or seed_taxonomy()
    sources = min(n_fields, DEEP_SOURCES)
    derived = n_fields - sources
    degrees = split_degrees(rng, derived, n_edges) if derived else []
    parents: list[list[int]] = [[] for _ in range(sources)]
    for i, degree in zip(range(sources, n_fields), degrees, strict=True):
        low = max(0, i - DEEP_WINDOW)
        parents.append(sorted(rng.sample(range(low, i), min(degree, i - low))))
    domain = [i // DOMAIN_SIZE for i in range(n_fields)]
    levels = [0 if not parents[i] else min(5, 1 + i * 5 // n_fields) for i in range(n_fields)]
    names = [f"{SYSTEMS[domain[i] % len(SYSTEMS)]}.raw_d{domain[i]}.col_{i}" if not parents[i]
             else f"dwh.{LEVEL_PREFIX[levels[i]]}.t{domain[i]}.col_{i}" for i in range(n_fields)]
    return build(rng, tax, names, parents, levels, domain)


def pick_parents(rng: random.Random, i: int, degree: int, levels: list[int],
                 domain: list[int], rank: list[int], pools, n_domains: int) -> list[int]:
    """degree parents from lower levels: mostly the level just below, mostly in a window of
    neighbouring fields of the same domain (columns of the tables this one is built from), so
    siblings share ancestors as in a real warehouse."""
    lv, dm = levels[i], domain[i]
    chosen: set[int] = set()
    for _ in range(degree * 6):
        if len(chosen) == degree:
            break
        plv = lv - 1 if rng.random() < 0.7 else rng.randrange(lv)
        pdm = dm if rng.random() > CROSS_DOMAIN else rng.randrange(n_domains)
        pool = pools[plv][pdm]
        if not pool:
            continue
        own = pools[lv][dm]
        centre = rank[i] * len(pool) // max(1, len(own))
        j = centre + rng.randint(-WINDOW, WINDOW)
        chosen.add(pool[min(len(pool) - 1, max(0, j))])
    return sorted(chosen)


def source_grants(rng: random.Random, purposes: list[str],
                  channels: list[str]) -> tuple[Grant, ...]:
    """Sources: nearly all may serve the customer and feed analytics, plus 1-3 more grants,
    some top-level, some narrow; half for every channel; a tenth ask for consent."""
    tops = [p for p in purposes if "." not in p]
    picked: dict[str, Grant] = {}
    for common, share in (("service", 0.95), ("analytics", 0.85)):
        if common in purposes and rng.random() < share:
            picked[common] = Grant(common, None, False)
    for _ in range(rng.randint(1, 3)):
        picked_grant = random_grant(rng, tops, purposes, channels)
        picked[picked_grant.purpose] = picked_grant
    return tuple(sorted(picked.values(), key=lambda g: g.purpose))


def derived_grants(rng: random.Random, parents: list[FieldRecord], purposes: list[str],
                   channels: list[str]) -> tuple[Grant, ...]:
    """Stewards mostly grant a derived field what its parents allow (a grant of a purpose
    every parent has), and sometimes more than upstream permits (which the engine denies with
    UPSTREAM_NOT_PERMITTED)."""
    common = set.intersection(*({g.purpose for g in p.grants} for p in parents))
    first = {g.purpose: g for g in parents[0].grants}
    picked = {p: first[p] for p in sorted(common) if rng.random() < 0.85}
    if rng.random() < 0.2:
        extra = random_grant(rng, [p for p in purposes if "." not in p], purposes, channels)
        picked[extra.purpose] = extra
    return tuple(sorted(picked.values(), key=lambda g: g.purpose))


def random_grant(rng: random.Random, tops: list[str], purposes: list[str],
                 channels: list[str]) -> Grant:
    purpose = rng.choice(tops) if rng.random() < 0.6 else rng.choice(purposes)
    chans = None if rng.random() < 0.5 else tuple(sorted(rng.sample(channels,
                                                                    rng.randint(1, 5))))
    return Grant(purpose, chans, rng.random() < 0.1)


def random_requests(rng: random.Random, names: list[str], purposes: list[str],
                    channels: list[str], count: int, distinct: bool = True) -> list[tuple]:
    """count random (field, purpose, channel) requests; distinct ones if asked (and possible)."""
    space = len(names) * len(purposes) * len(channels)
    if not distinct or count > space // 2:
        return [(rng.choice(names), rng.choice(purposes), rng.choice(channels))
                for _ in range(count)]
    seen: set[tuple] = set()
    out = []
    while len(out) < count:
        req = (rng.choice(names), rng.choice(purposes), rng.choice(channels))
        if req not in seen:
            seen.add(req)
            out.append(req)
    return out


def grant_json(g: Grant) -> dict:
    return {"purpose": g.purpose, "channels": list(g.channels) if g.channels else None,
            "requiresConsent": g.requires_consent}


def field_input_json(f: FieldRecord) -> dict:
    """The GraphQL FieldInput for a record."""
    return {"name": f.name, "category": f.category, "source": f.source, "owner": f.owner,
            "description": f.description, "sourceSystem": f.source_system,
            "grants": [grant_json(g) for g in f.grants]}


def edge_input_json(e: Edge) -> dict:
    return {"upstream": e.upstream, "downstream": e.downstream, "transform": e.transform}
