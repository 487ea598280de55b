"""The lean path's `lineage`: a Lineage written as JSON for one selection.

A deep catalog answers `lineage(depth: 10)` with ~10,000 nodes and ~20,000 edges; strawberry
resolves each of their fields through its machinery (~0.3 s for 2 MB). Here the selection is
compiled once into writers, one per response key, that make that key's JSON. Values are those
of the strawberry types (catalog/api/graphql/types.py: Lineage, Field, Grant, LineageEdge),
read from the same LineageResult and the same index snapshot.

What pipelines and the client ask, `nodes { name }` and `edges { upstream downstream
transform }`, is written as text joined in C (names between quotes as they are, transforms
by orjson once per distinct text), when every name in the answer is plain: nothing in it that
JSON escapes (field names never hold any; _plain_names makes sure). Dicts for 20,000 edges
were half the request. An upstream walk that was not cut is written from each node's parent
edges, kept as text between answers (_parent_text). Any other selection is built as lists of
dicts written by orjson, and the answer's pieces are joined once, with the other roots'.

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
from catalog.domain.edge_rows import EdgeRows
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


# A writer appends one response key's JSON, as pieces, to the answer's list of pieces: one
# join makes the whole answer (each copy of a 2 MB answer costs ~0.3 ms).
Writer = Callable[[LineageResult, Any, bool, list], None]


class LineageSelection:
    """parts: (b'"key":', writer) per response key; a writer takes the result, the index,
    whether every node name is plain (_plain_names) and the list of pieces."""

    def __init__(self, parts: list[tuple[bytes, Writer]], needs_names: bool) -> None:
        self.parts = parts
        self.needs_names = needs_names

    def render(self, result: LineageResult, index) -> bytes:
        out: list[bytes] = []
        self.render_into(out, result, index)
        return b"".join(out)

    def render_into(self, out: list, result: LineageResult, index) -> None:
        plain = self.needs_names and _plain_names(result.nodes)
        between = b"{"
        for head, write in self.parts:
            out.append(between + head)
            write(result, index, plain, out)
            between = b","
        out.append(b"}")


def lineage_selection(nodes: list[FieldNode], fragments: dict) -> LineageSelection:
    """The LineageSelection for these (merged) `lineage` field nodes; NotLean when it asks
    for anything outside the allow-lists."""
    parts: list[tuple[bytes, Writer]] = []
    needs_names = False
    for key, more in _fields(nodes, "Lineage", fragments).items():
        name = more[0].name.value
        if name not in LINEAGE_FIELDS:
            raise NotLean(f"Lineage.{name}")
        if name == "root":
            write = _root
        elif name == "partial":
            write = _partial
        elif name == "__typename":
            write = _lineage_typename
        elif name == "nodes":
            write = _nodes_writer(more, fragments)
            needs_names = True
        else:
            write = _edges_writer(more, fragments)
            needs_names = True
        parts.append((orjson.dumps(key) + b":", write))
    return LineageSelection(parts, needs_names)


def _root(r: LineageResult, index, plain: bool, out: list) -> None:
    out.append(orjson.dumps(r.root))


def _partial(r: LineageResult, index, plain: bool, out: list) -> None:
    out.append(b"true" if r.partial else b"false")


def _lineage_typename(r: LineageResult, index, plain: bool, out: list) -> None:
    out.append(b'"Lineage"')


# Bytes that JSON writes escaped (and DEL, to be safe): a name holding none of them, and no
# non-ASCII character, is written between quotes as it is. Field names are checked on the way
# in (catalog/domain/names.py) and never hold one; the scan makes that a fact, not a hope.
_ESCAPED = bytes(range(32)) + b'"\\\x7f'


def _plain_names(names: tuple[str, ...]) -> bool:
    """Every name is written by orjson as '"' + name + '"' (one pass in C: ~0.1 ms for the
    10,000 names of a deep lineage)."""
    joined = "".join(names)
    return len(joined.encode().translate(None, _ESCAPED)) == len(joined)


def _nodes_writer(nodes: list[FieldNode], fragments: dict) -> Writer:
    """Field objects: by one join when only the name is selected, under one key, and every
    name is plain; else lists of dicts written by orjson."""
    build = _field_builder(nodes, fragments)
    fields = _fields(nodes, "Field", fragments)
    if len(fields) == 1 and next(iter(fields.values()))[0].name.value == "name":
        key = orjson.dumps(next(iter(fields))).decode()
        head, sep, tail = f'[{{{key}:"'.encode(), f'"}},{{{key}:"', b'"}]'

        def write(r: LineageResult, index, plain: bool, out: list) -> None:
            if plain:  # never empty: the root is always a node
                out += (head, sep.join(r.nodes).encode(), tail)
            else:
                out.append(orjson.dumps(build(r.nodes, index)))
        return write
    return lambda r, index, plain, out: out.append(orjson.dumps(build(r.nodes, index)))


class _Transforms(dict):
    """transform -> its JSON text, made on first sight (a lineage holds few distinct ones)."""

    def __missing__(self, transform: str | None) -> str:
        text = self[transform] = orjson.dumps(transform).decode()
        return text


def _edges_writer(nodes: list[FieldNode], fragments: dict) -> Writer:
    """Edge rows: as text when the selection is `upstream downstream transform` (what the
    client and pipelines ask) and every name is plain; else dicts and orjson. An upstream
    walk that was not cut is written from each node's parent edges as one piece of text
    (_parent_text), kept from earlier answers."""
    fields = _fields(nodes, "LineageEdge", fragments)
    build = _rows_builder(fields, EDGE_ATTRIBUTES, "LineageEdge")
    if [(k, more[0].name.value) for k, more in fields.items()] != \
            [("upstream", "upstream"), ("downstream", "downstream"), ("transform", "transform")]:
        return lambda r, index, plain, out: out.append(orjson.dumps(build(r.edges)))

    def write(r: LineageResult, index, plain: bool, out: list) -> None:
        edges = r.edges
        if not plain:
            out.append(orjson.dumps(build(edges)))
            return
        t = _Transforms()
        if type(edges) is EdgeRows and not edges.cut and \
                not any(downs for _, downs in edges.levels):
            known = _PARENT_TEXTS  # the lookup inline: 8,000 calls saved on a deep walk
            texts = [hit[1] if (hit := known.get(n)) is not None and hit[0] is p
                     else _parent_text(n, p, t) for ups, _ in edges.levels for n, p in ups]
            if not texts:
                out.append(b"[]")
                return
            # Each text starts with a comma: the first one's goes, the rest join as they are.
            out.append(b"[" + texts[0][1:])
            out += texts[1:]
            out.append(b"]")
            return
        out += (b"[", ",".join([f'{{"upstream":"{u}","downstream":"{d}","transform":{t[x]}}}'
                                for u, d, x in edges]).encode(), b"]")
    return write


# node -> (its parents, the text of its parent edges as `upstream downstream transform`
# objects, parents by name, each object after a comma). A parents dict belongs to one node,
# and a graph never changes one it has published (a change makes a new one, domain/lineage.py;
# tests/unit/test_lineage_walk.py), so the same dict means the same text; the entry holds the
# dict, so `is` cannot meet another one at the same address. Keyed by the catalog's names,
# not by what callers send, and cleared when full (~250 bytes of text a node). The lookup is
# bound by memory reads (~1.8 ms for 8,000 nodes), not by its Python steps.
_PARENT_TEXTS: dict[str, tuple[dict, bytes]] = {}
MAX_PARENT_TEXTS = 1 << 17


def _parent_text(node: str, parents: dict, transforms: _Transforms) -> bytes:
    """The text of node's parent edges, made now and kept."""
    text = "".join([f',{{"upstream":"{u}","downstream":"{node}",'
                    f'"transform":{transforms[parents[u]]}}}' for u in sorted(parents)]).encode()
    if len(_PARENT_TEXTS) >= MAX_PARENT_TEXTS:
        _PARENT_TEXTS.clear()
    _PARENT_TEXTS[node] = (parents, text)
    return text


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
