"""Resources named in accounts URLs, loaded or a 404 before the route runs (routes name their
permission first, so a caller who may not see a resource is refused before it is looked up).
A match is matching's: `app.matching.deps.MatchDep`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.accounts import attribution
from app.accounts.models import Account, Attribution
from app.accounts.service import get_account
from app.db import SessionDep


def account_from_path(account_id: int, db: SessionDep) -> Account:
    return get_account(db, account_id)


def attribution_from_path(attribution_id: int, db: SessionDep) -> Attribution:
    return attribution.get_attribution(db, attribution_id)


AccountDep = Annotated[Account, Depends(account_from_path)]
AttributionDep = Annotated[Attribution, Depends(attribution_from_path)]
