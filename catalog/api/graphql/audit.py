"""GraphQL for time and audit (docs/semantics.md §9-10): asOf, changes, simulate, decisionLog and
the overcrowding watch. Types and resolvers; query.py mounts the resolvers on Query."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from catalog.api.graphql import types as t
from catalog.api.graphql.context import off_loop
from catalog.services import audit, simulate, timeline


@strawberry.input(description="exactly one of revision and time")
class AsOf:
    revision: int | None = None
    time: datetime | None = strawberry.field(
        default=None, description="the last revision committed at or before it; UTC when it "
                                  "has no offset")

    def value(self) -> timeline.AsOf:
        return timeline.AsOf(self.revision, self.time)


@strawberry.input
class GrantChangeInput:
    field: str
    grant: t.GrantInput


@strawberry.input
class RevokeChangeInput:
    field: str
    purpose: str


@strawberry.input
class RuleChangeInput:
    key: str
    rule: t.PolicyRuleInput


@strawberry.input(description="exactly one member")
class ChangeInput:
    register_field: t.FieldInput | None = None
    deprecate_field: str | None = None
    grant_purpose: GrantChangeInput | None = None
    revoke_purpose: RevokeChangeInput | None = None
    add_lineage: t.LineageEdgeInput | None = None
    remove_lineage: t.LineageEdgeInput | None = None
    upsert_policy_rule: RuleChangeInput | None = None
    delete_policy_rule: str | None = None


@strawberry.type
class Flip:
    field: str
    purpose: str
    channel: str
    flip: strawberry.Private[simulate.Flip]

    @strawberry.field
    def before(self) -> t.Decision:  # built only when selected (simulate.Flip is lazy)
        return t.Decision.of(self.flip.before)

    @strawberry.field
    def after(self) -> t.Decision:
        return t.Decision.of(self.flip.after)


@strawberry.type
class Simulation:
    flips: list[Flip]
    checked: int = strawberry.field(description="how many cells were compared")
    partial: bool = strawberry.field(description="true when 10,000 flips or 1,000,000 cells "
                                                 "cut the comparison short")
    revision: int


@strawberry.type
class DecisionLogEntry:
    minute: datetime
    caller: str
    field: str
    purpose: str
    channel: str
    allowed: bool
    count: int


@strawberry.type
class DecisionLogConnection:
    nodes: list[DecisionLogEntry]
    page_info: t.PageInfo


@strawberry.type(description="callers and decisions for one channel and marketing purpose")
class CrowdingRow:
    channel: str
    purpose: str
    callers: int = strawberry.field(description="distinct callers")
    decisions: int
    allowed: int = strawberry.field(description="of the decisions, how many allowed")


# -- conversion of change inputs to the plain mappings the service reads ----------------------
def _grant(g: t.GrantInput) -> dict:
    return {"purpose": g.purpose, "channels": g.channels, "requiresConsent": g.requires_consent,
            "customerBenefit": g.customer_benefit}


def _edge(e: t.LineageEdgeInput) -> dict:
    return {"upstream": e.upstream, "downstream": e.downstream, "transform": e.transform}


def change_mapping(c: ChangeInput) -> dict:
    out: dict = {}
    if c.register_field is not None:
        f = c.register_field
        out["registerField"] = {
            "name": f.name, "category": f.category, "source": f.source, "owner": f.owner,
            "description": f.description, "sourceSystem": f.source_system,
            "grants": None if f.grants is None else [_grant(g) for g in f.grants]}
    if c.deprecate_field is not None:
        out["deprecateField"] = c.deprecate_field
    if c.grant_purpose is not None:
        out["grantPurpose"] = {"field": c.grant_purpose.field,
                               "grant": _grant(c.grant_purpose.grant)}
    if c.revoke_purpose is not None:
        out["revokePurpose"] = {"field": c.revoke_purpose.field,
                                "purpose": c.revoke_purpose.purpose}
    if c.add_lineage is not None:
        out["addLineage"] = _edge(c.add_lineage)
    if c.remove_lineage is not None:
        out["removeLineage"] = _edge(c.remove_lineage)
    if c.upsert_policy_rule is not None:
        out["upsertPolicyRule"] = {"key": c.upsert_policy_rule.key,
                                   "rule": vars(c.upsert_policy_rule.rule)}
    if c.delete_policy_rule is not None:
        out["deletePolicyRule"] = c.delete_policy_rule
    return out


# -- resolvers ------------------------------------------------------------------------------
async def changes(info: Info, after_revision: int = 0, first: int = 100) -> list[t.ChangeEntry]:
    entries = await off_loop(timeline.changes, info.context.catalog, info.context.principal,
                             after_revision, first)
    return [t.ChangeEntry(**{**e, "id": strawberry.ID(str(e["id"]))}) for e in entries]


async def simulate_(info: Info, changes: list[ChangeInput],
                    checks: list[t.CheckInput] | None = None) -> Simulation:
    reqs = None if checks is None else [(c.field, c.purpose, c.channel) for c in checks]
    result = await off_loop(simulate.simulate, info.context.catalog, info.context.principal,
                            [change_mapping(c) for c in changes], reqs)
    return Simulation(
        flips=[Flip(field=f.field, purpose=f.purpose, channel=f.channel, flip=f)
               for f in result.flips],
        checked=result.checked, partial=result.partial, revision=result.revision)


async def decision_log(info: Info, field: str | None = None, purpose: str | None = None,
                       channel: str | None = None, allowed: bool | None = None,
                       caller: str | None = None, since: datetime | None = None,
                       until: datetime | None = None, first: int = 100,
                       after: str | None = None) -> DecisionLogConnection:
    entries, cursor, more = await off_loop(
        audit.decision_log, info.context.catalog, info.context.principal, field=field,
        purpose=purpose, channel=channel, allowed=allowed, caller=caller, since=since,
        until=until, first=first, after=after)
    return DecisionLogConnection(
        nodes=[DecisionLogEntry(**vars(e)) for e in entries],
        page_info=t.PageInfo(end_cursor=cursor, has_next_page=more))


async def overcrowding(info: Info, since: datetime | None = None,
                       until: datetime | None = None) -> list[CrowdingRow]:
    rows = await off_loop(audit.overcrowding, info.context.catalog, info.context.principal,
                          since, until)
    return [CrowdingRow(**vars(r)) for r in rows]
