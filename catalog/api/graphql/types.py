"""GraphQL output types (graphql/schema.graphql) and their mapping from domain records. Resolvers
build these from plain records; no ORM object ever reaches strawberry."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

from catalog.domain import decision as d
from catalog.domain.model import Edge, FieldRecord, LineageResult

ReasonCode = strawberry.enum(d.ReasonCode, name="ReasonCode")


@strawberry.enum
class LineageDirection(Enum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


@strawberry.type
class Reason:
    code: ReasonCode
    message: str
    rule: str | None
    path: list[str] | None


@strawberry.type
class Decision:
    allowed: bool
    field: str
    purpose: str
    channel: str
    reasons: list[Reason]
    obligations: list[str]
    effective_categories: list[str]
    revision: int = strawberry.field(description="catalog revision the decision was made at")
    intensity: str | None = strawberry.field(
        description="utility, relationship or surveillance (docs/semantics.md §15); null only when "
                    "the purpose is unknown; never changes allowed")

    @classmethod
    def of(cls, x: d.Decision) -> Decision:
        return cls(allowed=x.allowed, field=x.field, purpose=x.purpose, channel=x.channel,
                   reasons=[Reason(code=r.code, message=r.message, rule=r.rule,
                                   path=list(r.path) if r.path is not None else None)
                            for r in x.reasons],
                   obligations=list(x.obligations),
                   effective_categories=list(x.effective_categories), revision=x.revision,
                   intensity=x.intensity)


@strawberry.type
class Grant:
    purpose: str
    channels: list[str] | None
    requires_consent: bool
    customer_benefit: str | None = strawberry.field(
        default=None, description="the benefit to the customer, in words a customer would "
                                  "understand; null when none is stated")


@strawberry.type
class Field:
    name: str
    category: str
    source: str
    owner: str
    description: str | None
    source_system: str | None
    deprecated: bool
    grants: list[Grant]
    revision: int = strawberry.field(
        description="catalog revision of the commit that last changed it (grants, deprecation "
                    "and its edges included); usable as atLeastRevision")

    # Lineage and effective attributes come from the in-memory index: no I/O, so no loader.
    @strawberry.field
    def upstream(self, info: Info) -> list[str]:
        return info.context.index.upstream(self.name)

    @strawberry.field
    def downstream(self, info: Info) -> list[str]:
        return info.context.index.downstream(self.name)

    @strawberry.field
    def effective_categories(self, info: Info) -> list[str]:
        return list(info.context.index.effective_categories(self.name))

    @strawberry.field(description="sources of the field and everything upstream of it")
    def effective_sources(self, info: Info) -> list[str]:
        return list(info.context.index.effective_sources(self.name))

    @strawberry.field(description="the highest sensitivity among the effective categories")
    def sensitivity(self, info: Info) -> int:
        return info.context.index.sensitivity(self.name)

    @classmethod
    def of(cls, r: FieldRecord) -> Field:
        return cls(name=r.name, category=r.category, source=r.source, owner=r.owner,
                   description=r.description, source_system=r.source_system,
                   deprecated=r.deprecated, revision=r.revision,
                   grants=[Grant(purpose=g.purpose, channels=list(g.channels)
                                 if g.channels is not None else None,
                                 requires_consent=g.requires_consent,
                                 customer_benefit=g.customer_benefit) for g in r.grants])


@strawberry.type
class LineageEdge:
    upstream: str
    downstream: str
    transform: str | None

    @classmethod
    def of(cls, e: Edge) -> LineageEdge:
        return cls(upstream=e.upstream, downstream=e.downstream, transform=e.transform)


@strawberry.type
class Lineage:
    root: str
    nodes: list[Field]
    edges: list[LineageEdge]
    partial: bool = strawberry.field(description="true only when the 10,000-node cut applied")

    @classmethod
    def of(cls, result: LineageResult, index) -> Lineage:
        return cls(root=result.root, nodes=[Field.of(index.get(n)) for n in result.nodes],
                   edges=[LineageEdge.of(e) for e in result.edges], partial=result.partial)


# The two purpose filters of `fields` (docs/semantics.md §6).
PurposeFilter = Annotated[str | None, strawberry.argument(
    description="fields with a grant on this purpose or a purpose below it")]
PermittedForFilter = Annotated[str | None, strawberry.argument(
    description="fields with a grant that covers this purpose (on it or a purpose above it): "
                "the grant that would govern a check for it")]


@strawberry.type
class PageInfo:
    end_cursor: str | None
    has_next_page: bool


@strawberry.type
class FieldConnection:
    nodes: list[Field]
    page_info: PageInfo


@strawberry.type
class ChangeEntry:
    id: strawberry.ID
    revision: int
    at: datetime
    actor: str
    action: str
    entity: str
    field: str | None
    other: str | None = strawberry.field(description="for lineage changes: the upstream field")
    before: strawberry.scalars.JSON | None
    after: strawberry.scalars.JSON | None


@strawberry.type
class HistoryConnection:
    entries: list[ChangeEntry]
    page_info: PageInfo


@strawberry.type
class Category:
    key: str
    sensitivity: int
    description: str | None
    intensity_floor: str | None = strawberry.field(
        default=None, description="resolved floor for purposes outside service (§15)")


@strawberry.type
class Channel:
    key: str
    privacy: str
    description: str | None


@strawberry.type
class TaxonomyKey:
    key: str
    description: str | None
    intensity: str | None = strawberry.field(
        default=None, description="purposes: resolved intensity (§15); null otherwise")


@strawberry.type
class Taxonomy:
    categories: list[Category]
    purposes: list[TaxonomyKey]
    channels: list[Channel]
    sources: list[TaxonomyKey]

    @classmethod
    def of(cls, tax) -> Taxonomy:
        desc = tax.descriptions.get
        spec = tax.spectrum
        return cls(
            categories=[Category(key=k, sensitivity=v, description=desc(("category", k)),
                                 intensity_floor=spec.floor_name(k))
                        for k, v in sorted(tax.categories.items())],
            purposes=[TaxonomyKey(key=k, description=desc(("purpose", k)),
                                  intensity=spec.purpose_name(k))
                      for k in sorted(tax.purposes)],
            channels=[Channel(key=k, privacy=v, description=desc(("channel", k)))
                      for k, v in sorted(tax.channels.items())],
            sources=[TaxonomyKey(key=k, description=desc(("source", k)))
                     for k in sorted(tax.sources)])


@strawberry.type
class PolicyRule:
    key: str
    effect: str
    description: str | None
    min_sensitivity: int | None
    categories: list[str] | None
    sources: list[str] | None
    purposes: list[str] | None
    channels: list[str] | None
    unstated_benefit: bool | None = strawberry.field(
        default=None, description="true: matches only grants that state no customer benefit; "
                                  "false: only those that state one (docs/semantics.md §15)")

    @classmethod
    def of(cls, r) -> PolicyRule:
        lst = lambda v: list(v) if v is not None else None  # noqa: E731
        return cls(key=r.key, effect=r.effect, description=r.description or None,
                   min_sensitivity=r.min_sensitivity, categories=lst(r.categories),
                   sources=lst(r.sources), purposes=lst(r.purposes), channels=lst(r.channels),
                   unstated_benefit=r.unstated_benefit)


@strawberry.type
class Token:
    id: int
    role: str
    scope: str | None
    name: str | None
    created_at: datetime
    revoked_at: datetime | None


@strawberry.type
class CreatedToken:
    id: int
    role: str
    scope: str | None
    name: str | None
    token: str = strawberry.field(description="shown once; only its hash is stored")


# -- inputs -------------------------------------------------------------------------------
@strawberry.input
class CheckInput:
    field: str
    purpose: str
    channel: str


@strawberry.input
class GrantInput:
    purpose: str
    channels: list[str] | None = None
    requires_consent: bool | None = False
    customer_benefit: str | None = strawberry.field(
        default=None, description="the benefit to the customer (at most 500 characters, one "
                                  "line); blank is none")


@strawberry.input
class FieldInput:
    name: str
    category: str
    source: str
    owner: str
    description: str | None = None
    source_system: str | None = None
    grants: list[GrantInput] | None = None


@strawberry.input
class LineageEdgeInput:
    upstream: str
    downstream: str
    transform: str | None = None


@strawberry.input
class PolicyRuleInput:
    effect: str
    description: str | None = None
    min_sensitivity: int | None = None
    categories: list[str] | None = None
    sources: list[str] | None = None
    purposes: list[str] | None = None
    channels: list[str] | None = None
    unstated_benefit: bool | None = None
