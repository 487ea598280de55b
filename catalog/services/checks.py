"""The question itself: may field X be used for purpose Y in channel Z?"""

from __future__ import annotations

from catalog.domain.decision import Decision
from catalog.domain.model import FieldRecord
from catalog.errors import NotFound
from catalog.services.auth import Principal, require
from catalog.services.core import Catalog
from catalog.services.fields import check_batch


def precheck(principal: Principal, requests: list | None = None) -> None:
    """What a check refuses before it would wait for a revision: the caller, the batch size.
    Callers that move the wait off the event loop run this first, so errors come in the
    same order whichever way the wait goes."""
    require(principal, "check")
    if requests is not None:
        check_batch(requests, "checks")


def check(cat: Catalog, principal: Principal, field: str, purpose: str, channel: str,
          at_least_revision: int | None = None) -> Decision:
    precheck(principal)
    cat.fresh(at_least_revision)
    return cat.index.check(field, purpose, channel)


def check_many(cat: Catalog, principal: Principal, requests: list[tuple[str, str, str]],
               at_least_revision: int | None = None) -> list[Decision]:
    precheck(principal, requests)
    cat.fresh(at_least_revision)
    return cat.index.check_many(requests)


def get_field(cat: Catalog, principal: Principal, name: str) -> FieldRecord | None:
    require(principal, "field")
    cat.fresh()
    return cat.index.get(name)


def usage_matrix(cat: Catalog, principal: Principal, field: str) -> list[Decision]:
    """Every purpose x channel for one field, purposes then channels in key order."""
    require(principal, "read", asked="query usageMatrix")
    cat.fresh()
    index = cat.index
    if index.get(field) is None:
        raise NotFound(f"field {field!r} is not in the catalog")
    tax = index.taxonomy
    return index.check_many([(field, p, c) for p in sorted(tax.purposes)
                             for c in sorted(tax.channels)])
