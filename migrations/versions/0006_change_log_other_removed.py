"""change_log: `other` (an edge's upstream) indexed for removed edges only

Revision ID: 0006_change_log_other_removed
Revises: 0005_edge_key_order
Create Date: 2026-12-04 17:20:00

Every ingested event adds edges from busy source columns, and an index on every row's `other`
put each of them on its source's own index page: one page written per source per commit, a
third of an event's pages. History finds the edges a field is upstream of from the lineage
graph (the field's children) and the removed edges, which this partial index keeps.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0006_change_log_other_removed'
down_revision: Union[str, None] = '0005_edge_key_order'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

REMOVED = sa.text("action = 'remove_lineage'")


def upgrade() -> None:
    with op.batch_alter_table('change_log', schema=None) as batch_op:
        batch_op.drop_index('ix_change_log_other')
        batch_op.create_index('ix_change_log_other_removed', ['other'], unique=False,
                              sqlite_where=REMOVED, postgresql_where=REMOVED)


def downgrade() -> None:
    with op.batch_alter_table('change_log', schema=None) as batch_op:
        batch_op.drop_index('ix_change_log_other_removed')
        batch_op.create_index('ix_change_log_other', ['other'], unique=False)
