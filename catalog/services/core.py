"""The catalog service core: owns the engine, the in-memory index, transactions and freshness.

Writes are serialized across processes by the catalog_state row, which each write transaction
updates first (PostgreSQL row lock; SQLite's writer lock). Inside that lock the index is first
brought up to the previous revision from the change log, so validation (cycles, existence)
sees every other process's commits. The index is updated only after the commit.

Freshness: a check with atLeastRevision r is answered only from an index at revision >= r; the
index catches up from the change log, waiting up to `revision_wait` seconds. Plain checks see
other processes' writes within `sync_interval` seconds (a background thread in the server; an
inline catch-up elsewhere).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection, Engine

from catalog.db import repo
from catalog.db.engine import is_sqlite, make_engine
from catalog.domain.index import CatalogIndex
from catalog.domain.model import Edge, FieldRecord
from catalog.domain.taxonomy import Taxonomy
from catalog.errors import Conflict
from catalog.services.auth import Authenticator
from catalog.settings import Settings, get_settings

log = logging.getLogger("catalog")


@dataclass
class Txn:
    """One write transaction: its connection, revision, and what it changed."""

    conn: Connection
    revision: int
    actor: str
    log: list[dict] = field(default_factory=list)
    fields: dict[str, FieldRecord] = field(default_factory=dict)
    add_edges: list[Edge] = field(default_factory=list)
    remove_edges: list[tuple[str, str]] = field(default_factory=list)
    rules_changed: bool = False
    taxonomy_changed: bool = False
    touched: set[str] = field(default_factory=set)  # fields whose revision moves (edges)
    ids: dict[str, int] = field(default_factory=dict)  # field ids this write has looked up
    # Ids of fields earlier commits of this process wrote or looked up (read only here).
    known_ids: Mapping[str, int] = field(default_factory=dict)


# Field ids never change (a field is never deleted), so a process keeps those its commits
# used: the sources a pipeline reads from are looked up once, not on every event. Bounded:
# emptied when full.
MAX_KNOWN_IDS = 100_000


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while an index is built (at start-up, or as of a past
    revision): it makes millions of objects and no cycles, and the collections its growth
    sets off were a third of start-up."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class Catalog:
    def __init__(self, engine: Engine | None = None, *, settings: Settings | None = None,
                 database_url: str | None = None) -> None:
        self.settings = settings or get_settings()
        self.engine = engine or make_engine(database_url or self.settings.database_url)
        self._lock = threading.RLock()
        self._synced_at = 0.0
        self._index: CatalogIndex | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.authenticator = Authenticator(self.engine, ttl=self.settings.token_cache_seconds)
        self.sync_errors = 0  # background syncs that failed (for /metrics)
        self.seen = None  # a deque when /metrics counts decisions (api/metrics.py)
        self._ids: dict[str, int] = {}  # field ids of committed fields (Txn.known_ids)

    # -- index ---------------------------------------------------------------------------
    @property
    def index(self) -> CatalogIndex:
        if self._index is None:
            self.reload()
        return self._index  # type: ignore[return-value]

    def reload(self) -> None:
        """Build the index from the database, from one consistent snapshot."""
        with self._lock, self._snapshot() as conn, collector_paused():
            revision = repo.current_revision(conn=conn)
            taxonomy = load_taxonomy(conn)
            rules = repo.load_rules(conn=conn)
            fields, edge_rows = repo.load_catalog(conn=conn)
            self._index = CatalogIndex.build(taxonomy, rules, fields, revision=revision,
                                             edge_rows=edge_rows)
            self._synced_at = time.monotonic()

    @contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        conn = self.engine.connect()
        if not is_sqlite(self.engine):
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        try:
            with conn.begin():
                yield conn
        finally:
            conn.close()

    def sync(self, *, block: bool = True, timeout: float = -1) -> None:
        """Bring the index up to the database's revision from the change log."""
        if not self._lock.acquire(blocking=block, timeout=timeout if block else -1):
            return
        try:
            if self._index is None:
                self.reload()
                return
            with self._snapshot() as conn:
                self._catch_up(conn, repo.current_revision(conn=conn))
            self._synced_at = time.monotonic()
        finally:
            self._lock.release()

    def _catch_up(self, conn: Connection, upto: int) -> None:
        index = self.index
        if index.revision >= upto:
            return
        rows = repo.changes_since(conn=conn, revision=index.revision, upto=upto)
        names: set[str] = set()
        pairs: set[tuple[str, str]] = set()
        rules = taxonomy = False
        for row in rows:
            if row.entity == "field":
                names.add(row.field)
            elif row.entity == "edge":
                pairs.add((row.other, row.field))
                names.update((row.other, row.field))  # their revision moved
            elif row.entity == "rule":
                rules = True
            elif row.entity == "taxonomy":
                taxonomy = True
        existing = repo.find_edges(conn=conn, pairs=sorted(pairs))
        self._index = index.apply(
            taxonomy=load_taxonomy(conn) if taxonomy else None,
            rules=repo.load_rules(conn=conn) if rules else None,
            fields=repo.load_fields(conn=conn, names=sorted(names)),
            add_edges=[existing[p] for p in sorted(existing)],
            remove_edges=[p for p in sorted(pairs) if p not in existing],
            revision=upto,
        )

    def fresh(self, at_least: int | None = None) -> None:
        """Make sure the index may answer: at >= at_least, or recent enough."""
        if at_least is None:
            if self._thread is None and \
                    time.monotonic() - self._synced_at > self.settings.sync_interval:
                self.sync(block=False)
            return
        if self.index.revision >= at_least:
            return
        deadline = time.monotonic() + self.settings.revision_wait
        while True:
            self.sync(block=True, timeout=max(0.01, deadline - time.monotonic()))
            if self.index.revision >= at_least:
                return
            if time.monotonic() >= deadline:
                raise Conflict(f"catalog at revision {self.index.revision}, {at_least} not "
                               f"reached within {self.settings.revision_wait:g} s: ask for a "
                               "revision a write has returned")
            time.sleep(0.05)

    def start_background_sync(self) -> None:
        """Pick up other processes' writes every sync_interval seconds, off the request path."""
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(self.settings.sync_interval):
                try:
                    self.sync(block=False)
                except Exception:  # keep syncing; the next round may reach the database
                    self.sync_errors += 1
                    log.exception("background sync failed")

        self._thread = threading.Thread(target=loop, name="catalog-sync", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.engine.dispose()

    # -- writing -------------------------------------------------------------------------
    @contextmanager
    def write(self, actor: str) -> Iterator[Txn]:
        """A write transaction. Commits only if the body recorded a change; then updates the
        index. A body that raises changes nothing."""
        with self._lock:
            if self._index is None:  # built before the transaction starts
                self.reload()
            conn = self.engine.connect()
            try:
                trans = conn.begin()
                try:
                    revision = repo.bump_revision(conn=conn)
                    self._catch_up(conn, revision - 1)
                    txn = Txn(conn, revision, actor, known_ids=self._ids)
                    yield txn
                    if not txn.log:
                        trans.rollback()
                        return
                    moved = txn.touched - set(txn.fields)  # edge ends: revision moves
                    repo.touch_fields(conn=conn, names=moved, revision=revision, ids=txn.ids)
                    repo.log_changes(conn=conn, revision=revision, actor=actor, rows=txn.log)
                    # Read what the index needs inside the transaction, before the commit.
                    rules = repo.load_rules(conn=conn) if txn.rules_changed else None
                    taxonomy = load_taxonomy(conn) if txn.taxonomy_changed else None
                    trans.commit()
                    self._remember_ids(txn.ids)
                except BaseException:
                    if trans.is_active:
                        trans.rollback()
                    raise
            finally:
                conn.close()
            try:
                index = self.index  # caught up inside the transaction
                restamped = [rec.at(revision)
                             for rec in map(index.get, sorted(moved)) if rec is not None]
                self._index = index.apply(taxonomy=taxonomy, rules=rules,
                            fields=[*txn.fields.values(), *restamped],
                            add_edges=txn.add_edges, remove_edges=txn.remove_edges,
                            revision=revision)
            except Exception:  # the commit stands; rebuild rather than serve a wrong index
                log.exception("index update failed after commit; rebuilding")
                self.reload()

    def _remember_ids(self, ids: dict[str, int]) -> None:
        """Keep the ids a committed write used (only committed rows: a rolled-back insert's
        id may be given to another name)."""
        if len(self._ids) + len(ids) > MAX_KNOWN_IDS:
            self._ids.clear()
        if len(ids) <= MAX_KNOWN_IDS:
            self._ids.update(ids)


def load_taxonomy(conn: Connection) -> Taxonomy:
    return taxonomy_from_rows(repo.load_taxonomy_rows(conn=conn))


def taxonomy_from_rows(rows) -> Taxonomy:
    """rows: objects with kind, key, sensitivity, privacy, description (table rows, or the
    change log's entries when an index is rebuilt at an old revision)."""
    by_kind: dict[str, dict] = {"category": {}, "purpose": {}, "channel": {}, "source": {}}
    descriptions = {}
    intensities = {}
    for r in rows:
        if r.intensity is not None:
            intensities[(r.kind, r.key)] = r.intensity
        by_kind[r.kind][r.key] = r.sensitivity if r.kind == "category" else r.privacy
        if r.description:
            descriptions[(r.kind, r.key)] = r.description
    return Taxonomy.build(categories=by_kind["category"], purposes=list(by_kind["purpose"]),
                          channels=by_kind["channel"], sources=list(by_kind["source"]),
                          descriptions=descriptions, intensities=intensities)
