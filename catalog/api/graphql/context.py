"""Per-request context: the catalog and the authenticated caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio

from catalog.services.auth import Principal
from catalog.services.core import Catalog


@dataclass
class Context:
    catalog: Catalog
    principal: Principal | None
    document: Any = None  # the parsed, validated DocumentNode, when the endpoint prepared it


async def off_loop(fn, *args, **kwargs):
    """Run blocking service work (database I/O, waiting for a revision) in a worker thread,
    so one slow call does not stall every other request on this worker."""
    return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
