"""The question itself: may field X be used for purpose Y in channel Z?"""

from __future__ import annotations

from catalog.domain import cell_ids
from catalog.domain.decision import Decision
from catalog.domain.index import CatalogIndex
from catalog.domain.model import FieldRecord
from catalog.errors import NotFound
from catalog.services import timeline
from catalog.services.auth import Principal, require
from catalog.services.core import Catalog
from catalog.services.fields import check_batch
from catalog.services.timeline import AsOf


def precheck(principal: Principal, requests: list | None = None) -> None:
    """What a check refuses before it would wait for a revision: the caller, the batch size.
    Callers that move the wait off the event loop run this first, so errors come in the
    same order whichever way the wait goes."""
    require(principal, "check")
    if requests is not None:
        check_batch(requests, "checks")


def snapshot(cat: Catalog, index: CatalogIndex | None,
             at_least_revision: int | None = None) -> CatalogIndex:
    """The snapshot to answer from: the caller's (one per response) when it is recent enough,
    else the catalog's, caught up as freshness asks."""
    if index is not None and (at_least_revision is None or index.revision >= at_least_revision):
        return index
    cat.fresh(at_least_revision)
    return cat.index


def check(cat: Catalog, principal: Principal, field: str, purpose: str, channel: str,
          at_least_revision: int | None = None, as_of: AsOf | None = None, *,
          index: CatalogIndex | None = None, logged: bool = True) -> Decision:
    """`logged=False`: a reviewer looking at a decision (the console) is not a use of the data,
    so it stays out of the decision log and the overcrowding and spectrum figures."""
    precheck(principal)
    decision = _index(cat, index, at_least_revision, as_of).check(field, purpose, channel)
    count(cat, principal, decision, logged)
    return decision


def count(cat: Catalog, principal: Principal, decision: Decision, logged: bool = True) -> None:
    """What check() counts of a decision: the decision log's and /metrics' share."""
    recorder = getattr(cat, "decision_log", None)  # the server's; the CLI counts nothing
    if recorder is not None and logged:
        recorder.record_one(principal, decision)
    if cat.seen is not None:  # counted for /metrics off the request path (api/metrics.py)
        cat.seen.append(decision)


def check_many(cat: Catalog, principal: Principal, requests: list[tuple[str, str, str]],
               at_least_revision: int | None = None, as_of: AsOf | None = None, *,
               index: CatalogIndex | None = None, logged: bool = True) -> list[Decision]:
    precheck(principal, requests)
    decisions = _index(cat, index, at_least_revision, as_of).check_many(requests)
    if logged:
        record_many(cat, principal, decisions)
    elif cat.seen is not None:
        cat.seen.append(decisions)
    return decisions


def raw_snapshot(cat: Catalog, principal: Principal) -> CatalogIndex:
    """The current snapshot, for a checkMany still as its JSON bytes (api/graphql/
    lean_raw.py), once the caller may check (the batch's size is the caller's to check:
    it has no list of requests to count)."""
    precheck(principal)
    cat.fresh()
    return cat.index


def record_many(cat: Catalog, principal: Principal, decisions: list[Decision]) -> None:
    """What check_many() counts: the decision log's and /metrics' share of a batch."""
    recorder = getattr(cat, "decision_log", None)
    if recorder is not None:  # as in check()
        recorder.record(principal, decisions)
    if cat.seen is not None:
        cat.seen.append(decisions)


def record_ids(cat: Catalog, principal: Principal, table, packed: bytes) -> None:
    """record_many() for a checkMany answered from a raw table (lean_raw.py): its decisions
    as the table's cell ids packed in one buffer, counted by the decision log's thread."""
    recorder = getattr(cat, "decision_log", None)
    if recorder is not None:
        recorder.record_ids(principal, table, packed)
    if cat.seen is not None:
        cat.seen.append((cell_ids.count(packed), table.allowed_in(packed)))


def _index(cat: Catalog, index: CatalogIndex | None, at_least_revision: int | None,
           as_of: AsOf | None) -> CatalogIndex:
    """The snapshot to answer from, or the catalog as it stood at asOf."""
    if as_of is None:
        return snapshot(cat, index, at_least_revision)
    if at_least_revision is None and as_of.time is None:
        cached = timeline.cached(cat, as_of.revision)  # valid: it was resolved when built
        if cached is not None:
            return cached
    revision = timeline.resolve(cat, as_of.revision, as_of.time, at_least_revision)
    return timeline.index_at(cat, revision)


def get_field(cat: Catalog, principal: Principal, name: str, *,
              index: CatalogIndex | None = None) -> FieldRecord | None:
    require(principal, "field")
    return snapshot(cat, index).get(name)


def usage_matrix(cat: Catalog, principal: Principal, field: str, *,
                 index: CatalogIndex | None = None) -> list[Decision]:
    """Every purpose x channel for one field, purposes then channels in key order."""
    require(principal, "read", asked="query usageMatrix")
    index = snapshot(cat, index)
    if index.get(field) is None:
        raise NotFound(f"field {field!r} is not in the catalog")
    tax = index.taxonomy
    return index.check_many([(field, p, c) for p in sorted(tax.purposes)
                             for c in sorted(tax.channels)])
