"""The personalization spectrum (semantics §15): how much of what callers were allowed ran in
each intensity tier, read from the decision log (semantics §10). Each decision counts with the
intensity it had when it was made, under the purpose as requested."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from catalog.db import audit
from catalog.domain.intensity import RANK
from catalog.services.audit import period
from catalog.services.auth import Principal, require
from catalog.services.core import Catalog


@dataclass(frozen=True)
class SpectrumRow:
    intensity: str
    purpose: str  # as requested; the decision log's "(overflow)" past its memory bound
    allowed: int


def spectrum(cat: Catalog, principal: Principal, since: datetime | None = None,
             until: datetime | None = None) -> list[SpectrumRow]:
    """Allowed decisions in [since, until) by intensity and purpose: utility first, then
    relationship, then surveillance; within a tier the busiest purpose first."""
    require(principal, "read", asked="query spectrum")
    since, until = period(since, until)
    with cat.engine.connect() as conn:
        rows = audit.allowed_by_intensity(conn=conn, since=since, until=until)
    out = [SpectrumRow(r.intensity, r.purpose, int(r.allowed)) for r in rows]
    return sorted(out, key=lambda r: (RANK.get(r.intensity, len(RANK)), -r.allowed, r.purpose))


def totals(rows: list[SpectrumRow]) -> dict[str, int]:
    """Allowed decisions per tier, every tier present (0 when none ran in it)."""
    out = dict.fromkeys(RANK, 0)
    for r in rows:
        out[r.intensity] = out.get(r.intensity, 0) + r.allowed
    return out
