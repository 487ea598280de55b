"""Query resolvers: translate arguments, call services, translate back."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from catalog.api.graphql import audit
from catalog.api.graphql import types as t
from catalog.api.graphql.context import off_loop
from catalog.api.graphql.transparency import (
    SpectrumRow,
    TransparencyGap,
    TransparencyGapConnection,
    spectrum,
)
from catalog.services import browse, checks, lineage, policy, transparency
from catalog.services.auth import require


def _needs_wait(info: Info, at_least: int | None) -> bool:
    return at_least is not None and info.context.index.revision < at_least


@strawberry.type
class Query:
    @strawberry.field(description="May field be used for purpose in channel? With its proof.")
    async def check(self, info: Info, field: str, purpose: str, channel: str,
                    at_least_revision: int | None = None,
                    as_of: audit.AsOf | None = None) -> t.Decision:
        ctx = info.context
        args = (ctx.catalog, ctx.principal, field, purpose, channel, at_least_revision,
                as_of and as_of.value())
        checks.precheck(ctx.principal)
        if as_of is not None or _needs_wait(info, at_least_revision):
            return t.Decision.of(await off_loop(checks.check, *args))
        return t.Decision.of(checks.check(*args, index=ctx.index))

    @strawberry.field(description="Many checks at once (up to 10,000), in request order.")
    async def check_many(self, info: Info, requests: list[t.CheckInput],
                         at_least_revision: int | None = None,
                         as_of: audit.AsOf | None = None) -> list[t.Decision]:
        ctx = info.context
        reqs = [(r.field, r.purpose, r.channel) for r in requests]
        args = (ctx.catalog, ctx.principal, reqs, at_least_revision, as_of and as_of.value())
        checks.precheck(ctx.principal, reqs)
        if as_of is not None or _needs_wait(info, at_least_revision):
            out = await off_loop(checks.check_many, *args)
        else:
            out = checks.check_many(*args, index=ctx.index)
        return [t.Decision.of(x) for x in out]

    @strawberry.field(description="A field by name; null for any name the catalog lacks.")
    def field(self, info: Info, name: str) -> t.Field | None:
        ctx = info.context
        rec = checks.get_field(ctx.catalog, ctx.principal, name, index=ctx.index)
        return t.Field.of(rec) if rec is not None else None

    @strawberry.field(description="Lineage around a field; depth 1-50, cut at 10,000 nodes.")
    def lineage(self, info: Info, field: str,
                direction: t.LineageDirection = t.LineageDirection.UPSTREAM,
                depth: int = 10) -> t.Lineage:
        ctx = info.context
        result = lineage.lineage(ctx.catalog, ctx.principal, field, direction.value, depth,
                                 index=ctx.index)
        return t.Lineage.of(result, ctx.index)

    @strawberry.field(description="Fields by filters, by name (docs/semantics.md §6).")
    async def fields(self, info: Info, category: str | None = None,
                     purpose: t.PurposeFilter = None, source: str | None = None,
                     owner: str | None = None, name_prefix: str | None = None,
                     first: int = 50, after: str | None = None,
                     permitted_for: t.PermittedForFilter = None) -> t.FieldConnection:
        ctx = info.context
        records, cursor, more = await off_loop(
            browse.fields_page, ctx.catalog, ctx.principal, category=category, purpose=purpose,
            source=source, owner=owner, prefix=name_prefix, first=first, after=after,
            permitted_for=permitted_for, index=ctx.index)
        ctx.cover(records)
        return t.FieldConnection(nodes=[t.Field.of(r) for r in records],
                                 page_info=t.PageInfo(end_cursor=cursor, has_next_page=more))

    @strawberry.field(description="Changes to a field (its grants and edges too), newest first.")
    async def history(self, info: Info, field: str, first: int = 20,
                      after: str | None = None) -> t.HistoryConnection:
        entries, cursor, more = await off_loop(browse.history_page, info.context.catalog,
                                               info.context.principal, field, first, after)
        return t.HistoryConnection(
            entries=[t.ChangeEntry(**{**e, "id": strawberry.ID(str(e["id"]))})
                     for e in entries],
            page_info=t.PageInfo(end_cursor=cursor, has_next_page=more))

    @strawberry.field(description="Every purpose x channel decision for one field.")
    def usage_matrix(self, info: Info, field: str) -> list[t.Decision]:
        ctx = info.context
        out = checks.usage_matrix(ctx.catalog, ctx.principal, field, index=ctx.index)
        return [t.Decision.of(x) for x in out]

    @strawberry.field
    def taxonomy(self, info: Info) -> t.Taxonomy:
        require(info.context.principal, "read", asked="query taxonomy")
        return t.Taxonomy.of(info.context.index.taxonomy)

    @strawberry.field
    def policy_rules(self, info: Info) -> list[t.PolicyRule]:
        return [t.PolicyRule.of(r) for r in
                policy.list_rules(info.context.catalog, info.context.principal)]

    @strawberry.field(description="The catalog revision this worker's index reflects.")
    def revision(self, info: Info) -> int:
        require(info.context.principal, "read", asked="query revision")
        return info.context.index.revision

    @strawberry.field(description="Grants of relationship or surveillance intensity that "
                                  "state no customer benefit, by field and purpose.")
    async def transparency_gaps(self, info: Info, first: int | None = 50,
                                after: str | None = None) -> TransparencyGapConnection:
        ctx = info.context
        gaps, cursor, more = await off_loop(transparency.gaps_page, ctx.catalog, ctx.principal,
                                            50 if first is None else first, after,
                                            index=ctx.index)
        return TransparencyGapConnection(
            nodes=[TransparencyGap(field=g.field, purpose=g.purpose, intensity=g.intensity)
                   for g in gaps],
            page_info=t.PageInfo(end_cursor=cursor, has_next_page=more))

    @strawberry.field(description="API tokens (admin only); hashes are never shown.")
    async def tokens(self, info: Info) -> list[t.Token]:
        from catalog.services.auth import list_tokens
        rows = await off_loop(list_tokens, info.context.catalog, info.context.principal)
        return [t.Token(id=r.id, role=r.role, scope=r.scope, name=r.name,
                        created_at=r.created_at, revoked_at=r.revoked_at) for r in rows]

    # Time and audit (docs/semantics.md §9-10): resolvers in audit.py.
    changes: list[t.ChangeEntry] = strawberry.field(
        resolver=audit.changes, description="Every committed change after a revision, oldest "
        "first; first 1-1,000, a page never splits a revision.")
    simulate: audit.Simulation = strawberry.field(
        resolver=audit.simulate_, description="What-if: the decisions that would flip.")
    decision_log: audit.DecisionLogConnection = strawberry.field(
        resolver=audit.decision_log, description="Decision counts per minute, caller and "
        "cell; newest minute first (reviewers, admins).")
    overcrowding: list[audit.CrowdingRow] = strawberry.field(
        resolver=audit.overcrowding, description="Per channel and marketing purpose: distinct "
        "callers and decisions in a period, most crowded first (reviewers, admins).")
    spectrum: list[SpectrumRow] = strawberry.field(
        resolver=spectrum, description="Allowed decisions in a period by the intensity each "
        "had when made and the purpose as requested (semantics §15; every role but pipeline).")
