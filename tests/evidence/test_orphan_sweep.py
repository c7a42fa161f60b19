"""Orphan image files go as soon as no transaction can still claim them: a file whose writer
is still in flight is kept, a file whose writer is gone is removed at once (no age margin).
On a SQLite file and on PostgreSQL, with real transactions on separate connections."""

import pytest

from app import migrations
from app.db import make_engine, make_session_factory, unit_of_work
from app.evidence import storage
from app.evidence.images import ingest_image, read_original
from app.evidence.sweep import sweep_orphans
from app.settings import Settings
from tests.conftest import TEST_ACTOR
from tests.evidence import samples
from tests.evidence.conftest import stored_files


@pytest.fixture(params=["sqlite", "postgres"])
def live(request, tmp_path):
    if request.param == "postgres":
        from tests.support.postgres import create_database

        url = create_database(request.getfixturevalue("pg_server"),
                              f"sweep_{tmp_path.name[-12:].lower().replace('-', '_')}")
    else:
        url = f"sqlite:///{tmp_path}/sweep.db"
    migrations.upgrade(url)
    engine = make_engine(url)
    yield Settings(data_dir=tmp_path / "data", database_url=url), make_session_factory(engine)
    engine.dispose()


def test_in_flight_files_are_kept_and_orphans_removed_at_once(live):
    settings, factory = live
    with unit_of_work(factory) as s:
        held, _ = ingest_image(s, settings, TEST_ACTOR, data=samples.jpeg(), filename="a")
    orphan = storage.path_for(settings, "f" * 32, "original")  # written just now
    storage.write_atomic(orphan, b"left by a killed upload")
    temp = orphan.parent / f".tmp-{'f' * 32}.display-x1y2z3"
    temp.write_bytes(b"half a file")
    writer = factory()  # an upload in flight: its files are written, its row not committed
    try:
        flying, _ = ingest_image(writer, settings, TEST_ACTOR, data=samples.png(),
                                 filename="b")
        in_flight = storage.paths_of(settings, flying.storage_key)
        first = sweep_orphans(factory, settings, wait_seconds=0.5)
        assert all(p.exists() for p in in_flight)
        if settings.database_url.startswith("sqlite"):
            # the writer holds SQLite's write lock: nothing is decided while it does
            assert first.deferred and first.removed == [] and orphan.exists()
        else:
            assert sorted(first.removed) == sorted([orphan, temp])
            assert first.in_flight == 2
        writer.commit()
    finally:
        writer.close()
    second = sweep_orphans(factory, settings, wait_seconds=0.5)
    assert not orphan.exists() and not temp.exists()
    assert not second.deferred and second.in_flight == 0
    assert sorted(stored_files(settings)) == sorted(
        storage.paths_of(settings, held.storage_key) + in_flight)
    assert read_original(settings, held) == samples.jpeg()
