"""The home page says what needs doing now, per role, each a count linking to its list."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import Session

from app.accounts.models import Account, Attribution
from app.cellsearch.models import CellSearch
from app.db import utcnow
from app.estate.models import Establishment
from app.evidence.models import Video, VideoFrame
from app.matching.models import Match, MatchRun
from app.takedowns.models import Takedown
from tests.search.conftest import add_cell, add_image, add_prisoner

_FIGURE = re.compile(r'<a class="figure[^"]*" href="([^"]+)"><span class="figure-count">(\d+)'
                     r'</span> <span class="figure-label">([^<]+)</span>')
_TODAY = re.compile(r'<span class="figure"><span class="figure-count">(\d+)</span> '
                    r'<span class="figure-label">([^<]+)</span>')


def figures(html: str) -> dict[str, tuple[int, str]]:
    """label -> (count, link) of each "needs doing now" figure."""
    return {label.replace("&#39;", "'"): (int(n), href.replace("&amp;", "&"))
            for href, n, label in _FIGURE.findall(html)}


def build(session: Session, me: int, other: int) -> None:
    """Two of each thing to do, one of them not for `me` where that matters."""
    est = Establishment(code="MDI", name="HMP Moorland")
    session.add(est)
    session.flush()
    cell = add_cell(session, est, "A-1-001")
    prisoner = add_prisoner(session, "A1234BC", "Smith", "John")
    a, b, closed = (Account(platform="x", handle=h, assignee_id=me, status=s)
                    for h, s in (("acct_alpha", "new"), ("acct_beta", "under_review"),
                                         ("acct_gone", "removed")))
    session.add_all([a, b, closed])
    session.flush()
    images = [add_image(session) for _ in range(4)]
    # a video taken in today and sampled: its two frames are images, counted as the video
    video = Video(sha256="f" * 64, container="mp4", codec="h264", width=96, height=64,
                  byte_size=4000, storage_key="home-video", wrapped_key=b"k",
                  sampled_at=utcnow(), frames=2)
    session.add(video)
    session.flush()
    session.add_all([VideoFrame(video_id=video.id, image_id=add_image(session).id, t=t,
                                reason="second") for t in (0.0, 1.0)])
    session.add(Video(sha256="e" * 64, container="mp4", codec="h264", width=96, height=64,
                      byte_size=4000, storage_key="home-failed", wrapped_key=b"k",
                      failed_at=utcnow(), attempts=3, error="damaged"))  # failed for good
    session.add_all([
        Match(query_image_id=images[0].id, candidate_image_id=images[1].id, method="phash",
              distance=2),
        Match(query_image_id=images[2].id, candidate_image_id=images[1].id, method="phash",
              distance=3),
        Match(query_image_id=images[3].id, candidate_image_id=images[1].id, method="phash",
              distance=3, status="confirmed"),
        Attribution(account_id=a.id, prisoner_id=prisoner.id, status="suggested",
                    basis_kind="cell_match", basis="b", cell_id=cell.id),
        Attribution(account_id=b.id, prisoner_id=prisoner.id, status="confirmed",
                    basis_kind="cell_match", basis="b", cell_id=cell.id, decided_at=utcnow()),
        # approval: one drafted by someone else (mine to approve), one by me (not mine)
        Takedown(account_id=a.id, platform="x", state="awaiting_approval", reason="r",
                 author_id=other),
        Takedown(account_id=a.id, platform="x", state="awaiting_approval", reason="r",
                 author_id=me),
        # overdue: target passed while waiting on the platform; one still in time
        Takedown(account_id=b.id, platform="x", state="sent", reason="r", author_id=other,
                 target_due_at=utcnow() - timedelta(hours=1)),
        Takedown(account_id=b.id, platform="x", state="acknowledged", reason="r",
                 author_id=other, target_due_at=utcnow() + timedelta(hours=1)),
        CellSearch(establishment_id=est.id, cell_id=cell.id, reason="r", state="requested",
                   requested_by=other),
        CellSearch(establishment_id=est.id, cell_id=cell.id, reason="r", state="completed",
                   requested_by=other),
        MatchRun(image_id=images[0].id, failed_at=utcnow(), error="boom", attempts=3),
        MatchRun(image_id=images[1].id, second_stage_at=utcnow()),
    ])
    session.commit()


def test_a_supervisor_sees_each_thing_to_do_counted_and_linked(as_role, make_user, session):
    client, me = as_role("supervisor")
    build(session, me.id or 0, make_user("supervisor").id or 0)
    page = client.get("/")
    assert page.status_code == 200
    found = figures(page.text)
    assert found == {
        "Matches to review": (2, "/review"),
        "Attribution suggestions to confirm": (1, "/accounts?status=open&attribution=suggested"),
        "Open accounts assigned to me": (2, "/accounts?status=open&assignee=me"),
        "Takedowns awaiting my approval": (1, "/takedowns?state=awaiting_approval"),
        "Takedowns overdue at the platform": (1, "/takedowns"),
        "Cell searches awaiting the prison": (1, "/searches?state=requested"),
        "Cell searches acknowledged, outcome awaited": (0, "/searches?state=acknowledged"),
        "Failed matching jobs": (2, "/matching/queue"),  # a second stage and a video
        "Access proposals for me to decide": (0, "/grants"),
    }
    for _, href in found.values():  # every count opens its list
        assert client.get(href).status_code == 200, href
    today = dict((label, int(n)) for n, label in _TODAY.findall(page.text))
    assert today["Accounts taken in"] == 3 and today["Images taken in"] == 4
    assert today["Videos taken in"] == 2  # its own figure, the frames not among the images
    assert today["Attributions confirmed"] == 1
    # the linked lists show the same rows as the counts
    mine = client.get("/accounts?status=open&assignee=me").text
    assert "acct_alpha" in mine and "acct_beta" in mine and "acct_gone" not in mine
    suggested = client.get("/accounts?status=open&attribution=suggested").text
    assert "acct_alpha" in suggested and "acct_beta" not in suggested


def test_each_role_sees_only_what_it_may(as_role, make_user, session):
    client, me = as_role("analyst")
    build(session, me.id or 0, make_user("supervisor").id or 0)
    labels = set(figures(client.get("/").text))
    assert "Matches to review" in labels and "Open accounts assigned to me" in labels
    assert "Takedowns awaiting my approval" not in labels  # analysts do not approve
    assert "Failed matching jobs" not in labels  # the queue is the supervisors'
    client.post("/logout", data={"csrf_token": re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)})
    auditor, _ = as_role("auditor")
    page = auditor.get("/").text
    assert figures(page) == {}  # no casework for an auditor
    assert "Accounts taken in" in page  # but today's aggregate figures
    auditor.post("/logout", data={"csrf_token": re.search(
        r'name="csrf_token" value="([^"]+)"', page).group(1)})
    admin, _ = as_role("admin")
    page = admin.get("/").text
    # no casework; only proposals to grant admin that another admin made
    assert figures(page) == {"Access proposals for me to decide": (0, "/grants")}
    assert "Accounts taken in" not in page
    assert 'href="/admin/users"' in page


def test_the_queue_takes_the_open_status_it_offers(as_role):
    client, _ = as_role("analyst")
    page = client.get("/accounts?status=open")
    assert page.status_code == 200
    assert '<option value="open">open</option>' in page.text
    bad = client.get("/accounts?status=shut")
    assert bad.status_code == 422 and "choose open or one of" in bad.text
