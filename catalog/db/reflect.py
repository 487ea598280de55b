"""Read the tables and columns of another database (SQLAlchemy reflection), for
`catalog ingest schema`. Works wherever SQLAlchemy's inspector does (PostgreSQL and SQLite
here: the drivers the catalog installs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from catalog.db.engine import normalize_url
from catalog.errors import BadInput


@dataclass(frozen=True, slots=True)
class Column:
    table: str
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class Reflected:
    database: str  # the database's name (PostgreSQL) or the file's stem (SQLite)
    schema: str
    columns: tuple[Column, ...]  # by table, then in the table's column order


def shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "the given URL"


def reflect(url: str, schema: str | None = None) -> Reflected:
    target = normalize_url(url)
    parsed = make_url(target)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).exists():
        raise BadInput(f"no database file at {shown(url)}")
    engine = sa.create_engine(target)
    try:
        inspector = sa.inspect(engine)
        name = schema or inspector.default_schema_name or "main"
        if name not in inspector.get_schema_names():
            raise BadInput(f"schema {name!r} is not in {shown(url)}: it has "
                           + ", ".join(inspector.get_schema_names()))
        columns = [Column(table, c["name"], str(c["type"]))
                   for table in sorted(inspector.get_table_names(schema=name))
                   for c in inspector.get_columns(table, schema=name)]
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        raise BadInput(f"cannot read the schema of {shown(url)}: {first}") from None
    finally:
        engine.dispose()
    database = Path(parsed.database).stem if parsed.get_backend_name() == "sqlite" \
        else (parsed.database or "")
    return Reflected(database, name, tuple(columns))
