"""Roles are bundles of named permissions, defined here and nowhere else. Deny by default."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    # own account: every signed-in user
    self_manage = "self:manage"
    # administration (admins see no prisoner data)
    users_manage = "users:manage"
    # approve another person's proposal to grant access (which proposals: app/auth/grants.py)
    grants_approve = "grants:approve"
    # audit log
    audit_read = "audit:read"
    # estate: establishments, cells, prisoners, occupancy, reference photos
    estate_read = "estate:read"
    estate_edit = "estate:edit"
    library_edit = "library:edit"
    # evidence and matching
    evidence_read = "evidence:read"
    evidence_submit = "evidence:submit"
    evidence_withdraw = "evidence:withdraw"  # destroy an image's key, with a reason
    evidence_erase = "evidence:erase"  # erase an account's evidence before its retention ends
    matches_review = "matches:review"
    matching_operate = "matching:operate"  # the second-stage queue: watch it, retry failures
    # accounts and attribution
    accounts_read = "accounts:read"
    accounts_edit = "accounts:edit"
    accounts_assign = "accounts:assign"
    attribution_confirm = "attribution:confirm"
    # search by prisoner
    prisoners_search = "prisoners:search"
    prisoners_reveal = "prisoners:reveal"
    # takedowns and cell searches
    takedowns_read = "takedowns:read"
    takedowns_draft = "takedowns:draft"
    takedowns_approve = "takedowns:approve"
    takedowns_send = "takedowns:send"
    platforms_edit = "platforms:edit"
    searches_request = "searches:request"
    # aggregate reports (no personal data)
    reports_read = "reports:read"


class Role(StrEnum):
    analyst = "analyst"
    supervisor = "supervisor"
    auditor = "auditor"
    admin = "admin"


P = Permission

_ANALYST = frozenset({
    P.self_manage, P.estate_read, P.evidence_read, P.evidence_submit, P.matches_review,
    P.accounts_read, P.accounts_edit, P.accounts_assign, P.attribution_confirm,
    P.prisoners_search, P.prisoners_reveal, P.takedowns_read, P.takedowns_draft,
    P.takedowns_send, P.searches_request, P.reports_read,
})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.analyst: _ANALYST,
    Role.supervisor: _ANALYST
    | {P.estate_edit, P.library_edit, P.takedowns_approve, P.platforms_edit,
       P.evidence_withdraw, P.evidence_erase, P.matching_operate, P.grants_approve},
    Role.auditor: frozenset({P.self_manage, P.audit_read, P.reports_read}),
    Role.admin: frozenset({P.self_manage, P.users_manage, P.grants_approve}),
}


def permissions_for(role: str) -> frozenset[Permission]:
    try:
        return ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return frozenset()  # an unknown role grants nothing
