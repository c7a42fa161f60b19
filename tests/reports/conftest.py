"""A fixed data set whose report figures can be worked out by hand (see the comments).

Times are UTC. Three instants sit near a month end on purpose: in UK local time
- 2024-12-31 23:30 UTC is still 31 December (GMT),
- 2025-03-31 23:30 UTC is 1 April 00:30 (BST started on 30 March),
- 2025-05-31 23:30 UTC is 1 June 00:30 (BST).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from app.accounts.models import Account, Attribution
from app.cellsearch.models import CellSearch
from app.estate.models import Establishment
from app.evidence.models import EvidenceImage, EvidenceVideo, Video, VideoFrame
from app.takedowns.models import Notice, Takedown
from tests.browser.conftest import (  # noqa: F401  (fixtures, by name)
    chromium_path,
    live_server,
    migrated_template,
)
from tests.search.conftest import add_cell, add_image, add_prisoner


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Data:
    user_id: int


# platform, state, created, first sent, resolved, notices delivered (+ failed)
TAKEDOWNS = [
    # Instagram: 5 requests, 4 sent, removed 3 (1 h, 3 h, 5 h), refused 1, a draft.
    # removal rate 3 / (3 + 1) = 75 %; median 3 h; p90 = 3 + 0.8 * (5 - 3) = 4.6 h;
    # notices per removal (1 + 2 + 3) / 3 = 2 (the failed delivery is not counted)
    ("instagram", "removed", "2025-01-10 09:00", "2025-01-10 10:00", "2025-01-10 11:00", 1, 0),
    ("instagram", "removed", "2025-03-01 09:00", "2025-03-01 10:00", "2025-03-01 13:00", 2, 0),
    ("instagram", "removed", "2025-05-31 09:00", "2025-05-31 18:30", "2025-05-31 23:30", 3, 1),
    ("instagram", "refused", "2025-02-01 09:00", "2025-02-01 10:00", "2025-02-03 10:00", 2, 0),
    ("instagram", "draft", "2025-02-02 09:00", None, None, 0, 0),
    # TikTok: 3 requests, 3 sent, removed 2 (2 h, 10 h), 1 withdrawn: rate 2 / 2 = 100 %;
    # median (2 + 10) / 2 = 6 h; p90 = 2 + 0.9 * 8 = 9.2 h; notices (1 + 4) / 2 = 2.5
    ("tiktok", "removed", "2024-12-31 20:00", "2024-12-31 21:30", "2024-12-31 23:30", 1, 0),
    ("tiktok", "removed", "2025-03-29 10:00", "2025-03-31 13:30", "2025-03-31 23:30", 4, 0),
    ("tiktok", "withdrawn", "2025-04-01 09:00", "2025-04-02 10:00", "2025-04-03 10:00", 1, 0),
    # X: 1 request, sent, acknowledged, no answer: no rate, no times
    ("x", "acknowledged", "2025-02-15 09:00", "2025-02-15 10:00", None, 1, 0),
]


def build_data(session: Session, user_id: int) -> Data:
    mdi = Establishment(code="MDI", name="HMP Moorland")
    lei = Establishment(code="LEI", name="HMP Leicester")
    wwi = Establishment(code="WWI", name="HMP Wandsworth")  # nothing there: not listed
    session.add_all([mdi, lei, wwi])
    session.flush()
    mdi_cell, lei_cell = add_cell(session, mdi, "A-1-001"), add_cell(session, lei, "B-1-001")
    add_cell(session, wwi, "C-1-001")
    p1, p2, p3 = (add_prisoner(session, n, s, "John") for n, s in
                  (("A1234BC", "Smith"), ("B2345CD", "Jones"), ("C3456DE", "Brown")))
    jan5 = t("2025-01-05 12:00")
    # Accounts: MDI 3 in 2025 + 1 in 2024, LEI 1, none 1
    accounts = [Account(platform="instagram", handle=f"cellking{i}", establishment_id=est,
                        created_at=created)
                for i, (est, created) in enumerate([
                    (mdi.id, jan5), (mdi.id, jan5), (mdi.id, jan5), (lei.id, jan5),
                    (None, jan5), (mdi.id, t("2024-06-01 12:00"))])]
    session.add_all(accounts)
    session.flush()
    a1, a2, a3, a4, a5, _ = accounts

    def attribution(account: Account, prisoner_id: int | None, status: str,
                    cell_id: int | None, decided: str | None) -> Attribution:
        return Attribution(account_id=account.id, prisoner_id=prisoner_id, status=status,
                           basis_kind="cell_match" if cell_id else "manual", basis="basis",
                           cell_id=cell_id, decided_at=t(decided) if decided else None)

    # Evidence taken in (by the account's establishment): MDI 2 photos and a video on 5 Jan
    # 2025 (the video's 2 frames are images of a1 too, counted as the video) and a photo in
    # 2024; LEI a photo on 20 Feb; no establishment: a video on 10 April.
    def photo(account: Account, submitted: datetime) -> None:
        session.add(EvidenceImage(image_id=add_image(session).id, account_id=account.id,
                                  submitted_at=submitted))

    def video(account: Account, submitted: datetime, frames: int = 0) -> None:
        clip = Video(sha256=f"{account.id:064x}", container="mp4", codec="h264", width=96,
                     height=64, byte_size=4000, storage_key=f"report-video-{account.id}",
                     wrapped_key=b"k", frames=frames)
        session.add(clip)
        session.flush()
        session.add(EvidenceVideo(video_id=clip.id, account_id=account.id,
                                  submitted_at=submitted))
        for n in range(frames):
            image = add_image(session)
            session.add(VideoFrame(video_id=clip.id, image_id=image.id, t=float(n),
                                   reason="second"))
            session.add(EvidenceImage(image_id=image.id, account_id=account.id,
                                      submitted_at=submitted))

    photo(a1, jan5)
    photo(a1, jan5)
    video(a1, jan5, frames=2)
    photo(accounts[5], t("2024-06-02 12:00"))
    photo(a4, t("2025-02-20 12:00"))
    video(a5, t("2025-04-10 12:00"))

    # Confirmed attributions: MDI 2 (a cell there; an account there with no cell),
    # LEI 1 (the cell's establishment wins over the account's MDI), no establishment 1.
    session.add_all([
        attribution(a1, p1.id, "confirmed", mdi_cell.id, "2025-01-06 12:00"),
        attribution(a2, p2.id, "confirmed", None, "2025-01-07 12:00"),
        attribution(a3, p3.id, "confirmed", lei_cell.id, "2025-01-08 12:00"),
        attribution(a4, p1.id, "suggested", lei_cell.id, None),
        attribution(a5, p2.id, "confirmed", None, "2025-02-01 12:00"),
        attribution(a1, p3.id, "rejected", mdi_cell.id, "2025-01-06 12:00"),
    ])

    # Searches: MDI 3 (2 completed: 2 phones + 1 SIM; 5 phones in 2024), LEI 1 (1 charger
    # + 3 other). All time: MDI finds 8, LEI 4. In 2025: MDI 2 searches, finds 3.
    def search(est: Establishment, cell_id: int, requested: str, state: str,
               **items: int) -> CellSearch:
        return CellSearch(establishment_id=est.id, cell_id=cell_id, reason="r", state=state,
                          requested_by=user_id, requested_at=t(requested), **items)

    session.add_all([
        search(mdi, mdi_cell.id, "2025-01-10 12:00", "completed", phones=2, sim_cards=1),
        search(mdi, mdi_cell.id, "2025-02-10 12:00", "requested"),
        search(lei, lei_cell.id, "2025-01-12 12:00", "completed", chargers=1, other_items=3),
        search(mdi, mdi_cell.id, "2024-06-10 12:00", "completed", phones=5),
    ])

    for platform, state, created, sent, resolved, delivered, failed in TAKEDOWNS:
        takedown = Takedown(account_id=a1.id, platform=platform, state=state, reason="r",
                            author_id=user_id, created_at=t(created),
                            first_sent_at=t(sent) if sent else None,
                            resolved_at=t(resolved) if resolved else None,
                            notices_sent=delivered)  # the lifecycle counts no failure
        session.add(takedown)
        session.flush()
        session.add_all([Notice(takedown_id=takedown.id, number=n + 1, channel="portal",
                                recipient="r", delivery="failed" if n >= delivered
                                else "delivered")
                         for n in range(delivered + failed)])
    session.flush()
    return Data(user_id)


@pytest.fixture
def data(session: Session, make_user) -> Data:
    built = build_data(session, make_user("supervisor").id)
    session.commit()
    return built
