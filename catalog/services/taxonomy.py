"""Admins extend the taxonomy: add a key or change one's sensitivity, privacy or text."""

from __future__ import annotations

from catalog.db import repo
from catalog.domain.names import check_taxonomy_key, check_text
from catalog.domain.taxonomy import KINDS, PRIVACY_LEVELS, Taxonomy
from catalog.errors import BadInput
from catalog.services import writes
from catalog.services.auth import Principal, require
from catalog.services.core import Catalog, load_taxonomy


def upsert_key(cat: Catalog, principal: Principal, *, kind: str, key: str,
               sensitivity: int | None = None, privacy: str | None = None,
               description: str | None = None) -> Taxonomy:
    require(principal, "manage_taxonomy")
    if kind not in KINDS:
        raise BadInput(f"unknown taxonomy kind {kind!r}: use one of {', '.join(KINDS)}")
    check_taxonomy_key(key, f"{kind} key")
    check_text(description, f"{kind} {key}: description", multiline=True)
    if kind != "category" and sensitivity is not None:
        raise BadInput("sensitivity applies to categories only")
    if kind != "channel" and privacy is not None:
        raise BadInput("privacy applies to channels only")
    if sensitivity is not None and (isinstance(sensitivity, bool) or sensitivity not in
                                    (1, 2, 3, 4)):
        raise BadInput(f"category {key!r}: sensitivity must be 1, 2, 3 or 4")
    if privacy is not None and privacy not in PRIVACY_LEVELS:
        raise BadInput(f"channel {key!r}: privacy must be one of {', '.join(PRIVACY_LEVELS)}")
    with cat.write(principal.actor) as txn:
        before = {(r.kind, r.key): r for r in repo.load_taxonomy_rows(conn=txn.conn)}
        old = before.get((kind, key))
        if old is not None:  # omitted values stay as they are
            sensitivity = old.sensitivity if sensitivity is None else sensitivity
            privacy = old.privacy if privacy is None else privacy
            description = old.description if description is None else description
        after = {"kind": kind, "key": key, "sensitivity": sensitivity, "privacy": privacy,
                 "description": description}
        if writes.upsert_taxonomy_key(txn, old and writes.taxonomy_row(old), after):
            load_taxonomy(txn.conn)  # validates the whole taxonomy (parents, ranges)
    return cat.index.taxonomy
