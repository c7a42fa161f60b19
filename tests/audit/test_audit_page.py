from sqlmodel import select

from app.audit.models import AuditEvent
from tests.conftest import AUDIT_KEY


def test_auditor_filters_the_log_and_the_reading_is_audited(as_role, session):
    client, auditor = as_role("auditor")
    r = client.get("/audit", params={"action": "auth.login"})
    assert r.status_code == 200
    assert "auth.login" in r.text
    reads = session.exec(select(AuditEvent).where(AuditEvent.action == "audit.read")).all()
    assert reads and reads[-1].actor_name == auditor.username
    assert '"action": "auth.login"' in reads[-1].details
    api = client.get("/api/v1/audit", params={"actor": auditor.username})
    assert api.status_code == 200
    assert {e["actor_name"] for e in api.json()} == {auditor.username}
    assert "audit.read" not in r.text.split("<tbody>")[1]  # filtered to auth.login only


def test_bad_date_filter_is_a_clear_error(as_role):
    client, _ = as_role("auditor")
    r = client.get("/audit", params={"since": "2026-13-45"})
    assert r.status_code == 422 and "2026-13-45 is not a date" in r.text


def test_older_events_are_a_keyset_page_that_keeps_the_filter(as_role, session):
    import re

    from app.audit.service import record
    from tests.conftest import TEST_ACTOR

    for i in range(105):
        record(session, TEST_ACTOR, "test.paging", object_ids=[i])
    session.commit()
    client, _ = as_role("auditor")
    first = client.get("/audit", params={"action": "test.paging"}).text
    shown = re.findall(r"<td>(\d+)</td><td>\d{1,2} [A-Z][a-z]{2} \d{4} ", first)
    assert len(shown) == 100
    older = re.search(r'href="([^"]+)" rel="next">Older<', first).group(1).replace("&amp;", "&")
    assert "action=test.paging" in older and f"before={shown[-1]}" in older
    second = client.get("/audit" + older).text
    rest = re.findall(r"<td>(\d+)</td><td>\d{1,2} [A-Z][a-z]{2} \d{4} ", second)
    assert len(rest) == 5 and int(rest[0]) < int(shown[-1])
    assert 'rel="next"' not in second


def test_the_page_says_how_many_events_await_linking(as_role, session):
    from app.audit.service import link_pending

    client, _ = as_role("auditor")
    link_pending(session, key=AUDIT_KEY)  # the sign-in's events
    session.commit()
    first = client.get("/audit").text  # this reading is itself an event, linked after
    assert "Every event is linked into the tamper-evident chain." in first
    second = client.get("/audit").text
    assert "1 newest event not yet linked" in second
