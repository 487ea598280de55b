"""The `catalog` command. Importing this package registers every command on `app`."""

from catalog.cli.app import app, main
from catalog.cli.commands import (  # noqa: F401
    ascode,
    audit,
    check,
    demo,
    ingest,
    init,
    notice,
    seed,
    serve,
    token,
    verify,
)

__all__ = ["app", "main"]
