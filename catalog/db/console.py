"""Queries for the reviewer console: its sessions, and the catalog-wide change feed."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from catalog.db.tables import ChangeRow, ConsoleSession, TokenRow, utcnow

V = ConsoleSession.__table__
K = TokenRow.__table__
L = ChangeRow.__table__


def insert_session(*, conn: Connection, id_hash: str, token_id: int, csrf_token: str,
                   expires_at: datetime) -> None:
    conn.execute(V.insert().values(id_hash=id_hash, token_id=token_id, csrf_token=csrf_token,
                                   created_at=utcnow(), expires_at=expires_at))


def find_session(*, conn: Connection, id_hash: str):
    """The live session with its token's role, scope and name; None when it expired, was
    ended or its token was revoked."""
    q = (sa.select(V.c.csrf_token, K.c.id, K.c.role, K.c.scope, K.c.name)
         .join(K, K.c.id == V.c.token_id)
         .where(V.c.id_hash == id_hash, V.c.expires_at > utcnow(), K.c.revoked_at.is_(None)))
    return conn.execute(q).first()


def delete_session(*, conn: Connection, id_hash: str) -> bool:
    return conn.execute(V.delete().where(V.c.id_hash == id_hash)).rowcount > 0


def delete_expired_sessions(*, conn: Connection) -> int:
    return conn.execute(V.delete().where(V.c.expires_at <= utcnow())).rowcount


def recent_changes(*, conn: Connection, first: int, before: int | None,
                   field_prefix: str | None = None) -> list:
    """Change-log rows, newest first, keyset-paginated by row id; optionally only those
    touching fields whose name starts with field_prefix."""
    q = sa.select(L)
    if field_prefix:
        q = q.where(sa.or_(L.c.field.startswith(field_prefix, autoescape=True),
                           L.c.other.startswith(field_prefix, autoescape=True)))
    if before is not None:
        q = q.where(L.c.id < before)
    return list(conn.execute(q.order_by(L.c.id.desc()).limit(first)))
