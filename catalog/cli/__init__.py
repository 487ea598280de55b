"""The `catalog` command. Importing this package registers every command on `app`."""

from catalog.cli.app import app, main
from catalog.cli.commands import check, demo, init, notice, seed, serve, token  # noqa: F401

__all__ = ["app", "main"]
