"""One intake path: every route that takes images in (`POST /api/v1/images`, `POST
/api/v1/accounts`, the intake form and the new-account form) calls `take_in`, with or without
an account, and gets one result back.

The path: every file is checked, decoded once, hashed and featured before the first write
(no lock is held through the slow work); then the idempotency key's claim, the account, the
images and their posts, matching's first stage, and (for an account) its links, priority and
audit event. One request is one transaction: the key's claim, the intake and the stored answer
commit together when the route returns. So a request that fails leaves no claimed key behind
(a retry with the same key is a fresh attempt, never "still being processed" for ever), and a
key is never answered for an intake that was not stored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts import links
from app.accounts.handles import ParsedAccount
from app.accounts.models import Account, IdempotencyKey
from app.accounts.service import get_or_create, refresh_priority, touch
from app.audit.service import Actor, record
from app.errors import Conflict, Unprocessable
from app.evidence.intake import (
    IntakeResult,
    SubmittedFile,
    VideoResult,
    check_files,
    store_checked,
    store_videos,
)
from app.evidence.models import EvidenceImage, EvidenceVideo
from app.evidence.videos import link_frames
from app.matching import service as matching
from app.matching.engine import MatchEngine
from app.settings import Settings


@dataclass(frozen=True)
class KeyClaim:
    """An idempotency key for this submission: the same key again replays the first answer."""

    user_id: int
    key: str
    fingerprint: str  # request_fingerprint of what was sent


@dataclass
class Intake:
    """What one intake did: each image in the order sent, and the account if there is one."""

    results: list[IntakeResult] = field(default_factory=list)
    videos: list[VideoResult] = field(default_factory=list)  # each waits to be sampled
    frame_ids: list[int] = field(default_factory=list)  # frames of videos sampled already
    account: Account | None = None
    created: bool = False  # the account is new
    linked: int = 0  # account links made by this intake
    replay: IdempotencyKey | None = None  # the key was used before: answer with its response

    @property
    def image_ids(self) -> list[int]:
        return [r.image.id or 0 for r in self.results]

    @property
    def video_ids(self) -> list[int]:
        return [r.video.id or 0 for r in self.videos]

    @property
    def anything_new(self) -> bool:
        return any(r.created or r.new_link for r in [*self.results, *self.videos])


def _attach(session: Session, account: Account, result: IntakeResult) -> EvidenceImage:
    evidence = result.evidence
    if evidence.account_id in (None, account.id):
        evidence.account_id = account.id
        session.add(evidence)
        return evidence
    # the same post's image already held for another account: record it for this one too
    copy = EvidenceImage(image_id=evidence.image_id, account_id=account.id,
                         post_url=evidence.post_url, posted_at=evidence.posted_at,
                         original_filename=evidence.original_filename,
                         submitted_by=evidence.submitted_by)
    session.add(copy)
    return copy


def _attach_video(session: Session, account: Account | None,
                  result: VideoResult) -> list[int]:
    """As _attach, for a video; a video sampled already brings its frames to the post (one
    still waiting: its sampling links them). Returns the frames' image ids."""
    evidence = result.evidence
    if account is not None and evidence.account_id not in (None, account.id):
        evidence = EvidenceVideo(video_id=evidence.video_id, account_id=account.id,
                                 post_url=evidence.post_url, posted_at=evidence.posted_at,
                                 original_filename=evidence.original_filename,
                                 submitted_by=evidence.submitted_by)
    elif account is not None:
        evidence.account_id = account.id
    session.add(evidence)
    session.flush()
    return link_frames(session, evidence)


def take_in(session: Session, settings: Settings, engine: MatchEngine, actor: Actor,
            files: list[SubmittedFile], *, account: ParsedAccount | None = None,
            notes: str = "", key: KeyClaim | None = None) -> Intake:
    """Images, with the account they were captured from or without one, all or nothing;
    matching's first stage runs here (the caller queues the second once it has answered).
    Without an account at least one image is needed. Everything is flushed here, so that the
    same account or image submitted at the same moment by another request (a unique key lost
    its race) is a Conflict, which rolls this request back whole, key claim included."""
    # the slow part first (decoding, hashing, features), before anything is written
    checked = check_files(session, settings, files) if files or account is None else []
    if key is not None:
        earlier = claim_key(session, key.user_id, key.key, key.fingerprint)
        if earlier is not None:
            return Intake(replay=earlier)
    try:
        outcome = Intake()
        if account is not None:
            outcome.account, outcome.created = get_or_create(session, actor, account)
            if notes.strip():
                outcome.account.notes = (outcome.account.notes + "\n"
                                         + notes.strip()).strip()[:4000]
        outcome.results = store_checked(session, settings, actor, checked) if checked else []
        outcome.videos = store_videos(session, settings, actor, checked) if checked else []
        if outcome.account is not None:
            for result in outcome.results:
                _attach(session, outcome.account, result)
        for video in outcome.videos:
            outcome.frame_ids += _attach_video(session, outcome.account, video)
        session.flush()
        matching.first_stage(session, engine, actor, outcome.image_ids)
        if outcome.account is not None:
            outcome.linked = _follow_up(session, actor, outcome)
        session.flush()
    except IntegrityError:
        raise Conflict("Someone sent the same image at the same moment; send it again."
                       if account is None else "The same account or image was submitted at "
                       "the same moment; send it again.") from None
    return outcome


def _follow_up(session: Session, actor: Actor, outcome: Intake) -> int:
    """An account's links by shared images, its priority and the intake's audit event."""
    account = outcome.account
    assert account is not None
    made = links.link_by_matches(session, actor, account,
                                 [*outcome.image_ids, *outcome.frame_ids])
    touch(session, account)
    refresh_priority(session, account)
    record(session, actor, "account.intake", object_type="account", object_ids=[account.id or 0],
           details={"created": outcome.created, "images": outcome.image_ids,
                    "videos": outcome.video_ids, "links": len(made)})
    return len(made)


def request_fingerprint(fields: dict[str, Any], files: list[SubmittedFile]) -> str:
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode())
    for item in files:
        digest.update(hashlib.sha256(item.data).digest())
    return digest.hexdigest()


def claim_key(session: Session, user_id: int, key: str, fingerprint: str) -> IdempotencyKey | None:
    """The stored answer when this key was used before (None: go ahead, the key is ours now)."""
    key = key.strip()
    if not 8 <= len(key) <= 128:
        raise Unprocessable("An Idempotency-Key is 8-128 characters.")
    found = session.exec(select(IdempotencyKey).where(IdempotencyKey.user_id == user_id,
                                                      IdempotencyKey.key == key)).first()
    if found is not None:
        if found.request_hash != fingerprint:
            raise Unprocessable("This Idempotency-Key was used for a different submission.")
        if not found.response:
            raise Conflict("The first submission with this key is still being processed.")
        return found
    try:
        session.add(IdempotencyKey(user_id=user_id, key=key, request_hash=fingerprint))
        session.flush()  # an identical request in flight holds the key: wait for it, then fail
    except IntegrityError:  # ... and this whole request rolls back, with nothing of it kept
        raise Conflict("The first submission with this key is still being processed; "
                       "repeat the request shortly.") from None
    return None


def store_answer(session: Session, user_id: int, key: str, status: int,
                 body: dict[str, Any]) -> None:
    row = session.exec(select(IdempotencyKey).where(IdempotencyKey.user_id == user_id,
                                                    IdempotencyKey.key == key.strip())).one()
    row.status_code = status
    row.response = json.dumps(body, default=str)
    session.add(row)
