"""What the takedown routes read from forms and query strings: who acts, queue filters."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.accounts.platforms import Platform
from app.auth.deps import Principal
from app.errors import Unprocessable
from app.estate.models import Establishment
from app.takedowns.machine import State
from app.takedowns.queries import BoardFilter
from app.takedowns.service import Doer

PLATFORMS = [(p.value, p.display_name) for p in Platform]
# Offered on a new draft; the drafter may change it (a platform acts on a stated basis).
DEFAULT_LEGAL_BASIS = ("Prison Act 1952, section 40D: taking photographs inside a prison, and "
                       "transmitting images from inside a prison, without authorisation are "
                       "offences. The account also breaches your terms on illegal activity.")


def doer(who: Principal) -> Doer:
    return Doer(who.actor, who.permissions)


def board_filter(db: Session, platform: str, establishment: str, state: str) -> BoardFilter:
    """Filters from the query string; an unknown value is a 422, not an empty board."""
    if platform and platform not in {p.value for p in Platform}:
        raise Unprocessable(f"Unknown platform {platform!r}.")
    if state and state not in {s.value for s in State}:
        raise Unprocessable(f"Unknown state {state!r}.")
    est_id = None
    if establishment:
        est_id = db.exec(select(Establishment.id).where(
            Establishment.code == establishment.strip().upper())).first()
        if est_id is None:
            raise Unprocessable(f"Unknown establishment {establishment!r}.")
    return BoardFilter(platform=platform, establishment_id=est_id, state=state)


def establishments(db: Session) -> list[tuple[str, str]]:
    return [(c, n) for c, n in db.exec(select(Establishment.code, Establishment.name)
                                      .order_by(col(Establishment.code))).all()]
