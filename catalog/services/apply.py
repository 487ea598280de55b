"""`catalog apply` and `catalog seed`: make the catalog equal a set of files (docs/semantics.md
§12), in one transaction and one revision.

The files are read and checked first (codefile), then compared with the catalog as it stands
inside the writer's lock: the result is a `Plan`, the list of changes. An empty plan commits
nothing. A dry run makes the same plan outside the lock and writes nothing.

Semantics: attributes a file states replace the catalog's, omitted ones stay; a field's
grants in a file replace its grants; a rule in a file replaces the rule (its omitted criteria
match anything). With prune, for each kind of entry the files hold: fields they lack are
deprecated, edges and rules they lack are removed, and attributes an entry lacks are cleared.
Taxonomy keys are never removed, fields never deleted. With seed (what `catalog seed` and
`catalog init` do), taxonomy keys and rules the catalog has, or a reviewer deleted, stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import networkx as nx

from catalog.db import repo
from catalog.domain.index import CatalogIndex
from catalog.domain.intensity import check_intensity
from catalog.domain.model import Edge, FieldRecord
from catalog.domain.rules import PolicyRule, rule_from_spec
from catalog.domain.taxonomy import Taxonomy
from catalog.errors import BadInput, CatalogError, Conflict, NotFound
from catalog.services import codefile, writes
from catalog.services.auth import Principal, require
from catalog.services.codefile import Spec
from catalog.services.core import Catalog
from catalog.services.fields import check_texts

CLEARABLE = ("description", "source_system")


@dataclass
class Plan:
    taxonomy: list[tuple[dict | None, dict]] = field(default_factory=list)  # (before, after)
    rules: list[tuple[PolicyRule | None, PolicyRule]] = field(default_factory=list)
    deleted_rules: list[PolicyRule] = field(default_factory=list)
    fields: list[tuple[FieldRecord | None, FieldRecord]] = field(default_factory=list)
    new_edges: list[Edge] = field(default_factory=list)
    updated_edges: list[tuple[Edge, Edge]] = field(default_factory=list)
    removed_edges: list[Edge] = field(default_factory=list)
    new_taxonomy: Taxonomy | None = None
    new_rules: tuple[PolicyRule, ...] = ()
    files: dict[tuple[str, str], str] = field(default_factory=dict)  # taxonomy key -> file

    @property
    def size(self) -> int:
        return (len(self.taxonomy) + len(self.rules) + len(self.deleted_rules)
                + len(self.fields) + len(self.new_edges) + len(self.updated_edges)
                + len(self.removed_edges))

    @property
    def empty(self) -> bool:
        return self.size == 0


@dataclass
class Outcome:
    plan: Plan
    spec: Spec
    revision: int  # the revision committed, or the current one when nothing was
    committed: bool


def apply_files(cat: Catalog, principal: Principal, paths: list[Path], *, prune: bool = False,
                dry_run: bool = False, seed: bool = False) -> Outcome:
    spec = codefile.read_files(paths)
    _require(principal, spec)
    if dry_run:
        cat.sync()
        with cat.engine.connect() as conn:
            plan = make_plan(cat.index, spec, _rows(conn), _deleted(conn, spec, seed),
                             prune=prune, seed=seed)
        return Outcome(plan, spec, cat.index.revision, False)
    with cat.write(principal.actor) as txn:
        plan = make_plan(cat.index, spec, _rows(txn.conn), _deleted(txn.conn, spec, seed),
                         prune=prune, seed=seed)
        write_plan(txn, plan)
        committed = not plan.empty
    return Outcome(plan, spec, cat.index.revision, committed)


def _require(principal: Principal, spec: Spec) -> None:
    if spec.kinds:
        require(principal, "manage_taxonomy")
    if "rules" in spec.sections:
        require(principal, "manage_rules")
    for name in spec.fields:
        require(principal, "write", name)
    for _, down in spec.edges:
        require(principal, "write", down)


def _rows(conn) -> dict[tuple[str, str], dict]:
    return {(r.kind, r.key): writes.taxonomy_row(r) for r in repo.load_taxonomy_rows(conn=conn)}


def _deleted(conn, spec: Spec, seed: bool) -> set[str]:
    return repo.deleted_rule_keys(conn=conn) if seed and spec.rules else set()


def write_plan(txn, plan: Plan) -> None:
    for before, after in plan.taxonomy:
        # The log marks an intensity as stated when the files change it (docs/semantics.md §15).
        writes.upsert_taxonomy_key(txn, before, after,
                                   plan.files.get((after["kind"], after["key"])),
                                   states_intensity=after["intensity"]
                                   != (before["intensity"] if before else None))
    for before, rule in plan.rules:
        writes.upsert_rule(txn, before, rule)
    for rule in plan.deleted_rules:
        writes.delete_rule(txn, rule)
    writes.save_fields(txn, [(b, replace(a, revision=txn.revision)) for b, a in plan.fields])
    writes.remove_edges(txn, plan.removed_edges)
    writes.add_edges(txn, plan.new_edges, plan.updated_edges)


# -- planning ---------------------------------------------------------------------------------
def make_plan(index: CatalogIndex, spec: Spec, rows: dict[tuple[str, str], dict],
              deleted_rules: set[str], *, prune: bool, seed: bool) -> Plan:
    plan = Plan()
    plan.new_taxonomy = _plan_taxonomy(plan, spec, rows, prune=prune, seed=seed)
    _plan_rules(plan, index, spec, deleted_rules, prune=prune, seed=seed)
    _plan_fields(plan, index, spec, prune=prune)
    _plan_edges(plan, index, spec, prune=prune)
    return plan


def _plan_taxonomy(plan: Plan, spec: Spec, rows: dict, *, prune: bool, seed: bool) -> Taxonomy:
    merged = dict(rows)
    for (kind, key), (stated, origin) in sorted(spec.taxonomy.items()):
        before = rows.get((kind, key))
        if seed and before is not None:
            continue
        after = dict(before) if before else {"kind": kind, "key": key, "sensitivity": None,
                                             "privacy": None, "description": None,
                                             "intensity": None}
        for attr in codefile.TAXONOMY_KEYS[kind]:
            if attr in stated and stated[attr] is not None:
                after[attr] = stated[attr]
            elif prune or before is None:
                after[attr] = None
        if kind == "category" and after["sensitivity"] is not None and (
                isinstance(after["sensitivity"], bool) or after["sensitivity"] not in (1, 2, 3, 4)):
            raise BadInput(f"{origin}: category {key}: sensitivity must be 1, 2, 3 or 4")
        if after["description"] is not None and not isinstance(after["description"], str):
            raise BadInput(f"{origin}: {kind} {key}: description must be text")
        if after["intensity"] is not None:
            check_intensity(after["intensity"], f"{origin}: {kind} {key}")
        merged[(kind, key)] = after
        if after != before:
            plan.taxonomy.append((before, after))
            plan.files[(kind, key)] = Path(origin.rpartition(":")[0]).name
    by_kind: dict[str, dict] = {"category": {}, "purpose": {}, "channel": {}, "source": {}}
    for (kind, key), row in merged.items():
        by_kind[kind][key] = row["sensitivity"] if kind == "category" else row["privacy"]
    try:
        return Taxonomy.build(categories=by_kind["category"], purposes=list(by_kind["purpose"]),
                              channels=by_kind["channel"], sources=list(by_kind["source"]),
                              descriptions={k: r["description"] for k, r in merged.items()
                                            if r["description"]},
                              intensities={k: r["intensity"] for k, r in merged.items()
                                           if r["intensity"]})
    except CatalogError as exc:
        raise BadInput(f"{_origin_in(spec.taxonomy, exc.message)}{exc.message}") from None


def _origin_in(entries: dict, message: str) -> str:
    """The origin of the first entry the message names, as a prefix."""
    for (_, key), (_, origin) in sorted(entries.items(), key=lambda kv: -len(kv[0][1])):
        if repr(key) in message or f" {key} " in f" {message} ":
            return f"{origin}: "
    return "taxonomy: "


def _plan_rules(plan: Plan, index: CatalogIndex, spec: Spec, deleted: set[str], *,
                prune: bool, seed: bool) -> None:
    current = {r.key: r for r in index.rules}
    result = dict(current)
    for key, (stated, origin) in sorted(spec.rules.items()):
        try:
            rule = rule_from_spec(key, stated, plan.new_taxonomy)
        except CatalogError as exc:
            raise BadInput(f"{origin}: {exc.message}") from None
        before = current.get(key)
        if seed and (before is not None or key in deleted):
            continue
        result[key] = rule
        if before != rule:
            plan.rules.append((before, rule))
    if prune and "rules" in spec.sections:
        for key in sorted(set(current) - set(spec.rules)):
            plan.deleted_rules.append(current[key])
            del result[key]
    plan.new_rules = tuple(result.values())


def _plan_fields(plan: Plan, index: CatalogIndex, spec: Spec, *, prune: bool) -> None:
    checker = CatalogIndex(plan.new_taxonomy)  # validates keys against the new taxonomy
    for name, entry in sorted(spec.fields.items()):
        before = index.get(name)
        after = _merge(before, entry, prune)
        try:
            checker.validate_record(after)
            check_texts(after)
        except CatalogError as exc:
            raise BadInput(f"{entry.origin}: {exc.message}") from None
        if before is None or replace(before, revision=0) != replace(after, revision=0):
            plan.fields.append((before, after))
    if prune and "fields" in spec.sections:
        for name in sorted(set(index.fields) - set(spec.fields)):
            rec = index.fields[name]
            if not rec.deprecated:
                plan.fields.append((rec, replace(rec, deprecated=True)))


def _merge(before: FieldRecord | None, entry: codefile.FieldSpec, prune: bool) -> FieldRecord:
    stated = dict(entry.stated)
    if before is None:
        missing = [k for k in ("category", "source", "owner") if k not in stated]
        if missing:
            raise BadInput(f"{entry.origin}: new field {entry.name} needs "
                           + ", ".join(missing))
        return FieldRecord(name=entry.name, **stated)
    if prune:  # clear what the entry lacks; category, source and owner are required
        stated = {**{k: None for k in CLEARABLE}, "grants": (), "deprecated": False, **stated}
    return replace(before, **stated, revision=0)


def _plan_edges(plan: Plan, index: CatalogIndex, spec: Spec, *, prune: bool) -> None:
    graph = index.graph
    known = set(index.fields) | set(spec.fields)
    for (up, down), (stated, origin) in sorted(spec.edges.items()):
        for name in (up, down):
            if name not in known:
                raise NotFound(f"{origin}: lineage {up} -> {down}: field {name} is not in the "
                               "catalog or the files: register it first")
        if not graph.has_edge(up, down):
            plan.new_edges.append(Edge(up, down, stated.get("transform")))
            continue
        before = graph.edge(up, down)
        transform = stated["transform"] if "transform" in stated else \
            (None if prune else before.transform)
        if transform != before.transform:
            plan.updated_edges.append((before, Edge(up, down, transform)))
    if prune and "lineage" in spec.sections:
        for up, down in sorted(graph.edges()):
            if (up, down) not in spec.edges:
                plan.removed_edges.append(graph.edge(up, down))
    if plan.new_edges:
        _refuse_cycles(graph.edges(), plan, spec)


def _refuse_cycles(current, plan: Plan, spec: Spec) -> None:
    g = nx.DiGraph(current)
    g.remove_edges_from((e.upstream, e.downstream) for e in plan.removed_edges)
    g.add_edges_from((e.upstream, e.downstream) for e in plan.new_edges)
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        return
    new = {(e.upstream, e.downstream) for e in plan.new_edges}
    edge = next(e for e in cycle if (e[0], e[1]) in new)
    start = cycle.index(edge)
    path = [e[0] for e in cycle[start:] + cycle[:start]] + [edge[0]]
    raise Conflict(f"{spec.edges[(edge[0], edge[1])][1]}: lineage {edge[0]} -> {edge[1]} "
                   f"would close a cycle: {' -> '.join(path)}; lineage must stay acyclic")


def after_index(index: CatalogIndex, plan: Plan) -> CatalogIndex:
    """A private snapshot of the catalog as the plan would leave it (for a dry run's flips):
    copy-on-write, like simulate's, so it costs what the plan affects."""
    return index.apply(
        taxonomy=plan.new_taxonomy if plan.taxonomy else None,
        rules=plan.new_rules if plan.rules or plan.deleted_rules else None,
        fields=[a for _, a in plan.fields],
        remove_edges=[(e.upstream, e.downstream) for e in plan.removed_edges],
        add_edges=[*plan.new_edges, *(a for _, a in plan.updated_edges)])
