"""Start-up reads the catalog in bulk (repo.load_catalog: plain rows from the driver's
cursor) and builds the index from (upstream, downstream, transform) rows. It must read what
the per-row loaders read, and build the index they build."""

from __future__ import annotations

import random

from catalog.db import repo
from catalog.domain.index import CatalogIndex
from catalog.domain.model import Edge, Grant
from catalog.services import auth, fields, lineage
from catalog.services.fields import FieldInput


def test_bulk_load_reads_what_the_row_loaders_read(demo_catalog):
    cat = demo_catalog
    rng = random.Random(4)
    names = [f"crm.bulk.f{i:03d}" for i in range(60)]
    fields.register_fields(cat, auth.SYSTEM, [FieldInput(
        name=n, category=rng.choice(["tracking.contact", "internal.preferences"]),
        source=rng.choice(["first_party", "third_party"]), owner=f"team-{i % 3}",
        description=rng.choice([None, "about it"]),
        grants=[Grant("service", rng.choice([None, ("email",), ("email", "web")]),
                      rng.random() < 0.3, rng.choice([None, "faster help"]))]
        if rng.random() < 0.8 else [])
        for i, n in enumerate(names)])
    fields.deprecate_field(cat, auth.SYSTEM, names[5])
    edges = {(names[rng.randrange(i)], names[i]) for i in range(1, 60) for _ in range(2)}
    lineage.add_lineages(cat, auth.SYSTEM, [Edge(u, d, rng.choice([None, "join", "agg"]))
                                            for u, d in sorted(edges)])
    with cat.engine.connect() as conn:
        records, rows = repo.load_catalog(conn=conn)
        rows = list(rows)
        assert records == repo.load_fields(conn=conn)
        assert sorted(rows, key=str) == sorted(((e.upstream, e.downstream, e.transform) for e in
                                                repo.load_edges(conn=conn)), key=str)
        revision = repo.current_revision(conn=conn)
        rules = repo.load_rules(conn=conn)
    tax = cat.index.taxonomy
    bulk = CatalogIndex.build(tax, rules, records, revision=revision, edge_rows=rows)
    plain = CatalogIndex.build(tax, rules, records, [Edge(*r) for r in rows], revision)
    cat.reload()
    every = sorted(bulk.fields)
    cells = [(p, c) for p in sorted(tax.purposes) for c in sorted(tax.channels)][::5]
    for index in (plain, cat.index):
        assert sorted(index.fields) == every
        assert sorted(index.graph.edges()) == sorted(bulk.graph.edges())
        assert index.graph.is_topological() and bulk.graph.is_topological()
        for name in every:
            assert index.fields[name] == bulk.fields[name]
            assert index._derived(name) == bulk._derived(name)
            assert index.check_many([(name, p, c) for p, c in cells]) == \
                bulk.check_many([(name, p, c) for p, c in cells])
