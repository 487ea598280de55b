"""Reviewers' reads that the database answers: filtered field listings and history."""

from __future__ import annotations

import base64

import orjson

from catalog.db import repo
from catalog.domain.index import CatalogIndex
from catalog.domain.model import FieldRecord
from catalog.domain.names import MAX_FIELD_NAME, has_control, is_field_name, key_chain
from catalog.errors import BadInput, NotFound
from catalog.services.auth import Principal, require
from catalog.services.checks import snapshot
from catalog.services.core import Catalog

MAX_PAGE = 500


def _page_size(first: int) -> int:
    if not isinstance(first, int) or not 1 <= first <= MAX_PAGE:
        raise BadInput(f"first must be 1 to {MAX_PAGE}, not {first!r}")
    return first


def encode_cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        value = base64.b64decode(cursor.encode(), altchars=b"-_", validate=True).decode()
    except Exception:
        value = None
    if not value or has_control(value) or len(value) > MAX_FIELD_NAME:
        raise BadInput("invalid cursor: pass the endCursor of the previous page")
    return value


def fields_page(cat: Catalog, principal: Principal, *, category=None, purpose=None,
                permitted_for=None, source=None, owner=None, prefix=None, first: int = 50,
                after: str | None = None, index: CatalogIndex | None = None
                ) -> tuple[list[FieldRecord], str | None, bool]:
    """A page of fields by name. The names come from the database; their records from the
    caller's snapshot (index) when it has reached the revision the names were read at, else
    from this process's index caught up to it: a field another process committed meanwhile
    is on the page, never skipped."""
    require(principal, "read", asked="query fields")
    first = _page_size(first)
    tax = (index or cat.index).taxonomy
    for kind, key in (("category", category), ("purpose", purpose), ("source", source),
                      ("purpose", permitted_for)):
        if key is not None:
            tax.require(kind, key)
    after = decode_cursor(after)
    if any(v is not None and has_control(v) for v in (owner, prefix)):
        return [], None, False  # nothing stored holds a control character
    with cat.engine.connect() as conn:
        names = repo.field_names_page(
            conn=conn, category=category, purpose=purpose, source=source, owner=owner,
            permitted_for=None if permitted_for is None else tuple(key_chain(permitted_for)),
            prefix=prefix, after=after, first=first + 1)
        # Read after the names: every field among them was committed at this revision or
        # before, whatever the isolation level.
        revision = repo.current_revision(conn=conn)
    more = len(names) > first
    names = names[:first]
    snap = snapshot(cat, index, revision)
    records = [r for r in (snap.get(n) for n in names) if r is not None]
    return records, encode_cursor(names[-1]) if names else None, more


MAX_ROW_ID = 2**63 - 1


def history_page(cat: Catalog, principal: Principal, field: str, first: int = 20,
                 after: str | None = None) -> tuple[list[dict], str | None, bool]:
    require(principal, "read", asked="query history")
    first = _page_size(first)
    raw = decode_cursor(after)
    try:
        after_id = int(raw) if raw is not None else None
    except ValueError:
        after_id = -1
    if after_id is not None and not 0 < after_id <= MAX_ROW_ID:
        raise BadInput("invalid cursor: pass the endCursor of the previous page")
    missing = NotFound(f"field {field!r} is not in the catalog: see fields for the names")
    if not is_field_name(field):
        raise missing
    # The edges the field is upstream of come from the lineage graph (the change log keeps
    # no index of every edge's upstream): an index caught up now, and rows up to its revision.
    cat.sync()
    index = cat.index
    with cat.engine.connect() as conn:
        if not repo.field_exists(conn=conn, name=field):
            raise missing
        removed = repo.removed_downstream(conn=conn, names=[field]).get(field, set())
        rows = repo.history(conn=conn, field=field, first=first + 1, after=after_id,
                            downstream=[*index.graph.children(field), *removed],
                            upto=index.revision)
    more = len(rows) > first
    rows = rows[:first]
    entries = [change_entry(r) for r in rows]
    return entries, encode_cursor(str(rows[-1].id)) if rows else None, more


def change_entry(r) -> dict:
    """A change-log row as callers see it (before/after decoded)."""
    return {"id": r.id, "revision": r.revision, "at": r.at, "actor": r.actor,
            "action": r.action, "entity": r.entity, "field": r.field, "other": r.other,
            "before": orjson.loads(r.before) if r.before else None,
            "after": orjson.loads(r.after) if r.after else None}
