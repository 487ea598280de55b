"""Writes inside a transaction the caller holds (`with cat.write(actor) as txn:`).

Each helper writes one kind of change and records it in the change log and in `txn` (which
the index applies after the commit). Service functions that open their own transaction call
these; so does `apply`, which makes many kinds of change in one transaction and one revision.
Validation stays with the caller: these only write.
"""

from __future__ import annotations

from collections.abc import Sequence

from catalog.db import repo
from catalog.db.records import edge_json, field_json
from catalog.domain.model import Edge, FieldRecord
from catalog.domain.rules import PolicyRule, rule_to_spec
from catalog.services.core import Txn


def ids_of(txn: Txn, names) -> dict[str, int]:
    """The ids of the named existing fields: those this write or an earlier commit knows, one
    query for the rest."""
    known, remembered = txn.ids, txn.known_ids
    missing = []
    for n in names:
        if n not in known:
            i = remembered.get(n)
            if i is None:
                missing.append(n)
            else:
                known[n] = i
    if missing:
        known.update(repo.field_ids(conn=txn.conn, names=missing))
    return {n: known[n] for n in names if n in known}


def save_fields(txn: Txn, changes: Sequence[tuple[FieldRecord | None, FieldRecord]],
                action: str | None = None) -> None:
    """(before, after) pairs; before None for a new field. after.revision should be
    txn.revision. action: the change-log action, else register/update."""
    if not changes:
        return
    ids = ids_of(txn, [r.name for b, r in changes if b is not None])
    repo.save_fields(conn=txn.conn, records=[r for _, r in changes], ids=ids)
    txn.ids.update(ids)  # the new fields' too
    for before, after in changes:
        txn.fields[after.name] = after
        txn.log.append({"action": action or ("register" if before is None else "update"),
                        "entity": "field", "field": after.name,
                        "before": field_json(before), "after": field_json(after)})


def add_edges(txn: Txn, new: Sequence[Edge],
              updated: Sequence[tuple[Edge, Edge]] = ()) -> None:
    """Insert new edges; give existing ones (before, after) their new transform."""
    if not new and not updated:
        return
    changes = [*((None, e) for e in new), *updated]
    ends = {n for _, e in changes for n in (e.upstream, e.downstream)}
    ids = ids_of(txn, ends)
    repo.insert_edges(conn=txn.conn, edges=new, ids=ids)
    for _, after in updated:
        repo.update_edge_transform(conn=txn.conn, edge=after, ids=ids)
    log = txn.log.append
    for e in new:
        log({"action": "add_lineage", "entity": "edge", "field": e.downstream,
             "other": e.upstream, "before": None, "after": edge_json(e)})
    for before, after in updated:
        log({"action": "update_lineage", "entity": "edge", "field": after.downstream,
             "other": after.upstream, "before": edge_json(before), "after": edge_json(after)})
    txn.touched.update(ends)  # their revision moves
    txn.add_edges.extend(after for _, after in changes)


def remove_edges(txn: Txn, edges: Sequence[Edge]) -> None:
    """Delete existing edges (as they are now, for the change log)."""
    if not edges:
        return
    ids = ids_of(txn, {n for e in edges for n in (e.upstream, e.downstream)})
    for e in edges:
        repo.delete_edge(conn=txn.conn, upstream=e.upstream, downstream=e.downstream, ids=ids)
        txn.log.append({"action": "remove_lineage", "entity": "edge", "field": e.downstream,
                        "other": e.upstream, "before": edge_json(e), "after": None})
        txn.touched.update((e.upstream, e.downstream))
        txn.remove_edges.append((e.upstream, e.downstream))


def upsert_rule(txn: Txn, before: PolicyRule | None, rule: PolicyRule) -> None:
    repo.upsert_rule(conn=txn.conn, rule=rule)
    txn.rules_changed = True
    txn.log.append({"action": "upsert_rule", "entity": "rule",
                    "before": before and {"key": before.key, **rule_to_spec(before)},
                    "after": {"key": rule.key, **rule_to_spec(rule)}})


def delete_rule(txn: Txn, rule: PolicyRule) -> None:
    repo.delete_rule(conn=txn.conn, key=rule.key)
    txn.rules_changed = True
    txn.log.append({"action": "delete_rule", "entity": "rule",
                    "before": {"key": rule.key, **rule_to_spec(rule)}})


def upsert_taxonomy_key(txn: Txn, before: dict | None, after: dict,
                        file: str | None = None, *, states_intensity: bool = True) -> bool:
    """after: {kind, key, sensitivity, privacy, description, intensity}; before: the same or
    None. True when the row changed. The caller validates the whole taxonomy before the
    commit. A key loaded from a file is logged as add_taxonomy_key, in full, with the file's
    name (what `catalog init` has always logged; as-of rebuilds the taxonomy from it).
    Otherwise the change log's `after` holds the intensity only when the edit states it
    (states_intensity): the key's intensity is then an admin's, and `catalog init` never
    fills in a default for it (repo.taxonomy_intensity_edits)."""
    if not repo.upsert_taxonomy_entry(conn=txn.conn, **after):
        return False
    txn.taxonomy_changed = True
    if file is not None and before is None:
        txn.log.append({"action": "add_taxonomy_key", "entity": "taxonomy",
                        "after": {**after, "file": file}})
    else:
        logged = after if states_intensity else \
            {k: v for k, v in after.items() if k != "intensity"}
        txn.log.append({"action": "upsert_taxonomy_key", "entity": "taxonomy",
                        "before": before, "after": logged})
    return True


def taxonomy_row(row) -> dict:
    """A taxonomy row as the dict upsert_taxonomy_key and the change log use."""
    return {"kind": row.kind, "key": row.key, "sensitivity": row.sensitivity,
            "privacy": row.privacy, "description": row.description, "intensity": row.intensity}
