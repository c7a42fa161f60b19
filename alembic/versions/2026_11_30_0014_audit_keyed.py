"""audit chain keyed with HMAC; links written by the owner's function on PostgreSQL; sign-in
failures for the throttles; per-user read counters for the read budgets

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 23:30:00

Existing rows stay verifiable: every event linked before this revision is marked
hash_version 1 (plain SHA-256, as it was linked) and the head records `keyed_from`, the first
seq that will be linked with the audit key (hash_version 2). The head is signed here with
CELLWATCH_AUDIT_KEY, so run this migration with the same key as the app. `audit verify` accepts
version 1 only before keyed_from; a checkpoint fixes keyed_from outside the database.

On PostgreSQL the app's role is meant to hold only INSERT and SELECT on audit_event: the links
of new events are written by audit_link_events(), a SECURITY DEFINER function owned by the
migrating (owner) role that sets the links of unlinked rows and nothing else. `cellwatch
grant-app-role ROLE` gives the app's role what it needs.
"""
import hashlib
import hmac
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db  # noqa: F401  custom column types

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTENT = ("occurred_at", "actor_id", "actor_name", "action", "object_type", "object_ids",
           "purpose", "outcome", "client_addr", "request_id", "details")
SQLITE_NO_UPDATE = (
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "WHEN OLD.seq IS NOT NULL OR NEW.seq IS NULL OR "
    + " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in ("id", *CONTENT))
    + " BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END")
LINK_FUNCTION = """
CREATE FUNCTION audit_link_events(ids bigint[], seqs bigint[], prevs text[], hashes text[],
                                  versions smallint[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE linked integer;
BEGIN
  UPDATE audit_event AS e
     SET seq = u.seq, prev_hash = u.prev, row_hash = u.hash, hash_version = u.version
    FROM unnest(ids, seqs, prevs, hashes, versions) AS u(id, seq, prev, hash, version)
   WHERE e.id = u.id AND e.seq IS NULL;
  GET DIAGNOSTICS linked = ROW_COUNT;
  IF linked <> coalesce(array_length(ids, 1), 0) THEN
    RAISE EXCEPTION 'audit_link_events: only % of % events were unlinked', linked,
      array_length(ids, 1);
  END IF;
END $$
"""
LINK_SIGNATURE = "audit_link_events(bigint[], bigint[], text[], text[], smallint[])"


def _head_mac(key: bytes, last_seq: int, last_hash: str, keyed_from: int) -> str:
    # as app/audit/chain.py head_mac at this revision
    message = f"head\n{last_seq}\n{last_hash}\n{keyed_from}"
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def upgrade() -> None:
    from app.settings import get_settings

    bind = op.get_bind()
    dialect = bind.dialect.name
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hash_version', sa.SmallInteger(), nullable=True))
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('keyed_from', sa.Integer(), nullable=False,
                                      server_default='1'))
        batch_op.add_column(sa.Column('mac', sa.String(length=64), nullable=False,
                                      server_default=''))
    # mark the rows linked so far as version 1, past the append-only trigger
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("UPDATE audit_event SET hash_version = 1 WHERE seq IS NOT NULL")
        op.execute(SQLITE_NO_UPDATE)
    else:
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change")
        op.execute("UPDATE audit_event SET hash_version = 1 WHERE seq IS NOT NULL")
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_no_change")
        op.execute(LINK_FUNCTION)
        op.execute(f"REVOKE ALL ON FUNCTION {LINK_SIGNATURE} FROM PUBLIC")
    last_seq, last_hash = bind.execute(
        sa.text("SELECT last_seq, last_hash FROM audit_head WHERE id = 1")).one()
    keyed_from = last_seq + 1
    mac = _head_mac(get_settings().audit_key_bytes, last_seq, last_hash, keyed_from)
    bind.execute(sa.text("UPDATE audit_head SET keyed_from = :k, mac = :m WHERE id = 1"),
                 {"k": keyed_from, "m": mac})

    op.create_table(
        'login_failure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', app.db.UTCDateTime(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('client_addr', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failure')),
    )
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_failure_at'), ['at'], unique=False)
        batch_op.create_index('ix_login_failure_addr_at', ['client_addr', 'at'], unique=False)
        batch_op.create_index('ix_login_failure_username_at', ['username', 'at'], unique=False)

    op.create_table(
        'read_count',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('hour', app.db.UTCDateTime(), nullable=False),
        sa.Column('reads', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('user_id', 'hour', name=op.f('pk_read_count')),
    )
    with op.batch_alter_table('read_count', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_read_count_hour'), ['hour'], unique=False)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_table('read_count')
    op.drop_table('login_failure')
    if dialect == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {LINK_SIGNATURE}")
    # keyed links cannot be turned back into plain ones: the downgraded verifier will report
    # every event linked with the key as altered
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('mac')
        batch_op.drop_column('keyed_from')
    if dialect == "sqlite":  # the table is rebuilt without its triggers
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('hash_version')
    if dialect == "sqlite":
        op.execute(SQLITE_NO_UPDATE)
        op.execute("CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
                   "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END")
