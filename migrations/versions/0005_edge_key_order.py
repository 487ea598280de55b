"""lineage_edge keyed (downstream_id, upstream_id); no separate downstream index

Revision ID: 0005_edge_key_order
Revises: 0004_transparency
Create Date: 2026-12-03 17:10:00

An ingested event adds edges to new downstream fields from busy source columns: keyed upstream
first, each edge's key entry went to its source's own index page (one page written per source
per commit); keyed downstream first, they land together. The primary key now serves lookups by
downstream, so its own index goes. No query looks edges up by upstream alone.
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0005_edge_key_order'
down_revision: Union[str, None] = '0004_transparency'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('lineage_edge', schema=None) as batch_op:
        batch_op.drop_index('ix_lineage_edge_downstream_id')
        batch_op.drop_constraint('pk_lineage_edge', type_='primary')
        batch_op.create_primary_key('pk_lineage_edge', ['downstream_id', 'upstream_id'])


def downgrade() -> None:
    with op.batch_alter_table('lineage_edge', schema=None) as batch_op:
        batch_op.drop_constraint('pk_lineage_edge', type_='primary')
        batch_op.create_primary_key('pk_lineage_edge', ['upstream_id', 'downstream_id'])
        batch_op.create_index('ix_lineage_edge_downstream_id', ['downstream_id'], unique=False)
