"""On PostgreSQL the app's role can add to the audit log and read it, and nothing more: no
UPDATE, DELETE or TRUNCATE, no ALTER, no dropping or disabling its triggers. The tests' own
PostgreSQL database is set up that way (tests/support/postgres.py), so every PostgreSQL test
runs as the app's role."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from app.audit.service import link_pending, record
from app.audit.verify import verify_chain
from app.db_roles import grant_statements
from tests.conftest import AUDIT_KEY, TEST_ACTOR

ON_POSTGRES = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)

REFUSED = [
    "UPDATE audit_event SET action = 'forged'",
    "UPDATE audit_event SET seq = NULL, prev_hash = NULL, row_hash = NULL",
    "DELETE FROM audit_event",
    "TRUNCATE audit_event",
    "ALTER TABLE audit_event DISABLE TRIGGER ALL",
    "ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_change",
    "DROP TRIGGER audit_event_no_change ON audit_event",
    "ALTER TABLE audit_event ADD COLUMN forged text",
    "DROP TABLE audit_event",
    "CREATE TRIGGER forged BEFORE INSERT ON audit_event FOR EACH ROW "
    "EXECUTE FUNCTION audit_event_append_only()",
    "UPDATE alembic_version SET version_num = 'x'",
]


@ON_POSTGRES
def test_the_tests_connect_as_the_app_role(session):
    assert session.execute(text("SELECT current_user")).scalar_one() == "cellwatch_app"
    owner = session.execute(text(
        "SELECT tableowner FROM pg_tables WHERE tablename = 'audit_event'")).scalar_one()
    assert owner == "cellwatch_owner"


@ON_POSTGRES
@pytest.mark.parametrize("statement", REFUSED)
def test_app_role_cannot_change_the_log(session, statement):
    event = record(session, TEST_ACTOR, "test.event")
    link_pending(session, key=AUDIT_KEY)
    session.commit()
    with pytest.raises((ProgrammingError, DBAPIError),
                       match="permission denied|must be owner"), session.begin_nested():
        session.execute(text(statement))
    session.refresh(event)
    assert event.action == "test.event" and event.seq is not None


@ON_POSTGRES
def test_app_role_adds_reads_and_links(session):
    event = record(session, TEST_ACTOR, "test.event")
    assert link_pending(session, key=AUDIT_KEY) == 1  # through the owner's function
    session.refresh(event)
    assert event.seq is not None and verify_chain(session, key=AUDIT_KEY).ok


@ON_POSTGRES
def test_the_link_function_never_relinks_a_linked_event(session):
    event = record(session, TEST_ACTOR, "test.event")
    link_pending(session, key=AUDIT_KEY)
    session.refresh(event)
    with pytest.raises(DBAPIError, match="were unlinked"), session.begin_nested():
        session.execute(text(
            "SELECT audit_link_events(ARRAY[:i]::bigint[], ARRAY[999]::bigint[], "
            "ARRAY['x']::text[], ARRAY['y']::text[], ARRAY[2]::smallint[])"),
            {"i": event.id})


def test_role_names_are_checked():
    with pytest.raises(ValueError, match="role name"):
        grant_statements("app; DROP TABLE audit_event")
