"""A supervisor erases an account's evidence early, with a reason (pages.py, api.py).

The same erasure as retention's (erasure.py), before the account's time is up, and wider:
images that became reference photos leave the cell library too. The account itself stays
(platform and handle: what re-emergence and takedowns name). Services never commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, func, select

from app.accounts.models import Account
from app.audit.service import Actor
from app.db import utcnow
from app.errors import Conflict
from app.evidence.models import EvidenceImage, Image
from app.evidence.withdrawal import check_reason
from app.lifecycle.erasure import Erasure, erase_account_evidence
from app.settings import Settings
from app.takedowns.models import TakedownImage


class NothingToErase(Conflict):
    title = "Nothing to erase"


@dataclass(frozen=True)
class Holding:
    """What an early erasure would touch, for the confirmation page."""

    evidence_links: int  # not erased yet
    images_held: int
    cited_by_takedowns: int  # of those links: they stay, as the takedowns' record

    @property
    def anything(self) -> bool:
        return self.evidence_links > 0


def holding(session: Session, account: Account) -> Holding:
    live = (EvidenceImage.account_id == account.id, col(EvidenceImage.erased_at).is_(None))
    links, held = session.exec(
        select(func.count(col(EvidenceImage.id)),
               func.count(col(Image.id).distinct()).filter(col(Image.erased_at).is_(None)))
        .join(Image, col(Image.id) == col(EvidenceImage.image_id)).where(*live)).one()
    cited = session.exec(select(func.count(col(TakedownImage.evidence_id).distinct())).join(
        EvidenceImage, col(EvidenceImage.id) == col(TakedownImage.evidence_id))
        .where(*live)).one()
    return Holding(int(links or 0), int(held or 0), int(cited or 0))


def erase_early(session: Session, settings: Settings, actor: Actor, *, account: Account,
                reason: str | None) -> Erasure:
    """Erase now; a 422 without a reason, a 409 when nothing is left to erase."""
    text = check_reason(reason, "erasing this account's evidence")
    if not holding(session, account).anything:
        raise NothingToErase(f"Account {account.id} holds no evidence left to erase.")
    return erase_account_evidence(session, settings, actor, account=account, reason=text,
                                  now=utcnow(), early=True)
