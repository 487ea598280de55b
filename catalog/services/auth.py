"""Tokens, principals and what each role may do (docs/semantics.md §5). Every service
operation calls `require` before it reads or writes, so a resolver that forgets cannot open a
hole."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass

from catalog.db import repo
from catalog.domain.names import check_text
from catalog.errors import BadInput, Forbidden, Unauthenticated

ROLES = ("admin", "owner", "reviewer", "pipeline")
# Whole segments of field names, optionally ending in a dot: `crm`, `crm.`, `dwh.marts.`.
SCOPE_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}(?:\.[A-Za-z0-9_-]{1,128})*\.?\Z")

# What each role may do; owner writes are further limited to its scope.
RIGHTS = {
    "admin": {"check", "field", "read", "write", "manage_rules", "manage_tokens",
              "manage_taxonomy"},
    "owner": {"check", "field", "read", "write"},
    "reviewer": {"check", "field", "read", "manage_rules"},
    "pipeline": {"check", "field"},
}


@dataclass(frozen=True, slots=True)
class Principal:
    role: str
    scope: str | None = None
    name: str | None = None
    token_id: int | None = None

    @property
    def actor(self) -> str:
        who = self.name or (f"token {self.token_id}" if self.token_id else "system")
        return f"{who} ({self.role}{' ' + self.scope if self.scope else ''})"


SYSTEM = Principal("admin", name="catalog-cli")


def require(principal: Principal | None, action: str, field: str | None = None, *,
            asked: str | None = None) -> None:
    """Raise unless principal may do action (on field, for writes). `asked` names what the
    caller asked for (`query revision`), so that a refusal says what was refused."""
    if principal is None:
        raise Unauthenticated("no valid token: send 'Authorization: Bearer <token>'")
    if action not in RIGHTS.get(principal.role, ()):
        what = asked or _ACTION_TEXT.get(action, action)
        raise Forbidden(f"role {principal.role} may not {what}: {_ROLE_MAY[principal.role]}")
    if action == "write" and principal.role == "owner":
        if field is None or not scope_covers(principal.scope, field):
            raise Forbidden(f"owner scope {principal.scope!r} does not cover {field!r}: an "
                            "owner changes only fields whose name starts with the segments of "
                            "its scope")


def scope_covers(scope: str | None, name: str) -> bool:
    """A scope covers whole name segments: `crm` and `crm.` both cover `crm.customers.email`,
    neither covers `crm_archive.customers.email` (docs/semantics.md §5)."""
    base = (scope or "").rstrip(".")
    return bool(base) and (name == base or name.startswith(base + "."))


_ACTION_TEXT = {
    "check": "run check or checkMany",
    "field": "query field",
    "read": "read lineage, history or rules",
    "write": "change fields or lineage",
    "manage_rules": "manage policy rules",
    "manage_tokens": "manage tokens",
    "manage_taxonomy": "manage the taxonomy",
}
_ROLE_MAY = {
    "admin": "an admin may do everything",
    "owner": "an owner reads everything and changes the fields in its scope",
    "reviewer": "a reviewer reads everything and manages policy rules",
    "pipeline": "a pipeline may run check, checkMany and field only",
}


def hash_token(token: str) -> str:
    # Tokens are 256-bit random, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def check_role_scope(role: str, scope: str | None) -> None:
    if role not in ROLES:
        raise BadInput(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if role == "owner" and not scope:
        raise BadInput("an owner token needs --scope, a field-name prefix such as 'crm.'")
    if role != "owner" and scope:
        raise BadInput(f"--scope applies to owner tokens only, not {role}")
    if scope is not None and (len(scope) > 512 or not SCOPE_RE.match(scope)):
        raise BadInput(f"invalid scope {scope!r}: use the leading segments of field names, "
                       "such as 'crm.' or 'dwh.marts.'")


def check_token_name(name: str | None) -> None:
    check_text(name, "token name")
    if name is not None and len(name) > 200:
        raise BadInput(f"token name is {len(name)} characters long; use at most 200")


def create_token(cat, principal: Principal, *, role: str, scope: str | None = None,
                 name: str | None = None) -> tuple[int, str]:
    """A new token: (id, plaintext). Only its hash is stored."""
    require(principal, "manage_tokens")
    check_role_scope(role, scope)
    check_token_name(name)
    token = "pc_" + secrets.token_urlsafe(32)
    with cat.write(principal.actor) as txn:
        token_id = repo.insert_token(conn=txn.conn, token_hash=hash_token(token), role=role,
                                     scope=scope, name=name)
        txn.log.append({"action": "create_token", "entity": "token",
                        "after": {"id": token_id, "role": role, "scope": scope, "name": name}})
    return token_id, token


def revoke_token(cat, principal: Principal, token_id: int) -> bool:
    require(principal, "manage_tokens")
    with cat.write(principal.actor) as txn:
        done = repo.revoke_token(conn=txn.conn, token_id=token_id)
        if done:
            txn.log.append({"action": "revoke_token", "entity": "token",
                            "before": {"id": token_id}})
    cat.authenticator.forget()
    return done


class Authenticator:
    """Token -> principal, cached briefly so a check costs no database round trip; a revoked
    token stops working within `ttl` seconds on other processes, at once on this one."""

    def __init__(self, engine, ttl: float = 5.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _token(header_or_token: str | None) -> str:
        token = (header_or_token or "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        return token

    def cached(self, header_or_token: str | None) -> Principal | None:
        """The principal if the token was verified within ttl; no I/O."""
        return self.verified(self._token(header_or_token))

    def verified(self, token: str) -> Principal | None:
        """cached() for a token already taken out of its header (api/http_rules.py)."""
        hit = self._cache.get(token)
        return hit[0] if hit is not None and hit[1] > time.monotonic() else None

    def authenticate(self, header_or_token: str | None) -> Principal:
        token = self._token(header_or_token)
        if not token or len(token) > 200:
            raise Unauthenticated("no valid token: send 'Authorization: Bearer <token>'")
        now = time.monotonic()
        hit = self._cache.get(token)
        if hit is not None and hit[1] > now:
            return hit[0]
        with self.engine.connect() as conn:
            row = repo.find_token(conn=conn, token_hash=hash_token(token))
        if row is None:
            raise Unauthenticated("invalid or revoked token: ask an admin for a new one")
        principal = Principal(row.role, row.scope, row.name, row.id)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[token] = (principal, now + self.ttl)
        return principal

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


def list_tokens(cat, principal: Principal) -> list:
    require(principal, "manage_tokens", asked="query tokens")
    with cat.engine.connect() as conn:
        return repo.list_tokens(conn=conn)
