"""Text holding U+0000 is refused alike on SQLite and PostgreSQL (which cannot store it): a
clear 422 on every kind of input, before the route runs, so nothing is stored or read; the
API's document says so on its texts."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from app.accounts.models import Account
from app.audit.models import AuditEvent
from app.evidence.models import Image
from app.nul import MESSAGE, PATTERN
from tests.accounts.conftest import submit
from tests.conftest import page_csrf
from tests.evidence.samples import jpeg

BOTH = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)


def _count(session, model) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(model)).one()


def _refused(r, field: str) -> None:
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert r.json() == {"error": "Cannot accept this", "message": f"{field}: {MESSAGE}",
                        "detail": [{"field": field, "message": MESSAGE}]}


@BOTH
def test_a_json_body_with_nul_is_refused_before_anything_is_read(as_role, session):
    client, _ = as_role("analyst")
    events = _count(session, AuditEvent)
    r = client.post("/api/v1/prisoners/search", json={"surname": "Smi\u0000th"},
                    headers={"X-CSRF-Token": page_csrf(client)})
    _refused(r, "surname")
    # a name holding NUL is refused too, and the answer never holds the NUL itself
    _refused(client.post("/api/v1/prisoners/search", json={"sur\u0000name": "x"},
                         headers={"X-CSRF-Token": page_csrf(client)}), "sur\\0name")
    assert _count(session, AuditEvent) == events  # no search ran, none was recorded
    escaped = client.post("/api/v1/prisoners/search",  # a backslash, then "u0000": text
                          json={"surname": "back\\u0000slash", "forename": "Ann"},
                          headers={"X-CSRF-Token": page_csrf(client)})
    assert escaped.status_code == 200, escaped.text[:300]


@BOTH
def test_a_multipart_field_with_nul_is_refused_and_nothing_is_stored(as_role, session):
    client, _ = as_role("analyst")
    accounts, images = _count(session, Account), _count(session, Image)
    r = submit(client, "@cell\u0000boss", [jpeg(3)], platform="instagram")
    _refused(r, "account")
    r = submit(client, "@cell_boss", [jpeg(3)], platform="instagram",
               post_url="https://www.instagram.com/p/A\u0000/")
    _refused(r, "post_url")
    assert (_count(session, Account), _count(session, Image)) == (accounts, images)
    # a picture's own bytes hold NULs: files are not text
    photo = jpeg(4)
    assert b"\x00" in photo
    ok = submit(client, "@cell_boss", [photo], platform="instagram")
    assert ok.status_code in (200, 201), ok.text[:300]


@BOTH
def test_a_form_field_a_query_and_a_path_with_nul_are_refused(as_role, session):
    client, _ = as_role("analyst")
    events = _count(session, AuditEvent)
    page = client.post("/search", data={"surname": "Smi\u0000th",
                                        "csrf_token": page_csrf(client, "/search")})
    assert page.status_code == 422 and f"surname: {MESSAGE}" in page.text
    _refused(client.get("/api/v1/audit", params={"actor": "a\x00b"}), "actor")
    _refused(client.get("/api/v1/accounts/%00"), "path")
    assert _count(session, AuditEvent) == events


def test_the_api_document_rules_nul_out_of_every_free_text(as_role):
    client, _ = as_role("analyst")
    schema = client.get("/openapi.json").json()
    body = schema["components"]["schemas"]["PrisonerSearchBody"]["properties"]
    assert body["surname"]["pattern"] == PATTERN
    assert "may not contain the NUL character" in body["surname"]["description"]
    assert body["dob"]["pattern"] != PATTERN  # its own pattern already rules NUL out
    texts = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "string" and not {"format", "enum", "const"} & set(node):
                texts.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    error = schema["components"]["schemas"].pop("Error")  # its message may quote a refusal
    walk(schema)
    assert len(texts) > 100 and [t for t in texts if "pattern" not in t] == []
    assert "pattern" not in error["properties"]["message"]
