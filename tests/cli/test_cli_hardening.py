"""What a new user of the command line hits: the version, usage errors as one line, ./dev
without arguments, a failed init, and the demo on its second start."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error

from catalog.cli.common import catalog_command
from catalog.domain.model import Grant
from catalog.services.auth import SYSTEM
from catalog.services.core import Catalog
from catalog.services.fields import grant_purpose
from catalog.services.lineage import remove_lineage

ROOT = Path(__file__).resolve().parents[2]


def test_version(invoke):
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip().startswith("catalog (purpose-catalog) ")


@pytest.mark.parametrize(("args", "fragments"), [
    (["initt"], ["No such command 'initt'", "Did you mean 'init'?"]),
    (["init", "--databse-url", "x"], ["No such option: --databse-url", "--database-url"]),
    (["check", "a.b.c"], ["Missing argument 'PURPOSE'", "catalog check --help"]),
    (["token", "create"], ["Missing option '--role'"]),
    (["check", "a.b.c", "p", "c", "--at-least-revision", "x"], ["--at-least-revision"]),
])
def test_usage_errors_are_one_line(invoke, args, fragments):
    assert_one_line_error(invoke(*args), *fragments)


def test_dev_without_arguments_prints_its_usage_only():
    result = subprocess.run([str(ROOT / "dev")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "./dev test" in result.stdout
    assert "set -" not in result.stdout and not result.stdout.startswith("!")
    unknown = subprocess.run([str(ROOT / "dev"), "nope"], capture_output=True, text=True,
                             timeout=60)
    assert unknown.returncode == 2 and "unknown command 'nope'" in unknown.stderr


def test_failed_init_leaves_no_database_file(invoke, tmp_path, monkeypatch):
    from catalog.services import setup

    broken = tmp_path / "no-migrations"
    broken.mkdir()

    def config():
        cfg = setup.Config()
        cfg.set_main_option("script_location", str(broken))
        return cfg

    monkeypatch.setattr(setup, "alembic_config", config)
    db = tmp_path / "new.db"
    assert_one_line_error(invoke("init", "--database-url", f"sqlite:///{db}"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["no-migrations"]
    # A database that was there before stays.
    monkeypatch.undo()
    assert invoke("init", "--database-url", f"sqlite:///{db}").exit_code == 0
    monkeypatch.setattr(setup, "alembic_config", config)
    assert_one_line_error(invoke("init", "--database-url", f"sqlite:///{db}"))
    assert db.is_file()


def test_demo_keeps_what_a_user_changed(invoke, database_url):
    first = invoke("demo", "--no-serve", "--database-url", database_url)
    assert first.exit_code == 0, first.output
    assert "64 fields, 42 lineage edges loaded" in first.stdout
    cat = Catalog(database_url=database_url)
    try:
        grant_purpose(cat, SYSTEM, "crm.customers.email", Grant("marketing"))
        remove_lineage(cat, SYSTEM, "ml.scores.pregnancy_likelihood",
                       "dwh.marts.audiences.baby_club_member")
    finally:
        cat.close()

    again = invoke("demo", "--no-serve", "--database-url", database_url)
    assert again.exit_code == 0, again.output
    line = next(x for x in again.stdout.splitlines() if x.startswith("demo catalog:"))
    assert "2 of its fields" in line, line
    assert "crm.customers.email" in line and "dwh.marts.audiences.baby_club_member" in line
    assert "--fresh" in line
    cat = Catalog(database_url=database_url)
    try:
        assert cat.index.get("crm.customers.email").grant_for("marketing") is not None
        assert not cat.index.graph.has_edge("ml.scores.pregnancy_likelihood",
                                            "dwh.marts.audiences.baby_club_member")
    finally:
        cat.close()


def test_demo_prints_a_command_that_runs_from_here(monkeypatch, tmp_path):
    script = tmp_path / "venv" / "bin" / "catalog"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.argv", [str(script), "demo"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the venv is not on PATH
    assert catalog_command() == "venv/bin/catalog"
    monkeypatch.setenv("PATH", f"{script.parent}:/usr/bin:/bin")
    assert catalog_command() == "catalog"
