"""Time (docs/semantics.md §9): the catalog as it stood at a revision, and the change feed.

The change log is the source of truth: the index at revision r is the log up to r. It is made
from the nearest snapshot a worker holds (the live index, or a historical one it built)
moved forward or back along the log when few changes lie between, else folded from the start
into a fresh CatalogIndex (the same class the current answers come from); either way it is
built once and kept in a small LRU per catalog. A historical index is never the current one
and has caches of its own, so it cannot leak into current answers; and the answer for
(field, purpose, channel, r) never changes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import SimpleNamespace

import orjson

from catalog.db import audit
from catalog.db.tables import utcnow
from catalog.domain.index import CatalogIndex
from catalog.domain.model import Edge, FieldRecord, Grant
from catalog.domain.rules import PolicyRule, rule_from_spec
from catalog.domain.taxonomy import Taxonomy
from catalog.errors import BadInput, Conflict
from catalog.services.auth import Principal, require
from catalog.services.core import Catalog, collector_paused, taxonomy_from_rows

CACHED_INDEXES = 4  # historical indexes kept per catalog (each as big as the catalog was)
# Continue from a snapshot when the rows between are at most 1/DELTA_SHARE of what a fold
# from the start reads (applying a change costs more per row than folding it).
DELTA_SHARE = 4
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
        self.fields: dict[str, str] = {}  # name -> its last `after` (JSON, parsed at the end)
        self.edges: dict[tuple[str, str], str | None] = {}
        self.touched: dict[str, int] = {}  # field -> revision of the last commit touching it

    def fold(self, rows) -> None:
        """Rows (revision, entity, action, field, other, before, after) in commit order. Only
        the last state of a field counts, so its JSON is parsed once, at the end."""
        fields, edges, touched = self.fields, self.edges, self.touched
        for revision, entity, _action, field, other, before, after in rows:
            if entity == "edge":
                if after is None:
                    edges.pop((other, field), None)
                else:
                    edges[(other, field)] = _transform(after)
                touched[field] = touched[other] = revision
            elif entity == "field":
                fields[field] = after
                touched[field] = revision
            else:
                self.configure(entity, before, after)

    def configure(self, entity: str, before: str | None, after: str | None) -> None:
        """A rule or taxonomy row (few: parsed as they come)."""
        value = orjson.loads(after) if after else None
        if entity == "rule":
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

    def taxonomy_index(self) -> Taxonomy:
        return taxonomy_from_rows([SimpleNamespace(**e) for e in self.taxonomy.values()])

    def rule_list(self) -> list[PolicyRule]:
        return [rule_from_spec(k, {n: v for n, v in spec.items() if n != "key"})
                for k, spec in self.rules.items()]

    def index(self, revision: int) -> CatalogIndex:
        touched = self.touched
        fields = [_record(orjson.loads(v), touched.get(n, 0)) for n, v in self.fields.items()]
        edges = [Edge(u, d, t) for (u, d), t in self.edges.items()]
        return CatalogIndex.build(self.taxonomy_index(), self.rule_list(), fields, edges,
                                  revision)


_HEAD = '{"downstream":"'
_NO_TRANSFORM = '","transform":null,'


def _transform(after: str) -> str | None:
    """An edge entry's transform. Most edges have none: those are not parsed. Entries are
    written with sorted keys, and a field name holds no quote, so the first quote after the
    head closes the downstream name and what follows it is the transform's key."""
    if after.startswith(_HEAD):
        end = after.find('"', len(_HEAD))
        if after.startswith(_NO_TRANSFORM, end):
            return None
    return orjson.loads(after).get("transform")


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
                index = build_index_at(cat, revision, [*self._indexes.values(), cat.index])
                self._indexes[revision] = index
                while len(self._indexes) > self.size:
                    self._indexes.popitem(last=False)
            else:
                self._indexes.move_to_end(revision)
            return index


def build_index_at(cat: Catalog, revision: int,
                   bases: Sequence[CatalogIndex] = ()) -> CatalogIndex:
    """The catalog at a revision: continued from the nearest of `bases` (snapshots of this
    catalog: the live one, cached historical ones) when the change-log rows between the two
    are clearly fewer than a fold from the start would read; else folded from the start."""
    with collector_paused(), cat.engine.connect() as conn:
        if bases:
            base = min(bases, key=lambda b: abs(b.revision - revision))
            lo, hi = sorted((base.revision, revision))
            between = audit.count_state_rows(conn=conn, after=lo, upto=hi)
            if between * DELTA_SHARE <= audit.count_state_rows(conn=conn, upto=revision):
                index = continue_from(conn, base, revision)
                if index is not None:
                    return index
        replay = Replay()
        replay.fold(audit.state_rows(conn=conn, upto=revision))
        return replay.index(revision)




def continue_from(conn, base: CatalogIndex, revision: int) -> CatalogIndex | None:
    """`base` (the catalog at another revision) moved to `revision` along the change log,
    forward (each key's last `after`) or backward (each key's first `before`). None when
    that cannot be done by applying changes: going back past a field's registration (an
    index never drops a field). The result's nodes are its own: checks on it fill no cache
    of the snapshots it was made from, and no historical verdict can reach current answers."""
    forward = base.revision <= revision
    lo, hi = sorted((base.revision, revision))
    rows = list(audit.state_rows(conn=conn, after=lo, upto=hi))
    if not forward:
        rows.reverse()  # the earliest row's `before` is assigned last
    fields: dict[str, str | None] = {}
    edges: dict[tuple[str, str], str | None | bool] = {}  # False: no edge at `revision`
    touched: dict[str, int] = {}
    config: set[str] = set()  # rule, taxonomy: folded from the start (they are few)
    for rev, entity, _action, field, other, before, after in rows:
        state = after if forward else before
        if entity == "field":
            fields[field] = state
            touched[field] = rev  # forward: the last; backward: replaced below
        elif entity == "edge":
            edges[(other, field)] = False if state is None else _transform(state)
            touched[field] = touched[other] = rev
        else:
            config.add(entity)
    if any(state is None for state in fields.values()):
        return None
    if not forward:  # the last change to each at or before `revision`, from the log
        touched = {n: 0 for n in touched} | audit.last_touched(
            conn=conn, upto=revision, names=list(touched), children=base.graph.children)
    records = {}
    for name, rev in touched.items():
        state = fields.get(name)
        if state is not None:
            records[name] = _record(orjson.loads(state), rev)
        else:
            rec = base.get(name)
            if rec is None:  # an edge to a field registered on the other side of `revision`
                return None
            records[name] = replace(rec, revision=rev)
    graph = base.graph
    add, remove = [], []
    for (up, down), transform in edges.items():
        there = graph.has_edge(up, down)
        if transform is False:
            if there:
                remove.append((up, down))
        elif not there or graph.up[down][up] != transform:
            add.append(Edge(up, down, transform))
    taxonomy = rules = None
    if config:
        replay = Replay()
        replay.fold(audit.state_rows(conn=conn, upto=revision, entities=sorted(config)))
        taxonomy = replay.taxonomy_index() if "taxonomy" in config else None
        rules = replay.rule_list() if "rule" in config else None
    index = base.apply(fields=records.values(), add_edges=add, remove_edges=remove,
                       taxonomy=taxonomy, rules=rules, revision=revision)
    return index.private()


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


def cached(cat: Catalog, revision: object) -> CatalogIndex | None:
    """The historical index at `revision` when this worker holds it (the hot path of a
    series of as-of checks); None for anything else, valid or not."""
    cache = getattr(cat, "_as_of_indexes", None)
    if cache is None or type(revision) is not int:
        return None
    return cache._indexes.get(revision)


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
