"""OpenLineage ingestion (docs/semantics.md §11): events in, unclassified fields and lineage edges
out, one transaction per call (an event, or a whole file of them).

Order of refusals: no principal (UNAUTHENTICATED), a role that may not write (FORBIDDEN), an
owner whose scope misses an output column (FORBIDDEN), then what is wrong with the event
(BAD_INPUT), then a cycle (CONFLICT). Nothing is written unless everything passes."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from catalog.domain.lineage import NONE as NO_PARENTS
from catalog.domain.model import Edge, FieldRecord
from catalog.domain.ol_names import MappingRule, parse_rules
from catalog.domain.ol_plan import IngestPlan, plan_event
from catalog.domain.openlineage import Event
from catalog.domain.unclassified import UNCLASSIFIED, UNOWNED
from catalog.errors import BadInput, Forbidden
from catalog.services.auth import RIGHTS, Principal, require
from catalog.services.core import Catalog, Txn
from catalog.services.fields import register_new_in
from catalog.services.lineage import add_edges_in

SHOWN_PROBLEMS = 3


@dataclass(frozen=True, slots=True)
class IngestResult:
    revision: int
    fields_registered: int
    edges_added: int
    edges_updated: int = 0  # existing edges whose transform changed

    def as_json(self) -> dict:
        return {"revision": self.revision, "fieldsRegistered": self.fields_registered,
                "edgesAdded": self.edges_added, "edgesUpdated": self.edges_updated}


def require_ingest(principal: Principal | None) -> None:
    """UNAUTHENTICATED without a principal; FORBIDDEN for roles that may not write lineage."""
    require(principal, "check")
    if "write" not in RIGHTS.get(principal.role, ()):  # type: ignore[union-attr]
        raise Forbidden(f"role {principal.role} may not write lineage: send events with an "  # type: ignore[union-attr]
                        "admin token, or an owner token whose scope covers the output columns")


@lru_cache(maxsize=4)  # keyed by the setting's text: bounded, and re-read when it changes
def mapping_rules(text: str | None) -> tuple[MappingRule, ...]:
    return parse_rules(text)


def plan_events(cat: Catalog, principal: Principal, events: list[Event]) -> IngestPlan:
    """Map events to one plan, refusing (in the order of checks) what may not be written."""
    require_ingest(principal)
    rules = mapping_rules(cat.settings.openlineage_mapping)
    plans = [plan_event(e, rules) for e in events]
    for plan in plans:
        for name in plan.scoped:
            require(principal, "write", name)
    problems = [p for plan in plans for p in plan.problems]
    if problems:
        more = len(problems) - SHOWN_PROBLEMS
        raise BadInput("; ".join(problems[:SHOWN_PROBLEMS])
                       + (f"; and {more} more" if more > 0 else ""))
    return merge(plans)


def merge(plans: list[IngestPlan]) -> IngestPlan:
    """Several events' plans as one: an output wins over an input of the same name; a later
    event's transforms replace an earlier one's (a run's COMPLETE knows more than its START)."""
    if len(plans) == 1:
        return plans[0]
    out = IngestPlan()
    for plan in plans:
        for name, planned in plan.fields.items():
            before = out.fields.get(name)
            if before is None or (planned.scoped and not before.scoped):
                out.fields[name] = planned
        for edge, transforms in plan.edges.items():
            if transforms or edge not in out.edges:
                out.edges[edge] = transforms
    return out


def ingest_events(cat: Catalog, principal: Principal, events: list[Event]) -> IngestResult:
    """Register the fields the catalog lacks and add the edges, all in one transaction. A
    replay commits nothing and answers the current revision."""
    plan = plan_events(cat, principal, events)
    if not adds_anything(cat, plan):
        # Maybe a replay or re-run. The index may lag other processes' commits (one could
        # have removed an edge the event states): one read of the revision brings it up to
        # date, and if the event still adds nothing, no write transaction, no lock.
        cat.sync()
        if not adds_anything(cat, plan):
            return IngestResult(cat.index.revision, 0, 0)
    # The write catches the index up inside its transaction; apply_plan then decides again.
    with cat.write(principal.actor) as txn:
        result = apply_plan(txn, cat, plan)
    if not txn.log:
        return IngestResult(cat.index.revision, 0, 0)
    return IngestResult(txn.revision, *result)


def adds_anything(cat: Catalog, plan: IngestPlan) -> bool:
    index = cat.index
    graph = index.graph
    if any(index.get(name) is None for name in plan.fields):
        return True
    for (up, down) in plan.edges:
        if not graph.has_edge(up, down):
            return True
        transform = plan.transform((up, down))
        if transform is not None and graph.edge(up, down).transform != transform:
            return True
    return False


def apply_plan(txn: Txn, cat: Catalog, plan: IngestPlan) -> tuple[int, int, int]:
    index = cat.index
    known, known_over, pending = index.fields.base, index.fields.over, txn.fields
    new = [FieldRecord(f.name, UNCLASSIFIED, f.source, UNOWNED, f.description,
                       f.source_system, False, (), txn.revision)
           for f in plan.fields.values()
           if f.name not in known and f.name not in known_over and f.name not in pending]
    register_new_in(txn, index, new)
    edges = []
    up = index.graph.up
    for (upstream, down), transforms in plan.edges.items():
        transform = ",".join(transforms) or None
        if transform is None and upstream in up.get(down, NO_PARENTS):
            continue  # the event adds nothing to the edge the catalog has
        edges.append(Edge(upstream, down, transform))
    added, updated = add_edges_in(txn, index, edges)
    return len(new), len(added), len(updated)
