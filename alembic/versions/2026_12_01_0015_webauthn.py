"""WebAuthn security keys: the keys users register, and the one key ceremony (challenge,
purpose, expiry) a session may have under way

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 01:22:31

Existing sessions get an empty challenge: none is under way.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db  # noqa: F401  custom column types


revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('security_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('credential_id', sqlmodel.sql.sqltypes.AutoString(length=1400), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('sign_count', sa.BigInteger(), nullable=False),
    sa.Column('aaguid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('last_used_at', app.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_security_key_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_security_key')),
    sa.UniqueConstraint('credential_id', name=op.f('uq_security_key_credential_id'))
    )
    with op.batch_alter_table('security_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_security_key_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_challenge', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('key_purpose', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('key_challenge_expires_at', app.db.UTCDateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('user_session', schema=None) as batch_op:
        batch_op.drop_column('key_challenge_expires_at')
        batch_op.drop_column('key_purpose')
        batch_op.drop_column('key_challenge')

    with op.batch_alter_table('security_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_security_key_user_id'))

    op.drop_table('security_key')
