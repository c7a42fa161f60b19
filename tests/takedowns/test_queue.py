"""The queue board: lanes by state, overdue first with live countdowns, filters, claim next."""

import re
from datetime import timedelta

from app.accounts.models import Account
from app.db import utcnow
from app.estate.models import Establishment
from app.takedowns.models import Takedown
from tests.conftest import csrf_from
from tests.takedowns.helpers import fresh, sign_in


def _td(session, account, author, state, target_in_hours=None, **fields):
    now = utcnow()
    td = Takedown(account_id=account.id, platform=account.platform, state=state,
                  reason="Posting from a cell", author_id=author.id,
                  target_due_at=now + timedelta(hours=target_in_hours)
                  if target_in_hours is not None else None, **fields)
    session.add(td)
    session.flush()
    return td


def test_board_lanes_countdowns_overdue_first_and_filters(client, session, world):
    other_est = Establishment(code="LEI", name="Leicester")
    session.add(other_est)
    session.flush()
    tiktok = Account(platform="tiktok", handle="yard_king", establishment_id=other_est.id)
    session.add(tiktok)
    session.flush()
    later = _td(session, world.account, world.analyst, "sent", 5)
    overdue = _td(session, world.account, world.analyst, "sent", -3, overdue=True)
    soon = _td(session, tiktok, world.analyst, "acknowledged", 1)
    waiting = _td(session, tiktok, world.analyst, "awaiting_approval")
    done = _td(session, tiktok, world.analyst, "removed", -50)
    session.commit()

    sign_in(client, world.analyst)
    html = client.get("/takedowns").text
    sent_lane = html[html.index('id="lane-sent"'):html.index('id="lane-acknowledged"')]
    order = [int(i) for i in re.findall(r'href="/takedowns/(\d+)"', sent_lane)]
    assert order == [overdue.id, later.id]  # overdue first
    assert re.search(r'<time datetime="[^"]+\+00:00" data-countdown[^>]*>overdue by 3h', html)
    assert re.search(r'data-countdown[^>]*>due in 4h 59m', html)
    assert '<script src="/static/js/countdown.js" defer></script>' in html
    assert "1</strong> overdue" in html
    assert f'href="/takedowns/{done.id}"' not in html  # resolved ones are counted, not listed
    assert "Removed 1" in html
    assert 'action="/takedowns/bulk-approve"' not in html  # analysts do not approve

    by_platform = client.get("/takedowns?platform=tiktok").text
    assert f'href="/takedowns/{soon.id}"' in by_platform
    assert f'href="/takedowns/{later.id}"' not in by_platform
    by_prison = client.get("/takedowns?establishment=mdi").text
    assert f'href="/takedowns/{later.id}"' in by_prison
    assert f'href="/takedowns/{waiting.id}"' not in by_prison
    removed = client.get("/takedowns?state=removed").text
    assert f'href="/takedowns/{done.id}"' in removed
    assert client.get("/takedowns?establishment=XYZ").status_code == 422
    assert client.get("/takedowns?state=lost").status_code == 422

    js = client.get("/static/js/countdown.js")
    assert js.status_code == 200 and "setInterval" in js.text


def test_claim_next_takes_the_most_urgent_and_release_gives_it_back(client, session, world):
    ordinary = _td(session, world.account, world.sup1, "sent", 10)
    urgent = _td(session, world.account, world.sup1, "sent", -1, overdue=True)
    _td(session, world.account, world.sup1, "draft")  # drafts stay with their authors
    session.commit()
    sign_in(client, world.analyst)
    token = csrf_from(client.get("/takedowns").text)
    first = client.post("/takedowns/claim-next", data={"csrf_token": token},
                        follow_redirects=False)
    assert first.headers["location"] == f"/takedowns/{urgent.id}"
    assert fresh(session, urgent.id).claimed_by == world.analyst.id
    second = client.post("/takedowns/claim-next", data={"csrf_token": token},
                         follow_redirects=False)
    assert second.headers["location"] == f"/takedowns/{ordinary.id}"
    assert fresh(session, urgent.id).version == 1  # a claim is not a decision
    empty = client.post("/takedowns/claim-next", data={"csrf_token": token})
    assert "Nothing is waiting to be claimed." in empty.text

    sign_in(client, world.sup2)  # a supervisor may release anyone's claim
    page = client.get(f"/takedowns/{urgent.id}").text
    assert world.analyst.username in page
    r = client.post(f"/takedowns/{urgent.id}/release", data={"csrf_token": csrf_from(page)},
                    follow_redirects=False)
    assert r.status_code == 303 and fresh(session, urgent.id).claimed_by is None
    api = client.post("/api/v1/takedowns/claim-next", headers={"X-CSRF-Token": csrf_from(page)})
    assert api.json()["takedown"]["id"] == urgent.id


def test_supervisors_claim_approvals_but_not_their_own(session, world):
    from app.takedowns import claims
    from tests.takedowns.conftest import doer

    own = _td(session, world.account, world.sup1, "awaiting_approval")
    theirs = _td(session, world.account, world.analyst, "awaiting_approval")
    assert claims.claim_next(session, doer(world.sup1)).id == theirs.id
    assert claims.claim_next(session, doer(world.sup1)) is None
    assert claims.claim_next(session, doer(world.sup2)).id == own.id
    assert claims.claim_next(session, doer(world.analyst)) is None  # analysts do not approve
