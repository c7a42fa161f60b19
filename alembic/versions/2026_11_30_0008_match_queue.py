"""match queue: second stages claimed from match_run; no index generation counter

The second matching stage is claimed from match_run (claimed_at, attempts) by match workers, so
a stage whose process died is taken up again. The index_state counter, which every writer of
images updated in its transaction (a hot row), goes: each process's index reads what changed
from the rows themselves (removed_at gets an index for that).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 15:55:21.036576
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db  # noqa: F401  custom column types


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table('index_state')
    with op.batch_alter_table('match_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', app.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.create_index('ix_match_run_pending', ['first_stage_at'], unique=False, sqlite_where=sa.text('second_stage_at IS NULL'), postgresql_where=sa.text('second_stage_at IS NULL'))

    with op.batch_alter_table('reference_photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reference_photo_removed_at'), ['removed_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('reference_photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reference_photo_removed_at'))

    with op.batch_alter_table('match_run', schema=None) as batch_op:
        batch_op.drop_index('ix_match_run_pending', sqlite_where=sa.text('second_stage_at IS NULL'), postgresql_where=sa.text('second_stage_at IS NULL'))
        batch_op.drop_column('attempts')
        batch_op.drop_column('claimed_at')

    op.create_table('index_state',
    sa.Column('id', sa.INTEGER(), nullable=False),
    sa.Column('generation', sa.INTEGER(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_index_state'))
    )
    op.execute("INSERT INTO index_state (id, generation) VALUES (1, 0)")
