"""Intake through the pages, decisions on matches and attributions (pages and API), a manual
attribution, a photo promoted to the cell library, bulk actions on the queue, a failed second
stage run again and an image withdrawn from its page leave their audit rows (the API's
intake and the first decisions: test_audit_coverage.py)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, func, select

from app.accounts.models import Account, Attribution
from app.db import utcnow
from app.evidence.models import EvidenceImage
from app.matching.models import MatchRun
from tests.accounts.conftest import estate  # noqa: F401  (a fixture)
from tests.audit.rows import ROOM, Row, Walk, account_id, one
from tests.matching import scenes

REASON = "Posted by someone else after all"


def _failed_stage(walk: Walk) -> None:
    """The intake image's second stage failed for good (a worker ran out of attempts)."""
    run = walk.session.get(MatchRun, walk.world["intake_image"])
    run.second_stage_at, run.attempts = None, 3
    run.failed_at, run.error = utcnow() - timedelta(minutes=5), "worker lost"
    walk.session.add(run)
    walk.session.commit()


CHANGES = [
    Row("analyst", "POST", "/intake", "evidence.image.stored", "image", one("intake_image"),
        files=(("intake.jpg", scenes.repost(ROOM, quality=60)),),
        form={"posted_at": "2025-01-21T09:00"}, status=(200,)),
    Row("analyst", "POST", "/accounts/new", "account.intake", "account", one("page_account"),
        files=(("account.jpg", scenes.repost(ROOM, quality=55)),),
        form={"account": "@coverage_page", "platform": "instagram",
              "posted_at": "2025-01-22T09:00", "submission": "walk-submission-1"}),
    # each image's match with the cell's reference photo, decided
    Row("analyst", "POST", "/matches/{intake_match}/reject", "match.reject", "match",
        one("intake_match"), form={}),
    Row("analyst", "POST", "/matches/{match}/confirm", "match.confirm", "match", one("match"),
        form={}),
    Row("analyst", "POST", "/api/v1/matches/{page_match}/reject", "match.reject", "match",
        one("page_match"), json={}),
    Row("supervisor", "POST", "/matches/{match}/promote", "match.promote", "match",
        one("match"), form={}),
    # the confirmed match suggested Adams and Cole (both in the cell on the photo's day)
    Row("analyst", "POST", "/attributions/{attribution}/reject", "attribution.reject",
        "attribution", one("attribution"), form={}),
    Row("analyst", "POST", "/api/v1/attributions/{second_suggestion}/confirm",
        "attribution.confirm", "attribution", one("second_suggestion"), json={}),
    Row("analyst", "POST", "/accounts/{account}/attributions", "attribution.manual",
        "attribution", one("newest_attribution"),
        form={"prison_number": "B2222BB", "reason": "Recognised by wing staff in the photo"}),
    Row("analyst", "POST", "/accounts/bulk", "account.assign", "account",
        lambda w: sorted([w["account"], w["page_account"]]),
        form={"action": "assign", "ids": ["{account}", "{page_account}"],
              "assignee_id": "{other}"}),
    Row("analyst", "POST", "/accounts/bulk", "account.status", "account", one("page_account"),
        form={"action": "close", "ids": ["{page_account}"], "reason": "Not a prisoner's"},
        details={"to": "no_further_action"}),
    Row("supervisor", "POST", "/matching/queue/retry", "match.second_stage_retry", "image",
        one("intake_image"), form={"image_id": "{intake_image}"}, before=_failed_stage),
    Row("supervisor", "POST", "/images/{page_image}/withdraw", "evidence.image.withdrawn",
        "image", one("page_image"), form={"reason": REASON, "confirm": "yes"}, purpose=REASON),
]


def _late(walk: Walk) -> None:
    session, world = walk.session, walk.world
    world["intake_image"] = session.exec(select(EvidenceImage.image_id).where(
        col(EvidenceImage.account_id).is_(None))).first()
    world["page_account"] = account_id(session, "coverage_page")
    world["page_image"] = session.exec(select(EvidenceImage.image_id).where(
        EvidenceImage.account_id == world["page_account"])).first() \
        if world["page_account"] else None
    world.setdefault("intake_match", walk.match_with_reference(world["intake_image"]))
    world.setdefault("page_match", walk.match_with_reference(world["page_image"]))
    suggested = session.exec(select(Attribution.id).where(
        Attribution.account_id == world["account"], Attribution.basis_kind == "cell_match")
        .order_by(col(Attribution.id))).all()
    world["second_suggestion"] = suggested[1] if len(suggested) > 1 else None
    world["newest_attribution"] = session.exec(select(func.max(Attribution.id))).one()
    for key in ("intake_match", "page_match"):  # known only once their image is held
        if world[key] is None:
            del world[key]


def test_intake_decisions_and_queue_actions_leave_their_audit_rows(client, make_user,
                                                                   estate,  # noqa: F811
                                                                   session):
    walk = Walk(client, make_user, estate, session, late=_late)
    problems = walk.run(CHANGES)
    assert problems == [], "\n".join(problems)
    # the changes were made, not only recorded
    session.expire_all()
    closed = session.get(Account, walk.world["page_account"])
    assert (closed.status, closed.assignee_id) == ("no_further_action", walk.world["other"])
    statuses = session.exec(select(Attribution.status).where(
        Attribution.account_id == walk.world["account"]).order_by(col(Attribution.id))).all()
    assert statuses == ["rejected", "confirmed", "confirmed"]
