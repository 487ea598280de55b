"""Reviewers manage policy rules; everyone but pipelines reads them."""

from __future__ import annotations

from catalog.domain.rules import PolicyRule, rule_from_spec
from catalog.errors import NotFound
from catalog.services import writes
from catalog.services.auth import Principal, require
from catalog.services.core import Catalog


def list_rules(cat: Catalog, principal: Principal) -> tuple[PolicyRule, ...]:
    require(principal, "read", asked="query policyRules")
    cat.fresh()
    return cat.index.rules


def upsert_rule(cat: Catalog, principal: Principal, key: str, spec: dict) -> PolicyRule:
    require(principal, "manage_rules")
    rule = rule_from_spec(key, spec, cat.index.taxonomy)
    with cat.write(principal.actor) as txn:
        before = next((r for r in cat.index.rules if r.key == key), None)
        if before == rule:
            return rule
        writes.upsert_rule(txn, before, rule)
    return rule


def delete_rule(cat: Catalog, principal: Principal, key: str) -> bool:
    require(principal, "manage_rules")
    with cat.write(principal.actor) as txn:
        before = next((r for r in cat.index.rules if r.key == key), None)
        if before is None:
            raise NotFound(f"no policy rule {key!r}; see policyRules for the keys")
        writes.delete_rule(txn, before)
    return True
