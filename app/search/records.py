"""What a prisoner search and a dossier return: plain dataclasses, the same for pages and the API.

No field holds a full date of birth: it is shown only by `service.reveal_dob`, which audits it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from app.search.criteria import Criteria


@dataclass(frozen=True)
class Place:
    establishment_code: str
    establishment_name: str
    cell_label: str


@dataclass(frozen=True)
class PrisonerRow:
    prison_number: str
    surname: str
    forenames: str
    date_of_birth: str  # masked
    current: Place | None


@dataclass(frozen=True)
class PrisonerSearchResult:
    criteria: Criteria
    prisoners: list[PrisonerRow]
    more: bool  # more matched than are shown
    hint: str  # what to do about it; empty when everything that matched is shown


@dataclass(frozen=True)
class Alias:
    surname: str
    forenames: str


@dataclass(frozen=True)
class Stay:
    place: Place
    starts_on: date
    ends_on: date | None  # None: open, still there
    current: bool


@dataclass(frozen=True)
class Cellmate:
    prison_number: str
    surname: str
    forenames: str
    place: Place
    overlap_from: date
    overlap_to: date | None  # None: both still there


@dataclass(frozen=True)
class AttributionBasis:
    status: str  # suggested | confirmed
    basis_kind: str
    basis: str
    photo_time: datetime | None
    time_source: str
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class MatchLink:
    match_id: int
    other_image_id: int
    method: str
    distance: int
    status: str
    other_is: list[str]  # what the other image is: a cell's reference photo, another account's


@dataclass(frozen=True)
class EvidenceItem:
    evidence_id: int
    image_id: int
    post_url: str
    posted_at: datetime | None
    submitted_at: datetime
    erased: bool
    matches: list[MatchLink] = field(default_factory=list)
    withdrawn_at: datetime | None = None  # a withdrawal: when, by whom, why (shown instead)
    withdrawn_by: str = ""
    withdrawal_reason: str = ""


@dataclass(frozen=True)
class VideoItem:
    """A video the account posted: its frames are among the account's images."""

    video_id: int
    post_url: str
    posted_at: datetime | None
    submitted_at: datetime
    seconds: float | None
    sampling: str  # waiting | sampled | failed
    frames: int
    erased: bool


@dataclass(frozen=True)
class AttributedAccount:
    account_id: int
    platform: str
    handle: str
    account_status: str
    status: str  # confirmed when any attribution to this prisoner is
    attributions: list[AttributionBasis]
    images: list[EvidenceItem]
    image_total: int  # images held for the account; `images` shows the newest few
    videos: list[VideoItem] = field(default_factory=list)


@dataclass(frozen=True)
class NoticeItem:
    number: int
    channel: str
    delivery: str  # pending | sending | delivered | failed | manual (a portal's notice)
    sent_at: datetime
    submitted_at: datetime | None = None  # a portal's notice: when a person filed it


@dataclass(frozen=True)
class TakedownItem:
    takedown_id: int
    account_id: int
    platform: str
    handle: str
    state: str
    notices_sent: int
    created_at: datetime
    first_sent_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    platform_reference: str
    refusal_reason: str
    notices: list[NoticeItem]


@dataclass(frozen=True)
class CellSearchItem:
    cell_search_id: int
    place: Place
    state: str
    urgency: str
    reason: str
    requested_at: datetime
    searched_at: datetime | None
    completed_at: datetime | None
    phones: int
    sim_cards: int
    chargers: int
    other_items: int
    other_description: str
    outcome_note: str


@dataclass(frozen=True)
class Dossier:
    prison_number: str
    surname: str
    forenames: str
    date_of_birth: str  # masked
    flags: list[str]
    purpose: str
    aliases: list[Alias]
    stays: list[Stay]
    cellmates: list[Cellmate]
    cellmates_truncated: bool
    accounts: list[AttributedAccount]
    takedowns: list[TakedownItem]
    cell_searches: list[CellSearchItem]
