"""`catalog token create|list|revoke`: the token is the last line and authenticates."""

from __future__ import annotations

import pytest
from cli_helpers import assert_one_line_error

from catalog.errors import Unauthenticated
from catalog.services.core import Catalog


def authenticate(url: str, token: str):
    cat = Catalog(database_url=url)
    try:
        return cat.authenticator.authenticate(f"Bearer {token}")
    finally:
        cat.close()


def test_token_create_prints_token_last_and_it_authenticates(invoke, database_url):
    assert invoke("init", "--database-url", database_url).exit_code == 0
    result = invoke("token", "create", "--role", "owner", "--scope", "crm.", "--name", "alice",
                    "--database-url", database_url)
    assert result.exit_code == 0, result.output
    token = result.stdout.rstrip("\n").splitlines()[-1]
    assert token.startswith("pc_") and " " not in token
    principal = authenticate(database_url, token)
    assert (principal.role, principal.scope, principal.name) == ("owner", "crm.", "alice")


@pytest.mark.parametrize("role", ["admin", "reviewer", "pipeline"])
def test_every_role(invoke, initialized, role):
    result = invoke("token", "create", "--role", role, "--database-url", initialized)
    assert result.exit_code == 0, result.output
    assert authenticate(initialized, result.stdout.splitlines()[-1]).role == role


@pytest.mark.parametrize(("args", "fragment"), [
    (["--role", "superuser"], "unknown role 'superuser'"),
    (["--role", "owner"], "needs --scope"),
    (["--role", "pipeline", "--scope", "crm."], "owner tokens only"),
    (["--role", "owner", "--scope", "crm customers"], "invalid scope"),
])
def test_bad_role_or_scope_is_one_line(invoke, initialized, args, fragment):
    result = invoke("token", "create", *args, "--database-url", initialized)
    assert_one_line_error(result, fragment)
    assert result.stdout == ""


def test_list_and_revoke(invoke, initialized):
    created = invoke("token", "create", "--role", "pipeline", "--name", "nightly-etl",
                     "--database-url", initialized)
    token = created.stdout.splitlines()[-1]
    listed = invoke("token", "list", "--database-url", initialized)
    assert listed.exit_code == 0
    assert "nightly-etl" in listed.stdout and "active" in listed.stdout
    assert token not in listed.stdout  # only hashes are stored

    revoked = invoke("token", "revoke", "1", "--database-url", initialized)
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in invoke("token", "list", "--database-url", initialized).stdout
    with pytest.raises(Unauthenticated):
        authenticate(initialized, token)

    again = invoke("token", "revoke", "1", "--database-url", initialized)
    assert_one_line_error(again, "no active token with id 1")


def test_list_with_no_tokens(invoke, initialized):
    result = invoke("token", "list", "--database-url", initialized)
    assert result.exit_code == 0
    assert "no tokens" in result.stdout
