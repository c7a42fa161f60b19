"""pack keys and key scrubs: evidence packs get keys of their own; erased keys leave key parts

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 04:30:00

`evidence_pack`: each evidence pack's own random key, wrapped by the master key (its id beside
it), destroyed when an image the pack holds is erased (with when and why); `evidence_pack_image`
lists the images whose display copies a pack holds. Packs made before this revision have no
row: they still open under the key derived from the master key until `cellwatch keys
convert-packs` (run by `make run` and `cellwatch keys rotate`) gives each its own key.

`key_scrub`: a destroyed image or pack key that may still sit in a backup key part, pending
until the key part folder is scrubbed (app/keyscrub.py).
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db  # noqa: F401  custom column types

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'evidence_pack',
        sa.Column('pack_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
        sa.Column('master_key_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('created_at', app.db.UTCDateTime(), nullable=False),
        sa.Column('erased_at', app.db.UTCDateTime(), nullable=True),
        sa.Column('erasure_reason', sqlmodel.sql.sqltypes.AutoString(length=600),
                  nullable=False),
        sa.PrimaryKeyConstraint('pack_key', name=op.f('pk_evidence_pack')),
    )
    with op.batch_alter_table('evidence_pack', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_pack_erased_at'), ['erased_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_pack_master_key_id'), ['master_key_id'],
                              unique=False)
    op.create_table(
        'evidence_pack_image',
        sa.Column('pack_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('image_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['image_id'], ['image.id'],
                                name=op.f('fk_evidence_pack_image_image_id_image')),
        sa.ForeignKeyConstraint(['pack_key'], ['evidence_pack.pack_key'],
                                name=op.f('fk_evidence_pack_image_pack_key_evidence_pack')),
        sa.PrimaryKeyConstraint('pack_key', 'image_id', name=op.f('pk_evidence_pack_image')),
    )
    with op.batch_alter_table('evidence_pack_image', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_pack_image_image_id'), ['image_id'],
                              unique=False)
    op.create_table(
        'key_scrub',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('image_id', sa.Integer(), nullable=True),
        sa.Column('queued_at', app.db.UTCDateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_key_scrub')),
    )


def downgrade() -> None:
    op.drop_table('key_scrub')
    with op.batch_alter_table('evidence_pack_image', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_pack_image_image_id'))
    op.drop_table('evidence_pack_image')
    with op.batch_alter_table('evidence_pack', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_pack_master_key_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_pack_erased_at'))
    op.drop_table('evidence_pack')
