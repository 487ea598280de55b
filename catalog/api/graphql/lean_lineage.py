"""The lean path's `lineage`: a Lineage written as JSON for one selection.

A deep catalog answers `lineage(depth: 10)` with ~10,000 nodes and ~20,000 edges; strawberry
resolves each of their fields through its machinery (~0.3 s for 2 MB). Here the selection is
compiled once into plain getters, and the answer is built as lists of dicts and written by
orjson. Values are those of the strawberry types (catalog/api/graphql/types.py: Lineage,
Field, Grant, LineageEdge), read from the same LineageResult and the same index snapshot.

As in lean_json.py, only the fields in the allow-lists below are known: a selection with any
other field, or with arguments on a field, is refused at plan time (strawberry answers).
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter, itemgetter
from typing import Any

import orjson
from graphql import FieldNode

from catalog.api.graphql.lean_json import NotLean, sub_fields
from catalog.domain.model import LineageResult

# name -> attribute of the record (plain values), for Field, Grant and LineageEdge.
FIELD_ATTRIBUTES = {"name": "name", "category": "category", "source": "source",
                    "owner": "owner", "description": "description",
                    "sourceSystem": "source_system", "deprecated": "deprecated",
                    "revision": "revision"}
# Field's values that come from the index snapshot: (index, name) -> value.
FIELD_FROM_INDEX: dict[str, Callable[[Any, str], Any]] = {
    "upstream": lambda index, n: index.upstream(n),
    "downstream": lambda index, n: index.downstream(n),
    "effectiveCategories": lambda index, n: list(index.effective_categories(n)),
    "effectiveSources": lambda index, n: list(index.effective_sources(n)),
    "sensitivity": lambda index, n: index.sensitivity(n),
}
GRANT_FIELDS: dict[str, Callable[[Any], Any]] = {
    "purpose": lambda g: g.purpose,
    "channels": lambda g: list(g.channels) if g.channels is not None else None,
    "requiresConsent": lambda g: g.requires_consent,
    "customerBenefit": lambda g: g.customer_benefit,
    "__typename": lambda g: "Grant",
}
# LineageEdge: positions in the (upstream, downstream, transform) rows the lean path asks
# the index for (no Edge object per edge).
EDGE_ATTRIBUTES = {"upstream": 0, "downstream": 1, "transform": 2}
LINEAGE_FIELDS = ("root", "partial", "nodes", "edges", "__typename")


class LineageSelection:
    def __init__(self, build: Callable[[LineageResult, Any], dict]) -> None:
        self.build = build

    def render(self, result: LineageResult, index) -> bytes:
        return orjson.dumps(self.build(result, index))


def lineage_selection(nodes: list[FieldNode], fragments: dict) -> LineageSelection:
    """The LineageSelection for these (merged) `lineage` field nodes; NotLean when it asks
    for anything outside the allow-lists."""
    parts: list[tuple[str, Callable[[LineageResult, Any], Any]]] = []
    for key, more in _fields(nodes, "Lineage", fragments).items():
        name = more[0].name.value
        if name not in LINEAGE_FIELDS:
            raise NotLean(f"Lineage.{name}")
        if name == "root":
            parts.append((key, lambda r, index: r.root))
        elif name == "partial":
            parts.append((key, lambda r, index: r.partial))
        elif name == "__typename":
            parts.append((key, lambda r, index: "Lineage"))
        elif name == "nodes":
            field = _field_builder(more, fragments)
            parts.append((key, lambda r, index, field=field: field(r.nodes, index)))
        else:
            edge = _rows_builder(_fields(more, "LineageEdge", fragments), EDGE_ATTRIBUTES,
                                 "LineageEdge")
            parts.append((key, lambda r, index, edge=edge: edge(r.edges)))
    return LineageSelection(lambda r, index: {key: get(r, index) for key, get in parts})


def _fields(nodes: list[FieldNode], type_name: str, fragments: dict) -> dict:
    """The merged sub-selection; NotLean when any field in it takes arguments."""
    merged = sub_fields(nodes, type_name, fragments)
    if any(n.arguments for more in merged.values() for n in more):
        raise NotLean(f"{type_name}: a field with arguments")
    return merged


def _rows_builder(fields: dict, attributes: dict[str, str | int],
                  type_name: str) -> Callable[[Any], list[dict]]:
    """objects -> [dict] when every selected field is a plain attribute, or an item (int
    positions), or __typename; without __typename, one getter and one dict(zip) per
    object, in C."""
    getter = itemgetter if any(isinstance(a, int) for a in attributes.values()) \
        else attrgetter
    getters: list[tuple[str, Callable]] = []
    for key, more in fields.items():
        name = more[0].name.value
        if name == "__typename":
            getters.append((key, lambda o: type_name))
        elif name in attributes:
            getters.append((key, getter(attributes[name])))
        else:
            raise NotLean(f"{type_name}.{name}")
    names = [more[0].name.value for more in fields.values()]
    if "__typename" in names:
        return lambda objs: [{key: get(o) for key, get in getters} for o in objs]
    keys = list(fields)
    if len(keys) == 1:
        key, get = getters[0]
        return lambda objs: [{key: get(o)} for o in objs]
    positions = [attributes[n] for n in names]
    if positions == [0, 1, 2]:  # the whole row, in order: no getter needed
        return lambda objs: [dict(zip(keys, o, strict=True)) for o in objs]
    get = getter(*positions)
    return lambda objs: [dict(zip(keys, get(o), strict=True)) for o in objs]


def _field_builder(nodes: list[FieldNode], fragments: dict) -> Callable[[tuple, Any], list]:
    """names -> [Field as a dict], each from the snapshot's record and derived state."""
    fields = _fields(nodes, "Field", fragments)
    names = [more[0].name.value for more in fields.values()]
    if set(names) <= {"name"}:  # the common case: names only, no record needed
        keys = list(fields)
        if len(keys) == 1:
            key = keys[0]
            return lambda names, index: [{key: n} for n in names]
        return lambda names, index: [dict.fromkeys(keys, n) for n in names]
    if set(names) <= set(FIELD_ATTRIBUTES):
        rows = _rows_builder(fields, FIELD_ATTRIBUTES, "Field")
        return lambda names, index: rows(map(index.get, names))
    getters: list[tuple[str, Callable]] = []
    for key, more in fields.items():
        name = more[0].name.value
        if name in FIELD_ATTRIBUTES:
            getters.append((key, lambda rec, index, a=attrgetter(FIELD_ATTRIBUTES[name]):
                            a(rec)))
        elif name in FIELD_FROM_INDEX:
            getters.append((key, lambda rec, index, f=FIELD_FROM_INDEX[name]:
                            f(index, rec.name)))
        elif name == "__typename":
            getters.append((key, lambda rec, index: "Field"))
        elif name == "grants":
            grant = _grant_builder(more, fragments)
            getters.append((key, lambda rec, index, grant=grant:
                            [grant(g) for g in rec.grants]))
        else:
            raise NotLean(f"Field.{name}")
    return lambda names, index: [{key: get(rec, index) for key, get in getters}
                                 for rec in map(index.get, names)]


def _grant_builder(nodes: list[FieldNode], fragments: dict) -> Callable[[Any], dict]:
    getters = []
    for key, more in _fields(nodes, "Grant", fragments).items():
        get = GRANT_FIELDS.get(more[0].name.value)
        if get is None:
            raise NotLean(f"Grant.{more[0].name.value}")
        getters.append((key, get))
    return lambda g: {key: get(g) for key, get in getters}
