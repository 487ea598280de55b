"""GraphQL types of docs/semantics.md §15's transparency reads."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from catalog.api.graphql.context import off_loop
from catalog.api.graphql.types import PageInfo
from catalog.services import spectrum as spectrum_service


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


@strawberry.type(description="Allowed decisions of one intensity and requested purpose.")
class SpectrumRow:
    intensity: str
    purpose: str
    allowed: int


async def spectrum(info: Info, since: datetime | None = None,
                   until: datetime | None = None) -> list[SpectrumRow]:
    rows = await off_loop(spectrum_service.spectrum, info.context.catalog,
                          info.context.principal, since, until)
    return [SpectrumRow(intensity=r.intensity, purpose=r.purpose, allowed=r.allowed)
            for r in rows]
