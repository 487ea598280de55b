"""Per-request context: the catalog, the authenticated caller, and the index snapshot the
response reads (one revision per response)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio

from catalog.domain.index import CatalogIndex
from catalog.services.auth import Principal
from catalog.services.core import Catalog


@dataclass
class Context:
    catalog: Catalog
    principal: Principal | None
    document: Any = None  # the parsed, validated DocumentNode, when the endpoint prepared it
    _index: CatalogIndex | None = None

    @property
    def index(self) -> CatalogIndex:
        """The snapshot this response reads. The first resolver that needs one pins it (after
        the usual freshness catch-up); every later resolver reads the same one, so a response
        never mixes revisions, whatever writers do meanwhile."""
        if self._index is None:
            self.catalog.fresh()
            self._index = self.catalog.index
        return self._index

    def cover(self, records) -> None:
        """Read a snapshot that holds records from now on. A `fields` page may name fields
        committed after the pinned snapshot (it never skips one), and their lineage must come
        from a snapshot that has them."""
        index = self.index
        if any(index.get(r.name) is None or r.revision > index.revision for r in records):
            self._index = self.catalog.index

    async def write(self, fn, *args, **kwargs):
        """Run a mutation's service call off the loop; what the response reads after it is
        the snapshot that holds the write."""
        try:
            return await off_loop(fn, *args, **kwargs)
        finally:
            self._index = None


async def off_loop(fn, *args, **kwargs):
    """Run blocking service work (database I/O, waiting for a revision) in a worker thread,
    so one slow call does not stall every other request on this worker."""
    return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
