"""Assertions shared by the CLI tests."""

from __future__ import annotations

from typer.testing import Result

from catalog.services.core import Catalog


def index_of(url: str):
    """The catalog's index as the database holds it now."""
    cat = Catalog(database_url=url)
    try:
        cat.reload()
        return cat.index
    finally:
        cat.close()


def assert_one_line_error(result: Result, *fragments: str) -> str:
    """Exit code 2, exactly one line `error: ...` on stderr, no traceback anywhere."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]
