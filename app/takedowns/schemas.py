"""Shapes of the takedown API's answers, for OpenAPI (the dicts are built by queries.public,
queries.item and presenters.notice_public). Times are ISO 8601 UTC strings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

Time = str | None  # ISO 8601 UTC, or null when it has not happened


class TakedownOut(BaseModel):
    """A takedown (`GET /api/v1/takedowns/{id}` adds its events and notices)."""

    model_config = ConfigDict(extra="allow")
    id: int
    ref: str = Field(description="TD-<id>, as notices quote it")
    account_id: int
    platform: str
    state: str
    version: int = Field(description="send it back with a transition: a stale one is a 409")
    reason: str
    author_id: int
    approver_id: int | None
    claimed_by: int | None
    notices_sent: int
    escalated: bool
    overdue: bool
    platform_reference: str
    refusal_reason: str
    created_at: Time
    first_sent_at: Time
    acknowledged_at: Time
    resolved_at: Time
    next_notice_due_at: Time
    target_due_at: Time


class NoticeOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    number: int
    channel: str
    recipient: str
    subject: str
    delivery: str = Field(description="pending | delivered | failed")
    error: str | None
    pack_sha256: str | None
    sent_at: str
    attempts: int
    resent: bool
    resent_note: str
    eml_url: str


class TakedownEventOut(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    from_state: str = Field(alias="from")
    to: str
    actor: str
    note: str
    at: str


class TakedownDetail(TakedownOut):
    handle: str
    events: list[TakedownEventOut]
    notices: list[NoticeOut]


class TransitionOut(TakedownOut):
    """The takedown after the transition; `notice` when one was made (202: it is delivered
    once the request has committed; GET the takedown for the outcome)."""

    notice: NoticeOut | None = None


class TakedownItem(BaseModel):
    """One row of the list."""

    model_config = ConfigDict(extra="allow")
    id: int
    ref: str
    account_id: int
    handle: str
    platform: str
    platform_name: str
    state: str
    state_label: str
    version: int
    target_due_at: Time
    next_notice_due_at: Time
    overdue: bool
    escalated: bool
    notices_sent: int
    claimed_by: str
    claimed_by_id: int | None
    author_id: int
    created_at: Time
    platform_reference: str


class TakedownPage(BaseModel):
    items: list[TakedownItem]
    next_after_id: int | None = Field(description="pass as after_id for the next page; "
                                                   "null on the last")


class PlatformOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    platform: str
    channel: str
    address: str
    renotice_hours: int
    target_hours: int
    template: str


class Claimed(BaseModel):
    takedown: TakedownOut | None = Field(description="null: nothing to claim")


class Refusal(BaseModel):
    id: int
    reason: str


class BulkApproval(BaseModel):
    approved: list[int]
    refused: list[Refusal]
