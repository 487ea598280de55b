"""A Python client for the catalog's API (docs/semantics.md §14), for pipelines:

    from catalog.client import CatalogClient

    with CatalogClient("http://catalog.internal:8000", token) as catalog:
        if not catalog.check("crm.customers.email", "marketing.direct", "email").allowed:
            ...
"""

from catalog.client.client import AsyncCatalogClient, CatalogClient
from catalog.client.models import (
    CatalogClientError,
    Decision,
    Field,
    Grant,
    Lineage,
    LineageEdge,
    Reason,
)

__all__ = ["AsyncCatalogClient", "CatalogClient", "CatalogClientError", "Decision", "Field",
           "Grant", "Lineage", "LineageEdge", "Reason"]
