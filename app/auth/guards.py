"""One typed dependency per permission: a route names who may call it in its signature.

`who: EstateReader` both declares the route's permission (the route-permission test reads it)
and gives the route the signed-in Principal. Defined here once, used by every package's
pages.py and api.py.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.auth.deps import Principal, StepUp, requires
from app.auth.permissions import Permission as P

# own account; `SelfUser` is allowed in while a new password is still owed, and without a
# second factor (to set one up); `SigningIn` also before the code is given (that page, sign-out)
SelfUser = Annotated[Principal, Depends(requires(P.self_manage, pending_password_ok=True,
                                                 factor="enrol"))]
SigningIn = Annotated[Principal, Depends(requires(P.self_manage, pending_password_ok=True,
                                                  factor="pending"))]
Anyone = Annotated[Principal, Depends(requires(P.self_manage))]
Admin = Annotated[Principal, Depends(requires(P.users_manage))]
GrantApprover = Annotated[Principal, Depends(requires(P.grants_approve))]
Auditor = Annotated[Principal, Depends(requires(P.audit_read))]

EstateReader = Annotated[Principal, Depends(requires(P.estate_read))]
EstateEditor = Annotated[Principal, Depends(requires(P.estate_edit))]
Librarian = Annotated[Principal, Depends(requires(P.library_edit))]

EvidenceReader = Annotated[Principal, Depends(requires(P.evidence_read))]
Submitter = Annotated[Principal, Depends(requires(P.evidence_submit))]
Withdrawer = Annotated[Principal, Depends(requires(P.evidence_withdraw))]
Eraser = Annotated[Principal, Depends(requires(P.evidence_erase))]
Reviewer = Annotated[Principal, Depends(requires(P.matches_review))]
MatchOperator = Annotated[Principal, Depends(requires(P.matching_operate))]

AccountReader = Annotated[Principal, Depends(requires(P.accounts_read))]
AccountEditor = Annotated[Principal, Depends(requires(P.accounts_edit))]
Assigner = Annotated[Principal, Depends(requires(P.accounts_assign))]
Attributor = Annotated[Principal, Depends(requires(P.attribution_confirm))]

PrisonerSearcher = Annotated[Principal, Depends(requires(P.prisoners_search))]
Revealer = Annotated[Principal, Depends(requires(P.prisoners_reveal))]

TakedownReader = Annotated[Principal, Depends(requires(P.takedowns_read))]
Drafter = Annotated[Principal, Depends(requires(P.takedowns_draft))]
Sender = Annotated[Principal, Depends(requires(P.takedowns_send))]
Approver = Annotated[Principal, Depends(requires(P.takedowns_approve))]
PlatformEditor = Annotated[Principal, Depends(requires(P.platforms_edit))]
CellSearchRequester = Annotated[Principal, Depends(requires(P.searches_request))]

ReportReader = Annotated[Principal, Depends(requires(P.reports_read))]

# Step-up: the second factor checked within the last few minutes (settings.step_up_minutes).
FreshFactor = Annotated[None, Depends(StepUp())]
# The same, and only from a signed-in browser: an API key cannot change keys or users.
FreshBrowserFactor = Annotated[None, Depends(StepUp(browser_only=True))]
