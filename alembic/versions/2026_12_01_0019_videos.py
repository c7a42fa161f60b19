"""videos: a stored clip (sealed original, poster and preview), its sampled frames (each an
ordinary image) and the accounts' posts it was captured from

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 05:00:00

`video` is also the queue of samplings, with the lease columns the match queue has.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HELD_ONLY = "erased_at IS NULL"


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        'video',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sha256', _text(64), nullable=False),
        sa.Column('container', _text(16), nullable=False),
        sa.Column('codec', _text(16), nullable=False),
        sa.Column('duration', sa.Float(), nullable=True),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('frame_rate', sa.Float(), nullable=True),
        sa.Column('byte_size', sa.Integer(), nullable=False),
        sa.Column('storage_key', _text(64), nullable=False),
        sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
        sa.Column('master_key_id', _text(16), nullable=False),
        sa.Column('file_created_at', app.db.UTCDateTime(), nullable=True),
        sa.Column('sampled_at', app.db.UTCDateTime(), nullable=True),
        sa.Column('frames', sa.Integer(), nullable=False),
        sa.Column('error', _text(500), nullable=False),
        sa.Column('claimed_at', app.db.UTCDateTime(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_by', _text(64), nullable=False),
        sa.Column('retry_at', app.db.UTCDateTime(), nullable=True),
        sa.Column('failed_at', app.db.UTCDateTime(), nullable=True),
        sa.Column('created_at', app.db.UTCDateTime(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('erased_at', app.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by'], ['app_user.id'],
                                name=op.f('fk_video_created_by_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_video')),
        sa.UniqueConstraint('storage_key', name=op.f('uq_video_storage_key')),
    )
    with op.batch_alter_table('video', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_video_erased_at'), ['erased_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_video_master_key_id'), ['master_key_id'],
                              unique=False)
        batch_op.create_index('uq_video_sha256_held', ['sha256'], unique=True,
                              sqlite_where=sa.text(HELD_ONLY),
                              postgresql_where=sa.text(HELD_ONLY))
    op.create_table(
        'video_frame',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('video_id', sa.Integer(), nullable=False),
        sa.Column('image_id', sa.Integer(), nullable=False),
        sa.Column('t', sa.Float(), nullable=False),
        sa.Column('reason', _text(32), nullable=False),
        sa.ForeignKeyConstraint(['image_id'], ['image.id'],
                                name=op.f('fk_video_frame_image_id_image')),
        sa.ForeignKeyConstraint(['video_id'], ['video.id'],
                                name=op.f('fk_video_frame_video_id_video')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_video_frame')),
        sa.UniqueConstraint('video_id', 't', name='uq_video_frame_t'),
    )
    with op.batch_alter_table('video_frame', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_video_frame_image_id'), ['image_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_video_frame_video_id'), ['video_id'], unique=False)
    op.create_table(
        'evidence_video',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('video_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('post_url', _text(2048), nullable=False),
        sa.Column('posted_at', app.db.UTCDateTime(), nullable=True),
        sa.Column('original_filename', _text(255), nullable=False),
        sa.Column('submitted_by', sa.Integer(), nullable=True),
        sa.Column('submitted_at', app.db.UTCDateTime(), nullable=False),
        sa.Column('erased_at', app.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'],
                                name=op.f('fk_evidence_video_account_id_account')),
        sa.ForeignKeyConstraint(['submitted_by'], ['app_user.id'],
                                name=op.f('fk_evidence_video_submitted_by_app_user')),
        sa.ForeignKeyConstraint(['video_id'], ['video.id'],
                                name=op.f('fk_evidence_video_video_id_video')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_video')),
    )
    with op.batch_alter_table('evidence_video', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_video_account_id'), ['account_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_video_submitted_at'), ['submitted_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_video_video_id'), ['video_id'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('evidence_video')
    op.drop_table('video_frame')
    op.drop_table('video')
