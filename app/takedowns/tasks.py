"""Work a takedown route leaves for after its commit: delivering the notice it stored as due.

Run as a FastAPI background task, which starts only once the response is on its way, that is
after the request's unit of work has committed; a request whose commit fails never gets here,
so nothing is sent for it. Whatever fails here is left for `cellwatch jobs run` (outbox.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlmodel import Session

from app.audit.service import Actor
from app.auth.models import UserSession
from app.auth.sessions import push_flash
from app.db import unit_of_work
from app.settings import Settings
from app.takedowns import outbox

log = logging.getLogger("cellwatch")


def deliver_first_notice(factory: Callable[[], Session], settings: Settings, actor: Actor,
                         notice_id: int, note: str = "",
                         session_row_id: int | None = None) -> None:
    """Deliver notice #1 and tell the sender how it went (a flash on their next page)."""
    try:
        done = outbox.deliver_now(factory, settings, actor, notice_id, note=note)
    except Exception:  # noqa: BLE001 - a background task has nobody to raise to
        log.exception("delivery of notice %s failed; `cellwatch jobs run` will retry it",
                      notice_id)
        return
    if done is None or session_row_id is None:
        return
    message, kind = (done.error, "error") if done.error else (
        f"TD-{done.takedown.id} is now {done.takedown.state.replace('_', ' ')}.", "success")
    with unit_of_work(factory) as session:
        row = session.get(UserSession, session_row_id)
        if row is not None:  # signed out meanwhile: the takedown's page says it all the same
            push_flash(row, message, kind)
            session.add(row)
