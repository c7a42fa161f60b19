"""Taking in an account with its images: the evidence path, matching, links, priority.

One request is one transaction: the idempotency key's claim, the intake and the stored answer
commit together when the route returns. So a request that fails leaves no claimed key behind
(a retry with the same key is a fresh attempt, never "still being processed" for ever), and a
key is never answered for an intake that was not stored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
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
    CheckedFile,
    IntakeResult,
    SubmittedFile,
    check_files,
    store_checked,
)
from app.evidence.models import EvidenceImage
from app.matching import service as matching
from app.matching.engine import MatchEngine
from app.settings import Settings


@dataclass
class AccountIntake:
    account: Account
    created: bool
    results: list[IntakeResult]
    linked: int  # account links made by this intake


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


def take_in(session: Session, settings: Settings, engine: MatchEngine, actor: Actor, *,
            parsed: ParsedAccount, files: list[SubmittedFile], notes: str = "",
            checked: list[CheckedFile] | None = None) -> AccountIntake:
    """One account and its images, all or nothing; matching's first stage runs here.
    `checked`: the files already checked (check_files) before the caller's first write."""
    if checked is None:  # the slow part first, before anything is written
        checked = check_files(session, settings, files) if files else []
    account, created = get_or_create(session, actor, parsed)
    if notes.strip():
        account.notes = (account.notes + "\n" + notes.strip()).strip()[:4000]
    results = store_checked(session, settings, actor, checked) if checked else []
    for result in results:
        _attach(session, account, result)
    session.flush()
    image_ids = [r.image.id or 0 for r in results]
    matching.first_stage(session, engine, actor, image_ids)
    made = links.link_by_matches(session, actor, account, image_ids)
    touch(session, account)
    refresh_priority(session, account)
    record(session, actor, "account.intake", object_type="account", object_ids=[account.id or 0],
           details={"created": created, "images": image_ids, "links": len(made)})
    return AccountIntake(account, created, results, len(made))


def take_in_once(session: Session, settings: Settings, engine: MatchEngine, actor: Actor, *,
                 parsed: ParsedAccount, files: list[SubmittedFile], notes: str = "",
                 checked: list[CheckedFile] | None = None) -> AccountIntake:
    """take_in for a request, flushed here: the same account or image submitted at the same
    moment by another request (a unique key lost its race) is a Conflict, which rolls this
    request back whole, key claim included."""
    try:
        outcome = take_in(session, settings, engine, actor, parsed=parsed, files=files,
                          notes=notes, checked=checked)
        session.flush()
    except IntegrityError:
        raise Conflict("The same account or image was submitted at the same moment; "
                       "send it again.") from None
    return outcome


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
