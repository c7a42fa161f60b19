"""notice delivery outbox: version, attempts, attempt start, re-sent flag

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 10:00:00.000000

A notice is recorded as due (pending) by the transaction that decides it and delivered only
after that commit: claimed (sending, attempts + 1) in a transaction of its own, then its
outcome recorded in another. These columns let a later run find an attempt that never
recorded its outcome, and say that the platform may have received that notice twice.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db  # noqa: F401  custom column types


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False,
                                      server_default='1'))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('attempt_started_at', app.db.UTCDateTime(),
                                      nullable=True))
        batch_op.add_column(sa.Column('resent', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_notice_delivery'), ['delivery'], unique=False)
    # every notice stored so far had its one attempt, inside the request that made it
    op.execute("UPDATE notice SET attempts = 1 WHERE delivery <> 'pending'")


def downgrade() -> None:
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_delivery'))
        batch_op.drop_column('resent')
        batch_op.drop_column('attempt_started_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('version')
