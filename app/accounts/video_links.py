"""Accounts linked by a video's frames: once a match worker has sampled a video, each account
that posted it is linked to every other account holding a near-duplicate of one of its frames
(a re-posted, trimmed, letterboxed or re-encoded clip, or a photo of the same scene), and an
account its platform removed makes it re-emerged, as for an uploaded photo (links.py).

Matching samples videos but may not import this domain: every process that samples calls
`install` at start (the app, `cellwatch worker`, `cellwatch serve`'s workers, `jobs run`).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.accounts import links
from app.accounts.models import Account
from app.accounts.service import refresh_priority, touch
from app.audit.service import Actor
from app.evidence.models import EvidenceVideo
from app.matching import sampling


def link_accounts(session: Session, actor: Actor, video_id: int, image_ids: list[int]) -> None:
    owners = sorted({a for a in session.exec(select(EvidenceVideo.account_id).where(
        EvidenceVideo.video_id == video_id, col(EvidenceVideo.account_id).is_not(None),
        col(EvidenceVideo.erased_at).is_(None))) if a is not None})
    for account_id in owners:
        account = session.get(Account, account_id)
        if account is None:
            continue
        if links.link_by_matches(session, actor, account, image_ids):
            touch(session, account)
            refresh_priority(session, account)


def install() -> None:
    """Register the follow-up with matching's sampling, once per process."""
    if link_accounts not in sampling.FOLLOW_UPS:
        sampling.FOLLOW_UPS.append(link_accounts)
