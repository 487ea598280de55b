"""Queries: the only place SQL lives. Keyword-only helpers over a Connection the service
layer owns (it owns the transaction)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from catalog.db.records import edge_json, join_keys, rule_from_row, split_keys
from catalog.db.tables import (
    CatalogState,
    ChangeRow,
    EdgeRow,
    FieldRow,
    GrantRow,
    RuleRow,
    TaxonomyEntry,
    TokenRow,
    utcnow,
)
from catalog.domain.model import Edge, FieldRecord, Grant
from catalog.domain.rules import PolicyRule

F = FieldRow.__table__
G = GrantRow.__table__
E = EdgeRow.__table__
R = RuleRow.__table__
T = TaxonomyEntry.__table__
S = CatalogState.__table__
L = ChangeRow.__table__
K = TokenRow.__table__
CHUNK = 500  # bound on IN lists and insert batches


def chunks(items: Sequence, size: int = CHUNK) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# -- plain statements -----------------------------------------------------------------------
# Bulk writes skip SQLAlchemy's per-row parameter processing (most of a big write's CPU):
# rows are tuples of values the driver takes as they are (bound() for datetimes). SQLite gets
# multi-row INSERTs; PostgreSQL gets COPY (psycopg's multi-row statements cost ~2 µs of CPU per
# value; COPY a third of that) and `= ANY(array)` for lists. The SQL text is made once per
# shape and kept.
_SQL: dict[tuple, str] = {}


def marker(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"  # sqlite3; psycopg


def _quoted(conn: Connection, names: Iterable[str]) -> str:
    quote = conn.dialect.identifier_preparer.quote
    return ", ".join(quote(n) for n in names)


def bound(conn: Connection, column: sa.Column, value):
    """value as the dialect stores it in column (SQLite keeps datetimes as text)."""
    process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return process(value) if process is not None else value


def insert_rows(conn: Connection, table: sa.Table, columns: tuple[str, ...],
                rows: Sequence[tuple], returning: tuple[str, ...] = ()) -> list:
    """INSERT rows (tuples in the order of columns) as one multi-row statement per CHUNK
    rows; with returning, the returned rows (in no particular order)."""
    if not rows:
        return []
    if conn.dialect.name == "postgresql" and not returning:
        _copy_rows(conn, table, columns, rows)
        return []
    out: list = []
    for batch in chunks(rows):
        key = ("insert", conn.dialect.name, table.name, columns, len(batch), returning)
        sql = _SQL.get(key)
        if sql is None:
            one = "(" + ", ".join([marker(conn)] * len(columns)) + ")"
            sql = (f"INSERT INTO {conn.dialect.identifier_preparer.format_table(table)} "
                   f"({_quoted(conn, columns)}) VALUES " + ", ".join([one] * len(batch)))
            if returning:
                sql += " RETURNING " + _quoted(conn, returning)
            sql = _SQL.setdefault(key, sql)
        params = tuple(chain.from_iterable(batch))
        result = conn.exec_driver_sql(sql, params)
        if returning:
            out.extend(result.all())
    return out


def _copy_rows(conn: Connection, table: sa.Table, columns: tuple[str, ...],
               rows: Sequence[tuple]) -> None:
    """COPY rows in, on the transaction's own connection; a driver error is raised as
    SQLAlchemy raises it for a statement (callers handle one kind)."""
    sql = (f"COPY {conn.dialect.identifier_preparer.format_table(table)} "
           f"({_quoted(conn, columns)}) FROM STDIN")
    dbapi = conn.dialect.loaded_dbapi
    try:
        with conn.connection.driver_connection.cursor() as cur, cur.copy(sql) as copy:
            write = copy.write_row
            for row in rows:
                write(row)
    except dbapi.Error as exc:
        raise sa.exc.DBAPIError.instance(sql, None, exc, dbapi.Error) from None


def _in(conn: Connection, head: str, values: Sequence) -> tuple[str, tuple]:
    """(head + " IN (?, ?, ...)", values) on SQLite; (head + " = ANY(%s)", (list,)) on
    PostgreSQL: one parameter, whatever the length."""
    if conn.dialect.name == "postgresql":
        return f"{head} = ANY(%s)", (list(values),)
    key = ("in", conn.dialect.name, head, len(values))
    sql = _SQL.get(key)
    if sql is None:
        sql = _SQL.setdefault(key, f"{head} IN ({', '.join([marker(conn)] * len(values))})")
    return sql, tuple(values)


def _update_sql(conn: Connection, table: sa.Table, columns: tuple[str, ...], key: str) -> str:
    """UPDATE table SET columns WHERE key = ?, for executemany with (values..., key)."""
    cache = ("update", conn.dialect.name, table.name, columns, key)
    sql = _SQL.get(cache)
    if sql is None:
        quote, mark = conn.dialect.identifier_preparer.quote, marker(conn)
        sets = ", ".join(f"{quote(c)} = {mark}" for c in columns)
        table_name = conn.dialect.identifier_preparer.format_table(table)
        sql = _SQL.setdefault(cache, f"UPDATE {table_name} SET {sets} "
                                     f"WHERE {quote(key)} = {mark}")
    return sql


# -- revision -------------------------------------------------------------------------------
MIGRATION_LOCK = 0x63617461  # any constant shared by every process of the catalog


def lock_migrations(*, conn: Connection) -> None:
    """Serialize schema migrations across processes until the transaction ends. PostgreSQL
    needs an advisory lock (the tables may not exist yet); on SQLite the transaction holds
    the writer's lock from its start (engine.SQLITE_IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK)))


def ensure_state(*, conn: Connection) -> None:
    if conn.execute(sa.select(S.c.id)).first() is None:
        conn.execute(S.insert().values(id=1, revision=0))


def bump_revision(*, conn: Connection) -> int:
    """Take the writer's lock (the state row) and return the next revision."""
    return conn.exec_driver_sql("UPDATE catalog_state SET revision = revision + 1 "
                                "RETURNING revision").scalar_one()


def current_revision(*, conn: Connection) -> int:
    return conn.exec_driver_sql("SELECT revision FROM catalog_state").scalar() or 0


# -- taxonomy and rules ---------------------------------------------------------------------
def load_taxonomy_rows(*, conn: Connection) -> list:
    return list(conn.execute(sa.select(T)))


def upsert_taxonomy_entry(*, conn: Connection, kind: str, key: str, sensitivity: int | None,
                          privacy: str | None, description: str | None,
                          intensity: str | None = None) -> bool:
    """Insert or update; True when something changed."""
    row = conn.execute(sa.select(T).where(T.c.kind == kind, T.c.key == key)).first()
    values = dict(sensitivity=sensitivity, privacy=privacy, description=description,
                  intensity=intensity)
    if row is None:
        conn.execute(T.insert().values(kind=kind, key=key, **values))
        return True
    if (row.sensitivity, row.privacy, row.description, row.intensity) == \
            (sensitivity, privacy, description, intensity):
        return False
    conn.execute(T.update().where(T.c.kind == kind, T.c.key == key).values(**values))
    return True


def taxonomy_intensity_edits(*, conn: Connection) -> set[tuple[str, str]]:
    """(kind, key) of taxonomy entries whose intensity an admin has set (to a value or back
    to inheriting): the change log's upsert_taxonomy_key entries that carry an intensity."""
    q = (sa.select(L.c.after).where(L.c.entity == "taxonomy",
                                    L.c.action == "upsert_taxonomy_key"))
    out = set()
    for (after,) in conn.execute(q):
        entry = orjson.loads(after) if after else {}
        if "intensity" in entry:
            out.add((entry["kind"], entry["key"]))
    return out


def set_taxonomy_intensity(*, conn: Connection, kind: str, key: str, intensity: str) -> None:
    conn.execute(T.update().where(T.c.kind == kind, T.c.key == key)
                 .values(intensity=intensity))


def load_rules(*, conn: Connection) -> list[PolicyRule]:
    return [rule_from_row(r) for r in conn.execute(sa.select(R).order_by(R.c.key))]


def upsert_rule(*, conn: Connection, rule: PolicyRule) -> None:
    values = dict(effect=rule.effect, description=rule.description or None,
                  min_sensitivity=rule.min_sensitivity,
                  categories=join_keys(rule.categories), sources=join_keys(rule.sources),
                  purposes=join_keys(rule.purposes), channels=join_keys(rule.channels),
                  unstated_benefit=rule.unstated_benefit)
    if conn.execute(R.update().where(R.c.key == rule.key).values(**values)).rowcount == 0:
        conn.execute(R.insert().values(key=rule.key, **values))


def deleted_rule_keys(*, conn: Connection) -> set[str]:
    """Keys of rules the change log says were deleted (and not re-created since)."""
    out: set[str] = set()
    q = (sa.select(L.c.action, L.c.before, L.c.after)
         .where(L.c.entity == "rule").order_by(L.c.id))
    for action, before, after in conn.execute(q):
        if action == "delete_rule" and before:
            out.add(orjson.loads(before)["key"])
        elif action == "upsert_rule" and after:
            out.discard(orjson.loads(after)["key"])
    return out


def delete_rule(*, conn: Connection, key: str) -> bool:
    return conn.execute(R.delete().where(R.c.key == key)).rowcount > 0


# -- fields ---------------------------------------------------------------------------------
def _grants_by_field(conn: Connection, ids: Sequence[int] | None,
                     plain: bool = False) -> dict[int, tuple]:
    """field id -> its grants, by purpose. Equal grants (and equal grant lists) are one
    object: a million fields share a few thousand of them. plain: all grants, read from the
    driver's cursor (start-up)."""
    # Keyed by the rows' plain values (hashed in C), not by Grant objects (hashed in Python).
    out: dict[int, list] = defaultdict(list)  # field id -> its grants' keys
    memo: dict[tuple, Grant] = {}
    query = sa.select(G.c.field_id, G.c.purpose, G.c.channels, G.c.requires_consent,
                      G.c.customer_benefit).order_by(G.c.field_id, G.c.purpose)
    batches = [None] if ids is None else list(chunks(ids))
    for batch in batches:
        q = query if batch is None else query.where(G.c.field_id.in_(batch))
        rows = _plain_rows(conn, q) if plain and batch is None else conn.execute(q)
        for field_id, purpose, channels, consent, benefit in rows:
            key = (purpose, channels, bool(consent), benefit)
            if key not in memo:
                memo[key] = Grant(purpose, split_keys(channels), bool(consent), benefit)
            out[field_id].append(key)
    lists: dict[tuple, tuple] = {}
    by_field = {}
    for i, keys in out.items():
        keys = tuple(keys)
        grants = lists.get(keys)
        if grants is None:
            grants = lists[keys] = tuple(map(memo.__getitem__, keys))
        by_field[i] = grants
    return by_field


FIELD_COLUMNS = (F.c.id, F.c.name, F.c.category, F.c.source, F.c.owner, F.c.description,
                 F.c.source_system, F.c.deprecated, F.c.revision)


def load_fields(*, conn: Connection, names: Sequence[str] | None = None) -> list[FieldRecord]:
    """All fields, or the named ones that exist, with their grants: plain rows in a few
    queries, repeated strings shared."""
    rows = []
    if names is None:
        rows = conn.execute(sa.select(*FIELD_COLUMNS)).all()
    else:
        for batch in chunks(list(names)):
            rows.extend(conn.execute(sa.select(*FIELD_COLUMNS).where(F.c.name.in_(batch))))
    grants = _grants_by_field(conn, None if names is None else [r[0] for r in rows])
    strings: dict[str, str] = {}
    share = strings.setdefault
    return [FieldRecord(name, share(cat, cat), share(src, src), share(owner, owner),
                        desc if desc is None else share(desc, desc),
                        system if system is None else share(system, system), bool(dep),
                        grants.get(i, ()), rev)
            for i, name, cat, src, owner, desc, system, dep, rev in rows]


def _plain_rows(conn: Connection, query, size: int = 50_000) -> Iterator[tuple]:
    """A select's rows as plain tuples from the driver's own cursor, in batches: no Row
    object per row (start-up reads millions). The same connection, so the same transaction."""
    sql = str(query.compile(dialect=conn.dialect))
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
        while batch := cursor.fetchmany(size):
            yield from batch
    finally:
        cursor.close()


def load_catalog(*, conn: Connection) -> tuple[list[FieldRecord], Iterator[tuple]]:
    """Every field and every edge, for building the index at start-up: the records (as
    load_fields makes them) and the edges as (upstream, downstream, transform) tuples whose
    names are the records' own strings; rows read in bulk from the driver's cursor. Consume
    the edges inside the same transaction."""
    grants = _grants_by_field(conn, None, plain=True)
    strings: dict[str, str] = {}
    share = strings.setdefault
    fields: list[FieldRecord] = []
    names: dict[int, str] = {}
    add = fields.append
    for i, name, cat, src, owner, desc, system, dep, rev in _plain_rows(
            conn, sa.select(*FIELD_COLUMNS)):
        names[i] = name
        add(FieldRecord(name, share(cat, cat), share(src, src), share(owner, owner),
                        desc if desc is None else share(desc, desc),
                        system if system is None else share(system, system), bool(dep),
                        grants.get(i, ()), rev))

    def edges() -> Iterator[tuple]:
        transforms: dict[str, str] = {None: None}
        query = sa.select(E.c.upstream_id, E.c.downstream_id, E.c.transform)
        for u, d, t in _plain_rows(conn, query):
            yield names[u], names[d], transforms.setdefault(t, t)

    return fields, edges()


def field_ids(*, conn: Connection, names: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for batch in chunks(list(set(names))):
        out.update(conn.exec_driver_sql(*_in(conn, "SELECT name, id FROM field WHERE name",
                                              batch)).all())
    return out


def save_fields(*, conn: Connection, records: Sequence[FieldRecord],
                ids: dict[str, int]) -> None:
    """Insert new fields and update existing ones (ids holds the existing, and gets the new
    ones' ids), grants replaced. A few statements per 500 fields: new rows return their ids."""
    now = bound(conn, F.c.created_at, utcnow())
    new = [r for r in records if r.name not in ids]
    existing = [r for r in records if r.name in ids]
    rows = [_field_row(r) + (now, now) for r in new]
    if conn.dialect.name == "postgresql":  # COPY, then one lookup: cheaper than RETURNING
        insert_rows(conn, F, FIELD_INSERT, rows)
        ids.update(field_ids(conn=conn, names=[r.name for r in new]))
    else:
        ids.update(insert_rows(conn, F, FIELD_INSERT, rows, returning=("name", "id")))
    if existing:
        conn.exec_driver_sql(_update_sql(conn, F, FIELD_INSERT[1:8] + ("updated_at",), "id"),
                             [_field_row(r)[1:] + (now, ids[r.name]) for r in existing])
        for batch in chunks([ids[r.name] for r in existing]):  # new fields have no grants
            conn.exec_driver_sql(*_in(conn, "DELETE FROM field_grant WHERE field_id", batch))
    grant_rows = [(ids[r.name], g.purpose, join_keys(g.channels), g.requires_consent,
                   g.customer_benefit) for r in records for g in r.grants]
    for batch in chunks(grant_rows):
        insert_rows(conn, G, GRANT_INSERT, batch)


FIELD_INSERT = ("name", "category", "source", "owner", "description", "source_system",
                "deprecated", "revision", "created_at", "updated_at")
GRANT_INSERT = ("field_id", "purpose", "channels", "requires_consent", "customer_benefit")


def _field_row(r: FieldRecord) -> tuple:
    return (r.name, r.category, r.source, r.owner, r.description, r.source_system,
            r.deprecated, r.revision)


def touch_fields(*, conn: Connection, names: Iterable[str], revision: int,
                 ids: dict[str, int] | None = None) -> None:
    """Move the fields' revision; ids: the names' ids where known (saves a lookup)."""
    ids = ids or {}
    names = sorted(set(names))
    known = sorted(ids[n] for n in names if n in ids)
    for batch in chunks(known):
        sql, params = _in(conn, f"UPDATE field SET revision = {marker(conn)} WHERE id", batch)
        conn.exec_driver_sql(sql, (revision, *params))
    for batch in chunks([n for n in names if n not in ids]):
        conn.execute(F.update().where(F.c.name.in_(batch)).values(revision=revision))


# -- lineage --------------------------------------------------------------------------------
def load_edges(*, conn: Connection, fields: Sequence[FieldRecord] | None = None
               ) -> Iterator[Edge]:
    """Every edge, as the rows come (the caller may consume them one by one). With `fields`
    (every field, as load_fields returned them) the names are those records' own strings."""
    if fields is None:
        up, down = F.alias("up"), F.alias("down")
        q = (sa.select(up.c.name, down.c.name, E.c.transform)
             .select_from(E.join(up, up.c.id == E.c.upstream_id)
                          .join(down, down.c.id == E.c.downstream_id)))
        for u, d, t in conn.execute(q):
            yield Edge(u, d, t)
        return
    own = {r.name: r.name for r in fields}
    names = {i: own.get(n, n) for i, n in conn.execute(sa.select(F.c.id, F.c.name))}
    transforms: dict[str, str] = {}
    for u, d, t in conn.execute(sa.select(E.c.upstream_id, E.c.downstream_id, E.c.transform)):
        yield Edge(names[u], names[d], t if t is None else transforms.setdefault(t, t))


def find_edges(*, conn: Connection, pairs: Sequence[tuple[str, str]]) -> dict:
    """The edges among pairs that exist now: (upstream, downstream) -> Edge. One query per
    500 downstream fields, not one per pair."""
    ids = field_ids(conn=conn, names=[n for p in pairs for n in p])
    names = {i: n for n, i in ids.items()}
    wanted = {(ids[u], ids[d]) for u, d in pairs if u in ids and d in ids}
    out = {}
    for batch in chunks(sorted({d for _, d in wanted})):
        q = sa.select(E.c.upstream_id, E.c.downstream_id, E.c.transform).where(
            E.c.downstream_id.in_(batch))
        for u, d, t in conn.execute(q):
            if (u, d) in wanted:
                out[(names[u], names[d])] = Edge(names[u], names[d], t)
    return out


def insert_edges(*, conn: Connection, edges: Sequence[Edge], ids: dict[str, int]) -> None:
    insert_rows(conn, E, ("upstream_id", "downstream_id", "transform"),
                [(ids[e.upstream], ids[e.downstream], e.transform) for e in edges])


def update_edge_transform(*, conn: Connection, edge: Edge, ids: dict[str, int]) -> None:
    conn.execute(E.update().where(E.c.upstream_id == ids[edge.upstream],
                                  E.c.downstream_id == ids[edge.downstream])
                 .values(transform=edge.transform))


def delete_edge(*, conn: Connection, upstream: str, downstream: str,
                ids: dict[str, int]) -> bool:
    return conn.execute(E.delete().where(E.c.upstream_id == ids[upstream],
                                         E.c.downstream_id == ids[downstream])).rowcount > 0


# -- change log -----------------------------------------------------------------------------
def log_changes(*, conn: Connection, revision: int, actor: str, rows: Sequence[dict]) -> None:
    """rows: dicts with action, entity, field, other, before, after (before/after as dicts)."""
    now = bound(conn, L.c.at, utcnow())
    width = L.c.actor.type.length
    if len(actor) > width:  # a long token name or owner scope must not make writes fail
        actor = actor[:width - 1] + "…"
    dumps, sort = orjson.dumps, orjson.OPT_SORT_KEYS  # _dump inlined: 2 per row, ~150 rows
    insert_rows(conn, L, LOG_INSERT, [
        (revision, now, actor, r["action"], r["entity"], r.get("field"), r.get("other"),
         None if (b := r.get("before")) is None else dumps(b, option=sort).decode(),
         None if (a := r.get("after")) is None else dumps(a, option=sort).decode())
        for r in rows])


LOG_INSERT = ("revision", "at", "actor", "action", "entity", "field", "other", "before",
              "after")


def _dump(value) -> str | None:
    return None if value is None else orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def changes_since(*, conn: Connection, revision: int, upto: int | None = None) -> list:
    q = sa.select(L.c.revision, L.c.entity, L.c.field, L.c.other).where(L.c.revision > revision)
    if upto is not None:
        q = q.where(L.c.revision <= upto)
    return list(conn.execute(q.order_by(L.c.id)))


def history(*, conn: Connection, field: str, first: int, after: int | None,
            downstream: Sequence[str], upto: int) -> list:
    """Change-log rows touching a field up to a revision, newest first, keyset-paginated by
    row id. downstream: every field the field was ever upstream of by `upto` (its children
    then, and removed_downstream's): the rows of edges from it are among theirs. One query
    per 500 of them, each for at most `first` rows, merged."""
    def newest(where) -> list:
        q = sa.select(L).where(where, L.c.revision <= upto)
        if after is not None:
            q = q.where(L.c.id < after)
        return list(conn.execute(q.order_by(L.c.id.desc()).limit(first)))

    rows = newest(L.c.field == field)
    for batch in chunks(sorted(set(downstream))):
        rows += newest(sa.and_(L.c.other == field, L.c.field.in_(batch)))
    rows.sort(key=lambda r: r.id, reverse=True)
    return rows[:first]


def removed_downstream(*, conn: Connection, names: Sequence[str]) -> dict[str, set[str]]:
    """For each named field, the fields it was upstream of by an edge since removed (what the
    lineage graph no longer shows): name -> downstream names."""
    out: dict[str, set[str]] = defaultdict(set)
    for batch in chunks(sorted(set(names))):
        q = (sa.select(L.c.other, L.c.field).distinct()
             .where(L.c.action == "remove_lineage", L.c.other.in_(batch)))
        for up, down in conn.execute(q):
            out[up].add(down)
    return out


def edge_changes_json(edge: Edge) -> dict | None:
    return edge_json(edge)


# -- tokens ---------------------------------------------------------------------------------
def insert_token(*, conn: Connection, token_hash: str, role: str, scope: str | None,
                 name: str | None) -> int:
    return conn.execute(K.insert().values(token_hash=token_hash, role=role, scope=scope,
                                          name=name, created_at=utcnow())
                        .returning(K.c.id)).scalar_one()


def find_token(*, conn: Connection, token_hash: str):
    return conn.execute(sa.select(K).where(K.c.token_hash == token_hash,
                                           K.c.revoked_at.is_(None))).first()


def list_tokens(*, conn: Connection) -> list:
    return list(conn.execute(sa.select(K).order_by(K.c.id)))


def revoke_token(*, conn: Connection, token_id: int) -> bool:
    return conn.execute(K.update().where(K.c.id == token_id, K.c.revoked_at.is_(None))
                        .values(revoked_at=utcnow())).rowcount > 0


def field_names_page(*, conn: Connection, category: str | None, purpose: str | None,
                     permitted_for: tuple[str, ...] | None, source: str | None,
                     owner: str | None, prefix: str | None, after: str | None,
                     first: int) -> list[str]:
    """Names of fields matching every given filter, by name, after a name; keys cover the
    keys below them (category 'tracking' finds 'tracking.location'). permitted_for: the
    purpose keys a grant must be on (the purpose and the keys above it)."""
    q = sa.select(F.c.name)
    for col, key in ((F.c.category, category), (F.c.source, source)):
        if key is not None:
            q = q.where(sa.or_(col == key, col.startswith(key + ".", autoescape=True)))
    if owner is not None:
        q = q.where(F.c.owner == owner)
    if prefix:
        q = q.where(_starts_with(conn, F.c.name, prefix))
    if purpose is not None:
        q = q.where(F.c.id.in_(sa.select(G.c.field_id).where(sa.or_(
            G.c.purpose == purpose, G.c.purpose.startswith(purpose + ".", autoescape=True)))))
    if permitted_for is not None:
        q = q.where(F.c.id.in_(sa.select(G.c.field_id).where(G.c.purpose.in_(permitted_for))))
    if after is not None:
        q = q.where(F.c.name > after)
    return list(conn.execute(q.order_by(F.c.name).limit(first)).scalars())


def _starts_with(conn: Connection, col, prefix: str):
    """col starts with prefix, case-sensitively on every database. SQLite's LIKE ignores
    case, so there a range of binary comparisons (which also uses the name index); PostgreSQL's
    LIKE is case-sensitive already."""
    if conn.dialect.name != "sqlite":
        return col.startswith(prefix, autoescape=True)
    last = ord(prefix[-1])
    if last >= 0x10FFFF:  # no next character: compare the leading characters instead
        return sa.func.substr(col, 1, len(prefix)) == prefix
    return sa.and_(col >= prefix, col < prefix[:-1] + chr(last + 1))


def field_exists(*, conn: Connection, name: str) -> bool:
    return conn.execute(sa.select(F.c.id).where(F.c.name == name)).first() is not None
