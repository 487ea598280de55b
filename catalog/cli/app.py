"""The `catalog` command line (CONTRACT §8). This module only creates the app; each module in
catalog/cli/commands/ registers its command on it, and importing `catalog.cli` imports them."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="catalog",
    help="Purpose Catalog: may field X be used for purpose Y in channel Z?",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help text, rewrapped to the terminal
    pretty_exceptions_enable=False,  # errors are one line (catalog/cli/common.py), never a trace
)


def main() -> None:
    app(prog_name="catalog")
