"""Takedowns as pages and the API show them: times in the unit's zone, countdowns, notices."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.takedowns.models import Notice
from app.takedowns.outbox import RESENT_NOTE
from app.web.dates import local_time


def countdown(due: datetime | None, now: datetime) -> str:
    """The text the page starts with; static/js/countdown.js keeps it moving."""
    if due is None:
        return ""
    left = due - now
    ahead = left >= timedelta(0)
    secs = int(abs(left.total_seconds()))
    d, rest = divmod(secs, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    text = f"{d}d {h:02d}h {m:02d}m" if d else f"{h}h {m:02d}m {s:02d}s"
    return f"due in {text}" if ahead else f"overdue by {text}"


def time_helpers(tz: str, now: datetime) -> dict[str, Any]:
    """Functions the templates call to show times in the unit's zone."""
    return {"local": lambda v: local_time(v, tz), "countdown": lambda v: countdown(v, now),
            "now": now}


def notice_public(notice: Notice) -> dict[str, Any]:
    """A notice as the API shows it."""
    return {"number": notice.number, "channel": notice.channel, "recipient": notice.recipient,
            "subject": notice.subject, "delivery": notice.delivery, "error": notice.error,
            "pack_sha256": notice.pack_sha256, "sent_at": notice.sent_at.isoformat(),
            "attempts": notice.attempts, "resent": notice.resent,
            "ready_to_submit": notice.delivery == "manual" and notice.submitted_at is None,
            "submitted_at": notice.submitted_at.isoformat() if notice.submitted_at else None,
            "submitted_by": notice.submitted_by,
            "submission_reference": notice.submission_reference,
            "resent_note": RESENT_NOTE if notice.resent else "",
            "eml_url": f"/takedowns/{notice.takedown_id}/notices/{notice.number}.eml"}
