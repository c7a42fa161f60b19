"""takedowns: chosen images, notice #1 previewed, what a platform needs, portal submissions,
platforms that tell the account holder

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 21:00:00

Takedowns made before this revision sent every image of their account: they keep exactly
that choice (takedown_image is filled from the account's evidence). Platforms still on the
former default notice template move to the new one, which carries the legal basis, the
platform's account id, the contact and the good-faith statement.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db  # noqa: F401  custom column types


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_DEFAULT_TEMPLATE = (
    'Takedown request {{ reference }}{% if notice_number > 1 %} (reminder {{ notice_number }}){% endif %}\n'  # noqa: E501
    '\n'
    'To the {{ account.platform_name }} trust and safety team,\n'
    '\n'
    'We ask you to remove the {{ account.platform_name }} account "{{ account.handle }}"\n'
    '({{ account.url }}). It is operated from inside a prison on an illicit mobile phone.\n'
    '\n'
    'Reason:\n'
    '{{ reason }}\n'
    '\n'
    'Addresses concerned:\n'
    '{% for url in urls %}\n'
    '- {{ url }}\n'
    '{% endfor %}\n'
    '\n'
    'Evidence ({{ evidence | length }} image{{ "s" if evidence | length != 1 }}). Display copies and a\n'  # noqa: E501
    'manifest giving the SHA-256 of every original are in the attached pack {{ pack.filename }}\n'
    '(SHA-256 {{ pack.sha256 }}).\n'
    '{% for item in evidence %}\n'
    '{{ item.number }}. {{ item.post_url or "post address not known" }}\n'
    '   posted {{ item.posted_at or "time not known" }}, SHA-256 {{ item.sha256 }}\n'
    '{% endfor %}\n'
    '{% if notice_number > 1 %}\n'
    '\n'
    'This is reminder {{ notice_number }}; our first notice was sent on {{ first_sent_at }}.\n'
    '{% if platform_reference %}Your reference: {{ platform_reference }}.\n'
    '{% endif %}\n'
    '{% endif %}\n'
    '\n'
    'Please reply quoting {{ reference }}.\n'
)

NEW_DEFAULT_TEMPLATE = (
    'Takedown request {{ reference }}{% if notice_number > 1 %} (reminder {{ notice_number }}){% endif %}\n'  # noqa: E501
    '\n'
    'To the {{ account.platform_name }} trust and safety team,\n'
    '\n'
    'We ask you to remove the {{ account.platform_name }} account "{{ account.handle }}"\n'
    '({{ account.url }}){% if account.numeric_id %}, account id {{ account.numeric_id }}{% endif %}.\n'  # noqa: E501
    'It is operated from inside a prison on an illicit mobile phone.\n'
    '\n'
    'Legal basis:\n'
    '{{ legal_basis }}\n'
    '\n'
    'Reason:\n'
    '{{ reason }}\n'
    '\n'
    'Addresses concerned:\n'
    '{% for url in urls %}\n'
    '- {{ url }}\n'
    '{% endfor %}\n'
    '\n'
    'Evidence ({{ evidence | length }} image{{ "s" if evidence | length != 1 }}). Display copies and a\n'  # noqa: E501
    'manifest giving the SHA-256 of every original are in the attached pack {{ pack.filename }}\n'
    '(SHA-256 {{ pack.sha256 }}).\n'
    '{% for item in evidence %}\n'
    '{{ item.number }}. {{ item.post_url or "post address not known" }}\n'
    '   posted {{ item.posted_at or "time not known" }}, SHA-256 {{ item.sha256 }}\n'
    '{% endfor %}\n'
    '{% if notice_number > 1 %}\n'
    '\n'
    'This is reminder {{ notice_number }}; our first notice was sent on {{ first_sent_at }}.\n'
    '{% if platform_reference %}Your reference: {{ platform_reference }}.\n'
    '{% endif %}\n'
    '{% endif %}\n'
    '\n'
    '{{ good_faith_statement }}\n'
    '\n'
    'Contact: {{ contact }}\n'
    'Please reply quoting {{ reference }}.\n'
)


def upgrade() -> None:
    op.create_table(
        'takedown_image',
        sa.Column('takedown_id', sa.Integer(), nullable=False),
        sa.Column('evidence_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['evidence_id'], ['evidence_image.id'],
                                name=op.f('fk_takedown_image_evidence_id_evidence_image')),
        sa.ForeignKeyConstraint(['takedown_id'], ['takedown.id'],
                                name=op.f('fk_takedown_image_takedown_id_takedown')),
        sa.PrimaryKeyConstraint('takedown_id', 'evidence_id', name=op.f('pk_takedown_image')))
    op.create_table(
        'notice_preview',
        sa.Column('takedown_id', sa.Integer(), nullable=False),
        sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('body', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('pack_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('pack_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('made_by', sa.Integer(), nullable=True),
        sa.Column('made_at', app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['made_by'], ['app_user.id'],
                                name=op.f('fk_notice_preview_made_by_app_user')),
        sa.ForeignKeyConstraint(['takedown_id'], ['takedown.id'],
                                name=op.f('fk_notice_preview_takedown_id_takedown')),
        sa.PrimaryKeyConstraint('takedown_id', name=op.f('pk_notice_preview')))
    # plain string defaults: on SQLite the columns are added in place, not by copying the
    # table (which rows of notice and takedown_event refer to)
    with op.batch_alter_table('takedown', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_basis', sqlmodel.sql.sqltypes.AutoString(
            length=1000), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('platform_account_id', sqlmodel.sql.sqltypes.AutoString(
            length=32), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('contact', sqlmodel.sql.sqltypes.AutoString(length=500),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('good_faith', sa.Boolean(), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submitted_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('submitted_at', app.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('submission_reference', sqlmodel.sql.sqltypes.AutoString(
            length=128), nullable=False, server_default=''))
        batch_op.create_foreign_key(batch_op.f('fk_notice_submitted_by_app_user'), 'app_user',
                                    ['submitted_by'], ['id'])
    with op.batch_alter_table('platform_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tells_holder', sa.Boolean(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('tells_holder_note', sqlmodel.sql.sqltypes.AutoString(
            length=500), nullable=False, server_default=''))
    # what earlier takedowns sent: every evidence image of the account, oldest first
    op.execute("INSERT INTO takedown_image (takedown_id, evidence_id, position) "
               "SELECT t.id, e.id, e.id FROM takedown t "
               "JOIN evidence_image e ON e.account_id = t.account_id")
    # portal notices filed before this revision: recorded as submitted when they were made
    op.execute("UPDATE notice SET submitted_at = sent_at, submitted_by = sent_by "
               "WHERE delivery = 'manual'")
    op.get_bind().execute(
        sa.text("UPDATE platform_settings SET template = :new WHERE template = :old"),
        {"new": NEW_DEFAULT_TEMPLATE, "old": OLD_DEFAULT_TEMPLATE})


def downgrade() -> None:
    with op.batch_alter_table('platform_settings', schema=None) as batch_op:
        batch_op.drop_column('tells_holder_note')
        batch_op.drop_column('tells_holder')
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notice_submitted_by_app_user'),
                                 type_='foreignkey')
        batch_op.drop_column('submission_reference')
        batch_op.drop_column('submitted_at')
        batch_op.drop_column('submitted_by')
    with op.batch_alter_table('takedown', schema=None) as batch_op:
        batch_op.drop_column('good_faith')
        batch_op.drop_column('contact')
        batch_op.drop_column('platform_account_id')
        batch_op.drop_column('legal_basis')
    op.drop_table('notice_preview')
    op.drop_table('takedown_image')
