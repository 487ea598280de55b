"""audit: the decision log, and a taxonomy baseline in the change log

Revision ID: 0003_audit
Revises: 0002_console_sessions
Create Date: 2026-12-01 17:30:00

Before this revision a taxonomy file load logged only {file, added: n}, so the taxonomy at an
old revision could not be rebuilt from the change log. For such catalogs this records the
taxonomy as one `taxonomy_baseline` entry at the revision of the first such load: every key as
it stood then (a key that a later upsert_taxonomy_key changed gets that upsert's `before`; a key
a later upsert created is left out). Keys added by a later file load are dated to the first
load: the log does not say when they came.
"""
from collections.abc import Sequence

import orjson
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '0003_audit'
down_revision: str | None = '0002_console_sessions'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BASELINE = "taxonomy_baseline"


def upgrade() -> None:
    op.create_table('decision_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('minute', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('caller', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('field', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('allowed', sa.Boolean(), nullable=False),
    sa.Column('intensity', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_log'))
    )
    with op.batch_alter_table('decision_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_log_field'), ['field'], unique=False)
        batch_op.create_index(batch_op.f('ix_decision_log_minute'), ['minute'], unique=False)
    _record_taxonomy_baseline(op.get_bind())


def downgrade() -> None:
    log = sa.table('change_log', sa.column('action'))
    op.execute(log.delete().where(log.c.action == BASELINE))
    with op.batch_alter_table('decision_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decision_log_minute'))
        batch_op.drop_index(batch_op.f('ix_decision_log_field'))
    op.drop_table('decision_log')


def _record_taxonomy_baseline(conn) -> None:
    log = sa.table('change_log', sa.column('id'), sa.column('revision'), sa.column('at'),
                   sa.column('actor'), sa.column('action'), sa.column('entity'),
                   sa.column('before'), sa.column('after'))
    tax = sa.table('taxonomy_entry', sa.column('kind'), sa.column('key'),
                   sa.column('sensitivity'), sa.column('privacy'), sa.column('description'))
    first = conn.execute(sa.select(log.c.revision, log.c.at).where(
        log.c.action == 'load_taxonomy').order_by(log.c.id).limit(1)).first()
    if first is None:  # a new catalog, or one whose every key is logged in full
        return
    keys = {(r.kind, r.key): {"kind": r.kind, "key": r.key, "sensitivity": r.sensitivity,
                              "privacy": r.privacy, "description": r.description}
            for r in conn.execute(sa.select(tax))}
    seen = set()
    for before, after in conn.execute(sa.select(log.c.before, log.c.after).where(
            log.c.action == 'upsert_taxonomy_key', log.c.revision > first.revision)
            .order_by(log.c.id)):
        changed = orjson.loads(after)
        key = (changed["kind"], changed["key"])
        if key in seen:
            continue
        seen.add(key)
        if before is None:
            keys.pop(key, None)
        else:
            keys[key] = orjson.loads(before)
    entries = [keys[k] for k in sorted(keys)]
    conn.execute(log.insert().values(
        revision=first.revision, at=first.at, actor='migration 0003_audit', action=BASELINE,
        entity='taxonomy', before=None,
        after=orjson.dumps({"keys": entries}, option=orjson.OPT_SORT_KEYS).decode()))
