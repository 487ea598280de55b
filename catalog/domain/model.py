"""Plain records the domain works on. The db layer maps its rows to these; the API maps these
to GraphQL types. Frozen, so the index can share them between threads without copying."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.domain.names import covers


@dataclass(frozen=True, slots=True)
class Grant:
    purpose: str
    channels: tuple[str, ...] | None = None  # None: every channel
    requires_consent: bool = False
    customer_benefit: str | None = None  # docs/semantics.md §15; blank is stored as None

    def covers_channel(self, channel: str) -> bool:
        return self.channels is None or any(covers(c, channel) for c in self.channels)


@dataclass(frozen=True, slots=True)
class FieldRecord:
    name: str
    category: str
    source: str
    owner: str
    description: str | None = None
    source_system: str | None = None
    deprecated: bool = False
    grants: tuple[Grant, ...] = ()  # sorted by purpose, at most one per purpose
    revision: int = 0

    def grant_for(self, purpose: str) -> Grant | None:
        for g in self.grants:
            if g.purpose == purpose:
                return g
        return None

    def at(self, revision: int) -> FieldRecord:
        """The same record at another revision (dataclasses.replace, without its cost: a
        write restamps every field an edge touches)."""
        return FieldRecord(self.name, self.category, self.source, self.owner, self.description,
                           self.source_system, self.deprecated, self.grants, revision)

    def same_but_revision(self, other: FieldRecord) -> bool:
        return self is other or (
            self.name == other.name and self.category == other.category
            and self.source == other.source and self.owner == other.owner
            and self.description == other.description
            and self.source_system == other.source_system
            and self.deprecated == other.deprecated and self.grants == other.grants)


@dataclass(frozen=True, slots=True)
class Edge:
    upstream: str
    downstream: str
    transform: str | None = None


@dataclass(frozen=True, slots=True)
class LineageResult:
    root: str
    nodes: tuple[str, ...]  # root first, then by distance, then by name
    edges: tuple[Edge, ...]  # or rows (lineage.EdgeRows) for the lean GraphQL path
    partial: bool
