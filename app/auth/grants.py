"""Two-person grants. Making a user, raising a role, or resetting someone's sign-in is
proposed by one person and takes effect only when a second approves: a supervisor for the
analyst, supervisor and auditor roles, another admin for admin. Nobody decides their own
proposal. The new credentials are an enrolment code shown to the approver alone, so the
proposer (an admin, who sees no prisoner data) never holds a way into an account that does.
"""

from __future__ import annotations

from enum import StrEnum

from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.auth import apikeys, enrolment, factors, sessions
from app.auth.models import GrantProposal, User
from app.auth.permissions import Role, permissions_for
from app.auth.users import apply_role, check_new_user, create_enrolling_user
from app.db import compare_and_set, utcnow
from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.settings import Settings


class Kind(StrEnum):
    create = "create"
    role = "role"
    reset = "reset"


# Who approves a grant of each role: the role the approver must hold.
APPROVER_ROLE: dict[Role, Role] = {
    Role.analyst: Role.supervisor, Role.supervisor: Role.supervisor,
    Role.auditor: Role.supervisor, Role.admin: Role.admin,
}


def needs_approval(from_role: str, to_role: str) -> bool:
    """A role change that adds any permission is a grant; one that only takes away is not."""
    return not permissions_for(to_role) <= permissions_for(from_role)


def _open_for(session: Session, *, user_id: int | None = None, username: str = "") -> bool:
    query = select(GrantProposal.id).where(GrantProposal.status == "pending")
    query = query.where(GrantProposal.user_id == user_id) if user_id is not None \
        else query.where(GrantProposal.username == username)
    return session.exec(query).first() is not None


def _propose(session: Session, actor: Actor, proposal: GrantProposal) -> GrantProposal:
    if actor.user_id is None:
        raise Forbidden("A proposal needs a signed-in person who proposes it.")
    proposal.proposed_by = actor.user_id
    session.add(proposal)
    session.flush()
    record(session, actor, "grant.propose", object_type="grant_proposal",
           object_ids=[proposal.id or 0],
           details={"kind": proposal.kind, "user_id": proposal.user_id,
                    "username": proposal.username, "role": proposal.role,
                    "from_role": proposal.from_role,
                    "approver_role": APPROVER_ROLE[Role(proposal.role)].value})
    return proposal


def propose_create(session: Session, actor: Actor, *, username: str, role: str,
                   display_name: str = "") -> GrantProposal:
    username = check_new_user(session, username, role)
    if _open_for(session, username=username):
        raise Conflict(f"A proposal to create {username!r} already awaits a decision.")
    return _propose(session, actor, GrantProposal(
        kind=Kind.create, username=username, display_name=display_name[:128], role=role,
        proposed_by=0))


def propose_role(session: Session, actor: Actor, user: User, role: str) -> GrantProposal:
    if _open_for(session, user_id=user.id):
        raise Conflict(f"A proposal about {user.username} already awaits a decision.")
    return _propose(session, actor, GrantProposal(
        kind=Kind.role, user_id=user.id, username=user.username, role=role,
        from_role=user.role, proposed_by=0))


def propose_reset(session: Session, actor: Actor, user: User) -> GrantProposal:
    if user.id == actor.user_id:
        raise Unprocessable("You cannot reset your own sign-in: ask another administrator.")
    if _open_for(session, user_id=user.id):
        raise Conflict(f"A proposal about {user.username} already awaits a decision.")
    return _propose(session, actor, GrantProposal(
        kind=Kind.reset, user_id=user.id, username=user.username, role=user.role,
        from_role=user.role, proposed_by=0))


def pending(session: Session) -> list[GrantProposal]:
    return list(session.exec(select(GrantProposal).where(GrantProposal.status == "pending")
                             .order_by(col(GrantProposal.id))).all())


def why_not(proposal: GrantProposal, decider: User) -> str | None:
    """Why this person may not decide this proposal, or None when they may."""
    if proposal.status != "pending":
        return f"This proposal was {proposal.status} already."
    if proposal.proposed_by == decider.id:
        return "You proposed this: a second person must decide it."
    if proposal.user_id is not None and proposal.user_id == decider.id:
        return "This proposal is about you: someone else must decide it."
    needed = APPROVER_ROLE[Role(proposal.role)]
    if decider.role != needed.value:
        article = "an" if needed.value[0] in "aeiou" else "a"
        return f"A grant of the {proposal.role} role is decided by {article} {needed.value}."
    return None


def _decide(session: Session, decider: User, proposal_id: int, version: int,
            status: str) -> GrantProposal:
    proposal = session.get(GrantProposal, proposal_id)
    if proposal is None:
        raise NotFound(f"No proposal with id {proposal_id}.")
    if (reason := why_not(proposal, decider)) is not None:
        raise Forbidden(reason)
    compare_and_set(session, proposal, version, what="proposal", status=status,
                    decided_by=decider.id, decided_at=utcnow())
    session.refresh(proposal)
    return proposal


def reject(session: Session, actor: Actor, decider: User, proposal_id: int,
           version: int) -> GrantProposal:
    proposal = _decide(session, decider, proposal_id, version, "rejected")
    record(session, actor, "grant.reject", object_type="grant_proposal",
           object_ids=[proposal_id], details={"kind": proposal.kind,
                                              "username": proposal.username,
                                              "proposed_by": proposal.proposed_by})
    return proposal


def approve(session: Session, settings: Settings, actor: Actor, decider: User,
            proposal_id: int, version: int) -> tuple[GrantProposal, User, str | None]:
    """Put the grant into effect. Returns the proposal, its user, and the enrolment code to
    hand over (new users and resets; a role change keeps the user's own credentials)."""
    proposal = _decide(session, decider, proposal_id, version, "approved")
    who = {"proposed_by": proposal.proposed_by, "approved_by": decider.id}
    code: str | None = None
    if proposal.kind == Kind.create:
        check_new_user(session, proposal.username, proposal.role)  # still free, still valid
        user, code = create_enrolling_user(session, settings, actor, username=proposal.username,
                                           role=proposal.role,
                                           display_name=proposal.display_name, extra=who)
        proposal.user_id = user.id
        session.add(proposal)
    else:
        user = session.get(User, proposal.user_id)
        if user is None:
            raise NotFound("The user of this proposal no longer exists.")
        if proposal.kind == Kind.role:
            if user.role != proposal.from_role:
                raise Conflict(f"{user.username}'s role changed since this was proposed; "
                               "reject it and propose again.")
            apply_role(session, actor, user, proposal.role, extra=who)
        else:
            code = reset_sign_in(session, settings, actor, user, extra=who)
    record(session, actor, "grant.approve", object_type="grant_proposal",
           object_ids=[proposal_id], details={"kind": proposal.kind, "user_id": user.id,
                                              "role": proposal.role, **who})
    return proposal, user, code


def reset_sign_in(session: Session, settings: Settings, actor: Actor, user: User, *,
                  extra: dict[str, object] | None = None) -> str:
    """Password and authenticator cleared, keys revoked, sessions ended: the user enrols again
    with the code returned."""
    user.password_hash = ""  # verifies against nothing: no password works until enrolment
    user.must_change_password = False
    user.failed_logins, user.locked_until = 0, None
    session.add(user)
    had_factor = factors.remove(session, user.id or 0)
    revoked = apikeys.revoke_all_for_user(session, user.id or 0)
    ended = sessions.end_all_for_user(session, user.id or 0)
    record(session, actor, "user.reset_sign_in", object_type="user", object_ids=[user.id or 0],
           details={"username": user.username, "factor_reset": had_factor,
                    "api_access_revoked": revoked, "sessions_ended": ended, **(extra or {})})
    return enrolment.issue(session, settings, actor, user)
