"""The takedown state machine: one table that the services and the pages both read. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.auth.permissions import Permission


class State(StrEnum):
    draft = "draft"
    awaiting_approval = "awaiting_approval"
    approved = "approved"
    ready_to_submit = "ready_to_submit"  # a portal notice made, not yet filed by a person
    sent = "sent"
    acknowledged = "acknowledged"
    removed = "removed"
    refused = "refused"
    withdrawn = "withdrawn"


class Action(StrEnum):
    submit = "submit"
    approve = "approve"
    return_to_draft = "return"
    send = "send"
    record_submitted = "submitted"
    acknowledge = "acknowledge"
    record_removed = "removed"
    record_refused = "refused"
    withdraw = "withdraw"


@dataclass(frozen=True)
class Transition:
    action: Action
    source: State
    target: State
    permission: Permission
    label: str
    needs_note: bool = False  # a reason the person must give
    not_by_author: bool = False  # the four-eyes rule
    channels: frozenset[str] = frozenset()  # only for platforms on these channels (empty: any)


S, A, P = State, Action, Permission
OPEN_STATES = frozenset({S.draft, S.awaiting_approval, S.approved, S.ready_to_submit, S.sent,
                        S.acknowledged})
# Delivered by the service itself; a portal's notice is filed by a person, who records it.
DELIVERED = frozenset({"email", "webhook"})
PORTAL = frozenset({"portal"})
FINAL_STATES = frozenset({S.removed, S.refused, S.withdrawn})
# Unresolved at the platform: re-notices go out on the cadence while in these states.
AWAITING_PLATFORM = frozenset({S.sent, S.acknowledged})

TRANSITIONS: tuple[Transition, ...] = (
    Transition(A.submit, S.draft, S.awaiting_approval, P.takedowns_draft, "Submit for approval"),
    Transition(A.approve, S.awaiting_approval, S.approved, P.takedowns_approve, "Approve",
               not_by_author=True),
    Transition(A.return_to_draft, S.awaiting_approval, S.draft, P.takedowns_approve,
               "Return to author", needs_note=True),
    Transition(A.send, S.approved, S.sent, P.takedowns_send, "Send notice #1",
               channels=DELIVERED),
    Transition(A.send, S.approved, S.ready_to_submit, P.takedowns_send,
               "Make notice #1 ready to submit", channels=PORTAL),
    Transition(A.record_submitted, S.ready_to_submit, S.sent, P.takedowns_send,
               "Record as submitted"),
    Transition(A.acknowledge, S.sent, S.acknowledged, P.takedowns_send,
               "Record acknowledgement"),
    *(Transition(A.record_removed, src, S.removed, P.takedowns_send, "Record removal")
      for src in (S.sent, S.acknowledged)),
    *(Transition(A.record_refused, src, S.refused, P.takedowns_send, "Record refusal",
                 needs_note=True) for src in (S.sent, S.acknowledged)),
    *(Transition(A.withdraw, src, S.withdrawn, P.takedowns_draft, "Withdraw", needs_note=True)
      for src in (S.draft, S.awaiting_approval, S.approved, S.ready_to_submit, S.sent,
                  S.acknowledged)),
)


def _fits(t: Transition, channel: str) -> bool:
    return not t.channels or channel in t.channels


class TransitionRefused(ValueError):
    pass


class NotPossible(TransitionRefused):
    """The action does not exist from the current state (often: someone else moved it)."""


class NotPermitted(TransitionRefused):
    """This person may not: their role lacks the permission, or the four-eyes rule."""


class NeedsNote(TransitionRefused):
    """The action needs a reason and none was given."""


def transition_for(source: State, action: Action, channel: str) -> Transition:
    """The move `action` makes from `source` for a platform on `channel`."""
    for t in TRANSITIONS:
        if t.source == source and t.action == action and _fits(t, channel):
            return t
    raise NotPossible(
        f"This takedown is {source.value.replace('_', ' ')}: "
        f"'{action.value.replace('_', ' ')}' is not possible from there."
    )


def check(source: State, action: Action, *, actor_id: int, author_id: int,
          permissions: frozenset[Permission], channel: str, note: str = "") -> Transition:
    """The transition if this person may make it now, else TransitionRefused saying why."""
    transition = transition_for(source, action, channel)
    if transition.permission not in permissions:
        raise NotPermitted(f"Your role may not {transition.label.lower()}.")
    if transition.not_by_author and actor_id == author_id:
        raise NotPermitted("Approval must come from a supervisor other than the author.")
    if transition.needs_note and not note.strip():
        raise NeedsNote(f"{transition.label} needs a reason.")
    return transition


def available(source: State, permissions: frozenset[Permission], *, actor_id: int,
              author_id: int, channel: str) -> list[Transition]:
    """What this person can do next: the buttons a page shows."""
    return [t for t in TRANSITIONS if t.source == source and t.permission in permissions
            and _fits(t, channel) and not (t.not_by_author and actor_id == author_id)]
