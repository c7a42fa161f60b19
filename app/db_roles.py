"""PostgreSQL roles: the app's role may only INSERT and SELECT the audit log.

Migrations run as the owner of the tables (CELLWATCH_MIGRATE_DATABASE_URL); the app connects
as another role (CELLWATCH_DATABASE_URL). Not owning audit_event, the app's role can neither
alter the table nor drop or disable its triggers, and without UPDATE, DELETE or TRUNCATE on it
the only change it can make to an event is the one link written by the owner's
audit_link_events() function (migration 0014). Run as the owner, after each migration.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, text

ROLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
LINK_FUNCTION = "audit_link_events(bigint[], bigint[], text[], text[], smallint[])"


def grant_statements(role: str) -> list[str]:
    if not ROLE_RE.match(role):
        raise ValueError("a role name is lower-case letters, digits and _, starting with a "
                         "letter or _, at most 63 characters")
    return [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        # tables later migrations create: the same rights, without another run of this
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_event FROM {role}",
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {role}",
        f"GRANT EXECUTE ON FUNCTION {LINK_FUNCTION} TO {role}",
    ]


def grant_app_role(conn: Connection, role: str) -> None:
    """Give the app's (existing) role what it needs and no more; run as the tables' owner."""
    if conn.dialect.name != "postgresql":
        raise ValueError("roles are for PostgreSQL; SQLite has none")
    for statement in grant_statements(role):
        conn.execute(text(statement))
