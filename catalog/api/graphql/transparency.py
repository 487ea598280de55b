"""GraphQL types of CONTRACT §15's transparency reads."""

from __future__ import annotations

import strawberry

from catalog.api.graphql.types import PageInfo


@strawberry.type(description="A grant of relationship or surveillance intensity that states "
                             "no customer benefit.")
class TransparencyGap:
    field: str
    purpose: str
    intensity: str


@strawberry.type
class TransparencyGapConnection:
    nodes: list[TransparencyGap]
    page_info: PageInfo
