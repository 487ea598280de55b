"""Catalog as code (docs/semantics.md §12): `catalog export` and `catalog apply`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from catalog.cli.app import app
from catalog.cli.common import DEFAULT_URL, DatabaseUrl, guarded, open_catalog
from catalog.services import apply_report
from catalog.services.apply import apply_files
from catalog.services.auth import SYSTEM
from catalog.services.export import export_yaml


@app.command()
@guarded
def export(
    output: Annotated[Path | None, typer.Option(
        "--output", metavar="FILE", help="write to FILE instead of stdout")] = None,
    database_url: DatabaseUrl = DEFAULT_URL,
) -> None:
    """Write the whole catalog as YAML: taxonomy, rules, fields with grants, lineage.

    Sorted, without revision, time or tokens: two exports of the same catalog are identical,
    and `catalog apply` reads it back."""
    with open_catalog(database_url) as cat:
        text = export_yaml(cat, SYSTEM)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        typer.echo(f"wrote {output}", err=True)


@app.command(name="apply")
@guarded
def apply_command(
    files: Annotated[list[Path], typer.Argument(
        metavar="FILE...", help="YAML files: fields, lineage, rules, categories, purposes, "
                                "channels, sources (the format `catalog export` writes)")],
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="print the changes and the decisions that would flip; write "
                          "nothing")] = False,
    prune: Annotated[bool, typer.Option(
        "--prune", help="also deprecate the fields, remove the edges and rules and clear the "
                        "attributes the files lack (for the kinds of entry they hold)")] = False,
    database_url: DatabaseUrl = DEFAULT_URL,
) -> None:
    """Make the catalog equal the files, in one transaction and one revision.

    Attributes a file states replace the catalog's, omitted ones stay; a field's grants in a
    file replace its grants. Nothing changes when the catalog already equals the files. A file
    with an unknown key, a bad name, a cycle or a duplicate is refused as a whole (the error
    names the file and line) and nothing is written."""
    with open_catalog(database_url) as cat:
        outcome = apply_files(cat, SYSTEM, list(files), prune=prune, dry_run=dry_run)
        lines = apply_report.changes(outcome.plan)
        if dry_run and not outcome.plan.empty:
            lines += apply_report.flip_lines(apply_report.flips(cat.index, outcome.plan))
    for line in lines:
        typer.echo(line)
    if outcome.plan.empty:
        typer.echo(f"nothing to change: the catalog equals the files "
                   f"(revision {outcome.revision})")
    elif dry_run:
        typer.echo(f"dry run: {_changes(outcome.plan)}, nothing written (catalog revision "
                   f"{outcome.revision})")
    else:
        typer.echo(f"applied {_changes(outcome.plan)}: catalog revision {outcome.revision}")


def _changes(plan) -> str:
    n = plan.size
    return f"{n} change" + ("" if n == 1 else "s")
