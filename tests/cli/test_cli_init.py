"""`catalog init`: creates the schema and loads the defaults; a second run changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog.services.core import Catalog
from catalog.services.setup import SEEDS
from catalog.settings import get_settings


def catalog_state(url: str) -> tuple[int, int, int, int]:
    cat = Catalog(database_url=url)
    try:
        cat.reload()
        index = cat.index
        return (index.revision, len(index.taxonomy.categories), len(index.taxonomy.purposes),
                len(index.rules))
    finally:
        cat.close()


def test_init_twice_second_changes_nothing(invoke, database_url):
    first = invoke("init", "--database-url", database_url)
    assert first.exit_code == 0, first.output
    assert "schema: created at version" in first.stdout
    assert "default taxonomy: 61 keys added" in first.stdout
    assert "default rules: 8 rules added" in first.stdout
    state = catalog_state(database_url)
    assert state[3] == 8

    second = invoke("init", "--database-url", database_url)
    assert second.exit_code == 0, second.output
    assert "schema: already at version" in second.stdout
    assert "default taxonomy: already up to date" in second.stdout
    assert "default rules: already up to date" in second.stdout
    assert catalog_state(database_url) == state  # not even the revision moved


def test_database_url_from_environment(invoke, tmp_path):
    path = tmp_path / "from-env.db"
    result = invoke("init", env={"CATALOG_DATABASE_URL": f"sqlite:///{path}"})
    assert result.exit_code == 0, result.output
    assert path.exists()


def test_default_database_is_catalog_db_in_working_directory(invoke, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # never the repository's own ./catalog.db
    monkeypatch.delenv("CATALOG_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        result = invoke("init")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "sqlite:///catalog.db" in result.stdout
    assert (Path(tmp_path) / "catalog.db").exists()


@pytest.mark.parametrize("args", [["token", "list"], ["check", "a.b.c", "service", "email"],
                                  ["seed", str(SEEDS / "taxonomy.yaml")]])
def test_commands_other_than_init_leave_no_empty_file_behind(invoke, tmp_path, args):
    path = tmp_path / "missing.db"
    result = invoke(*args, "--database-url", f"sqlite:///{path}")
    assert result.exit_code == 2
    assert "catalog init" in result.stderr
    assert not path.exists()
