"""Mapping between rows and domain records; the JSON shapes the change log stores."""

from __future__ import annotations

from typing import Any

from catalog.domain.model import Edge, FieldRecord, Grant
from catalog.domain.rules import PolicyRule


def split_keys(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(text.split())


def join_keys(keys: tuple[str, ...] | list[str] | None) -> str | None:
    return None if keys is None else " ".join(keys)


def rule_from_row(row: Any) -> PolicyRule:
    return PolicyRule(key=row.key, effect=row.effect, description=row.description or "",
                      min_sensitivity=row.min_sensitivity,
                      categories=split_keys(row.categories), sources=split_keys(row.sources),
                      purposes=split_keys(row.purposes), channels=split_keys(row.channels),
                      unstated_benefit=row.unstated_benefit)


def field_json(rec: FieldRecord | None) -> dict | None:
    if rec is None:
        return None
    return {
        "name": rec.name, "category": rec.category, "source": rec.source, "owner": rec.owner,
        "description": rec.description, "sourceSystem": rec.source_system,
        "deprecated": rec.deprecated,
        "grants": [grant_json(g) for g in rec.grants],
    }


def grant_json(g: Grant) -> dict:
    out = {"purpose": g.purpose, "channels": list(g.channels) if g.channels is not None
           else None, "requiresConsent": g.requires_consent}
    if g.customer_benefit is not None:  # absent, not null, in entries older than §15
        out["customerBenefit"] = g.customer_benefit
    return out


def edge_json(e: Edge | None) -> dict | None:
    if e is None:
        return None
    return {"upstream": e.upstream, "downstream": e.downstream, "transform": e.transform}
