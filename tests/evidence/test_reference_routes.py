"""Reference photos of a cell: supervisors add and remove them; analysts only look."""

from sqlmodel import select

from app.audit.models import AuditEvent
from app.evidence.models import ReferencePhoto
from tests.conftest import page_csrf
from tests.evidence import samples
from tests.evidence.conftest import assert_nothing_stored


def _files(*items):
    return [("files", (name, data, "image/jpeg")) for name, data in items]


def test_supervisor_adds_photos_from_the_page(as_role, session, settings, cell):
    client, user = as_role("supervisor")
    page_url = f"/estate/cells/{cell.id}/photos"
    token = page_csrf(client, page_url)
    r = client.post(page_url, files=_files(("a.jpg", samples.jpeg_with_exif()),
                                           ("b.png", samples.png())),
                    data={"csrf_token": token, "taken_on": "2025-05-01"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == page_url
    page = client.get(page_url).text
    assert "2 photo(s) added to the library." in page and "MDI A-1-014" in page
    assert page.count('src="/images/') == 2
    photos = session.exec(select(ReferencePhoto)).all()
    assert len(photos) == 2 and {p.added_by for p in photos} == {user.id}
    assert photos[0].taken_on.isoformat() == "2025-04-30T23:00:00+00:00"  # local midnight
    again = client.post(page_url, files=_files(("a.jpg", samples.jpeg_with_exif())),
                        data={"csrf_token": token})
    assert "0 photo(s) added to the library. 1 already in it." in again.text


def test_supervisor_removes_a_photo(as_role, session, settings, cell):
    client, _ = as_role("supervisor")
    client.headers["X-CSRF-Token"] = page_csrf(client, f"/estate/cells/{cell.id}/photos")
    added = client.post(f"/api/v1/cells/{cell.id}/photos", files=_files(("a.jpg", samples.jpeg())))
    assert added.status_code == 201, added.text
    photo_id = added.json()["photos"][0]["photo_id"]
    r = client.post(f"/estate/cells/{cell.id}/photos/{photo_id}/remove",
                    data={"reason": "wrong cell"}, follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    assert session.get(ReferencePhoto, photo_id).removed_at is not None
    assert client.get(f"/api/v1/cells/{cell.id}/photos").json()["photos"] == []
    event = session.exec(select(AuditEvent).where(
        AuditEvent.action == "library.photo.removed")).one()
    assert event.purpose == "wrong cell"


def test_analyst_may_look_but_not_add_or_remove(as_role, session, settings, cell):
    client, _ = as_role("analyst")
    page = client.get(f"/estate/cells/{cell.id}/photos")
    assert page.status_code == 200 and "Add photos" not in page.text
    client.headers["X-CSRF-Token"] = page_csrf(client, "/intake")
    r = client.post(f"/api/v1/cells/{cell.id}/photos", files=_files(("a.jpg", samples.jpeg())))
    assert r.status_code == 403
    r = client.post(f"/estate/cells/{cell.id}/photos", files=_files(("a.jpg", samples.jpeg())))
    assert r.status_code == 403
    assert client.delete(f"/api/v1/cells/{cell.id}/photos/1").status_code == 403
    assert_nothing_stored(session, settings)


def test_bad_photo_refuses_the_upload(as_role, session, settings, cell):
    client, _ = as_role("supervisor")
    client.headers["X-CSRF-Token"] = page_csrf(client, f"/estate/cells/{cell.id}/photos")
    r = client.post(f"/api/v1/cells/{cell.id}/photos",
                    files=_files(("good.jpg", samples.jpeg()), ("bad.jpg", samples.text_as_jpg())))
    assert r.status_code == 415 and r.json()["detail"][0]["filename"] == "bad.jpg"
    assert_nothing_stored(session, settings)
    page = client.post(f"/estate/cells/{cell.id}/photos", files=_files(("bad.jpg", b"GIF89a..")))
    assert page.status_code == 415 and "bad.jpg" in page.text


def test_unknown_cell_is_404_and_stores_nothing(as_role, session, settings):
    client, _ = as_role("supervisor")
    client.headers["X-CSRF-Token"] = page_csrf(client, "/intake")
    r = client.post("/api/v1/cells/999999/photos", files=_files(("a.jpg", samples.jpeg())))
    assert r.status_code == 404
    assert_nothing_stored(session, settings)


def test_photo_already_filed_under_another_cell_is_refused(as_role, session, settings, cell):
    from app.estate.models import Cell

    other = Cell(establishment_id=cell.establishment_id, label="A-1-015", wing="A", landing="1")
    session.add(other)
    session.commit()
    client, _ = as_role("supervisor")
    client.headers["X-CSRF-Token"] = page_csrf(client, "/intake")
    client.post(f"/api/v1/cells/{cell.id}/photos", files=_files(("a.jpg", samples.jpeg())))
    r = client.post(f"/api/v1/cells/{other.id}/photos", files=_files(("a.jpg", samples.jpeg())))
    assert r.status_code == 409 and "MDI A-1-014" in r.json()["message"]
