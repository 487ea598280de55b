"""Admins extend the taxonomy: add a key or change one's sensitivity, privacy or text."""

from __future__ import annotations

from catalog.db import repo
from catalog.domain.names import check_taxonomy_key
from catalog.domain.taxonomy import KINDS, Taxonomy
from catalog.errors import BadInput
from catalog.services.auth import Principal, require
from catalog.services.core import Catalog, load_taxonomy


def upsert_key(cat: Catalog, principal: Principal, *, kind: str, key: str,
               sensitivity: int | None = None, privacy: str | None = None,
               description: str | None = None) -> Taxonomy:
    require(principal, "manage_taxonomy")
    if kind not in KINDS:
        raise BadInput(f"unknown taxonomy kind {kind!r}: use one of {', '.join(KINDS)}")
    check_taxonomy_key(key, f"{kind} key")
    if kind != "category" and sensitivity is not None:
        raise BadInput("sensitivity applies to categories only")
    if kind != "channel" and privacy is not None:
        raise BadInput("privacy applies to channels only")
    if kind == "channel" and privacy is None:
        raise BadInput(f"channel {key!r} needs a privacy: private, shared or public")
    with cat.write(principal.actor) as txn:
        before = {(r.kind, r.key): r for r in repo.load_taxonomy_rows(conn=txn.conn)}
        if repo.upsert_taxonomy_entry(conn=txn.conn, kind=kind, key=key,
                                      sensitivity=sensitivity, privacy=privacy,
                                      description=description):
            load_taxonomy(txn.conn)  # validates the whole taxonomy (parents, ranges)
            old = before.get((kind, key))
            txn.taxonomy_changed = True
            txn.log.append({
                "action": "upsert_taxonomy_key", "entity": "taxonomy",
                "before": old and {"kind": kind, "key": key, "sensitivity": old.sensitivity,
                                   "privacy": old.privacy, "description": old.description},
                "after": {"kind": kind, "key": key, "sensitivity": sensitivity,
                          "privacy": privacy, "description": description}})
    return cat.index.taxonomy
