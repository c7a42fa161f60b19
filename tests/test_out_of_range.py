"""Numbers no database can hold, and digits int() refuses ('³'), are a 404 in an address and
a clear 422 elsewhere: never a server error."""

from __future__ import annotations

import pytest

HUGE = "99999999999999999999"
INT64_PAST = str(2**63)
INT32_PAST = str(2**31)  # past PostgreSQL's INTEGER ids, within SQLite's
IN_ADDRESSES = [f"/accounts/{HUGE}", f"/api/v1/accounts/{HUGE}", f"/api/v1/images/{HUGE}",
                f"/images/{HUGE}/display", f"/takedowns/{HUGE}", f"/api/v1/takedowns/{HUGE}",
                f"/searches/{HUGE}", f"/matches/{HUGE}", f"/api/v1/images/{INT64_PAST}",
                f"/accounts/{INT64_PAST}"]
BAD_FILTERS = ["/accounts?assignee=%C2%B3", "/api/v1/accounts?assignee=%C2%B3",
               "/api/v1/accounts?assignee=somebody"]
# the page's own words; the API's document declares the values, and its refusal quotes them
SAID = {"/accounts": "Unknown assignee",
        "/api/v1/accounts": "assignee: should be me, none or a user's number"}


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
@pytest.mark.parametrize("path", IN_ADDRESSES)
def test_an_id_past_any_record_is_not_found(as_role, path):
    client, _ = as_role("supervisor")
    r = client.get(path)
    assert r.status_code == 404, (r.status_code, r.text[:300])
    assert "nothing at this address" in r.text


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
@pytest.mark.parametrize("path", [f"/api/v1/accounts/{INT32_PAST}",
                                  f"/api/v1/takedowns/{INT32_PAST}", f"/matches/{INT32_PAST}"])
def test_an_id_past_postgresqls_integers_is_not_found(as_role, path):
    """SQLite looks it up and finds nothing; PostgreSQL cannot compare it with an INTEGER id.
    Both answer 404."""
    client, _ = as_role("supervisor")
    r = client.get(path)
    assert r.status_code == 404, (r.status_code, r.text[:300])


@pytest.mark.parametrize("path", BAD_FILTERS)
def test_a_filter_that_is_not_a_person_is_refused(as_role, path):
    client, _ = as_role("supervisor")
    r = client.get(path)
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert SAID[path.split("?")[0]] in r.text, r.text[:300]


def test_whole_numbers_are_ascii_digits_within_range():
    from app.web.numbers import whole_number

    assert [whole_number(t) for t in ("12", " 7 ", "³", "", "-1", "1.5", HUGE)] == [
        12, 7, None, None, None, None, None]
    assert whole_number(str(2**63 - 1)) == 2**63 - 1 and whole_number(INT64_PAST) is None
    assert whole_number("90", most=90) == 90 and whole_number("91", most=90) is None


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_a_nul_character_is_never_a_server_error(as_role, db_url):
    """PostgreSQL text cannot hold U+0000: both databases refuse it alike (tests/test_nul.py)."""
    client, _ = as_role("auditor")
    r = client.get("/api/v1/audit", params={"actor": "a\x00b"})
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert "text may not contain the NUL character" in r.json()["message"]
