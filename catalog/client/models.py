"""Typed results of the client: plain frozen dataclasses built from the API's JSON."""

from __future__ import annotations

from dataclasses import dataclass


class CatalogClientError(Exception):
    """An error from the catalog, or no answer at all. `code` is the GraphQL
    `extensions.code` (BAD_INPUT, NOT_FOUND, CONFLICT, UNAUTHENTICATED, FORBIDDEN), or
    UNAVAILABLE when the server could not be reached or kept failing (fail closed)."""

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    message: str
    rule: str | None = None
    path: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    field: str
    purpose: str
    channel: str
    reasons: tuple[Reason, ...]
    obligations: tuple[str, ...]
    effective_categories: tuple[str, ...]
    revision: int


@dataclass(frozen=True, slots=True)
class Grant:
    purpose: str
    channels: tuple[str, ...] | None
    requires_consent: bool


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    category: str
    source: str
    owner: str
    description: str | None
    source_system: str | None
    deprecated: bool
    grants: tuple[Grant, ...]
    upstream: tuple[str, ...]
    downstream: tuple[str, ...]
    effective_categories: tuple[str, ...]
    revision: int


@dataclass(frozen=True, slots=True)
class LineageEdge:
    upstream: str
    downstream: str
    transform: str | None


@dataclass(frozen=True, slots=True)
class Lineage:
    root: str
    nodes: tuple[Field, ...]
    edges: tuple[LineageEdge, ...]
    partial: bool


DECISION = ("allowed field purpose channel reasons { code message rule path } obligations "
            "effectiveCategories revision")
FIELD = ("name category source owner description sourceSystem deprecated "
         "grants { purpose channels requiresConsent } upstream downstream effectiveCategories "
         "revision")


def decision(d: dict) -> Decision:
    return Decision(
        allowed=bool(d["allowed"]), field=d["field"], purpose=d["purpose"],
        channel=d["channel"],
        reasons=tuple(Reason(r["code"], r["message"], r.get("rule"),
                             tuple(r["path"]) if r.get("path") is not None else None)
                      for r in d["reasons"]),
        obligations=tuple(d["obligations"]),
        effective_categories=tuple(d["effectiveCategories"]), revision=d["revision"])


def field(d: dict) -> Field:
    return Field(
        name=d["name"], category=d["category"], source=d["source"], owner=d["owner"],
        description=d.get("description"), source_system=d.get("sourceSystem"),
        deprecated=bool(d["deprecated"]),
        grants=tuple(Grant(g["purpose"], None if g["channels"] is None else tuple(g["channels"]),
                           bool(g["requiresConsent"])) for g in d["grants"]),
        upstream=tuple(d["upstream"]), downstream=tuple(d["downstream"]),
        effective_categories=tuple(d["effectiveCategories"]), revision=d["revision"])


def lineage(d: dict) -> Lineage:
    return Lineage(root=d["root"], nodes=tuple(field(n) for n in d["nodes"]),
                   edges=tuple(LineageEdge(e["upstream"], e["downstream"], e.get("transform"))
                               for e in d["edges"]),
                   partial=bool(d["partial"]))
