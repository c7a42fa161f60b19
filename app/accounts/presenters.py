"""What the account page and the triage queue show, on pages and in the API (queries and
shaping, no HTTP)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import or_
from sqlmodel import Session, col, select

from app.accounts import attribution, links
from app.accounts.intake import Intake
from app.accounts.models import Account, AccountStatus, Attribution, AttributionStatus
from app.accounts.platforms import display_name_of, profile_url_of
from app.accounts.priority import explain
from app.accounts.service import images_of
from app.audit.service import EventFilter, list_events
from app.auth.models import User
from app.db import utcnow
from app.estate.models import Establishment
from app.evidence.intake import IntakeResult
from app.evidence.models import EvidenceVideo, Image, Video, VideoFrame
from app.evidence.presenters import evidence_facts, image_facts, result_facts, thumb_size
from app.evidence.video_presenters import clock, video_result_facts
from app.evidence.withdrawal import withdrawal_of
from app.matching import service as matching
from app.matching.models import Match
from app.matching.presenters import candidates_json, describe_ranked
from app.matching.previews import facts_with_preview
from app.matching.queue import stage_of
from app.matching.video_presenters import frame_of
from app.web.numbers import whole_number
from app.web.paging import Page, page_of

CLOSED_STATUSES = [AccountStatus.removed.value, AccountStatus.no_further_action.value]
OPEN_STATUSES = [s.value for s in AccountStatus if s.value not in CLOSED_STATUSES]
STATUS_LABELS = {s.value: s.value.replace("_", " ") for s in AccountStatus}
PAGE = 50
IMAGES_SHOWN = 24


@dataclass(frozen=True)
class QueueFilter:
    establishment: str = ""
    platform: str = ""
    status: str = ""
    assignee: str = ""  # user id, "none", or "" for anyone
    suggested: bool = False  # only accounts with an attribution suggestion to decide


def queue(session: Session, flt: QueueFilter, me: int, number: int = 1,
          request: Request | None = None) -> Page[dict[str, Any]]:
    """One page of the queue, highest priority first; not counted (`more` says if a next
    page exists), as counting every open account would cost more than the page itself."""
    query = (select(Account, User.username, Establishment.code)
             .outerjoin(User, col(User.id) == col(Account.assignee_id))
             .outerjoin(Establishment, col(Establishment.id) == col(Account.establishment_id)))
    conditions = []
    if flt.status:
        conditions.append(col(Account.status) == flt.status)
    else:
        # "not closed" selects the same rows as "in OPEN_STATUSES" (statuses are the enum), but
        # SQLite, which has no statistics, then walks ix_account_priority in queue order and
        # stops after a page instead of sorting every open account (bench/national_scale.py:
        # 43 ms -> 0.2 ms with 35,000 open accounts)
        conditions.append(col(Account.status).not_in(CLOSED_STATUSES))
    if flt.platform:
        conditions.append(col(Account.platform) == flt.platform)
    if flt.establishment:
        est = session.exec(select(Establishment.id).where(
            Establishment.code == flt.establishment.upper())).first()
        conditions.append(col(Account.establishment_id) == (est or -1))
    if flt.suggested:  # by the attribution (status, decided_at) index
        conditions.append(col(Account.id).in_(select(Attribution.account_id).where(
            col(Attribution.status) == AttributionStatus.suggested.value)))
    if flt.assignee == "none":
        conditions.append(col(Account.assignee_id).is_(None))
    elif flt.assignee == "me":
        conditions.append(col(Account.assignee_id) == me)
    elif (assignee := whole_number(flt.assignee)) is not None:
        conditions.append(col(Account.assignee_id) == assignee)
    rows = session.exec(query.where(*conditions)
                        .order_by(col(Account.priority).desc(), col(Account.id).desc())
                        .offset((number - 1) * PAGE).limit(PAGE + 1)).all()
    items = [{"account": a, "assignee": u, "establishment": e,
              "platform": display_name_of(a.platform),
              "factors": explain(json.loads(a.priority_factors or "{}"))}
             for a, u, e in rows]
    return page_of(items, number, PAGE, request)


def queue_json(page: Page[dict[str, Any]]) -> dict[str, Any]:
    return {"page": page.number, "more": page.more, "accounts": [{
        "id": i["account"].id, "platform": i["account"].platform,
        "handle": i["account"].handle, "status": i["account"].status,
        "priority": i["account"].priority, "factors": i["factors"],
        "assignee": i["assignee"], "establishment": i["establishment"]} for i in page.items]}


def assignable(session: Session) -> list[User]:
    return list(session.exec(select(User).where(col(User.is_active),
                                                col(User.role).in_(["analyst", "supervisor"]))
                             .order_by(col(User.username))).all())


def resting_on_withdrawn(session: Session, attributions: list[Attribution]) -> set[int]:
    """Ids of the attributions whose match involves a withdrawn image: kept as they are (an
    analyst decides), and shown as resting on a withdrawn image."""
    by_match = {a.match_id: a.id for a in attributions if a.match_id is not None}
    if not by_match:
        return set()
    withdrawn = set(session.exec(
        select(Match.id).join(Image, or_(col(Image.id) == col(Match.query_image_id),
                                         col(Image.id) == col(Match.candidate_image_id)))
        .where(col(Match.id).in_(list(by_match)), col(Image.erased_at).is_not(None))).all())
    return {i for m in withdrawn if (i := by_match.get(m)) is not None}


def videos_of(session: Session, account_id: int, tz: str) -> list[dict[str, Any]]:
    """The account's videos, newest first: each as pages show it, with its post."""
    rows = session.exec(select(EvidenceVideo, Video).join(
        Video, col(Video.id) == EvidenceVideo.video_id).where(
        EvidenceVideo.account_id == account_id)
        .order_by(col(EvidenceVideo.submitted_at).desc())).all()
    shown = facts_with_preview(session, [video for _, video in rows], tz)
    return [{**facts, "evidence": evidence_facts(evidence, tz)}  # type: ignore[arg-type]
            for facts, (evidence, _) in zip(shown, rows, strict=True)]


def account_page(session: Session, account: Account, tz: str) -> dict[str, Any]:
    held = images_of(session, account.id or 0)
    # its videos' sampled frames are held as its images too: counted apart from its photos
    frames_held = set(session.exec(select(VideoFrame.image_id).where(
        col(VideoFrame.image_id).in_([i.id for _, i in held] or [0]))).all())
    photos = sum(1 for _, i in held if i.id not in frames_held)
    images = []
    for evidence, image in held:
        if len(images) >= IMAGES_SHOWN:
            break
        candidates = describe_ranked(session, image.id or 0, tz)
        stage = stage_of(session, matching.run_for(session, image.id or 0), utcnow())
        frame = frame_of(session, image.id or 0)
        if frame is not None and not candidates and not stage.waiting:
            continue  # a frame that matched nothing: on its video's page, not here
        images.append({"image": image_facts(image, tz), "evidence": evidence_facts(evidence, tz),
                       "thumb": thumb_size(image), "candidates": candidates, "stage": stage,
                       "withdrawal": withdrawal_of(session, image, tz),
                       "frame": None if frame is None else {
                           "video_id": frame[1].id, "at": clock(frame[0].t)}})
    attributions = attribution.for_account(session, account.id or 0)
    events = list_events(session, EventFilter(object_type="account",
                                              object_id=str(account.id)), limit=200)
    est = session.get(Establishment, account.establishment_id) \
        if account.establishment_id else None
    assignee = session.get(User, account.assignee_id) if account.assignee_id else None
    return {
        "account": account, "platform": display_name_of(account.platform),
        "profile_url": profile_url_of(account.platform, account.handle),
        "establishment": est, "assignee": assignee,
        "factors": explain(json.loads(account.priority_factors or "{}")),
        "images": images, "image_total": photos, "frames_held": len(frames_held),
        "photos_shown": sum(1 for i in images if i["frame"] is None),
        "videos": videos_of(session, account.id or 0, tz),
        "links": links.links_of(session, account.id or 0),
        "attributions": attributions, "timeline": events,
        "withdrawn_basis": resting_on_withdrawn(session, [a for a, _ in attributions]),
        "earlier": session.get(Account, account.re_emerged_from_id)
        if account.re_emerged_from_id else None,
        "status_label": STATUS_LABELS.get(account.status, account.status),
    }


def account_json(account: Account, context: dict[str, Any]) -> dict[str, Any]:
    """The API's account: `context` is account_page's."""
    return {
        "id": account.id, "platform": account.platform, "handle": account.handle,
        "profile_url": context["profile_url"], "status": account.status,
        "priority": account.priority, "factors": context["factors"],
        "version": account.version, "re_emerged_from": account.re_emerged_from_id,
        "images": [{"image_id": i["image"]["image_id"], "post_url": i["evidence"]["post_url"],
                    "evidence_id": i["evidence"]["evidence_id"],  # what a takedown names
                    "candidates": list(dict.fromkeys(p["match"].id for c in i["candidates"]
                                                     for p in c["photos"])),
                    "ranked": [{"kind": c["kind"], "cell": c["cell"], "match_id": c["match"].id,
                                "match_ids": [p["match"].id for p in c["photos"]],
                                "decision": c["status"]} for c in i["candidates"]]}
                   for i in context["images"]],
        "links": [{"account_id": other.id, "kind": link.kind, "match_id": link.match_id}
                  for link, other in context["links"]],
        "attributions": [{"id": a.id, "prison_number": p.prison_number, "status": a.status,
                          "basis": a.basis, "time_source": a.time_source,
                          "basis_image_withdrawn": a.id in context["withdrawn_basis"]}
                         for a, p in context["attributions"]],
    }


def images_json(session: Session, results: list[IntakeResult], tz: str) -> list[dict[str, Any]]:
    """Each image of an intake with its ranked candidates: the image part of both intake
    answers (`POST /api/v1/images` and `POST /api/v1/accounts`), schemas.IntakeImage."""
    return [{**result_facts(r, tz), **candidates_json(session, r.image.id or 0, tz)}
            for r in results]


def intake_json(session: Session, outcome: Intake, tz: str) -> dict[str, Any]:
    """The answer to an account intake (stored with its idempotency key, replayed as is)."""
    account = outcome.account
    assert account is not None
    return {
        "account": {"id": account.id, "platform": account.platform, "handle": account.handle,
                    "status": account.status, "url": f"/accounts/{account.id}"},
        "created": outcome.created, "links": outcome.linked,
        "images": images_json(session, outcome.results, tz),
        "videos": [video_result_facts(v, tz) for v in outcome.videos],
    }
