"""`catalog init`: create or migrate the schema, load the default taxonomy and rules."""

from __future__ import annotations

import typer
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from catalog.cli.app import app
from catalog.cli.common import (
    DEFAULT_URL,
    DatabaseUrl,
    guarded,
    no_new_file_on_failure,
    open_catalog,
    shown_url,
)
from catalog.services import setup
from catalog.services.core import Catalog


@app.command()
@guarded
def init(database_url: DatabaseUrl = DEFAULT_URL) -> None:
    """Create or migrate the schema; load the default taxonomy and rules.

    Migrates the schema to the newest version (alembic) and adds the default taxonomy keys and
    policy rules (seeds/) the database lacks. Idempotent: running it again changes nothing."""
    with no_new_file_on_failure(database_url), open_catalog(database_url, create=True) as cat:
        lines = initialize(cat, database_url)
    for line in lines:
        typer.echo(line)


def initialize(cat: Catalog, database_url: str) -> list[str]:
    """Run init on cat; the lines that say what it did."""
    before = schema_revision(cat)
    added = setup.init(cat)
    head = ScriptDirectory.from_config(setup.alembic_config()).get_current_head()
    if before is None:
        schema = f"created at version {head} (newest)"
    elif before != head:
        schema = f"migrated from version {before} to {head} (newest)"
    else:
        schema = f"already at version {head} (newest)"
    return [
        f"database: {shown_url(database_url)}",
        f"schema: {schema}",
        "default taxonomy: " + (f"{added['taxonomy']} keys added" if added["taxonomy"]
                                else "already up to date"),
        "default rules: " + (f"{added['rules']} rules added" if added["rules"]
                             else "already up to date"),
        *([f"default intensities: given to {added['intensities']} existing taxonomy keys"]
          if added.get("intensities") else []),
        f"catalog revision: {cat.index.revision}",
    ]


def schema_revision(cat: Catalog) -> str | None:
    """The alembic version the database is at; None when it has no schema yet."""
    with cat.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
