"""accounts attribution takedowns cell searches

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 07:40:07.556620
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db  # noqa: F401  custom column types


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('job_lock',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('expires_at', app.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_lock'))
    )
    op.create_table('account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('handle', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('numeric_id', sa.Boolean(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('priority_factors', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('establishment_id', sa.Integer(), nullable=True),
    sa.Column('newest_post_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('image_count', sa.Integer(), nullable=False),
    sa.Column('re_emerged_from_id', sa.Integer(), nullable=True),
    sa.Column('closed_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_id'], ['app_user.id'], name=op.f('fk_account_assignee_id_app_user')),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_account_created_by_app_user')),
    sa.ForeignKeyConstraint(['establishment_id'], ['establishment.id'], name=op.f('fk_account_establishment_id_establishment')),
    sa.ForeignKeyConstraint(['re_emerged_from_id'], ['account.id'], name=op.f('fk_account_re_emerged_from_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account')),
    sa.UniqueConstraint('platform', 'handle', name='uq_account_platform_handle')
    )
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_establishment_id'), ['establishment_id'], unique=False)
        batch_op.create_index('ix_account_queue', ['status', 'priority'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_status'), ['status'], unique=False)

    op.create_table('idempotency_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_idempotency_key_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_key')),
    sa.UniqueConstraint('user_id', 'key', name='uq_idempotency_user_key')
    )
    op.create_table('platform_settings',
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('renotice_hours', sa.Integer(), nullable=False),
    sa.Column('target_hours', sa.Integer(), nullable=False),
    sa.Column('template', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['updated_by'], ['app_user.id'], name=op.f('fk_platform_settings_updated_by_app_user')),
    sa.PrimaryKeyConstraint('platform', name=op.f('pk_platform_settings'))
    )
    op.create_table('takedown',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('approver_id', sa.Integer(), nullable=True),
    sa.Column('claimed_by', sa.Integer(), nullable=True),
    sa.Column('claimed_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('notices_sent', sa.Integer(), nullable=False),
    sa.Column('escalated', sa.Boolean(), nullable=False),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('platform_reference', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('refusal_reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('first_sent_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('acknowledged_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('resolved_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('next_notice_due_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('target_due_at', app.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_takedown_account_id_account')),
    sa.ForeignKeyConstraint(['approver_id'], ['app_user.id'], name=op.f('fk_takedown_approver_id_app_user')),
    sa.ForeignKeyConstraint(['author_id'], ['app_user.id'], name=op.f('fk_takedown_author_id_app_user')),
    sa.ForeignKeyConstraint(['claimed_by'], ['app_user.id'], name=op.f('fk_takedown_claimed_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_takedown'))
    )
    with op.batch_alter_table('takedown', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_takedown_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_takedown_platform'), ['platform'], unique=False)
        batch_op.create_index('ix_takedown_state_due', ['state', 'next_notice_due_at'], unique=False)
        batch_op.create_index('ix_takedown_state_target', ['state', 'target_due_at'], unique=False)

    op.create_table('account_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('other_account_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('match_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('account_id < other_account_id', name=op.f('ck_account_link_ordered_pair')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_account_link_account_id_account')),
    sa.ForeignKeyConstraint(['match_id'], ['match.id'], name=op.f('fk_account_link_match_id_match')),
    sa.ForeignKeyConstraint(['other_account_id'], ['account.id'], name=op.f('fk_account_link_other_account_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_link')),
    sa.UniqueConstraint('account_id', 'other_account_id', 'kind', name='uq_account_link')
    )
    with op.batch_alter_table('account_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_link_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_link_other_account_id'), ['other_account_id'], unique=False)

    op.create_table('attribution',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('prisoner_id', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('basis_kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('basis', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('match_id', sa.Integer(), nullable=True),
    sa.Column('cell_id', sa.Integer(), nullable=True),
    sa.Column('photo_time', app.db.UTCDateTime(), nullable=True),
    sa.Column('time_source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', app.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_attribution_account_id_account')),
    sa.ForeignKeyConstraint(['cell_id'], ['cell.id'], name=op.f('fk_attribution_cell_id_cell')),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_attribution_created_by_app_user')),
    sa.ForeignKeyConstraint(['decided_by'], ['app_user.id'], name=op.f('fk_attribution_decided_by_app_user')),
    sa.ForeignKeyConstraint(['match_id'], ['match.id'], name=op.f('fk_attribution_match_id_match')),
    sa.ForeignKeyConstraint(['prisoner_id'], ['prisoner.id'], name=op.f('fk_attribution_prisoner_id_prisoner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attribution')),
    sa.UniqueConstraint('account_id', 'prisoner_id', 'match_id', name='uq_attribution_basis')
    )
    with op.batch_alter_table('attribution', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attribution_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attribution_prisoner_id'), ['prisoner_id'], unique=False)

    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('takedown_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('recipient', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('pack_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('pack_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('delivery', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('sent_by', sa.Integer(), nullable=True),
    sa.Column('sent_at', app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['sent_by'], ['app_user.id'], name=op.f('fk_notice_sent_by_app_user')),
    sa.ForeignKeyConstraint(['takedown_id'], ['takedown.id'], name=op.f('fk_notice_takedown_id_takedown')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice')),
    sa.UniqueConstraint('takedown_id', 'number', name='uq_notice_number')
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_takedown_id'), ['takedown_id'], unique=False)

    op.create_table('takedown_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('takedown_id', sa.Integer(), nullable=False),
    sa.Column('from_state', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('to_state', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('at', app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], name=op.f('fk_takedown_event_actor_id_app_user')),
    sa.ForeignKeyConstraint(['takedown_id'], ['takedown.id'], name=op.f('fk_takedown_event_takedown_id_takedown')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_takedown_event'))
    )
    with op.batch_alter_table('takedown_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_takedown_event_takedown_id'), ['takedown_id'], unique=False)

    op.create_table('cell_search',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('establishment_id', sa.Integer(), nullable=False),
    sa.Column('cell_id', sa.Integer(), nullable=False),
    sa.Column('attribution_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('urgency', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('requested_at', app.db.UTCDateTime(), nullable=False),
    sa.Column('acknowledged_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('completed_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('searched_at', app.db.UTCDateTime(), nullable=True),
    sa.Column('phones', sa.Integer(), nullable=False),
    sa.Column('sim_cards', sa.Integer(), nullable=False),
    sa.Column('chargers', sa.Integer(), nullable=False),
    sa.Column('other_items', sa.Integer(), nullable=False),
    sa.Column('other_description', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('outcome_note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_cell_search_account_id_account')),
    sa.ForeignKeyConstraint(['attribution_id'], ['attribution.id'], name=op.f('fk_cell_search_attribution_id_attribution')),
    sa.ForeignKeyConstraint(['cell_id'], ['cell.id'], name=op.f('fk_cell_search_cell_id_cell')),
    sa.ForeignKeyConstraint(['establishment_id'], ['establishment.id'], name=op.f('fk_cell_search_establishment_id_establishment')),
    sa.ForeignKeyConstraint(['requested_by'], ['app_user.id'], name=op.f('fk_cell_search_requested_by_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cell_search'))
    )
    with op.batch_alter_table('cell_search', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cell_search_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cell_search_cell_id'), ['cell_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cell_search_establishment_id'), ['establishment_id'], unique=False)

    op.create_table('cell_search_prisoner',
    sa.Column('cell_search_id', sa.Integer(), nullable=False),
    sa.Column('prisoner_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['cell_search_id'], ['cell_search.id'], name=op.f('fk_cell_search_prisoner_cell_search_id_cell_search')),
    sa.ForeignKeyConstraint(['prisoner_id'], ['prisoner.id'], name=op.f('fk_cell_search_prisoner_prisoner_id_prisoner')),
    sa.PrimaryKeyConstraint('cell_search_id', 'prisoner_id', name=op.f('pk_cell_search_prisoner'))
    )
    with op.batch_alter_table('cell_search_prisoner', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cell_search_prisoner_prisoner_id'), ['prisoner_id'], unique=False)

    with op.batch_alter_table('evidence_image', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_evidence_image_account_id'), ['account_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_evidence_image_account_id_account'), 'account', ['account_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('evidence_image', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_evidence_image_account_id_account'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_evidence_image_account_id'))
        batch_op.drop_column('account_id')

    with op.batch_alter_table('cell_search_prisoner', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cell_search_prisoner_prisoner_id'))

    op.drop_table('cell_search_prisoner')
    with op.batch_alter_table('cell_search', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cell_search_establishment_id'))
        batch_op.drop_index(batch_op.f('ix_cell_search_cell_id'))
        batch_op.drop_index(batch_op.f('ix_cell_search_account_id'))

    op.drop_table('cell_search')
    with op.batch_alter_table('takedown_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_takedown_event_takedown_id'))

    op.drop_table('takedown_event')
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_takedown_id'))

    op.drop_table('notice')
    with op.batch_alter_table('attribution', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attribution_prisoner_id'))
        batch_op.drop_index(batch_op.f('ix_attribution_account_id'))

    op.drop_table('attribution')
    with op.batch_alter_table('account_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_link_other_account_id'))
        batch_op.drop_index(batch_op.f('ix_account_link_account_id'))

    op.drop_table('account_link')
    with op.batch_alter_table('takedown', schema=None) as batch_op:
        batch_op.drop_index('ix_takedown_state_target')
        batch_op.drop_index('ix_takedown_state_due')
        batch_op.drop_index(batch_op.f('ix_takedown_platform'))
        batch_op.drop_index(batch_op.f('ix_takedown_account_id'))

    op.drop_table('takedown')
    op.drop_table('platform_settings')
    op.drop_table('idempotency_key')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_status'))
        batch_op.drop_index('ix_account_queue')
        batch_op.drop_index(batch_op.f('ix_account_establishment_id'))
        batch_op.drop_index(batch_op.f('ix_account_assignee_id'))

    op.drop_table('account')
    op.drop_table('job_lock')
