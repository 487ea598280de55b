"""`catalog seed FILE...`: load taxonomy, rules or catalog YAML files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from catalog.cli.app import app
from catalog.cli.common import DEFAULT_URL, DatabaseUrl, guarded, open_catalog
from catalog.errors import BadInput
from catalog.services import setup
from catalog.services.apply import apply_files
from catalog.services.auth import SYSTEM

# Kinds in load order (rules name taxonomy keys; fields name both), with their top-level keys.
KINDS = {
    "taxonomy": frozenset(setup.KIND_SECTIONS),
    "rules": frozenset({"rules"}),
    "catalog": frozenset({"fields", "lineage"}),
}


@app.command()
@guarded
def seed(
    files: Annotated[list[Path], typer.Argument(
        metavar="FILE...", help="YAML files: taxonomy, rules or catalog (fields and lineage)")],
    database_url: DatabaseUrl = DEFAULT_URL,
) -> None:
    """Load taxonomy, rules or catalog YAML files into an initialized catalog.

    The kind of each file is told by its top-level keys: categories/purposes/channels/sources
    (taxonomy), rules, fields/lineage (catalog; see seeds/demo/catalog.yaml). All files load in
    one transaction (one revision), or none does. Taxonomy keys and rules already present stay
    as they are; fields are created or updated. `catalog apply` makes the catalog equal the
    files instead."""
    kinds = {path: kind_of(path) for path in files}  # every file readable before any loads
    order = list(KINDS)
    with open_catalog(database_url) as cat:
        outcome = apply_files(cat, SYSTEM, list(files), seed=True)  # one transaction
        for path in sorted(files, key=lambda p: order.index(kinds[p])):
            typer.echo(f"{path}: {describe(outcome, path, kinds[path])}")


def kind_of(path: Path) -> str:
    keys = set(setup.read_yaml(path))
    for kind, allowed in KINDS.items():
        if keys and keys <= allowed:
            return kind
    raise BadInput(f"{path}: cannot tell the kind of file from its top-level keys "
                   f"{sorted(keys)}: a taxonomy has categories/purposes/channels/sources, "
                   "a rules file has rules, a catalog has fields and/or lineage")


def describe(outcome, path: Path, kind: str) -> str:
    if kind == "taxonomy":
        added = setup.added_from(outcome, path)["taxonomy"]
        return f"taxonomy, {added} keys added" if added else "taxonomy, already up to date"
    if kind == "rules":
        added = setup.added_from(outcome, path)["rules"]
        return f"rules, {added} rules added" if added else "rules, already up to date"
    spec = outcome.spec
    fields = sum(1 for f in spec.fields.values() if f.origin.rpartition(":")[0] == str(path))
    edges = sum(1 for _, o in spec.edges.values() if o.rpartition(":")[0] == str(path))
    return (f"catalog, {fields} fields and {edges} lineage edges loaded "
            f"(catalog revision {outcome.revision})")
