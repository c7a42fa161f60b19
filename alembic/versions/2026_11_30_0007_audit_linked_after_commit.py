"""audit events linked into the chain after commit

Events are inserted unlinked in the transaction of the change they record; a linker gives each
committed event its place (seq, prev_hash, row_hash) once. The triggers now allow exactly that
one write and still refuse every other UPDATE, DELETE and TRUNCATE. Existing events keep their
links; their chain position is their id order.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 15:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTENT = ("occurred_at", "actor_id", "actor_name", "action", "object_type", "object_ids",
           "purpose", "outcome", "client_addr", "request_id", "details")


def _drop_triggers(dialect: str) -> None:
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")


def _linking_triggers(dialect: str) -> None:
    """Refuse every change but the one link of an unlinked event, content untouched."""
    if dialect == "sqlite":
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in ("id", *CONTENT))
        op.execute(
            "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
            f"WHEN OLD.seq IS NOT NULL OR NEW.seq IS NULL OR {changed} "
            "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END")
        op.execute(
            "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END")
        return
    new = ", ".join(f"NEW.{c}" for c in ("id", *CONTENT))
    old = ", ".join(f"OLD.{c}" for c in ("id", *CONTENT))
    op.execute(
        "CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        "IF TG_OP = 'UPDATE' THEN "
        f"  IF OLD.seq IS NULL AND NEW.seq IS NOT NULL AND ({new}) IS NOT DISTINCT FROM ({old}) "
        "  THEN RETURN NEW; END IF; "
        "END IF; "
        "RAISE EXCEPTION 'audit_event is append-only'; END $$")
    op.execute(
        "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")
    op.execute(
        "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    _drop_triggers(dialect)
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column('row_hash', existing_type=sa.String(length=64), nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_event_seq'), ['seq'])
    op.execute("UPDATE audit_event SET seq = r.rn FROM "
               "(SELECT id, row_number() OVER (ORDER BY id) AS rn FROM audit_event) AS r "
               "WHERE audit_event.id = r.id")
    op.create_index('ix_audit_event_unlinked', 'audit_event', ['id'], unique=False,
                    sqlite_where=sa.text('seq IS NULL'), postgresql_where=sa.text('seq IS NULL'))
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.alter_column('last_id', new_column_name='last_seq',
                              existing_type=sa.Integer(), existing_nullable=False)
    op.execute("UPDATE audit_head SET last_seq = (SELECT count(*) FROM audit_event)")
    _linking_triggers(dialect)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    _drop_triggers(dialect)
    op.drop_index('ix_audit_event_unlinked', table_name='audit_event')
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.alter_column('last_seq', new_column_name='last_id',
                              existing_type=sa.Integer(), existing_nullable=False)
    op.execute("UPDATE audit_head SET last_id = (SELECT coalesce(max(id), 0) FROM audit_event "
               "WHERE seq IS NOT NULL)")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_event_seq'), type_='unique')
        batch_op.drop_column('seq')
    # events recorded but never linked cannot be given the old NOT NULL hashes: the old
    # schema had no such state, so they keep empty links and verify reports them
    op.execute("UPDATE audit_event SET prev_hash = '', row_hash = '' WHERE prev_hash IS NULL")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('row_hash', existing_type=sa.String(length=64), nullable=False)
    _original_triggers(dialect)


def _original_triggers(dialect: str) -> None:
    """The triggers of 0001: no UPDATE at all."""
    if dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON "
                       "audit_event BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END")
        return
    op.execute("CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
               "$$ BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$")
    op.execute("CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
               "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")
    op.execute("CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
               "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()")
