"""Console sessions (docs/semantics.md §13): sign in with a token, look a session up, sign out.

A session lives in the database, so any worker or server answers it; it ends at sign-out, at
expiry, or when its token is revoked (the lookup joins the token and checks it is live). The
cookie holds a random value; only its hash is stored, like tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from catalog.db import console, repo
from catalog.db.tables import utcnow
from catalog.errors import Forbidden, Unauthenticated
from catalog.services.auth import Principal, hash_token
from catalog.services.core import Catalog

LIFETIME = timedelta(hours=12)
MAX_TOKEN = 200


@dataclass(frozen=True, slots=True)
class Session:
    cookie: str  # the value the browser keeps; empty when looked up (not known then)
    csrf_token: str
    principal: Principal


def sign_in(cat: Catalog, token: str) -> Session:
    """A new session for a live token of any role but pipeline. Looks the token up in the
    database (not the authenticator's cache), so a just-revoked token cannot sign in."""
    token = (token or "").strip()
    if not token or len(token) > MAX_TOKEN:
        raise Unauthenticated("paste a token: ask an admin for one (catalog token create)")
    with cat.engine.begin() as conn:
        row = repo.find_token(conn=conn, token_hash=hash_token(token))
        if row is None:
            raise Unauthenticated("this token is not valid or was revoked: ask an admin for a "
                                  "new one")
        if row.role == "pipeline":
            raise Forbidden("pipeline tokens are for checks over the API; sign in with an "
                            "admin, owner or reviewer token")
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        console.delete_expired_sessions(conn=conn)  # keeps the table at the live sessions
        console.insert_session(conn=conn, id_hash=hash_token(cookie), token_id=row.id,
                               csrf_token=csrf, expires_at=utcnow() + LIFETIME)
    return Session(cookie, csrf, Principal(row.role, row.scope, row.name, row.id))


def find(cat: Catalog, cookie: str | None) -> Session | None:
    if not cookie or len(cookie) > MAX_TOKEN:
        return None
    with cat.engine.connect() as conn:
        row = console.find_session(conn=conn, id_hash=hash_token(cookie))
    if row is None:
        return None
    return Session("", row.csrf_token, Principal(row.role, row.scope, row.name, row.id))


def sign_out(cat: Catalog, cookie: str | None) -> bool:
    if not cookie or len(cookie) > MAX_TOKEN:
        return False
    with cat.engine.begin() as conn:
        return console.delete_session(conn=conn, id_hash=hash_token(cookie))
