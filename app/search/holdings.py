"""The accounts' side of a dossier: attributions, evidence images, matches, takedowns.

Each loader is one query over a list of ids, so a dossier costs the same number of queries
however many accounts, images or notices a prisoner has; the lists are capped per account.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app.accounts.models import Account, Attribution, AttributionStatus
from app.auth.models import User
from app.estate.models import Cell, Establishment
from app.evidence.models import EvidenceImage, EvidenceVideo, Image, ReferencePhoto, Video
from app.matching.models import Match
from app.search.records import (
    AttributedAccount,
    AttributionBasis,
    EvidenceItem,
    MatchLink,
    NoticeItem,
    TakedownItem,
    VideoItem,
)
from app.takedowns.models import Notice, Takedown

IMAGES_PER_ACCOUNT = 24
MATCH_CAP = 500


def attributed_accounts(session: Session, prisoner_id: int) -> list[AttributedAccount]:
    """Accounts attributed (suggested or confirmed) to the prisoner, confirmed ones first."""
    rows = session.exec(
        select(Attribution, Account).join(Account, col(Account.id) == Attribution.account_id)
        .where(Attribution.prisoner_id == prisoner_id,
               Attribution.status != AttributionStatus.rejected.value)
        .order_by(col(Attribution.created_at).desc(), col(Attribution.id).desc())
    ).all()
    bases: dict[int, list[AttributionBasis]] = defaultdict(list)
    accounts: dict[int, Account] = {}
    for attribution, account in rows:
        accounts[account.id or 0] = account
        bases[account.id or 0].append(AttributionBasis(
            attribution.status, attribution.basis_kind, attribution.basis, attribution.photo_time,
            attribution.time_source, attribution.created_at, attribution.decided_at))
    images, totals = _images(session, accounts.keys())
    clips = _videos(session, accounts.keys())
    found = [
        AttributedAccount(
            account_id, a.platform, a.handle, a.status,
            "confirmed" if any(b.status == "confirmed" for b in bases[account_id])
            else "suggested",
            bases[account_id], images.get(account_id, []), totals.get(account_id, 0),
            clips.get(account_id, []))
        for account_id, a in accounts.items()
    ]
    return sorted(found, key=lambda acc: acc.status != "confirmed")  # stable: newest first


def _images(
    session: Session, account_ids: Collection[int]
) -> tuple[dict[int, list[EvidenceItem]], dict[int, int]]:
    """The newest images of each account with their matches, and each account's total."""
    if not account_ids:
        return {}, {}
    rank = func.row_number().over(
        partition_by=col(EvidenceImage.account_id),
        order_by=(col(EvidenceImage.submitted_at).desc(), col(EvidenceImage.id).desc()),
    ).label("rank")
    ranked = (select(EvidenceImage.id, rank)
              .where(col(EvidenceImage.account_id).in_(account_ids)).subquery())
    rows = session.exec(
        select(EvidenceImage, Image.erased_at, Image.withdrawn_by, Image.withdrawal_reason)
        .join(ranked, ranked.c.id == EvidenceImage.id)
        .join(Image, col(Image.id) == EvidenceImage.image_id)
        .where(ranked.c.rank <= IMAGES_PER_ACCOUNT)
        .order_by(col(EvidenceImage.submitted_at).desc(), col(EvidenceImage.id).desc())
    ).all()
    totals = dict(session.exec(
        select(EvidenceImage.account_id, func.count())
        .where(col(EvidenceImage.account_id).in_(account_ids))
        .group_by(col(EvidenceImage.account_id))
    ).all())
    links = _matches(session, {e.image_id for e, *_ in rows})
    by_ids = {by for _, _, by, _ in rows if by is not None}
    names = {u.id: u.display_name or u.username for u in session.exec(
        select(User).where(col(User.id).in_(by_ids))).all()} if by_ids else {}
    by_account: dict[int, list[EvidenceItem]] = defaultdict(list)
    for evidence, erased_at, by, reason in rows:
        by_account[evidence.account_id or 0].append(EvidenceItem(
            evidence.id or 0, evidence.image_id, evidence.post_url, evidence.posted_at,
            evidence.submitted_at, erased_at is not None, links.get(evidence.image_id, []),
            erased_at, names.get(by, "system") if by else "", reason))
    return dict(by_account), {k or 0: int(v) for k, v in totals.items()}


def _videos(session: Session, account_ids: Collection[int]) -> dict[int, list[VideoItem]]:
    """Each account's videos, newest first (their matched frames are among its images)."""
    if not account_ids:
        return {}
    out: dict[int, list[VideoItem]] = defaultdict(list)
    for post, video in session.exec(
            select(EvidenceVideo, Video).join(Video, col(Video.id) == EvidenceVideo.video_id)
            .where(col(EvidenceVideo.account_id).in_(account_ids))
            .order_by(col(EvidenceVideo.submitted_at).desc(), col(EvidenceVideo.id).desc())):
        out[post.account_id or 0].append(VideoItem(
            video.id or 0, post.post_url, post.posted_at, post.submitted_at, video.duration,
            video.state, video.frames, video.erased_at is not None))
    return dict(out)


def _matches(session: Session, image_ids: set[int]) -> dict[int, list[MatchLink]]:
    """Matches (not rejected) from or to these images, closest first, keyed by our image."""
    if not image_ids:
        return {}
    rows = session.exec(
        select(Match).where(
            or_(col(Match.query_image_id).in_(image_ids),
                col(Match.candidate_image_id).in_(image_ids)),
            Match.status != "rejected")
        .order_by(col(Match.distance), col(Match.id)).limit(MATCH_CAP)
    ).all()
    pairs = [(m, ours, other) for m in rows
             for ours, other in ((m.query_image_id, m.candidate_image_id),
                                 (m.candidate_image_id, m.query_image_id))
             if ours in image_ids]
    described = _describe(session, {other for _, _, other in pairs})
    links: dict[int, list[MatchLink]] = defaultdict(list)
    for m, ours, other in pairs:
        links[ours].append(MatchLink(m.id or 0, other, m.method, m.distance, m.status,
                                     described.get(other, [])))
    return dict(links)


def _describe(session: Session, image_ids: set[int]) -> dict[int, list[str]]:
    """What each image is: a current reference photo of a cell, or evidence from an account."""
    if not image_ids:
        return {}
    found: dict[int, list[str]] = defaultdict(list)
    cells = session.exec(
        select(ReferencePhoto.image_id, Establishment.code, Cell.label)
        .join(Cell, col(Cell.id) == ReferencePhoto.cell_id)
        .join(Establishment, col(Establishment.id) == Cell.establishment_id)
        .where(col(ReferencePhoto.image_id).in_(image_ids),
               col(ReferencePhoto.removed_at).is_(None))
    ).all()
    for image_id, code, label in cells:
        found[image_id].append(f"reference photo of {code} {label}")
    posted = session.exec(
        select(EvidenceImage.image_id, Account.platform, Account.handle)
        .join(Account, col(Account.id) == EvidenceImage.account_id)
        .where(col(EvidenceImage.image_id).in_(image_ids))
    ).all()
    for image_id, platform, handle in posted:
        found[image_id].append(f"posted by {platform} {handle}")
    return dict(found)


def takedowns(session: Session, accounts: list[AttributedAccount]) -> list[TakedownItem]:
    """Takedowns of these accounts with their notices, newest first."""
    handles = {a.account_id: a.handle for a in accounts}
    if not handles:
        return []
    rows = session.exec(
        select(Takedown).where(col(Takedown.account_id).in_(handles))
        .order_by(col(Takedown.created_at).desc(), col(Takedown.id).desc())
    ).all()
    notices: dict[int, list[NoticeItem]] = defaultdict(list)
    if rows:
        for n in session.exec(
            select(Notice).where(col(Notice.takedown_id).in_([t.id for t in rows]))
            .order_by(col(Notice.number))
        ).all():
            notices[n.takedown_id].append(NoticeItem(n.number, n.channel, n.delivery, n.sent_at,
                                                        n.submitted_at))
    return [
        TakedownItem(t.id or 0, t.account_id, t.platform, handles[t.account_id], t.state,
                     t.notices_sent, t.created_at, t.first_sent_at, t.acknowledged_at,
                     t.resolved_at, t.platform_reference, t.refusal_reason,
                     notices.get(t.id or 0, []))
        for t in rows
    ]
