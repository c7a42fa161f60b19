"""Requests that ask for a refresh while another one runs share the next one: a burst of
uploads no longer queues one index sync per request on the index's lock, and nobody is
answered from an index older than the moment they asked."""

from __future__ import annotations

import threading

from sqlmodel import Session

from app import migrations
from app.audit.service import SYSTEM
from app.db import make_engine, unit_of_work
from app.evidence.images import ingest_image
from app.matching.engine import MatchEngine
from app.settings import Settings
from tests.matching import scenes


def test_callers_queued_behind_a_sync_share_the_next_and_see_what_was_committed(tmp_path):
    url = f"sqlite:///{tmp_path}/burst.db"
    migrations.upgrade(url)
    settings = Settings(data_dir=tmp_path / "data", database_url=url, audit_link_seconds=0)
    db = make_engine(url)
    opened: list[int] = []
    first_in, release = threading.Event(), threading.Event()

    def sessions() -> Session:
        opened.append(1)
        if len(opened) == 1:  # the first sync is slow: everyone else queues behind it
            first_in.set()
            release.wait(10)
        return Session(db)

    engine = MatchEngine(sessions=sessions, descriptors=False)
    slow = threading.Thread(target=engine.refresh, args=(None,))
    slow.start()
    assert first_in.wait(10)
    # committed while the first sync is under way, before the queued callers ask
    with unit_of_work(lambda: Session(db, expire_on_commit=False)) as s:
        image, _ = ingest_image(s, settings, SYSTEM, data=scenes.jpeg(scenes.room(3)),
                                filename="new.jpg")
    queued = [threading.Thread(target=engine.refresh, args=(None,)) for _ in range(8)]
    for t in queued:
        t.start()
    release.set()
    for t in [slow, *queued]:
        t.join(30)
    assert len(opened) == 2  # the slow one, then one for all eight that waited
    assert image.id in engine.hashes.ids()  # the shared sync saw what they needed

    engine.refresh(None)  # asked after every sync so far began: a sync of its own
    assert len(opened) == 3
    db.dispose()
