"""Migrations: upgrade, downgrade, upgrade again; models and migrations agree; init is
idempotent. On SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import catalog.db.tables  # noqa: F401  (registers the tables)
from catalog.db import repo
from catalog.services import setup

TABLES = {"api_token", "catalog_state", "change_log", "console_session", "decision_log",
          "field", "field_grant", "lineage_edge", "policy_rule", "taxonomy_entry"}


def tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def downgrade(cat, revision: str = "base") -> None:
    cfg = setup.alembic_config()
    with cat.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def schema_diff(engine: sa.Engine) -> list:
    """What alembic autogenerate would write, configured as migrations/env.py configures it."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "target_metadata": SQLModel.metadata, "compare_type": True,
            "render_as_batch": True})
        return compare_metadata(context, SQLModel.metadata)


def row_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in sorted(TABLES)}


def script_head() -> str:
    """The newest migration in migrations/versions (the chain grows as features land)."""
    return ScriptDirectory.from_config(setup.alembic_config()).get_current_head()


def alembic_head(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def newest() -> str:
    """The head of the migration chain (each issue adds its revision to it)."""
    return ScriptDirectory.from_config(setup.alembic_config()).get_current_head()


def test_upgrade_downgrade_upgrade(bare_catalog):
    engine = bare_catalog.engine
    assert tables(engine) == set()

    setup.migrate(bare_catalog)
    assert tables(engine) == TABLES | {"alembic_version"}
    assert alembic_head(engine) == script_head()

    downgrade(bare_catalog)
    assert tables(engine) == {"alembic_version"}
    assert alembic_head(engine) is None

    setup.migrate(bare_catalog)
    assert tables(engine) == TABLES | {"alembic_version"}
    assert alembic_head(engine) == script_head()
    assert schema_diff(engine) == []


def test_models_and_migrations_agree(bare_catalog):
    setup.migrate(bare_catalog)
    assert schema_diff(bare_catalog.engine) == []


def test_migrate_creates_the_revision_row_once(bare_catalog):
    setup.migrate(bare_catalog)
    setup.migrate(bare_catalog)
    with bare_catalog.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT id, revision FROM catalog_state")).all() == [(1, 0)]
        assert repo.current_revision(conn=conn) == 0


def test_init_loads_the_defaults_then_changes_nothing(bare_catalog):
    added = setup.init(bare_catalog)
    assert added["taxonomy"] > 0 and added["rules"] == 8
    engine = bare_catalog.engine
    counts = row_counts(engine)
    revision = bare_catalog.index.revision
    assert revision == 1  # one commit for the taxonomy and the rules
    with engine.connect() as conn:
        assert repo.current_revision(conn=conn) == revision

    assert setup.init(bare_catalog) == {"taxonomy": 0, "rules": 0}
    assert row_counts(engine) == counts
    with engine.connect() as conn:
        assert repo.current_revision(conn=conn) == revision
    assert bare_catalog.index.revision == revision


def test_init_keeps_rules_a_reviewer_changed(catalog, reviewer):
    from catalog.services import policy

    policy.upsert_rule(catalog, reviewer, "breaking-bonds",
                       {"effect": "DENY", "purposes": ["sharing.sale"]})
    revision = catalog.index.revision
    assert setup.init(catalog) == {"taxonomy": 0, "rules": 0}
    rules = {r.key: r for r in catalog.index.rules}
    assert rules["breaking-bonds"].effect == "DENY"
    assert rules["breaking-bonds"].purposes == ("sharing.sale",)
    assert catalog.index.revision == revision
