"""Whether this database holds the fictional demo estate: the audit event its build wrote.

The audit log is append-only, so once a database held the demo it says so for good (the pages'
banner), and an index on the action makes the look-up cheap enough for every page.
"""

from __future__ import annotations

from sqlmodel import Session, select

from app.audit.models import AuditEvent

BUILT = "demo.build"


def holds_demo(session: Session) -> bool:
    return session.exec(select(AuditEvent.id).where(AuditEvent.action == BUILT)
                        .limit(1)).first() is not None
