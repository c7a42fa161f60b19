"""estate evidence matching

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 07:37:00.371367
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db  # noqa: F401  custom column types


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('establishment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_establishment')),
    sa.UniqueConstraint('code', name=op.f('uq_establishment_code'))
    )
    op.create_table('index_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_index_state'))
    )
    op.execute("INSERT INTO index_state (id, generation) VALUES (1, 0)")
    op.create_table('prisoner',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prison_number', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('surname', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('forenames', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('surname_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('forenames_key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('date_of_birth', sa.Date(), nullable=False),
    sa.Column('release_date', sa.Date(), nullable=True),
    sa.Column('victim_contact_restriction', sa.Boolean(), nullable=False),
    sa.Column('organised_crime_nominal', sa.Boolean(), nullable=False),
    sa.Column('category_a', sa.Boolean(), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prisoner')),
    sa.UniqueConstraint('prison_number', name=op.f('uq_prisoner_prison_number'))
    )
    with op.batch_alter_table('prisoner', schema=None) as batch_op:
        batch_op.create_index('ix_prisoner_surname_dob', ['surname_key', 'date_of_birth'], unique=False)
        batch_op.create_index('ix_prisoner_surname_forenames', ['surname_key', 'forenames_key'], unique=False)

    op.create_table('cell',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('establishment_id', sa.Integer(), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('wing', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('landing', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['establishment_id'], ['establishment.id'], name=op.f('fk_cell_establishment_id_establishment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cell')),
    sa.UniqueConstraint('establishment_id', 'label', name='uq_cell_establishment_label')
    )
    with op.batch_alter_table('cell', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cell_establishment_id'), ['establishment_id'], unique=False)

    op.create_table('image',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('format', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('byte_size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
    sa.Column('phash', sa.BigInteger(), nullable=False),
    sa.Column('phash_mirror', sa.BigInteger(), nullable=False),
    sa.Column('phash_trim', sa.BigInteger(), nullable=False),
    sa.Column('dhash', sa.BigInteger(), nullable=False),
    sa.Column('exif_taken_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('exif_gps_lat', sa.Float(), nullable=True),
    sa.Column('exif_gps_lon', sa.Float(), nullable=True),
    sa.Column('exif_device', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('erased_at', app.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_image_created_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_image')),
    sa.UniqueConstraint('sha256', name=op.f('uq_image_sha256')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_image_storage_key'))
    )
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_image_dhash'), ['dhash'], unique=False)
        batch_op.create_index(batch_op.f('ix_image_phash'), ['phash'], unique=False)
        batch_op.create_index(batch_op.f('ix_image_phash_mirror'), ['phash_mirror'], unique=False)
        batch_op.create_index(batch_op.f('ix_image_phash_trim'), ['phash_trim'], unique=False)

    op.create_table('prisoner_alias',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prisoner_id', sa.Integer(), nullable=False),
    sa.Column('surname', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('forenames', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('surname_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('forenames_key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.ForeignKeyConstraint(['prisoner_id'], ['prisoner.id'], name=op.f('fk_prisoner_alias_prisoner_id_prisoner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prisoner_alias')),
    sa.UniqueConstraint('prisoner_id', 'surname_key', 'forenames_key', name='uq_prisoner_alias_name')
    )
    with op.batch_alter_table('prisoner_alias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prisoner_alias_prisoner_id'), ['prisoner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_prisoner_alias_surname_key'), ['surname_key'], unique=False)

    op.create_table('evidence_image',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('post_url', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
    sa.Column('posted_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('original_filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('submitted_by', sa.Integer(), nullable=True),
    sa.Column('submitted_at', app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['image.id'], name=op.f('fk_evidence_image_image_id_image')),
    sa.ForeignKeyConstraint(['submitted_by'], ['app_user.id'], name=op.f('fk_evidence_image_submitted_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_image'))
    )
    with op.batch_alter_table('evidence_image', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_image_image_id'), ['image_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_image_submitted_at'), ['submitted_at'], unique=False)

    op.create_table('image_features',
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['image.id'], name=op.f('fk_image_features_image_id_image')),
    sa.PrimaryKeyConstraint('image_id', name=op.f('pk_image_features'))
    )
    op.create_table('match',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('query_image_id', sa.Integer(), nullable=False),
    sa.Column('candidate_image_id', sa.Integer(), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('distance', sa.Integer(), nullable=False),
    sa.Column('inliers', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('review_note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_image_id'], ['image.id'], name=op.f('fk_match_candidate_image_id_image')),
    sa.ForeignKeyConstraint(['query_image_id'], ['image.id'], name=op.f('fk_match_query_image_id_image')),
    sa.ForeignKeyConstraint(['reviewed_by'], ['app_user.id'], name=op.f('fk_match_reviewed_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match')),
    sa.UniqueConstraint('query_image_id', 'candidate_image_id', name='uq_match_pair')
    )
    with op.batch_alter_table('match', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_candidate_image_id'), ['candidate_image_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_query_image_id'), ['query_image_id'], unique=False)
        batch_op.create_index('ix_match_status_created', ['status', 'created_at'], unique=False)

    op.create_table('occupancy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prisoner_id', sa.Integer(), nullable=False),
    sa.Column('cell_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('updated_at', app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cell_id'], ['cell.id'], name=op.f('fk_occupancy_cell_id_cell')),
    sa.ForeignKeyConstraint(['prisoner_id'], ['prisoner.id'], name=op.f('fk_occupancy_prisoner_id_prisoner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_occupancy')),
    sa.UniqueConstraint('prisoner_id', 'starts_on', name='uq_occupancy_prisoner_start')
    )
    with op.batch_alter_table('occupancy', schema=None) as batch_op:
        batch_op.create_index('ix_occupancy_cell_dates', ['cell_id', 'starts_on', 'ends_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_occupancy_prisoner_id'), ['prisoner_id'], unique=False)

    op.create_table('reference_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('cell_id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('taken_on', app.db.UTCDateTime(), nullable=True),
    sa.Column('added_by', sa.Integer(), nullable=True),
    sa.Column('added_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('removed_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('removed_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['added_by'], ['app_user.id'], name=op.f('fk_reference_photo_added_by_app_user')),
    sa.ForeignKeyConstraint(['cell_id'], ['cell.id'], name=op.f('fk_reference_photo_cell_id_cell')),
    sa.ForeignKeyConstraint(['image_id'], ['image.id'], name=op.f('fk_reference_photo_image_id_image')),
    sa.ForeignKeyConstraint(['removed_by'], ['app_user.id'], name=op.f('fk_reference_photo_removed_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reference_photo'))
    )
    with op.batch_alter_table('reference_photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reference_photo_cell_id'), ['cell_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reference_photo_image_id'), ['image_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('reference_photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reference_photo_image_id'))
        batch_op.drop_index(batch_op.f('ix_reference_photo_cell_id'))

    op.drop_table('reference_photo')
    with op.batch_alter_table('occupancy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_occupancy_prisoner_id'))
        batch_op.drop_index('ix_occupancy_cell_dates')

    op.drop_table('occupancy')
    with op.batch_alter_table('match', schema=None) as batch_op:
        batch_op.drop_index('ix_match_status_created')
        batch_op.drop_index(batch_op.f('ix_match_query_image_id'))
        batch_op.drop_index(batch_op.f('ix_match_candidate_image_id'))

    op.drop_table('match')
    op.drop_table('image_features')
    with op.batch_alter_table('evidence_image', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_image_submitted_at'))
        batch_op.drop_index(batch_op.f('ix_evidence_image_image_id'))

    op.drop_table('evidence_image')
    with op.batch_alter_table('prisoner_alias', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prisoner_alias_surname_key'))
        batch_op.drop_index(batch_op.f('ix_prisoner_alias_prisoner_id'))

    op.drop_table('prisoner_alias')
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_phash_trim'))
        batch_op.drop_index(batch_op.f('ix_image_phash_mirror'))
        batch_op.drop_index(batch_op.f('ix_image_phash'))
        batch_op.drop_index(batch_op.f('ix_image_dhash'))
        batch_op.drop_index(batch_op.f('ix_image_created_at'))

    op.drop_table('image')
    with op.batch_alter_table('cell', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cell_establishment_id'))

    op.drop_table('cell')
    with op.batch_alter_table('prisoner', schema=None) as batch_op:
        batch_op.drop_index('ix_prisoner_surname_forenames')
        batch_op.drop_index('ix_prisoner_surname_dob')

    op.drop_table('prisoner')
    op.drop_table('index_state')
    op.drop_table('establishment')
