"""The review queue: priority order, filters and pages in the URL, decisions taken in place.

Rows are written directly (no pictures are decoded): the queue only reads matches, images,
reference photos and who took the images in.
"""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import count

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.db import utcnow
from app.estate.models import Cell, Establishment
from app.evidence.models import EvidenceImage, Image, ReferencePhoto
from app.matching.models import Match
from tests.conftest import page_csrf

_serial = count(1)


def _image(session, by=None):
    n = next(_serial)
    image = Image(sha256=f"{n:064x}", format="jpeg", byte_size=1000, width=800, height=600,
                  storage_key=f"review-{n}", wrapped_key=b"k", phash=n, phash_mirror=n,
                  phash_trim=n, dhash=n, created_by=by)
    session.add(image)
    session.flush()
    if by is not None:
        session.add(EvidenceImage(image_id=image.id, submitted_by=by))
    return image


def _cell(session, code, label):
    est = session.exec(select(Establishment).where(Establishment.code == code)).first()
    if est is None:
        est = Establishment(code=code, name=f"Prison {code}")
        session.add(est)
        session.flush()
    cell = Cell(establishment_id=est.id, label=label, wing=label[0], landing="1")
    session.add(cell)
    session.flush()
    photo = _image(session)
    session.add(ReferencePhoto(image_id=photo.id, cell_id=cell.id))
    return photo


def _match(session, query, other, method="phash", distance=0, inliers=None, days_ago=0.0):
    m = Match(query_image_id=query.id, candidate_image_id=other.id, method=method,
              distance=distance, inliers=inliers,
              created_at=utcnow() - timedelta(days=days_ago))
    session.add(m)
    session.flush()
    return m


def _order(html):
    return [int(i) for i in re.findall(r'<li class="review-item[^"]*" id="review-(\d+)"', html)]


@pytest.fixture
def queue(session, make_user):
    """Five pending items: three cells at MDI, one at LEI, one image-to-image pair."""
    ana, bob = make_user("analyst"), make_user("analyst")
    held = _image(session, ana.id)
    close_old = _match(session, _image(session, ana.id), _cell(session, "MDI", "A-1-001"),
                       distance=2, days_ago=3)
    same_new = _match(session, _image(session, bob.id), _cell(session, "MDI", "A-1-002"),
                      distance=0, days_ago=0.1)
    strong = _match(session, _image(session, bob.id), _cell(session, "LEI", "B-1-001"),
                    method="features", distance=14, inliers=50, days_ago=10)
    possible = _match(session, _image(session, ana.id), _cell(session, "MDI", "C-1-001"),
                      method="features", distance=39, inliers=25, days_ago=20)
    pair = _match(session, _image(session, ana.id), held, distance=0, days_ago=30)
    session.commit()
    return {"ana": ana, "bob": bob, "order": [close_old, same_new, strong, possible, pair]}


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_the_queue_is_in_priority_order_and_says_why(as_role, queue):
    client, _ = as_role("analyst")
    page = client.get("/review")
    assert page.status_code == 200
    # cells first; within them the stronger confidence; within a level the oldest first;
    # the image-to-image pair last though it is the oldest and an identical copy
    assert _order(page.text) == [m.id for m in queue["order"]]
    assert "cell candidates before other held images, stronger confidence first" in page.text
    assert "Near-identical copy" in page.text and "Same picture: identical copy" in page.text
    assert "Strong: 50 matching points agree" in page.text
    assert "Possible: 25 matching points agree; check the details" in page.text
    assert "score 50 of 192" in page.text  # the number stays, as detail
    assert "2 of 64 bits of the perceptual hash differ" in page.text


@pytest.mark.parametrize(("query", "expected"), [
    ("method=features", [2, 3]),
    ("method=near", [0, 1, 4]),
    ("kind=image", [4]),
    ("kind=cell&method=near", [0, 1]),
    ("establishment=lei", [2]),
    ("age=day", [1]),
    ("age=week", [0, 1]),
    ("age=older", [2, 3, 4]),
])
def test_filters_in_the_url(as_role, queue, query, expected):
    client, _ = as_role("analyst")
    page = client.get(f"/review?{query}")
    assert page.status_code == 200
    assert _order(page.text) == [queue["order"][i].id for i in expected]
    assert "Clear the filters" in page.text


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_filter_by_who_took_the_image_in(as_role, queue):
    client, _ = as_role("analyst")
    page = client.get(f"/review?submitted_by={queue['bob'].id}")
    assert _order(page.text) == [queue["order"][1].id, queue["order"][2].id]
    assert f'<option value="{queue["bob"].id}" selected>{queue["bob"].username}</option>' \
        in page.text


def test_a_bad_filter_is_refused_with_a_message(as_role, queue):
    client, _ = as_role("analyst")
    for query in ("method=magic", "age=ancient", "submitted_by=bob", "page=0",
                  "establishment=../x"):
        page = client.get(f"/review?{query}")
        assert page.status_code == 422, query
        assert "Cannot accept this" in page.text


def test_pages_through_the_url_keep_the_filters(as_role, session, make_user):
    client, _ = as_role("analyst")
    ana = make_user("analyst")
    made = [_match(session, _image(session, ana.id), _image(session), distance=1,
                   days_ago=25 - i) for i in range(25)]
    session.commit()
    first = client.get("/review?method=near")
    assert _order(first.text) == [m.id for m in made[:20]]  # oldest first in one level
    assert "25 waiting · Page 1 of 2" in first.text
    assert 'href="?method=near&amp;page=2"' in first.text
    second = client.get("/review?method=near&page=2")
    assert _order(second.text) == [m.id for m in made[20:]]
    assert "Page 2 of 2" in second.text and 'rel="prev"' in second.text
    beyond = client.get("/review?page=9")
    assert beyond.status_code == 200 and "No page 9: the queue has 2 pages" in beyond.text


def test_viewing_the_queue_is_audited(as_role, queue, session):
    client, user = as_role("analyst")
    client.get("/review?kind=image")
    [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "match.queue.viewed",
                                                    AuditEvent.actor_id == user.id)).all()
    assert event.object_ids == f'["{queue["order"][4].id}"]'
    assert '"kind": "image"' in event.details


def _decide(client, match, verb, **extra):
    data = {"csrf_token": page_csrf(client, "/review"), "return_to": "/review?kind=cell",
            "in_place": "review", **extra}
    return client.post(f"/matches/{match.id}/{verb}", data=data,
                       headers={"HX-Request": "true"}, follow_redirects=False)


@pytest.mark.parametrize("verb", ["confirm", "reject"])
def test_a_decision_in_place_answers_with_the_item_decided_and_is_audited(
        as_role, queue, session, verb):
    client, user = as_role("analyst")
    match = queue["order"][0]
    r = _decide(client, match, verb)
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<li class="review-item status-')  # a fragment
    assert f'id="review-{match.id}"' in r.text and "<html" not in r.text
    word = "confirmed" if verb == "confirm" else "rejected"
    assert f'<span class="badge badge-{word}">{word}</span>' in r.text
    assert "data-action=\"confirm\"" not in r.text  # nothing left to press twice
    assert f'src="/images/{match.query_image_id}/display"' in r.text  # same pictures
    session.refresh(match)
    assert match.status == word and match.reviewed_by == user.id
    events = session.exec(select(AuditEvent).where(AuditEvent.action == f"match.{verb}")).all()
    assert [e.object_ids for e in events] == [f'["{match.id}"]']
    # the queue no longer lists it, and a second decision is refused in words
    assert match.id not in _order(client.get("/review").text)
    again = _decide(client, match, verb)
    assert again.status_code == 409 and "flash-error" in again.text


def test_without_htmx_a_decision_returns_to_the_filtered_queue(as_role, queue):
    client, _ = as_role("analyst")
    match = queue["order"][1]
    r = client.post(f"/matches/{match.id}/confirm",
                    data={"csrf_token": page_csrf(client, "/review"),
                          "return_to": "/review?kind=cell&page=1"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/review?kind=cell&page=1"
    other = queue["order"][2]
    r = client.post(f"/matches/{other.id}/confirm",
                    data={"csrf_token": page_csrf(client, "/review"),
                          "return_to": "//elsewhere.example/review"}, follow_redirects=False)
    assert r.headers["location"] == f"/images/{other.query_image_id}"  # never off the site


def test_the_keyboard_shortcuts_are_listed(as_role, queue):
    client, _ = as_role("analyst")
    page = client.get("/review").text
    assert '<dialog id="review-help"' in page and "Keyboard shortcuts (?)" in page
    for keys, what in [("j or ↓", "next match"), ("k or ↑", "previous match"),
                       ("c", "confirm the current match"), ("r", "reject the current match"),
                       ("z", "zoom: the two pictures large, agreeing points drawn"),
                       ("?", "show or hide this list")]:
        assert f"<dt><kbd>{keys}</kbd></dt><dd>{what}</dd>" in page
    assert '<script src="/static/js/review.js" defer></script>' in page
    script = client.get("/static/js/review.js")
    assert script.status_code == 200 and "typing(event.target)" in script.text


def test_other_roles_cannot_open_the_queue(as_role, queue):
    for role in ("admin", "auditor"):
        client, _ = as_role(role)
        assert client.get("/review").status_code == 403, role
        assert client.get(f"/matches/{queue['order'][0].id}").status_code == 403, role


def test_a_frame_set_candidate_is_a_weak_same_scene_item(as_role, session, queue):
    # a clip's frames together (app/matching/frame_sets.py): the best frame's score, under 20
    frames = _match(session, _image(session, queue["ana"].id), _cell(session, "MDI", "D-1-001"),
                    method="frame_set", distance=64 - 15, inliers=15, days_ago=1)
    session.commit()
    client, _ = as_role("analyst")
    page = client.get("/review")
    # a cell candidate, after the stronger ones (the feature matches' 50 and 25 points)
    assert _order(page.text) == [m.id for m in queue["order"][:4]] + [frames.id,
                                                                      queue["order"][4].id]
    assert "several frames of the clip agree a little with this photo" in page.text
    assert "score 15" in page.text and "bits apart" not in page.text.split(
        f'id="review-{frames.id}"')[1].split("</li>")[0]
    same_scene = client.get("/review?method=features")
    assert _order(same_scene.text) == [queue["order"][2].id, queue["order"][3].id, frames.id]
    assert frames.id not in _order(client.get("/review?method=near").text)
