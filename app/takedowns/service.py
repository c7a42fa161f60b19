"""Takedowns: create one for an account, and move it through the state machine.

Every change is the one compare-and-set (app.db) on the takedown's version, which every change
moves: of two people acting on the same takedown at once exactly one row update succeeds, the
other gets 409, and only the winner writes its event row and audit event. Services never
commit; the caller's unit of work does, once.

Creating or changing a draft previews notice #1 (drafts.py); that text and pack are what the
approver approves and what goes. Sending notice #1 by email or webhook is two steps: the
person's request stores it as due (send), and once that is committed outbox.py delivers it and
records the outcome here (first_notice_outcome). A portal's notice is made ready to submit; a
person files it and records that (the `submitted` move), which starts the cadence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import Account, AccountStatus
from app.audit.service import Actor, record
from app.auth.permissions import Permission
from app.db import compare_and_set, utcnow
from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.settings import Settings
from app.takedowns import channels, cited_videos, drafts, machine, notices
from app.takedowns.delivery import FAILED, MANUAL, PENDING, Outcome
from app.takedowns.drafts import Draft
from app.takedowns.machine import AWAITING_PLATFORM, OPEN_STATES, Action, State
from app.takedowns.models import Notice, Takedown, TakedownEvent

CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Doer:
    """Who acts and what their role allows (from the request's Principal, or a CLI/job)."""

    actor: Actor
    permissions: frozenset[Permission]

    @property
    def user_id(self) -> int:
        return self.actor.user_id or 0


@dataclass(frozen=True)
class Done:
    takedown: Takedown
    notice: Notice | None = None
    error: str = ""  # a failed first delivery: the takedown stays approved
    due: bool = False  # notice #1 is stored as due: outbox.py delivers it after the commit


def get_takedown(session: Session, takedown_id: int) -> Takedown:
    found = session.exec(select(Takedown).where(Takedown.id == takedown_id)
                         .execution_options(populate_existing=True)).first()
    if found is None:
        raise NotFound(f"There is no takedown TD-{takedown_id}.")
    return found


def open_takedown_of(session: Session, account_id: int) -> Takedown | None:
    return session.exec(select(Takedown).where(
        Takedown.account_id == account_id,
        col(Takedown.state).in_([s.value for s in OPEN_STATES]))).first()


def add_event(session: Session, takedown: Takedown, source: str, target: str, actor: Actor,
              note: str, at: datetime) -> None:
    session.add(TakedownEvent(takedown_id=takedown.id or 0, from_state=source, to_state=target,
                              actor_id=actor.user_id, note=note[:2000], at=at))


def _draft_values(draft: Draft) -> dict[str, Any]:
    return {"reason": draft.reason, "legal_basis": draft.legal_basis,
            "platform_account_id": draft.platform_account_id, "contact": draft.contact,
            "good_faith": draft.good_faith}


def create_takedown(session: Session, settings: Settings, doer: Doer, account_id: int,
                    draft: Draft) -> Takedown:
    """A draft with its chosen images and notice #1 previewed (DraftRefused: fields to fix)."""
    if Permission.takedowns_draft not in doer.permissions or not doer.actor.user_id:
        raise Forbidden("Your role may not draft takedowns.")
    account = accounts.get_account(session, account_id)
    # Take the account row's write lock first, so two people creating at once queue and the
    # second sees the first one's takedown.
    session.execute(update(Account).where(col(Account.id) == account_id)
                    .values(version=Account.version))
    existing = open_takedown_of(session, account_id)
    if existing is not None:
        raise Conflict(f"This account already has an open takedown, TD-{existing.id} "
                       f"({existing.state.replace('_', ' ')}).")
    draft = drafts.check(session, account, draft)
    takedown = Takedown(account_id=account_id, platform=account.platform,
                        author_id=doer.user_id, **_draft_values(draft))
    session.add(takedown)
    session.flush()
    drafts.store(session, takedown, draft)
    add_event(session, takedown, "", State.draft.value, doer.actor, "created", utcnow())
    record(session, doer.actor, "takedown.create", object_type="takedown",
           object_ids=[takedown.id or 0],
           details={"account_id": account_id, "platform": account.platform,
                    "evidence_ids": list(draft.evidence_ids),
                    "video_ids": list(draft.video_ids)})
    _preview(session, settings, doer, takedown, account)
    return takedown


def _preview(session: Session, settings: Settings, doer: Doer, takedown: Takedown,
             account: Account) -> None:
    """Notice #1 made for the drafter to check (after the event above, so the pack's chain
    of custody shows who drafted it)."""
    preview = drafts.make_preview(session, settings, doer.actor, takedown, account, utcnow())
    record(session, doer.actor, "takedown.preview", object_type="takedown",
           object_ids=[takedown.id or 0],
           details={"account_id": takedown.account_id, "pack_sha256": preview.pack_sha256,
                    "evidence_ids": drafts.chosen_ids(session, takedown.id or 0),
                    "video_ids": cited_videos.cited_ids(session, takedown.id or 0)})


def edit_draft(session: Session, settings: Settings, doer: Doer, takedown_id: int,
               draft: Draft, *, version: int) -> Takedown:
    """The author changes a draft (images, wording); notice #1 is previewed again."""
    takedown = get_takedown(session, takedown_id)
    if takedown.state != State.draft.value:
        raise Conflict(f"TD-{takedown_id} is {takedown.state.replace('_', ' ')}: only a draft "
                       "can be changed.")
    if takedown.author_id != doer.user_id:
        raise Forbidden("Only the author changes a draft (the approver must be someone else).")
    account = accounts.get_account(session, takedown.account_id)
    draft = drafts.check(session, account, draft)
    before = drafts.chosen_ids(session, takedown_id)
    videos_before = cited_videos.cited_ids(session, takedown_id)
    _set(session, takedown, version, **_draft_values(draft))
    drafts.store(session, takedown, draft)
    add_event(session, takedown, State.draft.value, State.draft.value, doer.actor, "edited",
              utcnow())
    record(session, doer.actor, "takedown.edit", object_type="takedown",
           object_ids=[takedown_id],
           details={"account_id": takedown.account_id, "evidence_ids_before": before,
                    "evidence_ids": drafts.chosen_ids(session, takedown_id),
                    "video_ids_before": videos_before, "video_ids": list(draft.video_ids)})
    _preview(session, settings, doer, takedown, account)
    return takedown


def _set(session: Session, takedown: Takedown, expected_version: int, **values: Any) -> None:
    """Apply values only if nobody changed the takedown since `expected_version` was read."""
    try:
        compare_and_set(session, takedown, expected_version, what="takedown", **values)
    except Conflict:
        now = session.exec(select(Takedown.state).where(Takedown.id == takedown.id)).first()
        raise Conflict(f"Someone else acted on TD-{takedown.id} at the same moment; it is now "
                       f"{(now or 'gone').replace('_', ' ')}. Reload to see what changed.")\
            from None


def _check(takedown: Takedown, action: str, doer: Doer, note: str,
           channel: str) -> machine.Transition:
    try:
        act = Action(action)
    except ValueError:
        raise Unprocessable(f"Unknown action {action!r}.") from None
    try:
        return machine.check(State(takedown.state), act, actor_id=doer.user_id,
                             author_id=takedown.author_id, permissions=doer.permissions,
                             channel=channel, note=note)
    except machine.NotPossible as exc:
        raise Conflict(str(exc)) from None
    except machine.NotPermitted as exc:
        raise Forbidden(str(exc)) from None
    except machine.NeedsNote as exc:
        raise Unprocessable(str(exc)) from None


def _when(takedown: Takedown, at: datetime | None, now: datetime) -> datetime:
    if at is None:
        return now
    if at.tzinfo is None:
        raise Unprocessable("Give the time with its time zone.")
    if at > now + CLOCK_SKEW:
        raise Unprocessable("That time is in the future.")
    if takedown.first_sent_at and at < takedown.first_sent_at - CLOCK_SKEW:
        raise Unprocessable("That time is before the first notice was sent.")
    return at


def _values(takedown: Takedown, t: machine.Transition, doer: Doer, note: str, reference: str,
            at: datetime | None, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {"state": t.target.value}
    reference = reference.strip()
    if len(reference) > 128 or any(ord(ch) < 32 for ch in reference):
        raise Unprocessable("The platform's reference is at most 128 plain characters.")
    if reference:
        values["platform_reference"] = reference
    if t.action is Action.approve:
        values["approver_id"] = doer.user_id
    elif t.action is Action.return_to_draft:
        values["approver_id"] = None
    elif t.action is Action.acknowledge:
        values["acknowledged_at"] = _when(takedown, at, now)
    elif t.action is Action.record_submitted:
        values["submitted_at"] = _when(takedown, at, now)
    elif t.target in machine.FINAL_STATES:
        values["resolved_at"] = _when(takedown, at, now) if t.source in AWAITING_PLATFORM \
            else now
        values["next_notice_due_at"] = None
        if t.action is Action.record_refused:
            values["refusal_reason"] = note.strip()[:2000]
    return values


def transition(session: Session, settings: Settings, doer: Doer, takedown_id: int,
               action: str, *, version: int, note: str = "", reference: str = "",
               at: datetime | None = None) -> Done:
    """Make one move from the transition table, if it is still the version the person saw."""
    now = utcnow()
    takedown = get_takedown(session, takedown_id)
    if version != takedown.version:
        raise Conflict(f"TD-{takedown_id} changed since you opened it (it is now "
                       f"{takedown.state.replace('_', ' ')}). Reload and try again.")
    platform = channels.get_platform(session, takedown.platform)
    t = _check(takedown, action, doer, note, platform.channel)
    if t.action is Action.send:
        return _send(session, settings, doer, takedown, note.strip(), now)
    if t.action is Action.submit and drafts.preview_of(session, takedown_id) is None:
        raise Unprocessable(f"Notice #1 of TD-{takedown_id} has not been previewed: edit the "
                            "draft, give what is missing and save it to see the notice.")
    if t.action in (Action.submit, Action.approve):
        gone = drafts.withdrawn_chosen(session, takedown_id)
        if gone:  # the previewed notice holds them: it must be made again without them
            raise Unprocessable(
                "Image(s) " + ", ".join(f"#{i}" for i in gone) + " were withdrawn since notice "
                "#1 was previewed: " + ("change the draft to preview it again."
                                        if t.action is Action.submit else
                                        "return it to the author to preview it again."))
    if takedown.state == State.approved.value and notices.in_flight(session, takedown_id):
        raise Conflict(f"Notice #1 of TD-{takedown_id} is on its way to the platform; wait "
                       f"for its outcome, then {t.label.lower()}.")
    values = _values(takedown, t, doer, note, reference, at, now)
    notice = None
    if t.action is Action.record_submitted:
        notice = _submitted(session, doer, takedown, platform, values, now)
    _set(session, takedown, version, **values)
    _finish(session, doer.actor, takedown, t, note.strip(), now)
    if notice is not None:
        notices.disclosure(session, doer.actor, takedown, notice, via="submitted on the portal")
    return Done(takedown, notice)


def _submitted(session: Session, doer: Doer, takedown: Takedown, platform: Any,
               values: dict[str, Any], now: datetime) -> Notice:
    """A person filed notice #1 on the portal: when (not before it was made ready, not in the
    future) starts the cadence and the target time; who, when and their reference are kept."""
    notice = session.exec(select(Notice).where(Notice.takedown_id == takedown.id,
                                               Notice.number == 1)).first()
    if notice is None or notice.delivery != MANUAL:
        raise Conflict(f"TD-{takedown.id} has no notice #1 waiting to be submitted.")
    when = values.pop("submitted_at")
    if when < notice.sent_at - CLOCK_SKEW:
        raise Unprocessable("That time is before notice #1 was made ready to submit.")
    values.update(first_sent_at=when, notices_sent=1,
                  next_notice_due_at=when + timedelta(hours=platform.renotice_hours),
                  target_due_at=when + timedelta(hours=platform.target_hours))
    notice.submitted_by, notice.submitted_at = doer.user_id, when
    notice.submission_reference = values.get("platform_reference", "")
    session.add(notice)
    return notice


def _finish(session: Session, actor: Actor, takedown: Takedown, t: machine.Transition,
            note: str, now: datetime) -> None:
    add_event(session, takedown, t.source.value, t.target.value, actor, note, now)
    record(session, actor, f"takedown.{t.action.value}", object_type="takedown",
           object_ids=[takedown.id or 0],
           details={"from": t.source.value, "to": t.target.value, "note": note[:500],
                    "account_id": takedown.account_id, "version": takedown.version})
    _feed_account(session, actor, takedown, t)


def _feed_account(session: Session, actor: Actor, takedown: Takedown,
                  t: machine.Transition) -> None:
    """The account's status follows its takedown: requested, removed, or back to review."""
    account = accounts.get_account(session, takedown.account_id)
    note = f"takedown TD-{takedown.id} {t.target.value.replace('_', ' ')}"
    if t.target is State.sent:
        accounts.set_status(session, actor, account, AccountStatus.takedown_requested, note=note)
    elif t.target is State.removed:
        accounts.set_status(session, actor, account, AccountStatus.removed, note=note)
    elif (t.target in (State.refused, State.withdrawn) and t.source in AWAITING_PLATFORM
          and account.status == AccountStatus.takedown_requested.value):
        # still live on the platform: back to an analyst to decide what next
        accounts.set_status(session, actor, account, AccountStatus.under_review, note=note)


def _send(session: Session, settings: Settings, doer: Doer, takedown: Takedown, note: str,
          now: datetime) -> Done:
    """Store notice #1 as due; outbox.py delivers it once this is committed, so a platform
    never receives a notice that a rolled-back transaction forgot. A portal's notice leaves
    nothing to deliver: it is ready to submit until a person records filing it."""
    account = accounts.get_account(session, takedown.account_id)
    platform = channels.stored_platform(session, takedown.platform)
    if platform.channel != "portal" and not platform.address:
        raise Unprocessable(f"{platform.platform} has no {platform.channel} address yet; a "
                            "supervisor sets it on the platforms page.")
    # Claim first (the version moves on, the state not yet): a second sender gets 409 and
    # notice #1 is made once.
    _set(session, takedown, takedown.version)
    prepared = notices.prepare(session, settings, takedown, account, platform, now)
    manual = platform.channel == "portal"
    notice = notices.notice_row(doer.actor, takedown, prepared, MANUAL if manual else PENDING,
                                now)
    session.add(notice)
    session.flush()
    if manual:  # nothing has gone yet: ready to submit until a person records filing it
        t = machine.transition_for(State.approved, Action.send, platform.channel)
        takedown.state = t.target.value  # this transaction's claim moved the version
        session.add(takedown)
        session.flush()
        _finish(session, doer.actor, takedown, t,
                note or "Notice #1 is ready to submit on the platform's portal", now)
        return Done(takedown, notice)
    return Done(takedown, notice, due=True)


def first_notice_outcome(session: Session, actor: Actor, takedown: Takedown, notice: Notice,
                         outcome: Outcome, now: datetime, note: str = "", *,
                         claimed: bool = False) -> Done:
    """Notice #1 came back: sent (the cadence starts), or failed (it stays approved).
    `claimed`: this transaction's own claim moved the version and holds the row."""
    if outcome.delivery == FAILED:
        return Done(takedown, notice,
                    f"Notice #1 could not be delivered: {outcome.error} The takedown "
                    "stays approved; send it again once the channel works.")
    if takedown.state != State.approved.value:  # not expected: moves wait for the outcome
        add_event(session, takedown, takedown.state, takedown.state, actor,
                  f"Notice #1 reached the platform while TD-{takedown.id} was "
                  f"{takedown.state.replace('_', ' ')}", now)
        return Done(takedown, notice)
    platform = channels.stored_platform(session, takedown.platform)
    values = {"state": State.sent.value, "first_sent_at": now, "notices_sent": 1,
              "next_notice_due_at": now + timedelta(hours=platform.renotice_hours),
              "target_due_at": now + timedelta(hours=platform.target_hours)}
    if claimed:  # one move, one version: nobody can have seen the claim's
        for key, value in values.items():
            setattr(takedown, key, value)
        session.add(takedown)
        session.flush()
    else:  # a unit of work after the request's: the state changes, so does the version
        _set(session, takedown, takedown.version, **values)
    how = f"delivered by {notice.channel} to {notice.recipient}"
    t = machine.transition_for(State.approved, Action.send, notice.channel)
    _finish(session, actor, takedown, t, note or f"Notice #1 {how}", now)
    return Done(takedown, notice)
