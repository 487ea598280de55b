"""Engines for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import sqlite3
import time

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError

from catalog.errors import BadInput


def normalize_url(url: str) -> str:
    """Accept postgres:// and postgresql:// too, and use psycopg 3 for them."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise BadInput(f"malformed database URL {url!r}: use sqlite:///path/to/catalog.db or "
                       "postgresql+psycopg://user@host:5432/dbname") from None
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise BadInput(f"unsupported database {parsed.drivername!r}: use sqlite:/// or "
                       "postgresql+psycopg://")
    return parsed.render_as_string(hide_password=False)


WAL_CHECKPOINT_PAGES = 10_000  # SQLite's default is 1,000 pages (4 KB each)

# Execution option: on SQLite, begin the connection's transactions with BEGIN IMMEDIATE.
SQLITE_IMMEDIATE = "catalog_sqlite_immediate"


def make_engine(url: str, **kwargs) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                                  **kwargs)
        _sqlite_setup(engine)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True, **kwargs)
    return engine


def _sqlite_setup(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT and rollback of
    # outer transactions; SQLAlchemy's documented workaround: turn it off, emit BEGIN ourselves.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            _use_wal(cur)
            cur.execute("PRAGMA synchronous=NORMAL")
            # Checkpoint (copy the WAL into the file, with an fsync) every ~40 MB of WAL, not
            # every 4 MB: a commit that crosses the line waits for it, and fewer, larger
            # checkpoints write each hot page (indexes, the state row) once for many commits.
            cur.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # A transaction that reads before it writes (a schema migration) must hold the writer's
        # lock from the start: BEGIN IMMEDIATE waits for it (busy_timeout), where a deferred
        # one would fail at its first write with "database is locked" if another wrote meanwhile.
        immediate = conn.get_execution_options().get(SQLITE_IMMEDIATE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _use_wal(cur, attempts: int = 300) -> None:
    """Switch the file to WAL (once per file; it sticks). The switch needs a moment alone
    with the file and does not wait on the busy timeout, so two processes opening a new
    database at once retry it."""
    for _ in range(attempts):
        try:
            if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            time.sleep(0.1)
    cur.execute("PRAGMA journal_mode=WAL")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
