"""Typed resource dependencies of the takedown routes: what the path names, or 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlmodel import select

from app.accounts.models import Account
from app.accounts.platforms import Platform
from app.accounts.service import get_account
from app.db import SessionDep
from app.errors import NotFound
from app.takedowns import channels, service
from app.takedowns.models import Notice, Takedown


def takedown_from_path(takedown_id: int, db: SessionDep) -> Takedown:
    return service.get_takedown(db, takedown_id)


TakedownDep = Annotated[Takedown, Depends(takedown_from_path)]


def notice_from_path(takedown: TakedownDep, number: int, db: SessionDep) -> Notice:
    """A notice that has something to download (its text and evidence pack)."""
    notice = db.exec(select(Notice).where(Notice.takedown_id == takedown.id,
                                          Notice.number == number)).first()
    if notice is None or not notice.pack_key:
        raise NotFound(f"TD-{takedown.id} has no notice #{number} to download.")
    return notice


NoticeDep = Annotated[Notice, Depends(notice_from_path)]


def account_from_path(account_id: int, db: SessionDep) -> Account:
    """The account a takedown is drafted for."""
    return get_account(db, account_id)


AccountDep = Annotated[Account, Depends(account_from_path)]


def platform_from_path(name: str) -> Platform:
    return channels.platform_named(name)


PlatformDep = Annotated[Platform, Depends(platform_from_path)]
