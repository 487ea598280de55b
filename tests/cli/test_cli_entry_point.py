"""The installed `catalog` console script, run as a real process: exit codes and stderr as a
shell or CI job sees them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from catalog.services.setup import SEEDS

CATALOG = Path(sys.executable).parent / "catalog"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CATALOG), *map(str, args)], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.skipif(not CATALOG.exists(), reason=f"{CATALOG} not installed (pip install -e .)")
def test_entry_point(invoke, tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'entry.db'}"
    for args in (["init"], ["seed", SEEDS / "demo" / "catalog.yaml"]):  # in process: faster
        assert invoke(*args, "--database-url", url).exit_code == 0

    created = run("token", "create", "--role", "pipeline", "--database-url", url)
    assert created.returncode == 0, created.stderr
    assert created.stdout.splitlines()[-1].startswith("pc_")

    allowed = run("check", "crm.customers.email", "service.delivery", "email",
                  "--database-url", url)
    assert (allowed.returncode, allowed.stdout.split(":")[0]) == (0, "ALLOWED")
    denied = run("check", "ml.scores.pregnancy_likelihood", "personalization.recommendations",
                 "web", "--database-url", url)
    assert (denied.returncode, denied.stdout.split(":")[0]) == (1, "DENIED")

    unreachable = run("check", "a.b.c", "service", "email",
                      "--database-url", "postgresql+psycopg://postgres@127.0.0.1:1/x")
    assert unreachable.returncode == 2
    assert unreachable.stdout == ""
    assert unreachable.stderr.startswith("error: cannot reach the database at ")
    assert len(unreachable.stderr.strip().splitlines()) == 1
    assert "Traceback" not in unreachable.stderr
