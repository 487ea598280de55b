"""transparency: purpose intensity / category floor, grant benefit, unstatedBenefit rules

Revision ID: 0004_transparency
Revises: 0003_audit
Create Date: 2026-12-01 17:30:00

docs/semantics.md §15. The new columns start NULL: `catalog init` then gives existing taxonomy rows
the default intensities of seeds/taxonomy.yaml (services/setup.py), grants state no benefit,
and rules ignore the benefit, so existing catalogs decide exactly as before.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import sqlmodel.sql.sqltypes


revision: str = '0004_transparency'
down_revision: Union[str, None] = '0003_audit'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('taxonomy_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('intensity', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=True))
    with op.batch_alter_table('field_grant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_benefit',
                                      sqlmodel.sql.sqltypes.AutoString(length=500),
                                      nullable=True))
    with op.batch_alter_table('policy_rule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unstated_benefit', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('policy_rule', schema=None) as batch_op:
        batch_op.drop_column('unstated_benefit')
    with op.batch_alter_table('field_grant', schema=None) as batch_op:
        batch_op.drop_column('customer_benefit')
    with op.batch_alter_table('taxonomy_entry', schema=None) as batch_op:
        batch_op.drop_column('intensity')
