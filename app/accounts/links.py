"""Account links: two accounts holding near-duplicate images, and re-emergence of a removed one.

Only near-duplicates link accounts automatically (the same photo re-posted); a "same scene"
feature match between two accounts is left for an analyst, since two people may photograph
the same cell.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from app.accounts import attribution
from app.accounts.models import Account, AccountLink, AccountStatus
from app.accounts.service import get_account, refresh_priority, set_status, touch
from app.audit.service import Actor, record
from app.evidence.models import EvidenceImage
from app.matching.models import Match

NEAR_DUPLICATE = ("phash", "phash_mirror", "phash_trim", "dhash")


def _link(session: Session, actor: Actor, a: int, b: int, kind: str,
          match: Match) -> AccountLink | None:
    low, high = sorted((a, b))
    if session.exec(select(AccountLink).where(AccountLink.account_id == low,
                                              AccountLink.other_account_id == high,
                                              AccountLink.kind == kind)).first():
        return None
    link = AccountLink(account_id=low, other_account_id=high, kind=kind, match_id=match.id)
    session.add(link)
    session.flush()
    record(session, actor, "account.link", object_type="account", object_ids=[low, high],
           details={"kind": kind, "match_id": match.id,
                    "images": [match.query_image_id, match.candidate_image_id]})
    return link


def link_by_matches(session: Session, actor: Actor, account: Account,
                    image_ids: Iterable[int]) -> list[AccountLink]:
    """Link the account to every other account holding a near-duplicate of these images;
    an image found on an account its platform removed makes this one re-emerged."""
    ids = list(image_ids)
    if not ids:
        return []
    matches = session.exec(select(Match).where(
        col(Match.method).in_(NEAR_DUPLICATE), col(Match.status) != "rejected",
        col(Match.query_image_id).in_(ids) | col(Match.candidate_image_id).in_(ids))).all()
    made: list[AccountLink] = []
    for match in matches:
        other_images = {match.query_image_id, match.candidate_image_id} - set(ids)
        if not other_images:
            continue
        owners = session.exec(select(EvidenceImage.account_id).where(
            col(EvidenceImage.image_id).in_(other_images),
            col(EvidenceImage.account_id).is_not(None),
            EvidenceImage.account_id != account.id)).all()
        for owner_id in sorted({o for o in owners if o is not None}):
            other = get_account(session, owner_id)
            if (link := _link(session, actor, account.id or 0, owner_id, "shared_image",
                              match)) is not None:
                made.append(link)
            if other.status == AccountStatus.removed.value:
                made += _re_emerged(session, actor, account, other, match)
    return made


def _re_emerged(session: Session, actor: Actor, account: Account, earlier: Account,
                match: Match) -> list[AccountLink]:
    link = _link(session, actor, account.id or 0, earlier.id or 0, "re_emergence", match)
    if account.re_emerged_from_id is None:
        touch(session, account, re_emerged_from_id=earlier.id)
    if account.status not in (AccountStatus.removed.value, AccountStatus.re_emerged.value):
        set_status(session, actor, account, AccountStatus.re_emerged,
                   note=f"an image matches account {earlier.id}, removed by its platform")
    attribution.carry_over(session, actor, account, earlier)
    refresh_priority(session, account)
    return [link] if link else []


def links_of(session: Session, account_id: int) -> list[tuple[AccountLink, Account]]:
    rows = session.exec(select(AccountLink).where(
        (col(AccountLink.account_id) == account_id)
        | (col(AccountLink.other_account_id) == account_id))).all()
    out = []
    for link in rows:
        other_id = link.other_account_id if link.account_id == account_id else link.account_id
        other = session.get(Account, other_id)
        if other is not None:
            out.append((link, other))
    return out
