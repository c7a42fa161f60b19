"""Two people acknowledge the same search at once, on two connections to a real database:
the second UPDATE waits for the first, matches nothing, and its caller gets 409."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from app import migrations
from app.audit.models import AuditEvent
from app.audit.service import Actor
from app.auth.models import User
from app.cellsearch import service as svc
from app.cellsearch.models import CellSearch
from app.db import make_engine
from app.errors import Conflict
from app.web.dates import local_today
from tests.cellsearch.conftest import TZ, build_cells
from tests.support.postgres import create_database


@pytest.fixture(params=["sqlite", "postgres"])
def committed_engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:
    """A database of its own: these tests commit, and two connections must see it."""
    if request.param == "postgres":
        url = create_database(request.getfixturevalue("pg_server"),
                              f"race_{uuid.uuid4().hex[:8]}")
    else:
        url = f"sqlite:///{tmp_path / 'race.db'}"
    migrations.upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def test_the_slower_acknowledgement_gets_409(committed_engine):
    with Session(committed_engine) as setup:
        user = User(username="analyst-race", role="analyst", password_hash="x")
        setup.add(user)
        setup.flush()
        cells = build_cells(setup, user, local_today(TZ))
        actor = Actor(user_id=user.id, name=user.username)
        search_id = svc.request_search(setup, actor, attribution_id=cells.confirmed.id,
                                       reason="a photo from the cell", urgency="urgent",
                                       prisoner_ids=None, day=local_today(TZ)).id
        setup.commit()

    first, second = Session(committed_engine), Session(committed_engine)
    both_saw = [svc.get_search(s, search_id).version for s in (first, second)]
    assert both_saw == [1, 1]
    svc.acknowledge(first, actor, search_id, expected_version=1)  # holds the row, uncommitted
    outcome: list[object] = []

    def slower() -> None:
        try:
            svc.acknowledge(second, actor, search_id, expected_version=1)
            outcome.append("won")
        except Conflict as exc:
            outcome.append(exc)
        finally:
            second.rollback()

    thread = threading.Thread(target=slower)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive() and outcome == []  # waiting on the first person's lock
    first.commit()
    thread.join(timeout=20)
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict), outcome
    assert "Someone else changed" in outcome[0].message and "acknowledged" in outcome[0].message
    first.close()
    second.close()
    with Session(committed_engine) as check:
        search = check.get(CellSearch, search_id)
        assert (search.state, search.version) == ("acknowledged", 2)
        acks = check.exec(select(AuditEvent).where(
            AuditEvent.action == "cell_search.acknowledge")).all()
        assert len(acks) == 1
