"""Tables. Sized for 1M fields and 3M edges: integer keys, edges by field id, an index on
every column a query filters on, and JSON only in the change log's before/after, which is read
for history and never queried into."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# SQLite autoincrements only a column declared exactly INTEGER PRIMARY KEY.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


class CatalogState(SQLModel, table=True):
    """One row: the catalog revision, shared by every process. Writers lock it first, which
    serializes writes across processes and gives each commit the next revision."""

    __tablename__ = "catalog_state"
    id: int = Field(default=1, primary_key=True)
    revision: int = Field(default=0, sa_type=sa.BigInteger)


class TaxonomyEntry(SQLModel, table=True):
    __tablename__ = "taxonomy_entry"
    kind: str = Field(primary_key=True, max_length=16)  # category | purpose | channel | source
    key: str = Field(primary_key=True, max_length=200)
    sensitivity: int | None = None  # categories: as stated; None inherits the parent's
    privacy: str | None = Field(default=None, max_length=16)  # channels
    description: str | None = None
    # purposes: their intensity; categories: their intensity floor; None inherits (§15)
    intensity: str | None = Field(default=None, max_length=16)


class FieldRow(SQLModel, table=True):
    __tablename__ = "field"
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    name: str = Field(max_length=512, unique=True, index=True)
    category: str = Field(max_length=200, index=True)
    source: str = Field(max_length=200, index=True)
    owner: str = Field(max_length=200, index=True)
    description: str | None = None
    source_system: str | None = Field(default=None, max_length=200)
    deprecated: bool = False
    revision: int = Field(default=0, sa_type=sa.BigInteger)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class GrantRow(SQLModel, table=True):
    __tablename__ = "field_grant"
    __table_args__ = (sa.UniqueConstraint("field_id", "purpose"),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    field_id: int = Field(foreign_key="field.id", index=True, sa_type=sa.BigInteger,
                          ondelete="CASCADE")
    purpose: str = Field(max_length=200, index=True)
    channels: str | None = None  # space-separated channel keys; NULL: every channel
    requires_consent: bool = False
    customer_benefit: str | None = Field(default=None, max_length=500)


class EdgeRow(SQLModel, table=True):
    """Keyed downstream first: a write's new edges mostly share their downstream fields (new
    ones, adjacent ids), so their key entries land on a few index pages; keyed upstream first,
    edges from busy source columns touched a page per source. No query looks edges up by
    upstream alone (the graph is loaded whole), so there is no index on it."""

    __tablename__ = "lineage_edge"
    __table_args__ = (sa.PrimaryKeyConstraint("downstream_id", "upstream_id"),)
    upstream_id: int = Field(foreign_key="field.id", primary_key=True, sa_type=sa.BigInteger,
                             ondelete="CASCADE")
    downstream_id: int = Field(foreign_key="field.id", primary_key=True,
                               sa_type=sa.BigInteger, ondelete="CASCADE")
    transform: str | None = None


class RuleRow(SQLModel, table=True):
    __tablename__ = "policy_rule"
    key: str = Field(primary_key=True, max_length=200)
    effect: str = Field(max_length=32)
    description: str | None = None
    min_sensitivity: int | None = None
    categories: str | None = None  # space-separated keys; NULL: the criterion is not stated
    sources: str | None = None
    purposes: str | None = None
    channels: str | None = None
    unstated_benefit: bool | None = None


class TokenRow(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)  # sha256 hex
    role: str = Field(max_length=16)
    scope: str | None = Field(default=None, max_length=512)
    name: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class ChangeRow(SQLModel, table=True):
    """The change log: one row per changed thing, all rows of a commit share its revision."""

    __tablename__ = "change_log"
    # `other` is indexed for removed edges only. Every ingested event adds edges from busy
    # source columns: an index on every row's upstream wrote one index page per source per
    # commit (a third of an event's pages). The edges a field is upstream of are found from
    # the lineage graph (its children now) and these removals (services/browse.py).
    __table_args__ = (sa.Index("ix_change_log_other_removed", "other",
                               sqlite_where=sa.text("action = 'remove_lineage'"),
                               postgresql_where=sa.text("action = 'remove_lineage'")),)
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    revision: int = Field(index=True, sa_type=sa.BigInteger)
    at: datetime = Field(default_factory=utcnow)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=64)
    entity: str = Field(max_length=16)  # field | edge | rule | taxonomy | token
    field: str | None = Field(default=None, max_length=512, index=True)  # the field changed
    other: str | None = Field(default=None, max_length=512)  # an edge's upstream
    before: str | None = None  # JSON
    after: str | None = None  # JSON


class ConsoleSession(SQLModel, table=True):
    """A signed-in console session (docs/semantics.md §13). Kept here, not in the process, so every
    worker and server shares it; it dies with its token (revoked) or at expires_at."""

    __tablename__ = "console_session"
    id_hash: str = Field(primary_key=True, max_length=64)  # sha256 hex of the cookie value
    token_id: int = Field(foreign_key="api_token.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)


class DecisionLogRow(SQLModel, table=True):
    """Decision counts (docs/semantics.md §10). Each flush of each worker inserts its own rows;
    readers sum them per key, so workers and servers never contend on a row."""

    __tablename__ = "decision_log"
    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    minute: datetime = Field(index=True)
    caller: str = Field(max_length=200)
    field: str = Field(max_length=512, index=True)
    purpose: str = Field(max_length=200)
    channel: str = Field(max_length=200)
    allowed: bool
    intensity: str | None = Field(default=None, max_length=32)  # filled once decisions carry it
    count: int = Field(sa_type=sa.BigInteger)
