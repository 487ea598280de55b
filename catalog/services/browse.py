"""Reviewers' reads that the database answers: filtered field listings and history."""

from __future__ import annotations

import base64

import orjson

from catalog.db import repo
from catalog.domain.model import FieldRecord
from catalog.errors import BadInput
from catalog.services.auth import Principal, require
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
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except Exception:
        raise BadInput("invalid cursor: pass the endCursor of the previous page") from None


def fields_page(cat: Catalog, principal: Principal, *, category=None, purpose=None,
                source=None, owner=None, prefix=None, first: int = 50,
                after: str | None = None) -> tuple[list[FieldRecord], str | None, bool]:
    require(principal, "read")
    first = _page_size(first)
    tax = cat.index.taxonomy
    for kind, key in (("category", category), ("purpose", purpose), ("source", source)):
        if key is not None:
            tax.require(kind, key)
    with cat.engine.connect() as conn:
        names = repo.field_names_page(conn=conn, category=category, purpose=purpose,
                                      source=source, owner=owner, prefix=prefix,
                                      after=decode_cursor(after), first=first + 1)
    more = len(names) > first
    names = names[:first]
    cat.fresh()
    records = [r for r in (cat.index.get(n) for n in names) if r is not None]
    return records, encode_cursor(names[-1]) if names else None, more


def history_page(cat: Catalog, principal: Principal, field: str, first: int = 20,
                 after: str | None = None) -> tuple[list[dict], str | None, bool]:
    require(principal, "read")
    first = _page_size(first)
    raw = decode_cursor(after)
    try:
        after_id = int(raw) if raw is not None else None
    except ValueError:
        raise BadInput("invalid cursor: pass the endCursor of the previous page") from None
    with cat.engine.connect() as conn:
        rows = repo.history(conn=conn, field=field, first=first + 1, after=after_id)
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
