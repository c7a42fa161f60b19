"""clip passes: a video's clip pass as a queued job (`clip_pass`), so that it is never lost

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 02:00:00

A small table rather than columns on `video`: the queue's functions (app/matching/queue.py)
work on one set of lease columns by their names (claimed_at, attempts, failed_at...), which
`video` already uses for its sampling; a second set there would need other names and a map in
every queue function. The row belongs to matching (the video is evidence's), and it is made in
the sampling's own transaction, so a pass exists from the moment its frames do.

Videos sampled before this: a pass whose every held frame's second stage is done ran then
(its last frame ran it) and is marked done, not run again; one with a frame still waiting or
failed for good is queued (the pass now runs on the frames that are done). A video with no
frame held needs no pass.
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the pass is left queued when a held frame's second stage is not done (waiting, or failed)
BACKFILL = """INSERT INTO clip_pass (video_id, queued_at, done_at, links, error, attempts, claimed_by)
SELECT v.id, v.sampled_at, CASE WHEN EXISTS (
    SELECT 1 FROM video_frame f
    JOIN image i ON i.id = f.image_id AND i.erased_at IS NULL
    JOIN match_run r ON r.image_id = f.image_id AND r.second_stage_at IS NULL
    WHERE f.video_id = v.id) THEN NULL ELSE :now END, 0, '', 0, ''
FROM video v WHERE v.sampled_at IS NOT NULL AND v.erased_at IS NULL AND EXISTS (
    SELECT 1 FROM video_frame g JOIN image j ON j.id = g.image_id AND j.erased_at IS NULL
    WHERE g.video_id = v.id)"""


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        'clip_pass',
        sa.Column('video_id', sa.Integer(), nullable=False),
        sa.Column('queued_at', app.db.UTCDateTime(), nullable=False),
        sa.Column('done_at', app.db.UTCDateTime(), nullable=True),
        sa.Column('links', sa.Integer(), nullable=False),
        sa.Column('error', _text(500), nullable=False),
        sa.Column('claimed_at', app.db.UTCDateTime(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_by', _text(64), nullable=False),
        sa.Column('retry_at', app.db.UTCDateTime(), nullable=True),
        sa.Column('failed_at', app.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['video_id'], ['video.id'],
                                name=op.f('fk_clip_pass_video_id_video')),
        sa.PrimaryKeyConstraint('video_id', name=op.f('pk_clip_pass')),
    )
    # a worker looks here every loop: only the passes not done, however many are
    op.create_index('ix_clip_pass_pending', 'clip_pass', ['queued_at'], unique=False,
                    sqlite_where=sa.text('done_at IS NULL'),
                    postgresql_where=sa.text('done_at IS NULL'))
    # naive UTC, as app.db.UTCDateTime stores it on both databases
    now = datetime.now(UTC).replace(tzinfo=None)
    op.get_bind().execute(sa.text(BACKFILL), {"now": now})


def downgrade() -> None:
    op.drop_table('clip_pass')
