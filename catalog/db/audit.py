"""Queries for time and audit: the change log read as a feed and folded into old states, and
the decision log (docs/semantics.md §9-10)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from itertools import chain
from operator import itemgetter

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from catalog.db import repo
from catalog.db.repo import bound, chunks, insert_rows
from catalog.db.tables import ChangeRow, DecisionLogRow

L = ChangeRow.__table__
D = DecisionLogRow.__table__
STATE_ENTITIES = ("field", "edge", "rule", "taxonomy")  # what a catalog state is made of


# -- change log -----------------------------------------------------------------------------
def state_rows(*, conn: Connection, upto: int, after: int = 0,
               entities: Sequence[str] = STATE_ENTITIES) -> Iterator:
    """The change-log rows that make up the catalog's state, after one revision up to
    another, in commit order: (revision, entity, action, field, other, before, after)."""
    q = (sa.select(L.c.revision, L.c.entity, L.c.action, L.c.field, L.c.other, L.c.before,
                   L.c.after)
         .where(L.c.revision > after, L.c.revision <= upto, L.c.entity.in_(entities))
         .order_by(L.c.revision, L.c.id))  # a baseline is inserted later than its revision
    yield from conn.execution_options(yield_per=5000).execute(q)


def count_state_rows(*, conn: Connection, upto: int, after: int = 0) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(L).where(
        L.c.revision > after, L.c.revision <= upto,
        L.c.entity.in_(STATE_ENTITIES))).scalar_one()


def last_touched(*, conn: Connection, upto: int, names: Sequence[str],
                 children: Callable[[str], Iterable[str]]) -> dict[str, int]:
    """For each field named, the last revision up to `upto` that changed it or an edge of
    it (absent: none did). children: a field's children in a graph at `upto` or later (the
    edges from a field are found by their downstream ends: those children, and the ones of
    edges removed since, which repo.removed_downstream finds)."""
    out: dict[str, int] = {}
    names = sorted(set(names))
    for batch in chunks(names):
        q = (sa.select(L.c.field, sa.func.max(L.c.revision))
             .where(L.c.revision <= upto, L.c.entity.in_(("field", "edge")),
                    L.c.field.in_(list(batch)))
             .group_by(L.c.field))
        out.update(conn.execute(q).all())
    wanted = set(names)
    removed = repo.removed_downstream(conn=conn, names=names)
    downstream = sorted({d for n in names for d in (*children(n), *removed.get(n, ()))})
    for batch in chunks(downstream):
        q = (sa.select(L.c.other, sa.func.max(L.c.revision))
             .where(L.c.revision <= upto, L.c.entity == "edge", L.c.field.in_(list(batch)))
             .group_by(L.c.other))
        for name, revision in conn.execute(q):
            if name in wanted:
                out[name] = max(out.get(name, 0), revision)
    return out


def revision_at(*, conn: Connection, time: datetime) -> int:
    """The last revision committed at or before time; 0 before the first commit."""
    return conn.execute(sa.select(sa.func.max(L.c.revision)).where(L.c.at <= time)).scalar() or 0


def changes_page(*, conn: Connection, after_revision: int, first: int) -> list:
    """Change-log rows with revision > after_revision, oldest first: `first` rows, then the
    rest of the last revision (a page never splits a commit)."""
    rows = list(conn.execute(sa.select(L).where(L.c.revision > after_revision)
                             .order_by(L.c.revision, L.c.id).limit(first)))
    if len(rows) == first:
        last = rows[-1]
        rows.extend(conn.execute(sa.select(L).where(L.c.revision == last.revision,
                                                    L.c.id > last.id).order_by(L.c.id)))
    return rows


# -- decision log ---------------------------------------------------------------------------
DECISION_INSERT = ("minute", "caller", "field", "purpose", "channel", "allowed", "intensity",
                   "count")
_FIELD = itemgetter(2)  # in DECISION_INSERT


DECISION_KEY = ("caller", "field", "purpose", "channel", "allowed", "intensity")


def insert_decision_counts(*, conn: Connection, minute: datetime,
                           rows: Sequence[tuple]) -> dict[tuple, int]:
    """One minute's new rows, (caller, field, purpose, channel, allowed, intensity, count)
    each, as plain tuples through the driver (repo.insert_rows: SQLAlchemy's per-row
    parameter processing was most of a flush's CPU). Returns each row's key (without the
    minute) -> its id, for later flushes to add to (add_to_decision_counts)."""
    at = bound(conn, D.c.minute, minute)
    # In the field index's order: each of its pages is read and dirtied once per flush, not
    # once per row (on SQLite a flush's system time, reading and writing those pages, fell
    # by a third at 5,000 rows over 2,000 fields).
    values = sorted(((at, *r) for r in rows), key=_FIELD)
    returned = insert_rows(conn, D, DECISION_INSERT, values, returning=("id", *DECISION_KEY))
    return {(caller, field, purpose, channel, bool(allowed), intensity): row_id
            for row_id, caller, field, purpose, channel, allowed, intensity in returned}


def add_to_decision_counts(*, conn: Connection, added: Sequence[tuple[int, int]]) -> None:
    """count += n on rows by id, (id, n) each: rows this worker inserted earlier in the same
    minute. One statement per chunk; DecisionLogGone when a row is no longer there."""
    table = conn.dialect.identifier_preparer.format_table(D)
    mark = repo.marker(conn)
    for batch in chunks(sorted(added)):
        values = ", ".join([f"({mark}, {mark})"] * len(batch))
        if conn.dialect.name == "postgresql":
            sql = (f"UPDATE {table} SET count = {table}.count + v.n FROM (VALUES {values}) "
                   f"AS v(id, n) WHERE {table}.id = v.id")
        else:  # SQLite names a VALUES table's columns column1, column2
            sql = (f"UPDATE {table} SET count = count + v.column2 FROM (VALUES {values}) "
                   f"AS v WHERE {table}.id = v.column1")
        if conn.exec_driver_sql(sql, tuple(chain.from_iterable(batch))).rowcount != len(batch):
            raise DecisionLogGone("decision log rows this worker wrote were deleted")


class DecisionLogGone(Exception):
    """Rows a flush meant to add to are gone (pruned or deleted by hand)."""


def prune_decisions(*, conn: Connection, before: datetime) -> int:
    return conn.execute(D.delete().where(D.c.minute < before)).rowcount


KEY = (D.c.minute, D.c.caller, D.c.field, D.c.purpose, D.c.channel, D.c.allowed)


def _covers(col, key: str):
    return sa.or_(col == key, col.startswith(key + ".", autoescape=True))


def decision_counts(*, conn: Connection, field: str | None, purpose: str | None,
                    channel: str | None, allowed: bool | None, caller: str | None,
                    since: datetime | None, until: datetime | None,
                    after: tuple | None, first: int) -> list:
    """Entries summed per (minute, caller, field, purpose, channel, allowed): newest minute
    first, then by the rest of the key; keyset-paged after a key."""
    q = sa.select(*KEY, sa.func.sum(D.c.count).label("count"))
    for col, key in ((D.c.field, field), (D.c.purpose, purpose), (D.c.channel, channel)):
        if key is not None:
            q = q.where(_covers(col, key))
    if allowed is not None:
        q = q.where(D.c.allowed == allowed)
    if caller is not None:
        q = q.where(D.c.caller == caller)
    if since is not None:
        q = q.where(D.c.minute >= since)
    if until is not None:
        q = q.where(D.c.minute < until)
    if after is not None:
        minute, *rest = after
        q = q.where(sa.or_(D.c.minute < minute, sa.and_(
            D.c.minute == minute, sa.tuple_(*KEY[1:]) > sa.tuple_(*rest))))
    q = q.group_by(*KEY).order_by(D.c.minute.desc(), *KEY[1:]).limit(first)
    return list(conn.execute(q))


def crowding(*, conn: Connection, purpose: str, since: datetime | None,
             until: datetime | None) -> list:
    """Per channel and purpose under `purpose`: distinct callers, decisions, allowed ones."""
    allowed = sa.func.sum(sa.case((D.c.allowed, D.c.count), else_=0))
    q = (sa.select(D.c.channel, D.c.purpose,
                   sa.func.count(sa.distinct(D.c.caller)).label("callers"),
                   sa.func.sum(D.c.count).label("decisions"), allowed.label("allowed"))
         .where(_covers(D.c.purpose, purpose)))
    if since is not None:
        q = q.where(D.c.minute >= since)
    if until is not None:
        q = q.where(D.c.minute < until)
    return list(conn.execute(q.group_by(D.c.channel, D.c.purpose)))


def allowed_by_intensity(*, conn: Connection, since: datetime | None,
                         until: datetime | None) -> list:
    """Allowed decisions summed per (intensity, purpose) (docs/semantics.md §15's spectrum); rows
    logged before decisions carried an intensity have none and are left out."""
    q = (sa.select(D.c.intensity, D.c.purpose, sa.func.sum(D.c.count).label("allowed"))
         .where(D.c.allowed.is_(True), D.c.intensity.is_not(None)))
    if since is not None:
        q = q.where(D.c.minute >= since)
    if until is not None:
        q = q.where(D.c.minute < until)
    return list(conn.execute(q.group_by(D.c.intensity, D.c.purpose)))
