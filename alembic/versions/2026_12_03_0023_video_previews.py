"""video previews: a video's preview as a queued job of its own (`video_preview`), made after
its frames are matched instead of in the sampling

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 12:00:00

The sampling used to encode the preview in the same decode as the frames, so every clip's
matching waited for it. Now the sampling stores the frames and the poster and queues the
preview, which the match workers take last. A small table, as `clip_pass` (migration 0022):
the queue's functions work on one set of lease columns by their names.

Videos sampled before this have their preview stored already: their row is done (at the
sampling's time). A video not sampled yet gets its row when it is.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """INSERT INTO video_preview (video_id, queued_at, done_at, error, attempts, claimed_by)
SELECT id, sampled_at, sampled_at, '', 0, '' FROM video WHERE sampled_at IS NOT NULL"""


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        'video_preview',
        sa.Column('video_id', sa.Integer(), nullable=False),
        sa.Column('queued_at', app.db.UTCDateTime(), nullable=False),
        sa.Column('done_at', app.db.UTCDateTime(), nullable=True),
        sa.Column('error', _text(500), nullable=False),
        sa.Column('claimed_at', app.db.UTCDateTime(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_by', _text(64), nullable=False),
        sa.Column('retry_at', app.db.UTCDateTime(), nullable=True),
        sa.Column('failed_at', app.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['video_id'], ['video.id'],
                                name=op.f('fk_video_preview_video_id_video')),
        sa.PrimaryKeyConstraint('video_id', name=op.f('pk_video_preview')),
    )
    # a worker looks here every loop: only the previews not made, however many are
    op.create_index('ix_video_preview_pending', 'video_preview', ['queued_at'], unique=False,
                    sqlite_where=sa.text('done_at IS NULL'),
                    postgresql_where=sa.text('done_at IS NULL'))
    op.get_bind().execute(sa.text(BACKFILL))


def downgrade() -> None:
    op.drop_table('video_preview')
