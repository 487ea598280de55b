"""The demo catalog on a later start: which of its fields a user has changed since it was
loaded, so that `catalog demo` leaves those edits alone and says so (--fresh starts over)."""

from __future__ import annotations

from dataclasses import replace

from catalog.services.core import Catalog
from catalog.services.fields import merge
from catalog.services.setup import CatalogFile


def is_loaded(cat: Catalog, wanted: CatalogFile) -> bool:
    """True when the catalog holds any field of the file (it was loaded before)."""
    return any(cat.index.get(item.name) is not None for item in wanted.fields)


def changed_fields(cat: Catalog, wanted: CatalogFile) -> list[str]:
    """Names of the file's fields that the catalog holds otherwise than the file says:
    attributes, grants, deprecation or the lineage edges into them (a missing field too)."""
    index = cat.index
    deprecated = set(wanted.deprecated)
    changed = set()
    for item in wanted.fields:
        rec = index.get(item.name)
        if rec is None:
            changed.add(item.name)
            continue
        as_filed = replace(merge(rec, item, rec.revision), deprecated=item.name in deprecated)
        if as_filed != rec:
            changed.add(item.name)
    for edge in wanted.edges:
        if not index.graph.has_edge(edge.upstream, edge.downstream) or \
                index.graph.edge(edge.upstream, edge.downstream) != edge:
            changed.add(edge.downstream)
    return sorted(changed)
