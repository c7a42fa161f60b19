"""The intake page and API: every refusal is clear and stores nothing; results say what
happened to each file; uploads are audited."""

import re

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.evidence.models import EvidenceImage
from tests.conftest import page_csrf
from tests.evidence import samples
from tests.evidence.conftest import assert_nothing_stored, image_count, stored_files


def _files(*items):
    return [("files", (name, data, "image/jpeg")) for name, data in items]


@pytest.fixture
def analyst(as_role):
    client, user = as_role("analyst")
    client.headers["X-CSRF-Token"] = page_csrf(client, "/intake")
    return client


REFUSALS = [
    ("clip.gif", samples.gif, 415, "GIF image"),
    ("photo.jpg", samples.text_as_jpg, 415, "not an image"),
    # an animated WebP (or GIF) is now taken in as a video: tests/evidence/test_video_intake.py
    ("anim.png", samples.apng, 422, "frames"),
    ("cut.jpg", samples.truncated_jpeg, 422, "damaged"),
    ("huge.png", samples.huge_png, 422, "megapixels"),
]


@pytest.mark.parametrize(("name", "make", "status", "words"), REFUSALS)
def test_page_refusals(analyst, session, settings, name, make, status, words):
    r = analyst.post("/intake", files=_files((name, make())))
    assert r.status_code == status
    assert name in r.text and words in r.text and "Nothing was stored" in r.text
    assert_nothing_stored(session, settings)


@pytest.mark.parametrize(("name", "make", "status", "words"), REFUSALS)
def test_api_refusals(analyst, session, settings, name, make, status, words):
    r = analyst.post("/api/v1/images", files=_files((name, make())))
    assert r.status_code == status
    body = r.json()
    assert body["detail"] == [{"filename": name, "status": status,
                               "message": body["detail"][0]["message"]}]
    assert words in body["message"] and name in body["message"]
    assert_nothing_stored(session, settings)


def test_batch_with_one_bad_file_stores_nothing(analyst, session, settings):
    r = analyst.post("/api/v1/images", files=_files(("a.jpg", samples.jpeg()),
                                                    ("b.png", samples.png()),
                                                    ("c.gif", samples.gif())))
    assert r.status_code == 415 and "1 of 3 files were refused" in r.json()["message"]
    assert_nothing_stored(session, settings)


def test_page_upload_shows_each_image(analyst, session, settings):
    r = analyst.post("/intake", files=_files(("phone.jpg", samples.jpeg_with_exif()),
                                             ("shot.png", samples.png())),
                     data={"post_url": "https://www.instagram.com/p/Cx1/",
                           "posted_at": "2025-06-02T10:30"})
    assert r.status_code == 200, r.text
    assert "2 new, 0 already held" in r.text
    assert "phone.jpg" in r.text and "Apple iPhone 12" in r.text and "53.408400" in r.text
    assert "1 Jun 2025 21:15 BST" in r.text  # EXIF time shown in local time
    assert re.search(r'src="/images/\d+/display"', r.text)
    rows = session.exec(select(EvidenceImage)).all()
    assert {e.post_url for e in rows} == {"https://www.instagram.com/p/Cx1/"}
    assert rows[0].posted_at.hour == 9  # 10:30 BST entered in the form
    again = analyst.post("/intake", files=_files(("copy.jpg", samples.jpeg_with_exif())))
    assert "already held since" in again.text and "0 new, 1 already held" in again.text
    assert image_count(session) == 2 and len(stored_files(settings)) == 4


def test_api_upload_per_file_posts_and_duplicate(analyst, session):
    r = analyst.post("/api/v1/images",
                     files=_files(("a.jpg", samples.jpeg()), ("b.webp", samples.webp())),
                     data={"post_url": ["https://x.com/a/status/1", "https://x.com/a/status/2"],
                           "posted_at": ["2025-06-02T10:30:00+00:00", ""]})
    assert r.status_code == 201, r.text
    images = r.json()["images"]
    assert [i["created"] for i in images] == [True, True]
    assert images[0]["post_url"] == "https://x.com/a/status/1"
    assert images[0]["posted_at"] == "2025-06-02T10:30:00+00:00" and images[1]["posted_at"] is None
    assert images[1]["format"] == "webp" and images[0]["display_url"].endswith("/display")
    again = analyst.post("/api/v1/images", files=_files(("a.jpg", samples.jpeg())),
                         data={"post_url": "https://x.com/a/status/1"})
    assert again.status_code == 200 and again.json()["images"][0]["created"] is False
    assert again.json()["images"][0]["held_since"] == images[0]["held_since"]


def test_api_mismatched_post_urls_are_refused(analyst, session, settings):
    r = analyst.post("/api/v1/images", files=_files(("a.jpg", samples.jpeg()),
                                                    ("b.jpg", samples.jpeg(5)),
                                                    ("c.jpg", samples.jpeg(6))),
                     data={"post_url": ["https://x.com/1", "https://x.com/2"]})
    assert r.status_code == 422 and "one per file" in r.json()["message"]
    assert_nothing_stored(session, settings)


def test_no_files_is_a_clear_refusal(analyst):
    refused = analyst.post("/api/v1/images")
    assert refused.status_code == 422
    assert refused.json()["message"] == "files: is required: JPEG, PNG or WebP images"
    page = analyst.post("/intake", data={"post_url": ""})
    assert page.status_code == 422 and "at least one image" in page.text


def test_uploads_are_audited(analyst, session):
    r = analyst.post("/api/v1/images", files=_files(("a.jpg", samples.jpeg()),))
    image_id = r.json()["images"][0]["image_id"]
    events = session.exec(select(AuditEvent).where(
        AuditEvent.action.in_(["evidence.image.stored", "evidence.images.submitted"]))).all()
    assert {e.action for e in events} == {"evidence.image.stored", "evidence.images.submitted"}
    stored = next(e for e in events if e.action == "evidence.image.stored")
    assert stored.object_ids == f'["{image_id}"]' and stored.actor_name.startswith("analyst")


def test_forms_carry_csrf_and_posts_without_it_are_refused(as_role, session, settings):
    client, _ = as_role("analyst")
    page = client.get("/intake")
    assert 'name="csrf_token"' in page.text and 'enctype="multipart/form-data"' in page.text
    assert "<script" not in page.text.split("</head>")[1] and "style=" not in page.text
    r = client.post("/intake", files=_files(("a.jpg", samples.jpeg())))
    assert r.status_code == 403
    assert_nothing_stored(session, settings)


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_only_submitters_may_upload(as_role, role, session, settings):
    client, _ = as_role(role)
    assert client.get("/intake").status_code == 403
    r = client.post("/api/v1/images", files=_files(("a.jpg", samples.jpeg())),
                    headers={"X-CSRF-Token": "x"})
    assert r.status_code == 403
    assert_nothing_stored(session, settings)


@pytest.mark.parametrize("size", [(1, 1), (1, 3000), (4000, 2)])
def test_a_picture_too_thin_to_compare_is_refused_clearly(analyst, session, settings, size):
    data = samples.encode(samples.picture(9, size), "PNG")
    r = analyst.post("/api/v1/images", files=[("files", ("line.png", data, "image/png"))])
    assert r.status_code == 422, r.text
    assert "line.png" in r.json()["message"] and "too thin" in r.json()["message"]
    assert_nothing_stored(session, settings)


def test_intake_form_errors_show_beside_their_fields(as_role, session):
    client, _ = as_role("analyst")
    token = page_csrf(client, "/intake")
    bad_time = client.post("/intake", data={"posted_at": "soon", "csrf_token": token,
                                            "post_url": "https://x.com/a/status/1"},
                           files=[("files", ("a.jpg", samples.jpeg(71), "image/jpeg"))])
    assert bad_time.status_code == 422
    assert 'id="posted_at-error">The post time “soon” is not a date and time' in bad_time.text
    assert 'value="https://x.com/a/status/1"' in bad_time.text
    not_a_picture = client.post("/intake", data={"csrf_token": token},
                                files=[("files", ("notes.txt", b"plain words", "image/jpeg"))])
    assert not_a_picture.status_code in (415, 422)
    beside = not_a_picture.text.split('id="files-error">')[1].split("</label>")[0]
    assert "choose the files again" in beside and "notes.txt" in beside
    assert image_count(session) == 0
