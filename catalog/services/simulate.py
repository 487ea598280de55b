"""What-if (docs/semantics.md §9): apply draft changes to a private snapshot and return the
decisions that flip. Nothing is written and nothing is published: the catalog's index is an
immutable snapshot, and `apply` on it returns a private next one that shares everything the changes
do not affect (copy-on-write), so the cost is that of the affected fields, and concurrent checks
keep answering from the published snapshot as if nothing ran.

Cells are compared by `allowed` alone (cheap bit tests). A flip holds its cell and the two
snapshots; its full decisions, before and after, are built when read: a caller that shows
the first page of 10,000 flips, or only their cells, pays for what it shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from catalog.domain.decision import Decision
from catalog.domain.index import CatalogIndex
from catalog.domain.model import Edge, FieldRecord
from catalog.domain.names import check_field_name
from catalog.domain.rules import rule_from_spec
from catalog.errors import BadInput, NotFound
from catalog.services.auth import Principal, require
from catalog.services.core import Catalog
from catalog.services.fields import FieldInput, check_batch, check_texts, merge, normalize_grant

MAX_FLIPS = 10_000
MAX_CELLS = 1_000_000
KINDS = ("registerField", "deprecateField", "grantPurpose", "revokePurpose", "addLineage",
         "removeLineage", "upsertPolicyRule", "deletePolicyRule")


class Flip:
    """A cell whose `allowed` differs between two snapshots; the decisions on first read."""

    __slots__ = ("field", "purpose", "channel", "_indexes", "_before", "_after")

    def __init__(self, cell: tuple[str, str, str], before: CatalogIndex,
                 after: CatalogIndex) -> None:
        self.field, self.purpose, self.channel = cell
        self._indexes = (before, after)
        self._before = self._after = None

    @property
    def before(self) -> Decision:
        if self._before is None:
            self._before = self._indexes[0].check(self.field, self.purpose, self.channel)
        return self._before

    @property
    def after(self) -> Decision:
        if self._after is None:
            self._after = self._indexes[1].check(self.field, self.purpose, self.channel)
        return self._after


@dataclass(frozen=True)
class Simulation:
    flips: list[Flip]
    checked: int
    partial: bool
    revision: int


def simulate(cat: Catalog, principal: Principal, changes: list[Mapping],
             checks: list[tuple[str, str, str]] | None = None) -> Simulation:
    """changes: mappings with exactly one member of ChangeInput (GraphQL names)."""
    require(principal, "read")
    check_batch(changes, "changes")
    if checks is not None:
        check_batch(checks, "checks")
    parsed = [_member(i, c) for i, c in enumerate(changes)]
    cat.fresh()
    before = after = cat.index  # a snapshot: never changes under us
    for kind, value in parsed:
        after = _apply(after, kind, value)
    # Compared in flip order (field, purpose, channel), so a cut keeps the first flips.
    cells = (_cells(after, _compared(before, parsed)) if checks is None
             else iter(sorted(checks)))
    flips: list[Flip] = []
    checked = 0
    partial = False
    was, now = before.allowed, after.allowed
    for cell in cells:
        if checked >= MAX_CELLS or len(flips) >= MAX_FLIPS:
            partial = True
            break
        checked += 1
        if was(*cell) != now(*cell):
            flips.append(Flip(cell, before, after))
    return Simulation(flips, checked, partial, before.revision)


def _member(i: int, change: object) -> tuple[str, object]:
    if not isinstance(change, Mapping):
        raise BadInput(f"changes[{i}] must be a mapping with one of: {', '.join(KINDS)}")
    given = [(k, v) for k, v in change.items() if v is not None]
    if len(given) != 1 or given[0][0] not in KINDS:
        raise BadInput(f"changes[{i}] must hold exactly one of: {', '.join(KINDS)}; it holds "
                       f"{', '.join(k for k, _ in given) or 'none'}")
    return given[0]


def _touched(kind: str, value) -> tuple[set[str], bool]:
    """(fields whose own decisions change, whether every field's may)."""
    if kind == "deprecateField":
        if not isinstance(value, str):
            raise BadInput("deprecateField needs a field name (a string)")
        return {value}, False
    if kind == "registerField":
        return {_get(value, "name")}, False
    if kind in ("grantPurpose", "revokePurpose"):
        return {_get(value, "field")}, False
    if kind in ("addLineage", "removeLineage"):
        return {_get(value, "downstream")}, False
    return set(), True


def _get(value, key: str):
    if not isinstance(value, Mapping) or not isinstance(value.get(key), str):
        raise BadInput(f"the change needs {key} (a string)")
    return value[key]


def _compared(live: CatalogIndex, parsed) -> list[str]:
    """The fields whose cells may flip: those the changes touch and their descendants (every
    field for a rule change). A new edge's downstream is touched, so descendants reached
    through new edges are the touched fields' descendants already."""
    touched: set[str] = set()
    everything = False
    for kind, value in parsed:
        t, e = _touched(kind, value)
        touched |= t
        everything |= e
    if everything:
        return sorted(set(live.fields) | touched)
    return sorted(touched | live.graph.descendants(n for n in touched if n in live.fields))


def _cells(index: CatalogIndex, names: list[str]):
    """Every (field, leaf purpose, channel) of names, in that order."""
    tax = index.taxonomy
    purposes = sorted(p for p in tax.purposes if not any(
        q.startswith(p + ".") for q in tax.purposes))
    channels = sorted(tax.channels)
    for name in names:
        for p in purposes:
            for c in channels:
                yield (name, p, c)


# -- applying one change as its mutation would (the same checks, the same errors) -------------
def _existing(index: CatalogIndex, name: str) -> FieldRecord:
    rec = index.get(name)
    if rec is None:
        raise NotFound(f"field {name!r} is not in the catalog: register it first")
    return rec


def _grant(g) -> object:
    if not isinstance(g, Mapping) or not isinstance(g.get("purpose"), str):
        raise BadInput("a grant needs purpose (a string)")
    return normalize_grant(g["purpose"], g.get("channels"), g.get("requiresConsent"),
                           g.get("customerBenefit"))


def _apply(index: CatalogIndex, kind: str, v) -> CatalogIndex:
    """The private snapshot after one change, or that change's mutation error."""
    tax = index.taxonomy
    if kind == "registerField":
        name = check_field_name(_get(v, "name"))
        grants = v.get("grants")
        item = FieldInput(name=name, category=v.get("category"), source=v.get("source"),
                          owner=v.get("owner"), description=v.get("description"),
                          source_system=v.get("sourceSystem"),
                          grants=None if grants is None else tuple(_grant(g) for g in grants))
        rec = merge(index.get(name), item, index.revision)
        index.validate_record(rec)
        check_texts(rec)
        return index.apply(fields=[rec])
    elif kind == "deprecateField":
        rec = _existing(index, v)
        return index.apply(fields=[replace(rec, deprecated=True)])
    elif kind == "grantPurpose":
        grant = _grant(v.get("grant"))
        tax.require("purpose", grant.purpose)
        for c in grant.channels or ():
            tax.require("channel", c)
        rec = _existing(index, _get(v, "field"))
        others = [g for g in rec.grants if g.purpose != grant.purpose]
        return index.apply(fields=[replace(rec, grants=tuple(sorted([*others, grant],
                                                                     key=lambda g: g.purpose)))])
    elif kind == "revokePurpose":
        purpose = tax.require("purpose", _get(v, "purpose"))
        rec = _existing(index, _get(v, "field"))
        if rec.grant_for(purpose) is None:
            raise NotFound(f"field {rec.name} has no grant for {purpose}; its grants: "
                           + (", ".join(g.purpose for g in rec.grants) or "none"))
        return index.apply(fields=[replace(rec, grants=tuple(
            g for g in rec.grants if g.purpose != purpose))])
    elif kind == "addLineage":
        edge = Edge(check_field_name(_get(v, "upstream")),
                    check_field_name(_get(v, "downstream")), v.get("transform"))
        index.validate_new_edges([edge])
        return index.apply(add_edges=[edge])
    elif kind == "removeLineage":
        up, down = _get(v, "upstream"), _get(v, "downstream")
        for name in (up, down):
            _existing(index, name)
        return index.apply(remove_edges=[(up, down)] if index.graph.has_edge(up, down) else [])
    elif kind == "upsertPolicyRule":
        key, spec = _get(v, "key"), v.get("rule")
        if not isinstance(spec, Mapping):
            raise BadInput(f"rule {key!r}: give the rule (effect and criteria)")
        spec = {_snake(k): x for k, x in spec.items() if x is not None}
        rule = rule_from_spec(key, spec, tax)
        return index.apply(rules=[*(r for r in index.rules if r.key != key), rule])
    else:  # deletePolicyRule
        if not any(r.key == v for r in index.rules):
            raise NotFound(f"no policy rule {v!r}; see policyRules for the keys")
        return index.apply(rules=[r for r in index.rules if r.key != v])


def _snake(key: str) -> str:
    return "min_sensitivity" if key == "minSensitivity" else key
