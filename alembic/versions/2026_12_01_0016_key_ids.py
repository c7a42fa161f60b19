"""master key ids: each image records which master key wrapped its own key

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 01:30:00

Every image held before this revision was wrapped under the one master key there was; it is
given id "1", the default CELLWATCH_MASTER_KEY_ID, so nothing changes until a key is rotated.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('image', schema=None) as batch_op:
        # the server default fills the rows there are (kept: no table rebuild on SQLite)
        batch_op.add_column(sa.Column('master_key_id', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False, server_default='1'))
        batch_op.create_index(batch_op.f('ix_image_master_key_id'), ['master_key_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_master_key_id'))
        batch_op.drop_column('master_key_id')
