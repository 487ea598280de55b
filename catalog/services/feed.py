"""The catalog-wide change feed as the console shows it: the change log, newest first."""

from __future__ import annotations

from catalog.db import console
from catalog.errors import BadInput
from catalog.services.auth import Principal, require
from catalog.services.browse import change_entry
from catalog.services.core import Catalog

MAX_PAGE = 200


def recent_changes(cat: Catalog, principal: Principal, *, first: int = 50,
                   before: int | None = None,
                   field_prefix: str | None = None) -> tuple[list[dict], int | None]:
    """(entries, the id to pass as `before` for the next page, or None at the end)."""
    require(principal, "read")
    if not isinstance(first, int) or not 1 <= first <= MAX_PAGE:
        raise BadInput(f"first must be 1 to {MAX_PAGE}, not {first!r}")
    with cat.engine.connect() as conn:
        rows = console.recent_changes(conn=conn, first=first + 1, before=before,
                                      field_prefix=field_prefix or None)
    more = len(rows) > first
    rows = rows[:first]

    return [change_entry(r) for r in rows], (rows[-1].id if more else None)
