"""`catalog notice`: the customer notice (docs/semantics.md §15), generated from what is allowed."""

from __future__ import annotations

from typing import Annotated

import typer

from catalog import notice as render
from catalog.cli.app import app
from catalog.cli.common import DEFAULT_URL, DatabaseUrl, guarded, open_catalog
from catalog.services.auth import SYSTEM
from catalog.services.transparency import build_notice


@app.command()
@guarded
def notice(
    format: Annotated[str, typer.Option(
        "--format", metavar="FORMAT", help="markdown (default) or html")] = "markdown",
    database_url: DatabaseUrl = DEFAULT_URL,
) -> None:
    """Print the customer notice: for each category of data, what it is used for, in which
    channels and why it helps the customer, grouped by intensity. Only allowed uses appear."""
    if format not in render.FORMATS:
        from catalog.cli.common import fail
        fail(f"unknown format {format!r}: use markdown or html")
    with open_catalog(database_url) as cat:
        text = render.render(build_notice(cat, SYSTEM), format)
    typer.echo(text, nl=False)
