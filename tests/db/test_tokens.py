"""Tokens: only a sha256 hash is stored; they authenticate until revoked."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from catalog.errors import BadInput, Forbidden, Unauthenticated
from catalog.services import auth
from catalog.services.auth import Principal
from catalog.services.fields import FieldInput, register_fields


def all_stored_text(engine: sa.Engine) -> str:
    """Every value of every row of every table, as one string."""
    parts = []
    with engine.connect() as conn:
        for table in sa.inspect(engine).get_table_names():
            for row in conn.execute(sa.text(f"SELECT * FROM {table}")):
                parts.extend(str(v) for v in row)
    return "\n".join(parts)


def test_tokens_are_stored_hashed(catalog, admin):
    token_id, token = auth.create_token(catalog, admin, role="owner", scope="crm.",
                                        name="crm team")
    with catalog.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT token_hash, role, scope, name FROM api_token "
                                   "WHERE id = :id"), {"id": token_id}).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert len(row.token_hash) == 64 and int(row.token_hash, 16) >= 0
    assert (row.role, row.scope, row.name) == ("owner", "crm.", "crm team")
    assert token not in all_stored_text(catalog.engine)
    assert token.removeprefix("pc_") not in all_stored_text(catalog.engine)


def test_tokens_authenticate_until_revoked(catalog, other_catalog, admin):
    token_id, token = auth.create_token(catalog, admin, role="pipeline", name="etl")
    principal = catalog.authenticator.authenticate(f"Bearer {token}")
    assert principal == Principal("pipeline", None, "etl", token_id)
    assert catalog.authenticator.authenticate(token) == principal  # bare token works too
    assert other_catalog.authenticator.authenticate(f"bearer {token}") == principal

    assert auth.revoke_token(catalog, admin, token_id) is True
    with pytest.raises(Unauthenticated):
        catalog.authenticator.authenticate(f"Bearer {token}")
    # Another process whose cache never held it sees the revocation at once.
    with pytest.raises(Unauthenticated):
        type(other_catalog.authenticator)(other_catalog.engine).authenticate(token)
    assert auth.revoke_token(catalog, admin, token_id) is False


@pytest.mark.parametrize("header", [None, "", "Bearer ", "Bearer pc_nope", "x" * 500])
def test_bad_tokens_are_refused(catalog, header):
    with pytest.raises(Unauthenticated):
        catalog.authenticator.authenticate(header)


def test_long_token_names_and_scopes(catalog, admin):
    with pytest.raises(BadInput, match="at most 200"):
        auth.create_token(catalog, admin, role="pipeline", name="n" * 201)
    # The longest scope and name still let the owner write (the change log clips the actor).
    name = ".".join(["s" * 127] * 4)  # 511 characters
    scope = name[:384]  # whole segments (docs/semantics.md §5): three and their dot
    _, token = auth.create_token(catalog, admin, role="owner", scope=scope, name="n" * 200)
    owner = catalog.authenticator.authenticate(token)
    [rec] = register_fields(catalog, owner, [FieldInput(
        name, category="historical", source="first_party", owner="team")])
    with catalog.engine.connect() as conn:
        actor = conn.execute(sa.text("SELECT actor FROM change_log WHERE revision = :r"),
                             {"r": rec.revision}).scalar_one()
    assert len(actor) == 200 and actor.startswith("n" * 100)


def test_only_admins_manage_tokens(catalog, reviewer, pipeline, owner_of):
    revision = catalog.index.revision
    for who in (reviewer, pipeline, owner_of("crm.")):
        with pytest.raises(Forbidden):
            auth.create_token(catalog, who, role="admin")
    with pytest.raises(BadInput):
        auth.create_token(catalog, auth.SYSTEM, role="owner")  # no scope
    with pytest.raises(BadInput):
        auth.create_token(catalog, auth.SYSTEM, role="root")
    assert catalog.index.revision == revision
    with catalog.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM api_token")).scalar_one() == 0
