"""retention: when an account was closed; the audit chain's anchor, below which events may be
pruned

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 01:40:00

`account.closed_at` starts the clock of the closed-account evidence rule; accounts already
closed take their last change (`updated_at`) as the time they were closed.
`evidence_image.erased_at`: an evidence link erased with its account's evidence but kept, as the
record of a takedown that cited it.

The audit head gains an anchor: the sequence and hash of the last pruned event, the largest id
pruned, and an HMAC of the three with the audit key (no anchor: seq 0, the genesis hash, no
signature). The triggers now let a linked event at or below the anchor be deleted, and nothing
else: the app's role on PostgreSQL still holds no DELETE on audit_event, so only the owner's
role (CELLWATCH_MIGRATE_DATABASE_URL) can prune.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db  # noqa: F401  custom column types

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
CONTENT = ("occurred_at", "actor_id", "actor_name", "action", "object_type", "object_ids",
           "purpose", "outcome", "client_addr", "request_id", "details")
SQLITE_NO_DELETE = ("CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event {when}"
                    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END")
PRUNABLE = ("OLD.seq IS NOT NULL AND OLD.seq <= "
            "(SELECT anchor_seq FROM audit_head WHERE id = 1)")


def _pg_function(delete_rule: str) -> str:
    new = ", ".join(f"NEW.{c}" for c in ("id", *CONTENT))
    old = ", ".join(f"OLD.{c}" for c in ("id", *CONTENT))
    return (
        "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_OP = 'UPDATE' THEN "
        f"  IF OLD.seq IS NULL AND NEW.seq IS NOT NULL AND ({new}) IS NOT DISTINCT FROM ({old}) "
        "  THEN RETURN NEW; END IF; "
        "END IF; "
        f"{delete_rule}"
        "RAISE EXCEPTION 'audit_event is append-only'; END $$")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_at', app.db.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_account_closed_at'), ['closed_at'], unique=False)
    op.execute("UPDATE account SET closed_at = updated_at "
               "WHERE status IN ('removed', 'no_further_action')")
    with op.batch_alter_table('evidence_image', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', app.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anchor_seq', sa.BigInteger(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('anchor_hash', sa.String(length=64), nullable=False,
                                      server_default=GENESIS))
        batch_op.add_column(sa.Column('anchor_id', sa.BigInteger(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('anchor_mac', sa.String(length=64), nullable=False,
                                      server_default=''))
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
        op.execute(SQLITE_NO_DELETE.format(when=f"WHEN NOT ({PRUNABLE}) "))
    else:
        op.execute(_pg_function(f"IF TG_OP = 'DELETE' AND {PRUNABLE} THEN RETURN OLD; END IF; "))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
        op.execute(SQLITE_NO_DELETE.format(when=""))
    else:
        op.execute(_pg_function(""))
    # pruned events stay gone: the downgraded verifier reports the chain as starting late
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('anchor_mac')
        batch_op.drop_column('anchor_id')
        batch_op.drop_column('anchor_hash')
        batch_op.drop_column('anchor_seq')
    with op.batch_alter_table('evidence_image', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_closed_at'))
        batch_op.drop_column('closed_at')
