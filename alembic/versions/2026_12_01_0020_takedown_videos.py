"""takedown videos: the account's videos a takedown cites (the manifest names each original's
sha256; their matched frames go in the pack as images)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 07:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'takedown_video',
        sa.Column('takedown_id', sa.Integer(), nullable=False),
        sa.Column('video_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['takedown_id'], ['takedown.id'],
                                name=op.f('fk_takedown_video_takedown_id_takedown')),
        sa.ForeignKeyConstraint(['video_id'], ['video.id'],
                                name=op.f('fk_takedown_video_video_id_video')),
        sa.PrimaryKeyConstraint('takedown_id', 'video_id', name=op.f('pk_takedown_video')),
    )
    with op.batch_alter_table('takedown_video', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_takedown_video_video_id'), ['video_id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('takedown_video')
