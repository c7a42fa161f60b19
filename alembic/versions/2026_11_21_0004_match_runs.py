"""match runs

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 08:09:49.903305
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db  # noqa: F401  custom column types


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('match_run',
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('first_stage_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('second_stage_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('candidates', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['image.id'], name=op.f('fk_match_run_image_id_image')),
    sa.PrimaryKeyConstraint('image_id', name=op.f('pk_match_run'))
    )
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_erased_at'), ['erased_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_erased_at'))

    op.drop_table('match_run')
