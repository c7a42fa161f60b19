"""cell searches: an index on (state, requested_at) for the home page's counts and the list's
state filter

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 23:10:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_cell_search_state_requested', 'cell_search', ['state', 'requested_at'])


def downgrade() -> None:
    op.drop_index('ix_cell_search_state_requested', table_name='cell_search')
