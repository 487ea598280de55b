"""The question itself: may field X be used for purpose Y in channel Z?"""

from __future__ import annotations

from catalog.domain.decision import Decision
from catalog.domain.model import FieldRecord
from catalog.errors import NotFound
from catalog.services.auth import Principal, require
from catalog.services.core import Catalog
from catalog.services.fields import check_batch


def check(cat: Catalog, principal: Principal, field: str, purpose: str, channel: str,
          at_least_revision: int | None = None) -> Decision:
    require(principal, "check")
    cat.fresh(at_least_revision)
    return cat.index.check(field, purpose, channel)


def check_many(cat: Catalog, principal: Principal, requests: list[tuple[str, str, str]],
               at_least_revision: int | None = None) -> list[Decision]:
    require(principal, "check")
    check_batch(requests, "checks")
    cat.fresh(at_least_revision)
    return cat.index.check_many(requests)


def get_field(cat: Catalog, principal: Principal, name: str) -> FieldRecord | None:
    require(principal, "field")
    cat.fresh()
    return cat.index.get(name)


def usage_matrix(cat: Catalog, principal: Principal, field: str) -> list[Decision]:
    """Every purpose x channel for one field, purposes then channels in key order."""
    require(principal, "read")
    cat.fresh()
    index = cat.index
    if index.get(field) is None:
        raise NotFound(f"field {field!r} is not in the catalog")
    tax = index.taxonomy
    return index.check_many([(field, p, c) for p in sorted(tax.purposes)
                             for c in sorted(tax.channels)])
