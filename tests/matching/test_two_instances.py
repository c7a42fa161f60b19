"""Two app instances on one database: each sees the other's additions and removals."""

import pytest
from fastapi.testclient import TestClient

from app import migrations
from app.audit.service import SYSTEM
from app.auth.models import User
from app.auth.passwords import hash_password
from app.db import make_engine, make_session_factory
from app.evidence.images import erase_image
from app.main import create_app
from app.settings import Settings
from tests.conftest import PASSWORD, login, page_csrf
from tests.matching import scenes


@pytest.fixture
def shared(tmp_path):
    url = f"sqlite:///{tmp_path}/shared.db"
    migrations.upgrade(url)
    settings = Settings(data_dir=tmp_path / "data", database_url=url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as s:
        s.add(User(username="ana", role="analyst", password_hash=hash_password(PASSWORD),
                   must_change_password=False))
        s.commit()
    yield settings, factory
    engine.dispose()


def _submit(client, data):
    r = client.post("/api/v1/images", headers={"X-CSRF-Token": page_csrf(client)},
                    files=[("files", ("x.jpg", data, "image/jpeg"))])
    assert r.status_code in (200, 201), r.text
    return r.json()["images"][0]


def test_each_instance_picks_up_the_others_changes(shared):
    settings, factory = shared
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        login(a, "ana")
        login(b, "ana")
        scene = scenes.room(5)
        first = _submit(b, scenes.jpeg(scenes.room(99)))  # b builds its index now
        held = _submit(a, scenes.jpeg(scene))
        seen = _submit(b, scenes.repost(scene))
        assert [c["image_id"] for c in seen["candidates"]] == [held["image_id"]]
        with factory() as s:  # removed behind both apps' backs, by another process
            erase_image(s, settings, SYSTEM, image_id=held["image_id"], reason="test")
            s.commit()
        again = _submit(a, scenes.repost(scene, quality=60))  # new bytes, same photo
        ids = [c["image_id"] for c in again["candidates"]]
        assert held["image_id"] not in ids
        assert seen["image_id"] in ids  # the other copy is still held
        assert first["candidates"] == []


def test_a_withdrawal_through_one_instance_leaves_both_indexes_at_once(shared):
    settings, factory = shared
    with factory() as s:
        s.add(User(username="sue", role="supervisor", password_hash=hash_password(PASSWORD),
                   must_change_password=False))
        s.commit()
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        login(a, "sue")
        login(b, "ana")
        scene = scenes.room(6)
        held = _submit(a, scenes.jpeg(scene))
        assert [c["image_id"] for c in _submit(b, scenes.repost(scene))["candidates"]] == \
            [held["image_id"]]  # b's index holds it
        r = a.request("DELETE", f"/api/v1/images/{held['image_id']}",
                      headers={"X-CSRF-Token": page_csrf(a)},
                      json={"reason": "Withdrawn in a test of two instances"})
        assert r.status_code == 200, r.text
        # the very next query in each process, with no wait: neither links to it
        for client, quality in ((b, 60), (a, 50)):
            found = _submit(client, scenes.repost(scene, quality=quality))
            assert held["image_id"] not in [c["image_id"] for c in found["candidates"]]
        assert b.get(f"/images/{held['image_id']}/display").status_code == 410
