"""second factor: authenticators (TOTP), recovery codes, enrolment codes, two-person grants,
the time of the last factor check in each session

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 22:48:58

Users who exist before this revision have no second factor: in production their next sign-in
leads them to enrol one before anything else.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db  # noqa: F401  custom column types


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('enrolment_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('expires_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('used_at', app.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_enrolment_code_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolment_code')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_enrolment_code_code_hash'))
    )
    with op.batch_alter_table('enrolment_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolment_code_user_id'), ['user_id'], unique=False)

    op.create_table('grant_proposal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('from_role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('proposed_by', sa.Integer(), nullable=False),
    sa.Column('proposed_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by'], ['app_user.id'], name=op.f('fk_grant_proposal_decided_by_app_user')),
    sa.ForeignKeyConstraint(['proposed_by'], ['app_user.id'], name=op.f('fk_grant_proposal_proposed_by_app_user')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_grant_proposal_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grant_proposal'))
    )
    with op.batch_alter_table('grant_proposal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_grant_proposal_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_grant_proposal_user_id'), ['user_id'], unique=False)

    op.create_table('recovery_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('used_at', app.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_recovery_code_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_recovery_code_code_hash'))
    )
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_code_user_id'), ['user_id'], unique=False)

    op.create_table('totp_factor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('pending', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('confirmed_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('last_step', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_totp_factor_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_totp_factor')),
    sa.UniqueConstraint('user_id', name=op.f('uq_totp_factor_user_id'))
    )
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('factor_at', app.db.UTCDateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_column('factor_at')

    op.drop_table('totp_factor')
    with op.batch_alter_table('recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_code_user_id'))

    op.drop_table('recovery_code')
    with op.batch_alter_table('grant_proposal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_grant_proposal_user_id'))
        batch_op.drop_index(batch_op.f('ix_grant_proposal_status'))

    op.drop_table('grant_proposal')
    with op.batch_alter_table('enrolment_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolment_code_user_id'))

    op.drop_table('enrolment_code')
