"""withdrawn images: sha256 unique among held images only; who withdrew an image and why

A supervisor can withdraw an evidence image: its key is destroyed and its files deleted, the
row stays (for the record: its id, the accounts it was evidence of, who withdrew it and why).
The same bytes sent again are then a new image, matched afresh, so the unique sha256 becomes a
partial unique index over the images not erased (SQLite and PostgreSQL both have them).

On SQLite, dropping the old unique constraint rebuilds the `image` table, which other tables
reference: foreign keys are switched off for the rebuild (SQLite's own procedure for altering
a table; the switch only works outside a transaction, as SQLite runs DDL here) and every
reference is checked again before the migration ends.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 17:20:02.037246
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db  # noqa: F401  custom column types


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HELD_ONLY = sa.text('erased_at IS NULL')


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def _foreign_keys(on: bool) -> None:
    if _sqlite():
        op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _check_references() -> None:
    if _sqlite():
        broken = op.get_bind().execute(sa.text('PRAGMA foreign_key_check')).all()
        if broken:
            raise RuntimeError(f'rebuilding image broke references: {broken[:5]}')


def upgrade() -> None:
    _foreign_keys(False)
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.add_column(sa.Column('withdrawn_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdrawal_reason',
                                      sqlmodel.sql.sqltypes.AutoString(length=500),
                                      nullable=False, server_default=''))
        batch_op.drop_constraint(batch_op.f('uq_image_sha256'), type_='unique')
        batch_op.create_index('uq_image_sha256_held', ['sha256'], unique=True,
                              sqlite_where=HELD_ONLY, postgresql_where=HELD_ONLY)
        batch_op.create_foreign_key(batch_op.f('fk_image_withdrawn_by_app_user'), 'app_user',
                                    ['withdrawn_by'], ['id'])
    _check_references()
    _foreign_keys(True)


def downgrade() -> None:
    twice = op.get_bind().execute(sa.text(
        'SELECT sha256 FROM image GROUP BY sha256 HAVING COUNT(*) > 1 LIMIT 1')).first()
    if twice is not None:
        raise RuntimeError('cannot downgrade: some bytes were withdrawn and taken in again, so '
                           'two images share a sha256 (the old unique constraint would not hold)')
    _foreign_keys(False)
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_image_withdrawn_by_app_user'), type_='foreignkey')
        batch_op.drop_index('uq_image_sha256_held', sqlite_where=HELD_ONLY,
                            postgresql_where=HELD_ONLY)
        batch_op.create_unique_constraint(batch_op.f('uq_image_sha256'), ['sha256'])
        batch_op.drop_column('withdrawal_reason')
        batch_op.drop_column('withdrawn_by')
    _check_references()
    _foreign_keys(True)
