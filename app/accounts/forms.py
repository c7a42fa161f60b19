"""Turning form and query input into service arguments (shared by the pages and the API)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query

from app.accounts.handles import HandleError, ParsedAccount, Platform, parse_account
from app.accounts.presenters import STATUS_LABELS, QueueFilter
from app.errors import Unprocessable
from app.web.numbers import whole_number

OPEN = "open"  # every status but the closed ones: the queue's default
PLATFORMS = [(p.value, p.display_name) for p in Platform]

Text = Annotated[str, Query(max_length=64)]  # a queue filter
Note = Annotated[str, Form(max_length=500)]  # said with a decision
ReturnTo = Annotated[str, Form(max_length=300)]  # the page a decision was taken on (filters too)
InPlace = Annotated[str, Form(max_length=16)]  # "review": answer an htmx post with the item
BackTo = Annotated[int | None, Form()]  # the image a decision was taken from


def parse_account_text(text: str, platform: str) -> ParsedAccount:
    """A profile link, post link or @handle (with `platform` when bare) -> the account."""
    try:
        hint = Platform(platform) if platform else None
    except ValueError:
        raise Unprocessable(f"Unknown platform {platform!r}.") from None
    try:
        return parse_account(text, hint)
    except HandleError as exc:
        raise Unprocessable(str(exc)) from None


def queue_filter(establishment: str, platform: str, status: str,
                 assignee: str, attribution: str = "") -> QueueFilter:
    if status == OPEN:  # the default choice, named in links (the home page's counts)
        status = ""
    if status and status not in STATUS_LABELS:
        raise Unprocessable(f"Unknown status {status[:24]!r}: choose open or one of "
                            f"{', '.join(STATUS_LABELS)}.")
    assignee = assignee.strip()
    if assignee not in ("", "none", "me") and whole_number(assignee) is None:
        raise Unprocessable(f"Unknown assignee {assignee[:24]!r}: use me, none or a user's "
                            "number.")
    if attribution not in ("", "suggested"):
        raise Unprocessable(f"Unknown attribution filter {attribution[:24]!r}: use suggested.")
    return QueueFilter(establishment.strip(), platform.strip(), status, assignee,
                       suggested=attribution == "suggested")


def assignee_from(value: str) -> int | None:
    """The assignee select: a user id, or empty for nobody."""
    return whole_number(value)
