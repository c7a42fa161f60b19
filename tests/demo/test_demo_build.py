"""`cellwatch demo` on an empty database: the estate, photos and accounts the issue promises,
put in through the services, and pages that show them as an analyst would see them."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from app.accounts.models import Account, Attribution
from app.audit.models import AuditEvent
from app.auth.models import User
from app.cellsearch.models import CellSearch
from app.demo.build import DemoRefused, build_demo
from app.demo.estate import make_estate
from app.demo.stories import STORIES
from app.estate.models import Cell, Establishment, Occupancy, Prisoner
from app.evidence.models import ReferencePhoto
from app.matching.models import Match
from app.reports.by_platform import platform_rows
from app.reports.period import parse_period
from app.settings import Environment
from app.takedowns.machine import State
from app.takedowns.models import Takedown, TakedownEvent
from tests.demo.conftest import SMALL


def _count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def _account(session, handle) -> Account:
    return session.exec(select(Account).where(Account.handle == handle.lstrip("@"))).one()


def test_the_estate_has_moves_releases_and_shared_cells(demo):
    _, engine, built, said = demo
    with Session(engine) as s:
        assert _count(s, Establishment) == 3
        assert _count(s, Cell) == 3 * 4 * 3 * SMALL
        prisoners = _count(s, Prisoner)
        assert prisoners > 200
        stays = s.exec(select(Occupancy)).all()
        per_prisoner = Counter(o.prisoner_id for o in stays)
        assert sum(1 for n in per_prisoner.values() if n > 1) > 50  # moved between cells
        released = s.exec(select(func.count()).select_from(Prisoner).where(
            Prisoner.release_date < date.today())).one()
        assert released > 50
        current = Counter(o.cell_id for o in stays if o.ends_on is None)
        assert sum(1 for n in current.values() if n == 2) > 10  # shared cells today
        # every cell has a reference photo; the first story's cell has two
        photos = Counter(r.cell_id for r in s.exec(select(ReferencePhoto)).all())
        assert set(photos) == {c.id for c in s.exec(select(Cell)).all()}
        assert sorted(photos.values())[-1] == 2
    assert any(line.strip().startswith("estate:") for line in said)


def test_every_story_matched_and_every_state_is_held(demo):
    _, engine, built, _ = demo
    assert built.unmatched == []
    assert sorted((u.role, u.username) for u in built.users) == [
        ("admin", "admin"), ("analyst", "analyst"), ("auditor", "auditor"),
        ("supervisor", "supervisor")]
    with Session(engine) as s:
        assert _count(s, Account) == len(STORIES)
        assert {t.state for t in s.exec(select(Takedown)).all()} == {st.value for st in State}
        assert {c.state for c in s.exec(select(CellSearch)).all()} == {
            "requested", "acknowledged", "completed"}
        statuses = Counter(m.status for m in s.exec(select(Match)).all())
        assert statuses["pending"] >= 5 and statuses["confirmed"] >= 15  # work left to review
        assert statuses["rejected"] >= 2
        methods = {m.method for m in s.exec(select(Match)).all()}
        assert "features" in methods  # another viewpoint, found by the second stage
        attributions = Counter(a.status for a in s.exec(select(Attribution)).all())
        assert attributions["confirmed"] >= 10 and attributions["suggested"] >= 1
        assert attributions["rejected"] >= 1
        back = _account(s, "@ashvale.a.wing.back")
        assert back.status == "re_emerged"
        assert back.re_emerged_from_id == _account(s, "@ashvale.a.wing").id
        # made by the demo users through the services, and audited as they would be
        actors = {e.actor_name for e in s.exec(select(AuditEvent).where(
            AuditEvent.action.in_(["takedown.approve", "account.intake"]))).all()}
        assert actors == {"analyst", "supervisor"}
        [built_event] = s.exec(select(AuditEvent).where(AuditEvent.action == "demo.build")).all()
        assert json.loads(built_event.details)["accounts"] == len(STORIES)


def test_pages_show_a_matched_account_its_prisoner_and_each_takedown(demo, analyst):
    _, engine, _, _ = demo
    with Session(engine) as s:
        account = _account(s, "@ashvale.a.wing")
        row = s.exec(select(Attribution).where(Attribution.account_id == account.id,
                                               Attribution.status == "confirmed")).first()
        prisoner = s.get(Prisoner, row.prisoner_id)
        cell = s.get(Cell, row.cell_id)
        takedowns = s.exec(select(Takedown, Account).join(
            Account, Account.id == Takedown.account_id)).all()
        back = _account(s, "@ashvale.a.wing.back")
    page = analyst.get(f"/accounts/{account.id}")
    assert page.status_code == 200
    assert cell.label in page.text and prisoner.prison_number in page.text
    assert "demo-banner" in page.text and "fictional" in page.text
    again = analyst.get(f"/accounts/{back.id}").text
    assert "Re-emerged" in again and "ashvale.a.wing" in again
    dossier = analyst.post(f"/search/prisoners/{prisoner.prison_number}",
                           data={"purpose": "Demo walk-through",
                                 "csrf_token": _csrf(analyst)})
    assert dossier.status_code == 200 and "ashvale.a.wing" in dossier.text
    for takedown, owner in takedowns:
        shown = analyst.get(f"/takedowns/{takedown.id}")
        assert shown.status_code == 200
        assert owner.handle in shown.text
        assert takedown.state.replace("_", " ") in shown.text.lower()
    board = analyst.get("/review")
    assert board.status_code == 200


def test_casework_is_spread_over_the_days_the_stories_tell(demo):
    """The services stamp each step with the moment it was made; the demo's history puts them
    on a calendar, so the report's time to removal is hours or days, not the build's seconds."""
    _, engine, _, _ = demo
    now = datetime.now(UTC)
    with Session(engine) as s:
        for takedown in s.exec(select(Takedown)).all():
            times = [_utc(takedown.created_at)] + [_utc(e.at) for e in s.exec(
                select(TakedownEvent).where(TakedownEvent.takedown_id == takedown.id)
                .order_by(TakedownEvent.id)).all()]
            assert times == sorted(times) and times[-1] < now, takedown.id
            # taken in, and its attribution decided, before anyone drafted the takedown
            account = s.get(Account, takedown.account_id)
            decided = [_utc(a.decided_at) for a in s.exec(select(Attribution).where(
                Attribution.account_id == account.id)).all() if a.decided_at]
            assert _utc(account.created_at) <= max(decided, default=times[0]) <= times[0]
            assert now - times[0] > timedelta(hours=6)
            if takedown.first_sent_at and takedown.resolved_at:
                took = _utc(takedown.resolved_at) - _utc(takedown.first_sent_at)
                assert timedelta(hours=1) < took < timedelta(days=10)
            if takedown.next_notice_due_at:  # no re-notice falls due as the server starts
                assert _utc(takedown.next_notice_due_at) > now
        for search in s.exec(select(CellSearch)).all():
            assert _utc(search.requested_at) < now - timedelta(hours=2)
            if search.completed_at:
                assert _utc(search.requested_at) < _utc(search.searched_at) <= _utc(
                    search.completed_at) < now
        platforms = platform_rows(s, parse_period("", "", "Europe/London"))
    medians = [p.median_seconds for p in platforms if p.median_seconds is not None]
    assert medians and min(medians) > 3600


def test_dossier_says_a_portal_notice_is_ready_to_submit_not_sent(demo, analyst):
    """@pad_tour's platform takes requests on a web form: its notice waits for a person."""
    _, engine, _, _ = demo
    with Session(engine) as s:
        account = _account(s, "@pad_tour")
        row = s.exec(select(Attribution).where(Attribution.account_id == account.id,
                                               Attribution.status == "confirmed")).first()
        number = s.get(Prisoner, row.prisoner_id).prison_number
    dossier = analyst.post(f"/search/prisoners/{number}",
                           data={"purpose": "Demo walk-through", "csrf_token": _csrf(analyst)})
    assert dossier.status_code == 200
    assert "ready to submit (not sent)" in dossier.text
    assert "· manual" not in dossier.text


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _csrf(client) -> str:
    from tests.conftest import csrf_from

    return csrf_from(client.get("/account/password").text)


def test_a_second_build_refuses_and_changes_nothing(demo):
    settings, engine, _, _ = demo
    with Session(engine) as s:
        before = (_count(s, Prisoner), _count(s, Account), _count(s, User))
    with pytest.raises(DemoRefused, match="already holds 3 establishments"):
        build_demo(engine, settings, seed=3, cells_per_landing=SMALL, say=lambda _: None)
    with Session(engine) as s:
        assert (_count(s, Prisoner), _count(s, Account), _count(s, User)) == before


def test_production_refuses_the_demo(demo):
    settings, engine, _, _ = demo
    production = settings.model_copy(update={"environment": Environment.production})
    with pytest.raises(DemoRefused, match="production"):
        build_demo(engine, production, say=lambda _: None)


def test_the_estate_is_the_same_for_the_same_seed_and_day():
    day = date(2026, 3, 1)
    one, two, other = make_estate(5, day, 3), make_estate(5, day, 3), make_estate(6, day, 3)
    assert one.prisoners.keys() == two.prisoners.keys()
    assert [(s.prison_number, s.starts_on) for s in one.stays] == \
        [(s.prison_number, s.starts_on) for s in two.stays]
    assert one.prisoners.keys() != other.prisoners.keys()
