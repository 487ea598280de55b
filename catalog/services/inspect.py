"""Reads the reviewer console needs beyond the API's: where a field's effective categories
come from, the taxonomy's keys for forms, and the permit state of many fields at once."""

from __future__ import annotations

from collections.abc import Iterable

from catalog.domain.decision import CONSENT_REQUIRED, Decision
from catalog.errors import Forbidden, NotFound
from catalog.services import checks
from catalog.services.auth import Principal, require
from catalog.services.core import Catalog


def status_of(decision: Decision) -> str:
    """allowed | consent (allowed, with an obligation) | denied."""
    if not decision.allowed:
        return "denied"
    return "consent" if CONSENT_REQUIRED in decision.obligations else "allowed"


def category_origins(cat: Catalog, principal: Principal, name: str) -> list[tuple[str, list[str]]]:
    """Each effective category of a field with the fields it comes from (the field itself
    and its ancestors), categories and fields by name."""
    require(principal, "read")
    cat.fresh()
    index = cat.index
    if index.get(name) is None:
        raise NotFound(f"field {name!r} is not in the catalog")
    seen, todo = {name}, [name]
    while todo:  # every ancestor: the field's lineage upstream, all the way
        for parent in index.upstream(todo.pop()):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    origins: dict[str, list[str]] = {}
    for n in sorted(seen):
        rec = index.get(n)
        if rec is not None:
            origins.setdefault(rec.category, []).append(n)
    return sorted(origins.items())


def taxonomy_keys(cat: Catalog, principal: Principal) -> dict[str, list[str]]:
    require(principal, "read")
    tax = cat.index.taxonomy
    return {"category": sorted(tax.categories), "purpose": sorted(tax.purposes),
            "channel": sorted(tax.channels), "source": sorted(tax.sources)}


def may_write(principal: Principal, name: str) -> bool:
    try:
        require(principal, "write", name)
    except Forbidden:
        return False
    return True


def field_categories(cat: Catalog, principal: Principal, names: Iterable[str]) -> dict[str, str]:
    require(principal, "read")
    index = cat.index
    return {n: rec.category for n in names if (rec := index.get(n)) is not None}


def statuses(cat: Catalog, principal: Principal, names: Iterable[str], purpose: str,
             channel: str) -> dict[str, str]:
    """Whether each field permits purpose in channel (one check each, from the index); for the
    console's pictures, so nothing is counted in the decision log."""
    names = list(names)
    decisions = checks.check_many(cat, principal, [(n, purpose, channel) for n in names],
                                  logged=False)
    return {n: status_of(d) for n, d in zip(names, decisions, strict=True)}


def at_least(cat: Catalog, principal: Principal, revision: int) -> None:
    """Wait (bounded) until this process has seen `revision`, so a page shown after a write
    on another worker includes that write."""
    require(principal, "read")
    cat.fresh(revision)
