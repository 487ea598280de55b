"""Alembic environment. The URL comes from the caller (catalog.db.migrate passes it in the
config's attributes as a connection), from -x url=..., or from CATALOG_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import catalog.db.tables  # noqa: F401  (registers the tables on the metadata)
from catalog.db.engine import make_engine
from catalog.settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode rebuilds tables
        compare_type=True,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against a database")
run_migrations_online()
