"""Time (docs/semantics.md §9): the catalog as it stood at a revision, and the change feed.

The change log is the source of truth: the index at revision r is a fold of the log up to r
into a fresh CatalogIndex (the same class the current answers come from), built once and kept
in a small LRU per catalog. A historical index is never the current one, so it cannot leak
into current answers; and the answer for (field, purpose, channel, r) never changes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace

import orjson

from catalog.db import audit
from catalog.db.tables import utcnow
from catalog.domain.index import CatalogIndex
from catalog.domain.model import Edge, FieldRecord, Grant
from catalog.domain.rules import rule_from_spec
from catalog.errors import BadInput, Conflict
from catalog.services.auth import Principal, require
from catalog.services.core import Catalog, taxonomy_from_rows

CACHED_INDEXES = 4  # historical indexes kept per catalog (each as big as the catalog was)
MAX_CHANGES = 1_000


@dataclass(frozen=True)
class AsOf:
    """asOf on check and checkMany: exactly one of the two."""

    revision: int | None = None
    time: datetime | None = None


class Replay:
    """The catalog's state folded from change-log rows (taxonomy, rules, fields, edges)."""

    def __init__(self) -> None:
        self.taxonomy: dict[tuple[str, str], dict] = {}
        self.rules: dict[str, dict] = {}
        self.fields: dict[str, dict] = {}
        self.edges: dict[tuple[str, str], str | None] = {}
        self.touched: dict[str, int] = {}  # field -> revision of the last commit touching it

    def apply(self, revision: int, entity: str, action: str, field: str | None,
              other: str | None, before: str | None, after: str | None) -> None:
        value = orjson.loads(after) if after else None
        if entity == "field":
            self.fields[field] = value
            self.touched[field] = revision
        elif entity == "edge":
            if value is None:
                self.edges.pop((other, field), None)
            else:
                self.edges[(other, field)] = value.get("transform")
            self.touched[field] = self.touched[other] = revision
        elif entity == "rule":
            key = (value or orjson.loads(before))["key"]
            if value is None:
                self.rules.pop(key, None)
            else:
                self.rules[key] = value
        elif entity == "taxonomy" and value is not None:
            for entry in value.get("keys", [value]):  # a baseline holds many
                if "kind" in entry:  # an old {file, added} entry carries no keys
                    # An entry may omit the intensity (an edit that did not state it, or one
                    # older than docs/semantics.md §15): the key keeps the one it had.
                    key = (entry["kind"], entry["key"])
                    self.taxonomy[key] = {**self.taxonomy.get(key, {"intensity": None}),
                                          **entry}

    def index(self, revision: int) -> CatalogIndex:
        taxonomy = taxonomy_from_rows([SimpleNamespace(**e) for e in self.taxonomy.values()])
        rules = [rule_from_spec(k, {n: v for n, v in spec.items() if n != "key"})
                 for k, spec in self.rules.items()]
        fields = [_record(v, self.touched.get(n, 0)) for n, v in self.fields.items()]
        edges = [Edge(u, d, t) for (u, d), t in self.edges.items()]
        return CatalogIndex.build(taxonomy, rules, fields, edges, revision)


def _record(v: dict, revision: int) -> FieldRecord:
    grants = tuple(Grant(g["purpose"], tuple(g["channels"]) if g["channels"] is not None
                         else None, bool(g["requiresConsent"]), g.get("customerBenefit"))
                   for g in v["grants"])
    return FieldRecord(name=v["name"], category=v["category"], source=v["source"],
                       owner=v["owner"], description=v.get("description"),
                       source_system=v.get("sourceSystem"), deprecated=v["deprecated"],
                       grants=grants, revision=revision)


class AsOfIndexes:
    """A bounded LRU of historical indexes, keyed by revision."""

    def __init__(self, size: int = CACHED_INDEXES) -> None:
        self.size = size
        self._lock = threading.Lock()  # one build at a time: they are big
        self._indexes: OrderedDict[int, CatalogIndex] = OrderedDict()

    def get(self, cat: Catalog, revision: int) -> CatalogIndex:
        index = self._indexes.get(revision)
        if index is not None:
            return index
        with self._lock:
            index = self._indexes.get(revision)
            if index is None:
                index = build_index_at(cat, revision)
                self._indexes[revision] = index
                while len(self._indexes) > self.size:
                    self._indexes.popitem(last=False)
            else:
                self._indexes.move_to_end(revision)
            return index


def build_index_at(cat: Catalog, revision: int) -> CatalogIndex:
    replay = Replay()
    with cat.engine.connect() as conn:
        for row in audit.state_rows(conn=conn, upto=revision):
            replay.apply(*row)
    return replay.index(revision)


_CACHES_LOCK = threading.Lock()


def _indexes(cat: Catalog) -> AsOfIndexes:
    cache = getattr(cat, "_as_of_indexes", None)
    if cache is None:
        with _CACHES_LOCK:
            cache = getattr(cat, "_as_of_indexes", None)
            if cache is None:
                cache = cat._as_of_indexes = AsOfIndexes()  # type: ignore[attr-defined]
    return cache


def resolve(cat: Catalog, revision: object = None, time: object = None,
            at_least_revision: int | None = None) -> int:
    """The revision an asOf {revision} / {time} names, or the error that says what to fix."""
    if at_least_revision is not None:
        raise BadInput("asOf and atLeastRevision exclude each other: asOf answers from a "
                       "past revision, atLeastRevision from a recent one; pass one of them")
    if (revision is None) == (time is None):
        raise BadInput("asOf takes exactly one of revision and time")
    if revision is not None:
        if not isinstance(revision, int) or isinstance(revision, bool) or revision < 0:
            raise BadInput(f"asOf revision must be 0 or more, not {revision!r}")
        current = cat.index.revision
        if revision > current:
            current = _current(cat)
        if revision > current:
            raise Conflict(f"catalog at revision {current}, {revision} not reached: asOf "
                           "names a revision that has been committed")
        return revision
    if not isinstance(time, datetime):
        raise BadInput(f"asOf time must be a date and time (ISO 8601), not {time!r}")
    if time.tzinfo is None:
        time = time.replace(tzinfo=UTC)
    if time > utcnow():
        raise Conflict(f"asOf time {time.isoformat()} is in the future: ask about the past")
    with cat.engine.connect() as conn:
        return audit.revision_at(conn=conn, time=time)


def _current(cat: Catalog) -> int:
    """The current revision; asks the database only when this worker's index is behind."""
    cat.sync()
    return cat.index.revision


def index_at(cat: Catalog, revision: int) -> CatalogIndex:
    return _indexes(cat).get(cat, revision)


def changes(cat: Catalog, principal: Principal, after_revision: int = 0,
            first: int = 100) -> list[dict]:
    """Every committed change after a revision, oldest first; a page never splits a commit."""
    require(principal, "read")
    if not isinstance(first, int) or not 1 <= first <= MAX_CHANGES:
        raise BadInput(f"first must be 1 to {MAX_CHANGES:,}, not {first!r}")
    if not isinstance(after_revision, int) or after_revision < 0:
        raise BadInput(f"afterRevision must be 0 or more, not {after_revision!r}")
    with cat.engine.connect() as conn:
        rows = audit.changes_page(conn=conn, after_revision=after_revision, first=first)
    return [entry(r) for r in rows]


def entry(r) -> dict:
    return {"id": r.id, "revision": r.revision, "at": r.at, "actor": r.actor,
            "action": r.action, "entity": r.entity, "field": r.field, "other": r.other,
            "before": orjson.loads(r.before) if r.before else None,
            "after": orjson.loads(r.after) if r.after else None}
