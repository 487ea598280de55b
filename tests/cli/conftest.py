"""CLI fixtures: an in-process runner and throwaway SQLite catalogs under tmp_path.

Tests that should also run on PostgreSQL take the shared `database_url` fixture
(tests/conftest.py); the rest use `db_url`, a tmp_path SQLite URL, so they stand alone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from catalog.cli import app
from catalog.services import setup

DEMO_CATALOG = setup.SEEDS / "demo" / "catalog.yaml"

Invoke = Callable[..., Result]


@pytest.fixture
def invoke() -> Invoke:
    """Run `catalog ARGS...` in process; returns the result (exit_code, stdout, stderr)."""
    runner = CliRunner()

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(app, [str(a) for a in args], env=env)

    return run


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A URL to an SQLite file that does not exist yet."""
    return f"sqlite:///{tmp_path / 'cli-test.db'}"


@pytest.fixture
def initialized(invoke: Invoke, db_url: str) -> str:
    """db_url after `catalog init`."""
    result = invoke("init", "--database-url", db_url)
    assert result.exit_code == 0, result.output
    return db_url


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory) -> str:
    """An SQLite catalog with the demo fields (init + seed through the CLI), shared by a
    module's read-only tests."""
    url = f"sqlite:///{tmp_path_factory.mktemp('cli-demo') / 'demo.db'}"
    runner = CliRunner()
    for args in (["init"], ["seed", str(DEMO_CATALOG)]):
        result = runner.invoke(app, [*args, "--database-url", url])
        assert result.exit_code == 0, result.output
    return url

