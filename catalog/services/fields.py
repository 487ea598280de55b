"""Use cases on fields: register (one or many, all or nothing), deprecate, grant, revoke."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace

from catalog.domain.index import CatalogIndex
from catalog.domain.model import FieldRecord, Grant
from catalog.domain.names import check_field_name, check_text, has_control
from catalog.errors import BadInput, NotFound
from catalog.services import writes
from catalog.services.auth import Principal, require
from catalog.services.core import Catalog, Txn

MAX_BATCH = 10_000


@dataclass(frozen=True)
class FieldInput:
    """What a caller gives; None means 'keep what is there' (required for a new field)."""

    name: str
    category: str | None = None
    source: str | None = None
    owner: str | None = None
    description: str | None = None
    source_system: str | None = None
    grants: tuple[Grant, ...] | None = None


def check_batch(items: list, what: str) -> None:
    if len(items) > MAX_BATCH:
        raise BadInput(f"{len(items)} {what} in one call: send at most {MAX_BATCH:,} per call")


def register_fields(cat: Catalog, principal: Principal,
                    inputs: list[FieldInput]) -> list[FieldRecord]:
    """Create or update fields, all or nothing. Returns them in input order."""
    check_batch(inputs, "fields")
    seen: set[str] = set()
    for item in inputs:
        require(principal, "write", item.name)  # first: no validation detail to the unentitled
        check_field_name(item.name)
        if item.name in seen:
            raise BadInput(f"field {item.name} appears twice in one call: give each field once")
        seen.add(item.name)
    with cat.write(principal.actor) as txn:
        records = register_in(txn, cat.index, inputs)
    index = cat.index
    return [txn.fields.get(r.name) or index.get(r.name) or r for r in records]


def register_in(txn: Txn, index: CatalogIndex, inputs: list[FieldInput]) -> list[FieldRecord]:
    """Create or update fields inside an open write: validate, save, log. A field an earlier
    step of the same transaction registered counts as existing. Returns the merged records in
    input order (unchanged ones too)."""
    records = []
    for item in inputs:
        before = txn.fields.get(item.name) or index.get(item.name)
        rec = merge(before, item, txn.revision)
        index.validate_record(rec)
        check_texts(rec)
        records.append((before, rec))
    writes.save_fields(txn, [(b, r) for b, r in records if b is None
                             or not b.same_but_revision(r)])
    return [r for _, r in records]


def register_new_in(txn: Txn, index: CatalogIndex, records: list[FieldRecord]) -> None:
    """register_in for records of fields neither the index nor this write has (the caller
    knows): the same validation, without merging into an existing record. Attributes that
    several records share (an ingested event's columns share all but name and description)
    are checked once: a check that passed for one passes for all, so the first bad record
    still fails first, on the same check."""
    checked: set[tuple] = set()
    for rec in records:
        shared = (rec.category, rec.source, rec.owner, rec.source_system, rec.grants)
        if shared in checked:
            check_field_name(rec.name)
            if rec.description is not None:
                check_text(rec.description, f"field {rec.name}: description", multiline=True)
            continue
        index.validate_record(rec)
        check_texts(rec)
        checked.add(shared)
    writes.save_fields(txn, [(None, rec) for rec in records])


MAX_TEXT = 200  # owner and source_system columns; PostgreSQL refuses longer values


def check_texts(rec: FieldRecord) -> None:
    """Widths and characters of the free-text attributes (docs/semantics.md §1)."""
    for value, label in ((rec.owner, "owner"), (rec.source_system, "sourceSystem")):
        if value is None:
            continue
        if not isinstance(value, str) or has_control(value):  # check_text says what is wrong
            check_text(value, f"field {rec.name}: {label}")
        if len(value) > MAX_TEXT:
            raise BadInput(f"field {rec.name}: {label} is {len(value)} characters long; "
                           f"use at most {MAX_TEXT}")
    if rec.description is not None:
        check_text(rec.description, f"field {rec.name}: description", multiline=True)


def merge(before: FieldRecord | None, item: FieldInput, revision: int) -> FieldRecord:
    if before is None:
        if item.category is None or item.source is None or item.owner is None:
            missing = [k for k in ("category", "source", "owner") if getattr(item, k) is None]
            raise BadInput(f"new field {item.name} needs {', '.join(missing)}")
        grants = tuple(sorted(item.grants, key=lambda g: g.purpose)) if item.grants else ()
        return FieldRecord(name=item.name, category=item.category, source=item.source,
                           owner=item.owner, description=item.description,
                           source_system=item.source_system, grants=grants, revision=revision)
    given = {k: getattr(item, k) for k in ("category", "source", "owner", "description",
                                           "source_system") if getattr(item, k) is not None}
    if item.grants is not None:
        given["grants"] = tuple(sorted(item.grants, key=lambda g: g.purpose))
    return replace(before, **given, revision=revision)


def _existing(cat: Catalog, name: str) -> FieldRecord:
    rec = cat.index.get(name)
    if rec is None:
        raise NotFound(f"field {name!r} is not in the catalog: register it first")
    return rec


def _save_one(cat: Catalog, principal: Principal, name: str, action: str, change) -> FieldRecord:
    """Apply change(record) -> new record (or None: nothing to do) to one field."""
    require(principal, "write", name)
    with cat.write(principal.actor) as txn:
        before = _existing(cat, name)
        after = change(before)
        if after is None:
            return before
        after = save_in(txn, cat.index, before, after, action)
    return after


def save_in(txn: Txn, index: CatalogIndex, before: FieldRecord, after: FieldRecord,
            action: str) -> FieldRecord:
    """Save one changed existing field inside an open write, and log it."""
    after = replace(after, revision=txn.revision)
    index.validate_record(after)
    writes.save_fields(txn, [(before, after)], action)
    return after


def deprecate_field(cat: Catalog, principal: Principal, name: str) -> FieldRecord:
    return _save_one(cat, principal, name, "deprecate",
                     lambda rec: None if rec.deprecated else replace(rec, deprecated=True))


def grant_purpose(cat: Catalog, principal: Principal, name: str, grant: Grant) -> FieldRecord:
    require(principal, "write", name)  # before validation, which names the taxonomy keys
    cat.index.taxonomy.require("purpose", grant.purpose)
    for c in grant.channels or ():
        cat.index.taxonomy.require("channel", c)

    def change(rec: FieldRecord) -> FieldRecord | None:
        if rec.grant_for(grant.purpose) == grant:
            return None
        others = [g for g in rec.grants if g.purpose != grant.purpose]
        return replace(rec, grants=tuple(sorted([*others, grant], key=lambda g: g.purpose)))

    return _save_one(cat, principal, name, "grant", change)


def revoke_purpose(cat: Catalog, principal: Principal, name: str, purpose: str) -> FieldRecord:
    require(principal, "write", name)  # before validation, which names the taxonomy keys
    cat.index.taxonomy.require("purpose", purpose)

    def change(rec: FieldRecord) -> FieldRecord:
        if rec.grant_for(purpose) is None:
            raise NotFound(f"field {name} has no grant for {purpose}; its grants: "
                           + (", ".join(g.purpose for g in rec.grants) or "none"))
        return replace(rec, grants=tuple(g for g in rec.grants if g.purpose != purpose))

    return _save_one(cat, principal, name, "revoke", change)


MAX_BENEFIT = 500


def normalize_benefit(purpose: str, benefit) -> str | None:
    """A grant's customer benefit (docs/semantics.md §15), trimmed; blank is none."""
    if benefit is None:
        return None
    if not isinstance(benefit, str):
        raise BadInput(f"grant {purpose}: customerBenefit must be text")
    benefit = benefit.strip()
    if len(benefit) > MAX_BENEFIT:
        raise BadInput(f"grant {purpose}: customerBenefit is {len(benefit)} characters long; "
                       f"say it in at most {MAX_BENEFIT}")
    bad = next((ch for ch in benefit if unicodedata.category(ch) in ("Cc", "Zl", "Zp")), None)
    if bad is not None:
        raise BadInput(f"grant {purpose}: customerBenefit contains the control character "
                       f"U+{ord(bad):04X}; write it as one line of plain text")
    return benefit or None


def normalize_grant(purpose: str, channels, requires_consent: bool | None,
                    customer_benefit: str | None = None) -> Grant:
    if channels is not None:
        if isinstance(channels, str) or not all(isinstance(c, str) for c in channels):
            raise BadInput(f"grant {purpose}: channels must be a list of channel keys, such as "
                           "[email, web]")
        channels = tuple(sorted(set(channels)))
        if not channels:
            raise BadInput(f"grant {purpose}: channels must not be empty; omit it to allow "
                           "every channel")
    return Grant(purpose, channels, bool(requires_consent),
                 normalize_benefit(purpose, customer_benefit))
