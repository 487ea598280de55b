"""Migration 0003_audit on a catalog whose taxonomy loads were logged as {file, added: n}: it
records a baseline, so as-of rebuilds the taxonomy at old revisions. SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import orjson
import sqlalchemy as sa
from test_migrations import downgrade

from catalog.db.tables import ChangeRow
from catalog.services import setup, taxonomy, timeline

L = ChangeRow.__table__


def make_legacy(cat) -> None:
    """Turn the change log into what the code before 0003 wrote for `catalog init`."""
    with cat.engine.begin() as conn:
        first = conn.execute(sa.select(L).where(L.c.action == "add_taxonomy_key")
                             .order_by(L.c.id).limit(1)).one()
        added = conn.execute(L.delete().where(L.c.action == "add_taxonomy_key")).rowcount
        conn.execute(L.insert().values(
            revision=first.revision, at=first.at, actor=first.actor, action="load_taxonomy",
            entity="taxonomy", after=orjson.dumps({"file": "taxonomy.yaml",
                                                   "added": added}).decode()))


def test_as_of_rebuilds_the_taxonomy_of_a_legacy_catalog(catalog, admin):
    kept = {catalog.index.revision: catalog.index.taxonomy}
    taxonomy.upsert_key(catalog, admin, kind="category", key="internal", sensitivity=4)
    kept[catalog.index.revision] = catalog.index.taxonomy
    taxonomy.upsert_key(catalog, admin, kind="purpose", key="marketing.postcards")
    kept[catalog.index.revision] = catalog.index.taxonomy
    downgrade(catalog, "0001")
    make_legacy(catalog)
    setup.migrate(catalog)
    with catalog.engine.connect() as conn:
        [baseline] = conn.execute(sa.select(L).where(L.c.action == "taxonomy_baseline")).all()
    assert baseline.revision == 1
    for revision, expected in kept.items():
        got = timeline.build_index_at(catalog, revision).taxonomy
        # A catalog from before 0003 has no intensities either (0004 adds them, and init
        # then fills them in a later commit): compare what such a catalog had.
        assert replace(got, intensities={}) == replace(expected, intensities={}), revision
    first = min(kept)  # init's one commit, before the two upserts
    assert timeline.build_index_at(catalog, first).taxonomy.categories["internal"] == 2
    assert "marketing.postcards" not in \
        timeline.build_index_at(catalog, first + 1).taxonomy.purposes
    downgrade(catalog, "0001")  # and back: the baseline goes with the revision
    with catalog.engine.connect() as conn:
        assert conn.execute(sa.select(L).where(L.c.action == "taxonomy_baseline")).all() == []
