"""Where the migrations and seed files are.

The people who work on the catalog keep them at the top of the repository (migrations/,
seeds/). A wheel carries a copy inside the package, catalog/_bundled/, made by the build step
in setup.py. A checkout (the directory above the package holds pyproject.toml) reads the
top-level directories, so an edit there counts at once (editable installs included); an
installed package reads its own copy and never a stray site-packages/migrations.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from catalog.errors import CatalogError

PACKAGE = Path(__file__).resolve().parent
BUNDLED = PACKAGE / "_bundled"
CHECKOUT = PACKAGE.parent
MARKERS = {"migrations": "env.py", "seeds": "taxonomy.yaml"}  # a file each must hold


def _candidates(name: str) -> list[Path]:
    in_checkout = (CHECKOUT / "pyproject.toml").is_file()
    return [CHECKOUT / name, BUNDLED / name] if in_checkout else [BUNDLED / name]


@cache
def resource_dir(name: str) -> Path:
    """The directory `migrations` or `seeds`: the checkout's, else the bundled copy (also
    when neither holds it: `require` then says what is wrong)."""
    candidates = _candidates(name)
    return next((p for p in candidates if (p / MARKERS[name]).is_file()), candidates[-1])


def require(name: str) -> Path:
    """resource_dir(name), or an error that says how to fix a broken installation."""
    path = resource_dir(name)
    if not (path / MARKERS[name]).is_file():
        raise CatalogError(f"the catalog's {name} are missing (looked in "
                           f"{', '.join(map(str, _candidates(name)))}): reinstall "
                           "purpose-catalog from its wheel or repository")
    return path


def migrations_dir() -> Path:
    return require("migrations")


def seeds_dir() -> Path:
    """Where the default and demo seed files are (not checked: a missing file says so)."""
    return resource_dir("seeds")
