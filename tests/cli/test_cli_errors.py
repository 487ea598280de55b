"""Every command: accepts --database-url; a bad URL, an unreachable database or a domain error
is one line `error: ...` on stderr with exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error
from cli_tree import commands, options

from catalog.services.setup import SEEDS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openlineage"

# One way to run each command, given everything but the database.
INVOCATIONS = {
    "apply": ["apply", str(SEEDS / "demo" / "catalog.yaml")],
    "check": ["check", "crm.customers.email", "service", "email"],
    "demo": ["demo", "--no-serve"],
    "export": ["export"],
    "ingest openlineage": ["ingest", "openlineage", str(FIXTURES / "spark_join_filter.json")],
    "ingest schema": ["ingest", "schema", "sqlite:///no-such-source.db"],
    "init": ["init"],
    "notice": ["notice"],
    "seed": ["seed", str(SEEDS / "demo" / "catalog.yaml")],
    "serve": ["serve"],
    "token create": ["token", "create", "--role", "admin"],
    "token list": ["token", "list"],
    "token revoke": ["token", "revoke", "1"],
    "verify": ["verify", str(SEEDS / "demo" / "uses.yaml")],
    "changes": ["changes"],
    "log": ["log"],
    "simulate": ["simulate", str(SEEDS / "demo" / "simulate.yaml")],
}
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/x"


def test_invocations_cover_every_command():
    assert sorted(INVOCATIONS) == sorted(path for path, _ in commands())


@pytest.mark.parametrize(("path", "command"), list(commands()), ids=lambda c: c
                         if isinstance(c, str) else "")
def test_every_command_accepts_database_url(path, command):
    assert "--database-url" in options(command), path


@pytest.mark.parametrize("path", sorted(INVOCATIONS))
@pytest.mark.parametrize(("url", "fragment"), [
    ("nonsense://x", "unsupported database 'nonsense'"),
    ("not a url", "malformed database URL"),
    (UNREACHABLE, f"cannot reach the database at {UNREACHABLE}: "),
], ids=["unsupported", "malformed", "unreachable"])
def test_bad_database_is_one_line_exit_2(invoke, path, url, fragment):
    result = invoke(*INVOCATIONS[path], "--database-url", url)
    assert_one_line_error(result, fragment)


def test_password_is_never_shown(invoke):
    result = invoke("init", "--database-url", "postgresql+psycopg://u:s3cret@127.0.0.1:1/x")
    line = assert_one_line_error(result, "postgresql+psycopg://u:***@127.0.0.1:1/x")
    assert "s3cret" not in line


def test_missing_sqlite_directory(invoke, tmp_path):
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"
    assert_one_line_error(invoke("init", "--database-url", url), "cannot reach the database")


def test_unknown_role_is_one_line(invoke, initialized):
    assert_one_line_error(invoke("token", "create", "--role", "root", "--database-url",
                                 initialized), "unknown role 'root'", "admin, owner")


def test_missing_driver_says_what_to_install(invoke):
    result = invoke("init", "--database-url", "postgresql+nosuchdriver://u@127.0.0.1/x")
    assert_one_line_error(result)


def test_debug_shows_the_exception(invoke, monkeypatch):
    monkeypatch.setenv("CATALOG_DEBUG", "1")
    result = invoke("init", "--database-url", "nonsense://x")
    assert result.exception is not None and "unsupported database" in str(result.exception)
