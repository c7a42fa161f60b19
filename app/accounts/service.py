"""Accounts: find or create by platform + canonical handle, status, assignment, priority.

Services never commit; every change writes its audit event and moves the account's version on
in the database (`version = version + 1`). A change made from a page names the version it was
read at and goes through the one compare-and-set (app/db.py): of two people acting on the same
version exactly one wins, the other gets a 409 and nothing of theirs is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from app.accounts.handles import ParsedAccount
from app.accounts.models import Account, AccountStatus, Attribution, AttributionStatus
from app.accounts.priority import PriorityInput, factors
from app.audit.service import Actor, record
from app.auth.models import User
from app.db import compare_and_set, utcnow
from app.errors import NotFound, Unprocessable
from app.estate.models import Prisoner
from app.evidence.models import EvidenceImage, EvidenceVideo, Image, VideoFrame

# Statuses that mean someone has acted: the "no action yet" factor no longer applies.
CLOSED = frozenset({AccountStatus.removed.value, AccountStatus.no_further_action.value})
ACTED = frozenset({AccountStatus.takedown_requested, AccountStatus.removed,
                   AccountStatus.no_further_action})


def get_account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"There is no account {account_id}.")
    return account


def find_account(session: Session, platform: str, handle: str) -> Account | None:
    return session.exec(select(Account).where(Account.platform == platform,
                                              Account.handle == handle)).first()


def get_or_create(session: Session, actor: Actor, parsed: ParsedAccount) -> tuple[Account, bool]:
    """One account per platform + canonical handle, however it was pasted."""
    existing = find_account(session, parsed.platform.value, parsed.handle)
    if existing is not None:
        return existing, False
    account = Account(platform=parsed.platform.value, handle=parsed.handle,
                      numeric_id=parsed.numeric_id, created_by=actor.user_id)
    session.add(account)
    session.flush()
    record(session, actor, "account.create", object_type="account", object_ids=[account.id or 0],
           details={"platform": account.platform, "handle": account.handle})
    return account, True


def touch(session: Session, account: Account, expected_version: int | None = None,
          **values: Any) -> None:
    """Write `values` and move the version on, in one UPDATE. With `expected_version` it is
    the compare-and-set: a Conflict if someone changed the account since that version was read;
    without, the version moves on whatever it is (a change that follows from another, such as a
    confirmed attribution). `account` is refreshed to what was stored."""
    values["updated_at"] = utcnow()
    if expected_version is not None:
        compare_and_set(session, account, expected_version, what="account", **values)
        return
    table = Account.__table__  # type: ignore[attr-defined]
    session.execute(update(table).where(table.c.id == account.id)
                    .values(version=table.c.version + 1, **values))
    session.refresh(account)


def refresh_counters(session: Session, account: Account) -> None:
    """`image_count`: the account's photos and videos, a video once (its sampled frames are
    held as its images too, but a 15 s clip is one post, not fifteen: counted as frames it
    would outrank an account with fourteen photos); `newest_post_at` of either."""
    frames = select(VideoFrame.image_id)
    photos, newest_photo = session.exec(
        select(func.count(col(EvidenceImage.id)), func.max(EvidenceImage.posted_at))
        .where(EvidenceImage.account_id == account.id,
               col(EvidenceImage.image_id).not_in(frames))).one()
    clips, newest_clip = session.exec(
        select(func.count(func.distinct(EvidenceVideo.video_id)),
               func.max(EvidenceVideo.posted_at))
        .where(EvidenceVideo.account_id == account.id)).one()
    account.image_count = int(photos or 0) + int(clips or 0)
    dated = [_aware(d) for d in (newest_photo, newest_clip) if d is not None]
    account.newest_post_at = max(dated) if dated else None


def _aware(value: datetime) -> datetime:
    # aggregate results skip the column type
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def refresh_priority(session: Session, account: Account) -> dict[str, int]:
    """Recompute the factors from what is held now (counts, attributions, status)."""
    refresh_counters(session, account)
    flags = session.exec(
        select(Prisoner.victim_contact_restriction, Prisoner.organised_crime_nominal,
               Prisoner.category_a)
        .join(Attribution, col(Attribution.prisoner_id) == col(Prisoner.id))
        .where(Attribution.account_id == account.id,
               Attribution.status == AttributionStatus.confirmed.value)).all()
    points = factors(PriorityInput(
        re_emerged=account.re_emerged_from_id is not None
        or account.status == AccountStatus.re_emerged,
        victim_contact=any(f[0] for f in flags), organised_crime=any(f[1] for f in flags),
        category_a=any(f[2] for f in flags), newest_post_at=account.newest_post_at,
        image_count=account.image_count, action_taken=AccountStatus(account.status) in ACTED,
    ), utcnow())
    account.priority = sum(points.values())
    account.priority_factors = json.dumps(points, sort_keys=True)
    session.add(account)
    return points


def set_status(session: Session, actor: Actor, account: Account, status: AccountStatus,
               *, note: str = "", expected_version: int | None = None) -> Account:
    old = account.status
    if old == status.value:
        if expected_version is not None:  # nothing to write, but a stale page is still told
            touch(session, account, expected_version)
        return account
    values: dict[str, Any] = {"status": status.value}
    # the closed-account retention clock starts when it closes and stops if it reopens
    closing = status.value in CLOSED
    if closing != (old in CLOSED):
        values["closed_at"] = utcnow() if closing else None
    if status is AccountStatus.no_further_action:
        values["closed_reason"] = note.strip()[:500]
    touch(session, account, expected_version, **values)
    refresh_priority(session, account)
    record(session, actor, "account.status", object_type="account", object_ids=[account.id or 0],
           details={"from": old, "to": status.value, "note": note[:500]})
    return account


def assign(session: Session, actor: Actor, account_ids: Sequence[int],
           assignee_id: int | None) -> int:
    """Assign (or unassign, with None) accounts to an analyst; returns how many changed."""
    if assignee_id is not None:
        user = session.get(User, assignee_id)
        if user is None or not user.is_active or user.role not in ("analyst", "supervisor"):
            raise Unprocessable("Accounts can be assigned only to an active analyst or "
                                "supervisor.")
    ids = sorted(set(account_ids))
    if not ids:
        raise Unprocessable("Choose at least one account.")
    found = session.exec(select(Account).where(col(Account.id).in_(ids))).all()
    if len(found) != len(ids):
        raise NotFound("Some of the chosen accounts do not exist.")
    session.execute(update(Account).where(col(Account.id).in_(ids)).values(
        assignee_id=assignee_id, version=Account.version + 1, updated_at=utcnow()))
    for account in found:
        session.refresh(account)
    record(session, actor, "account.assign", object_type="account", object_ids=ids,
           details={"assignee_id": assignee_id})
    return len(ids)


def close_no_further_action(session: Session, actor: Actor, account_ids: Sequence[int],
                            reason: str) -> int:
    reason = reason.strip()
    if not 5 <= len(reason) <= 500:
        raise Unprocessable("Give a reason of 5-500 characters for closing with no further "
                            "action.")
    ids = sorted(set(account_ids))
    if not ids:
        raise Unprocessable("Choose at least one account.")
    accounts = session.exec(select(Account).where(col(Account.id).in_(ids))).all()
    if len(accounts) != len(ids):
        raise NotFound("Some of the chosen accounts do not exist.")
    for account in accounts:
        set_status(session, actor, account, AccountStatus.no_further_action, note=reason)
    return len(accounts)


def images_of(session: Session, account_id: int) -> list[tuple[EvidenceImage, Image]]:
    return list(session.exec(
        select(EvidenceImage, Image).join(Image, col(Image.id) == col(EvidenceImage.image_id))
        .where(EvidenceImage.account_id == account_id)
        .order_by(col(EvidenceImage.submitted_at).desc())).all())


def refresh_recent_priorities(session: Session, *, batch: int = 500) -> int:
    """Recompute the accounts whose "recent post" points can have changed with time alone:
    open ones whose newest post is under a month old (older ones score nothing for it)."""
    since = utcnow() - timedelta(days=31)
    last_id, count = 0, 0
    while True:
        rows = session.exec(select(Account).where(
            col(Account.id) > last_id, col(Account.newest_post_at) >= since,
            col(Account.status).notin_([AccountStatus.removed.value,
                                        AccountStatus.no_further_action.value]))
            .order_by(col(Account.id)).limit(batch)).all()
        if not rows:
            return count
        for account in rows:
            refresh_priority(session, account)
        session.flush()
        count += len(rows)
        last_id = rows[-1].id or 0
