"""Mutation resolvers. Writes touch the database, so they run off the event loop."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from catalog.api.graphql import types as t
from catalog.domain.model import Edge
from catalog.services import auth, fields, lineage, policy, taxonomy


def _field_input(i: t.FieldInput) -> fields.FieldInput:
    grants = None if i.grants is None else tuple(_grant(g) for g in i.grants)
    return fields.FieldInput(name=i.name, category=i.category, source=i.source, owner=i.owner,
                             description=i.description, source_system=i.source_system,
                             grants=grants)


def _grant(g: t.GrantInput):
    return fields.normalize_grant(g.purpose, g.channels, g.requires_consent,
                                  g.customer_benefit)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create a field, or update it: given attributes replace, "
                                     "omitted ones stay.")
    async def register_field(self, info: Info, input: t.FieldInput) -> t.Field:
        c = info.context
        out = await c.write(fields.register_fields, c.catalog, c.principal, [_field_input(input)])
        return t.Field.of(out[0])

    @strawberry.mutation(description="registerField for many (up to 10,000), all or nothing.")
    async def register_fields(self, info: Info, inputs: list[t.FieldInput]) -> list[t.Field]:
        c = info.context
        fields.check_batch(inputs, "fields")
        out = await c.write(fields.register_fields, c.catalog, c.principal,
                             [_field_input(i) for i in inputs])
        return [t.Field.of(r) for r in out]

    @strawberry.mutation
    async def deprecate_field(self, info: Info, name: str) -> t.Field:
        c = info.context
        return t.Field.of(await c.write(fields.deprecate_field, c.catalog, c.principal, name))

    @strawberry.mutation(description="Grant a purpose; replaces the field's grant for it.")
    async def grant_purpose(self, info: Info, field: str, grant: t.GrantInput) -> t.Field:
        c = info.context
        return t.Field.of(await c.write(fields.grant_purpose, c.catalog, c.principal, field,
                                         _grant(grant)))

    @strawberry.mutation
    async def revoke_purpose(self, info: Info, field: str, purpose: str) -> t.Field:
        c = info.context
        return t.Field.of(await c.write(fields.revoke_purpose, c.catalog, c.principal, field,
                                         purpose))

    @strawberry.mutation
    async def add_lineage(self, info: Info, upstream: str, downstream: str,
                          transform: str | None = None) -> t.LineageEdge:
        c = info.context
        out = await c.write(lineage.add_lineages, c.catalog, c.principal,
                             [Edge(upstream, downstream, transform)])
        return t.LineageEdge.of(out[0])

    @strawberry.mutation(description="addLineage for many (up to 10,000), all or nothing.")
    async def add_lineages(self, info: Info,
                           edges: list[t.LineageEdgeInput]) -> list[t.LineageEdge]:
        c = info.context
        fields.check_batch(edges, "edges")
        out = await c.write(lineage.add_lineages, c.catalog, c.principal,
                             [Edge(e.upstream, e.downstream, e.transform) for e in edges])
        return [t.LineageEdge.of(e) for e in out]

    @strawberry.mutation(description="Remove an edge; false when there was none.")
    async def remove_lineage(self, info: Info, upstream: str, downstream: str) -> bool:
        c = info.context
        return await c.write(lineage.remove_lineage, c.catalog, c.principal, upstream,
                              downstream)

    @strawberry.mutation(description="Create or replace a policy rule (reviewers, admins).")
    async def upsert_policy_rule(self, info: Info, key: str,
                                 rule: t.PolicyRuleInput) -> t.PolicyRule:
        c = info.context
        spec = {k: v for k, v in vars(rule).items() if v is not None}
        return t.PolicyRule.of(await c.write(policy.upsert_rule, c.catalog, c.principal,
                                              key, spec))

    @strawberry.mutation
    async def delete_rule(self, info: Info, key: str) -> bool:
        c = info.context
        return await c.write(policy.delete_rule, c.catalog, c.principal, key)

    @strawberry.mutation(description="A new API token (admins); shown once.")
    async def create_token(self, info: Info, role: str, scope: str | None = None,
                           name: str | None = None) -> t.CreatedToken:
        c = info.context
        token_id, token = await c.write(auth.create_token, c.catalog, c.principal, role=role,
                                         scope=scope, name=name)
        return t.CreatedToken(id=token_id, role=role, scope=scope, name=name, token=token)

    @strawberry.mutation
    async def revoke_token(self, info: Info, id: int) -> bool:
        c = info.context
        return await c.write(auth.revoke_token, c.catalog, c.principal, id)

    @strawberry.mutation(description="Add a taxonomy key or change one (admins). kind: "
                                     "category, purpose, channel or source. intensity: a "
                                     "purpose's intensity or a category's floor (utility, "
                                     "relationship, surveillance; inherit clears it).")
    async def upsert_taxonomy_key(self, info: Info, kind: str, key: str,
                                  sensitivity: int | None = None, privacy: str | None = None,
                                  description: str | None = None,
                                  intensity: str | None = None) -> t.Taxonomy:
        c = info.context
        tax = await c.write(taxonomy.upsert_key, c.catalog, c.principal, kind=kind, key=key,
                            sensitivity=sensitivity, privacy=privacy, description=description,
                            intensity=intensity)
        return t.Taxonomy.of(tax)
