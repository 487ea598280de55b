"""What `catalog apply` shows: the changes of a plan, line by line, and (for a dry run) the
decisions that would flip, computed on a private index of the catalog after the plan."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.domain.decision import Decision
from catalog.domain.index import CatalogIndex
from catalog.domain.model import Edge, FieldRecord, Grant
from catalog.domain.rules import rule_to_spec
from catalog.services.apply import Plan, after_index

MAX_FLIPS = 10_000
MAX_CELLS = 1_000_000
FIELD_ATTRS = ("category", "source", "owner", "description", "source_system", "deprecated",
               "grants")


def changes(plan: Plan) -> list[str]:
    """One line per change: `+` added, `~` changed, `-` removed."""
    lines = []
    for before, after in plan.taxonomy:
        what = f"{after['kind']} {after['key']}"
        attrs = [a for a in ("sensitivity", "privacy", "description")
                 if (before or {}).get(a) != after[a] and (before or after[a] is not None)]
        lines.append(("~ " if before else "+ ") + what + _attrs(
            attrs, before or {}, after, shown=before is not None))
    for before, rule in plan.rules:
        old, new = (rule_to_spec(before) if before else {}), rule_to_spec(rule)
        attrs = sorted(a for a in old.keys() | new.keys() if old.get(a) != new.get(a))
        lines.append(("~ " if before else "+ ") + f"rule {rule.key}"
                     + _attrs(attrs, old, new, shown=before is not None))
    lines += [f"- rule {r.key}" for r in plan.deleted_rules]
    for before, after in plan.fields:
        if before is None:
            lines.append(f"+ field {after.name}")
            continue
        attrs = [a for a in FIELD_ATTRS if getattr(before, a) != getattr(after, a)]
        if attrs == ["deprecated"] and after.deprecated:
            lines.append(f"- field {after.name} (deprecated)")
        else:
            lines.append(f"~ field {after.name}" + _attrs(
                attrs, _field_view(before), _field_view(after), shown=True))
    lines += [f"+ lineage {_edge(e)}" for e in plan.new_edges]
    lines += [f"~ lineage {_edge(a)} (transform: {b.transform!r} -> {a.transform!r})"
              for b, a in plan.updated_edges]
    lines += [f"- lineage {_edge(e)}" for e in plan.removed_edges]
    return lines


def _field_view(rec: FieldRecord) -> dict:
    view = {a: getattr(rec, a) for a in FIELD_ATTRS}
    view["grants"] = ", ".join(map(grant_text, rec.grants)) or "none"
    return view


def grant_text(g: Grant) -> str:
    channels = f" in {'/'.join(g.channels)}" if g.channels else ""
    return f"{g.purpose}{channels}{' with consent' if g.requires_consent else ''}"


def _edge(e: Edge) -> str:
    return f"{e.upstream} -> {e.downstream}"


def _attrs(attrs, before: dict, after: dict, *, shown: bool) -> str:
    if not attrs:
        return ""
    if not shown:
        return " (" + "; ".join(f"{a}: {after.get(a)!r}" for a in attrs) + ")"
    return " (" + "; ".join(f"{a}: {before.get(a)!r} -> {after.get(a)!r}" for a in attrs) + ")"


# -- flips ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Flip:
    field: str
    purpose: str
    channel: str
    before: Decision
    after: Decision


@dataclass(frozen=True)
class Flips:
    flips: tuple[Flip, ...]
    checked: int
    partial: bool


def flips(index: CatalogIndex, plan: Plan) -> Flips:
    """Every (field, leaf purpose, channel) cell of the fields the plan touches and their
    descendants (every field when rules or taxonomy change) whose `allowed` would change: the
    cells simulate compares (docs/semantics.md §9), on the same kind of private snapshot."""
    after = after_index(index, plan)
    if plan.taxonomy or plan.rules or plan.deleted_rules:
        names = set(after.fields)
    else:
        names = {a.name for _, a in plan.fields}
        names |= {n for e in [*plan.new_edges, *plan.removed_edges,
                              *(a for _, a in plan.updated_edges)]
                  for n in (e.upstream, e.downstream)}
        names |= index.graph.descendants(names) | after.graph.descendants(names)
    purposes, channels = _leaves(after.taxonomy.purposes), sorted(after.taxonomy.channels)
    found: list[Flip] = []
    checked = 0
    for name in sorted(names):
        for p in purposes:
            for c in channels:
                if checked >= MAX_CELLS or len(found) >= MAX_FLIPS:
                    return Flips(tuple(found), checked, True)
                checked += 1
                if index.allowed(name, p, c) != after.allowed(name, p, c):  # cheap bit tests
                    found.append(Flip(name, p, c, index.check(name, p, c),
                                      after.check(name, p, c)))
    return Flips(tuple(found), checked, False)


def _leaves(keys) -> list[str]:
    keys = set(keys)
    parents = {k.rpartition(".")[0] for k in keys}
    return sorted(k for k in keys if k not in parents)


def flip_lines(result: Flips) -> list[str]:
    head = (f"decisions that would flip: {len(result.flips)} of {result.checked:,} cells "
            "compared" + (" (cut short: partial)" if result.partial else ""))
    lines = [head]
    for f in result.flips:
        verdict = "ALLOWED -> DENIED" if f.before.allowed else "DENIED -> ALLOWED"
        why = f.after.reasons if f.before.allowed else f.before.reasons
        because = "; ".join(r.code.value + (f" {r.rule}" if r.rule else "")
                            + (f" via {r.path[-1]}" if r.path else "") for r in why)
        lines.append(f"  {f.field} {f.purpose} {f.channel}: {verdict}"
                     + (f" ({'now ' if f.before.allowed else 'was '}{because})"
                        if because else ""))
    return lines
