"""`catalog demo` and `catalog serve`, with uvicorn replaced by a recorder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import uvicorn
from cli_helpers import assert_one_line_error

from catalog.services.core import Catalog
from catalog.settings import get_settings


@pytest.fixture
def served(monkeypatch) -> list[dict]:
    """Calls to uvicorn.run, recorded instead of served. The URL the CLI hands to workers
    through the environment is restored afterwards."""
    calls: list[dict] = []
    monkeypatch.setenv("CATALOG_DATABASE_URL", os.environ.get("CATALOG_DATABASE_URL", ""))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(
        {"app": app, **kw, "env_url": os.environ["CATALOG_DATABASE_URL"]}))
    yield calls
    get_settings.cache_clear()


def revision_of(url: str) -> int:
    cat = Catalog(database_url=url)
    try:
        return cat.index.revision
    finally:
        cat.close()


def tokens_in(output: str) -> dict[str, str]:
    tokens = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("admin", "owner", "reviewer", "pipeline") \
                and parts[1].startswith("pc_"):
            tokens[parts[0]] = parts[1]
    return tokens


def test_demo_sets_up_prints_how_to_start_and_serves(invoke, tmp_path: Path, served):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = invoke("demo", "--database-url", url, "--port", "8123")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "http://127.0.0.1:8123/graphql" in out
    assert "64 fields, 42 lineage edges" in out
    assert '{"Authorization": "Bearer pc_' in out
    assert out.count("query {") == 2
    tokens = tokens_in(out)
    assert set(tokens) == {"admin", "owner", "reviewer", "pipeline"}

    cat = Catalog(database_url=url)
    try:
        principals = {role: cat.authenticator.authenticate(t) for role, t in tokens.items()}
    finally:
        cat.close()
    assert {r: p.role for r, p in principals.items()} == {r: r for r in tokens}
    assert principals["owner"].scope == "crm."

    assert served == [{"app": "catalog.api.app:app_factory", "factory": True,
                       "host": "127.0.0.1", "port": 8123, "workers": 1, "access_log": False,
                       "env_url": url}]


def test_demo_again_reuses_tokens_and_changes_nothing(invoke, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    first = invoke("demo", "--database-url", url, "--no-serve")
    revision = revision_of(url)
    second = invoke("demo", "--database-url", url, "--no-serve")
    assert second.exit_code == 0, second.output
    assert tokens_in(second.stdout) == tokens_in(first.stdout)
    assert "default taxonomy: already up to date" in second.stdout
    assert revision_of(url) == revision  # nothing rewritten, no new tokens
    kept = json.loads((tmp_path / "demo.db.tokens").read_text())
    assert kept == tokens_in(first.stdout)
    assert (tmp_path / "demo.db.tokens").stat().st_mode & 0o077 == 0

    fresh = invoke("demo", "--database-url", url, "--no-serve", "--fresh")
    assert fresh.exit_code == 0, fresh.output
    assert "schema: created" in fresh.stdout
    assert set(tokens_in(fresh.stdout).values()).isdisjoint(tokens_in(first.stdout).values())


def test_demo_default_database_is_demo_db(invoke, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CATALOG_DATABASE_URL", raising=False)
    result = invoke("demo", "--no-serve")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo.db").exists()
    assert not (tmp_path / "catalog.db").exists()


def test_demo_reads_catalog_database_url_as_contract_section_8_says(invoke, tmp_path: Path,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CATALOG_DATABASE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    result = invoke("demo", "--no-serve")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "elsewhere.db").exists()
    assert not (tmp_path / "demo.db").exists()


def test_serve_passes_the_database_to_workers(invoke, initialized, served):
    result = invoke("serve", "--host", "0.0.0.0", "--port", "9001", "--workers", "3",
                    "--database-url", initialized)
    assert result.exit_code == 0, result.output
    assert served == [{"app": "catalog.api.app:app_factory", "factory": True,
                       "host": "0.0.0.0", "port": 9001, "workers": 3, "access_log": False,
                       "env_url": initialized}]


def test_serve_access_log_is_off_unless_asked(invoke, initialized, served):
    """docs/semantics.md §7: no line per request by default; --access-log turns uvicorn's on."""
    assert invoke("serve", "--database-url", initialized).exit_code == 0
    assert invoke("serve", "--access-log", "--database-url", initialized).exit_code == 0
    assert [call["access_log"] for call in served] == [False, True]


def test_serve_checks_the_database_first(invoke, db_url, served):
    assert_one_line_error(invoke("serve", "--database-url", db_url), "catalog init")
    assert_one_line_error(invoke("serve", "--database-url", "sqlite:///:memory:"), "in-memory")
    assert served == []


def test_demo_fresh_refuses_postgres(invoke, served):
    result = invoke("demo", "--fresh", "--database-url", "postgresql+psycopg://u@127.0.0.1:1/x")
    assert_one_line_error(result, "drop and recreate")
