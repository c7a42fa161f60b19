"""indexes for queue reports and search

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 09:09:45.363333
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db  # noqa: F401  custom column types


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_SEARCH_KEYS = (("prisoner", "surname_key", 64), ("prisoner", "forenames_key", 128),
                ("prisoner_alias", "surname_key", 64), ("prisoner_alias", "forenames_key", 128))


def upgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_account_priority', ['priority', 'id'], unique=False)

    with op.batch_alter_table('attribution', schema=None) as batch_op:
        batch_op.create_index('ix_attribution_status_decided', ['status', 'decided_at'], unique=False)

    with op.batch_alter_table('cell_search', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cell_search_requested_at'), ['requested_at'], unique=False)

    with op.batch_alter_table('takedown', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_takedown_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_takedown_state_resolved', ['state', 'resolved_at'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        # prefix search is an index range in code-point order, whatever the database collation
        for table, column, length in _SEARCH_KEYS:
            op.alter_column(table, column, type_=sa.String(length, collation="C"),
                            existing_type=sa.String(length), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, column, length in _SEARCH_KEYS:
            op.alter_column(table, column, type_=sa.String(length),
                            existing_type=sa.String(length, collation="C"),
                            existing_nullable=False)
    with op.batch_alter_table('takedown', schema=None) as batch_op:
        batch_op.drop_index('ix_takedown_state_resolved')
        batch_op.drop_index(batch_op.f('ix_takedown_created_at'))

    with op.batch_alter_table('cell_search', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cell_search_requested_at'))

    with op.batch_alter_table('attribution', schema=None) as batch_op:
        batch_op.drop_index('ix_attribution_status_decided')

    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index('ix_account_priority')
        batch_op.drop_index(batch_op.f('ix_account_created_at'))

