"""The package as a user installs it (`pip install .`, not editable): the wheel carries the
migrations and seed files (setup.py's build step, catalog/resources.py), so `catalog init`,
`demo` and `check` work from an empty directory far from the repository.

The wheel is built from a copy of the checkout (so nothing is written into it) and installed
without dependencies into a throwaway virtual environment that borrows the test environment's
site-packages for them (a .pth line: nothing of the editable install is imported, its .pth
files are not run). No registry is needed but for the build backend (setuptools, cached).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
COPIED = ("catalog", "migrations", "seeds", "pyproject.toml", "setup.py", "MANIFEST.in",
          "README.md")


def run(cmd: list, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CATALOG_DATABASE_URL", "PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ directory of a fresh virtual environment holding the built wheel."""
    base = tmp_path_factory.mktemp("packaging")
    source = base / "source"
    for name in COPIED:
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copyfile
        copy(ROOT / name, source / name,
             **({"ignore": shutil.ignore_patterns("__pycache__", "_bundled")}
                if (ROOT / name).is_dir() else {}))
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", base / "dist",
                 source], cwd=base)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next((base / "dist").glob("purpose_catalog-*.whl"))

    env_dir = base / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    done = run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "-q",
                wheel], cwd=base)
    assert done.returncode == 0, done.stderr[-3000:]
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                  cwd=base).stdout.strip()
    Path(purelib, "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"]
                                                          + "\n")
    return env_dir / "bin"


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    work = tmp_path / "elsewhere"
    work.mkdir()
    return work


def test_installed_package_is_not_the_checkout(installed, empty_dir):
    where = run([installed / "python", "-c", "import catalog; print(catalog.__file__)"],
                cwd=empty_dir)
    assert where.returncode == 0, where.stderr
    assert where.stdout.startswith(str(installed.parent)), where.stdout
    version = run([installed / "catalog", "--version"], cwd=empty_dir)
    assert version.returncode == 0 and version.stdout.split()[-1][0].isdigit(), version


def test_init_and_check_from_an_empty_directory(installed, empty_dir, database_url):
    url = [] if database_url.startswith("sqlite") else ["--database-url", database_url]
    init = run([installed / "catalog", "init", *url], cwd=empty_dir)
    assert init.returncode == 0, init.stderr
    assert "default rules: 8 rules added" in init.stdout
    if not url:
        assert (empty_dir / "catalog.db").is_file()  # the default, in the current directory

    demo = run([installed / "catalog", "demo", "--no-serve", *url], cwd=empty_dir)
    assert demo.returncode == 0, demo.stderr
    assert "64 fields" in demo.stdout
    # The command it prints is the one that works from here.
    line = next(x for x in demo.stdout.splitlines() if " check dwh.marts." in x).split()
    assert Path(line[0]) == installed / "catalog", line

    db = url or ["--database-url", "sqlite:///demo.db"]
    allowed = run([installed / "catalog", "check", "crm.customers.email", "service.delivery",
                   "email", *db], cwd=empty_dir)
    assert (allowed.returncode, allowed.stdout.split(":")[0]) == (0, "ALLOWED"), allowed
    denied = run([installed / "catalog", "check", "ml.scores.pregnancy_likelihood",
                  "personalization.recommendations", "web", *db], cwd=empty_dir)
    assert (denied.returncode, denied.stdout.split(":")[0]) == (1, "DENIED"), denied
