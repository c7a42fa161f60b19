"""match queue: who holds a claim, when a failed attempt is tried again, failed for good

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 17:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db  # noqa: F401  custom column types


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('match_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('retry_at', app.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('failed_at', app.db.UTCDateTime(), nullable=True))
    # stages given up before this column existed: out of attempts (3), with or without a
    # recorded reason
    op.execute("UPDATE match_run SET failed_at = first_stage_at, error = CASE WHEN error = '' "
               "THEN 'the worker running it stopped before finishing' ELSE error END "
               "WHERE second_stage_at IS NULL AND attempts >= 3")


def downgrade() -> None:
    with op.batch_alter_table('match_run', schema=None) as batch_op:
        batch_op.drop_column('failed_at')
        batch_op.drop_column('retry_at')
        batch_op.drop_column('claimed_by')
