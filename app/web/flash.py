"""One-time messages shown on the next page a signed-in browser loads."""

from __future__ import annotations

from sqlmodel import Session

from app.auth.deps import Principal
from app.auth.sessions import push_flash


def flash(db: Session, who: Principal, message: str, kind: str = "success") -> None:
    """Kept on the browser session's row, so it is written (or not) with the request's change.

    API-key callers have no session row: they read the outcome from the JSON answer instead.
    """
    if who.session_row is not None:
        push_flash(who.session_row, message, kind)
        db.add(who.session_row)
