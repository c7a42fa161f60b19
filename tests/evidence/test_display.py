"""Only the clean display copy is served, only to readers, never cached; pages are audited."""

import io

from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import select

from app.audit.models import AuditEvent
from app.evidence import storage
from app.evidence.images import ingest_image
from app.evidence.intake import SubmittedFile, submit_evidence
from tests.conftest import TEST_ACTOR, login
from tests.evidence import samples


def _held(session, settings, data=None):
    result = submit_evidence(session, settings, TEST_ACTOR, [SubmittedFile(
        "phone.jpg", data or samples.jpeg_with_exif(), "https://instagram.com/p/1")])[0]
    session.commit()
    return result.image


def test_display_copy_headers_and_content(as_role, session, settings):
    image = _held(session, settings)
    client, _ = as_role("analyst")
    r = client.get(f"/images/{image.id}/display")
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith("inline")
    shown = Image.open(io.BytesIO(r.content))
    assert max(shown.size) <= 1600 and not shown.getexif()
    assert b"iPhone" not in r.content and b"secret comment" not in r.content


def test_who_may_see_images(app, make_user, session, settings):
    image = _held(session, settings)
    url = f"/images/{image.id}/display"
    with TestClient(app) as client:
        signed_out = client.get(url, follow_redirects=False)
        assert signed_out.status_code == 303 and "/login" in signed_out.headers["location"]
        assert client.get(url, headers={"Accept": "application/json"}).status_code == 401
        for role, status in (("admin", 403), ("auditor", 403), ("analyst", 200),
                             ("supervisor", 200)):
            login(client, make_user(role).username)
            assert client.get(url).status_code == status, role
            assert client.get(f"/images/{image.id}").status_code == status, role


def test_detail_page_shows_metadata_and_is_audited(as_role, session, settings):
    image = _held(session, settings)
    client, user = as_role("analyst")
    page = client.get(f"/images/{image.id}")
    assert page.status_code == 200
    for text in (image.sha256, "Apple iPhone 12", "https://instagram.com/p/1", "phone.jpg",
                 f'id="match-candidates-{image.id}"', f'src="/images/{image.id}/display"'):
        assert text in page.text
    api = client.get(f"/api/v1/images/{image.id}").json()
    assert api["evidence"][0]["post_url"] == "https://instagram.com/p/1"
    viewed = session.exec(select(AuditEvent).where(
        AuditEvent.action == "evidence.image.viewed")).all()
    assert len(viewed) == 2 and viewed[0].actor_name == user.username
    client.get(f"/images/{image.id}/display")  # a fetch is not audited: the page was
    assert len(session.exec(select(AuditEvent).where(
        AuditEvent.action == "evidence.image.viewed")).all()) == 2


def test_a_damaged_file_is_not_served(as_role, session, settings):
    image, _ = ingest_image(session, settings, TEST_ACTOR, data=samples.png(), filename="a")
    session.commit()
    path = storage.path_for(settings, image.storage_key, "display")
    raw = bytearray(path.read_bytes())
    raw[40] ^= 0x01
    path.write_bytes(bytes(raw))
    client, _ = as_role("analyst")
    r = client.get(f"/images/{image.id}/display")
    assert r.status_code == 500 and "integrity" in r.text
    assert r.headers["content-type"].startswith("text/html")


def test_unknown_image_is_404(as_role):
    client, _ = as_role("analyst")
    assert client.get("/images/999999/display").status_code == 404
