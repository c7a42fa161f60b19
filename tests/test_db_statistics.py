"""SQLite finds an upload's candidate cells through the reference photos' image_id index once
the planner's statistics are gathered (app/db_statistics.py); a server gathers them at start."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.dialects import sqlite as sqlite_dialect

from app import db_statistics, migrations
from app.db import make_engine
from app.main import create_app
from app.matching.candidates import cells_statement
from app.settings import Settings

PHOTOS = 3000


def _library(path: Path) -> str:
    """A migrated database holding PHOTOS reference photos of one cell."""
    url = f"sqlite:///{path}"
    migrations.upgrade(url)
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO establishment (id, code, name, category, region, updated_at) "
                   "VALUES (1, 'AAA', 'HMP A', 'B', 'North', '2026-01-01')")
        db.execute("INSERT INTO cell (id, establishment_id, label, wing, landing, capacity, "
                   "updated_at) VALUES (1, 1, 'A1-01', 'A', '1', 1, '2026-01-01')")
        db.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO image (id, sha256, format, byte_size, width, height, storage_key, "
            "wrapped_key, phash, phash_mirror, phash_trim, dhash, exif_device, created_at) "
            "SELECT i, printf('%064d', i), 'jpeg', 1, 1, 1, printf('%032d', i), x'00', i, i, "
            "i, i, '', '2026-01-01' FROM n", (PHOTOS,))
        db.execute("INSERT INTO reference_photo (image_id, cell_id, source, added_at) "
                   "SELECT id, 1, 'survey', '2026-01-01' FROM image")
    return url


def _plan(engine: Engine) -> str:
    sql = str(cells_statement([5, 17, 2900]).compile(
        dialect=sqlite_dialect.dialect(), compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:  # a new connection: it reads the statistics as it opens
        return " ".join(str(row) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))


def test_candidate_cells_are_read_by_image_once_statistics_are_gathered(tmp_path: Path) -> None:
    engine = make_engine(_library(tmp_path / "library.db"))
    try:
        # without statistics SQLite takes the index every active photo shares: a full read
        assert "ix_reference_photo_removed_at" in _plan(engine)
        assert db_statistics.gather(engine)
        engine.dispose()
        plan = _plan(engine)
        assert "ix_reference_photo_image_id" in plan
        assert "ix_reference_photo_removed_at" not in plan
    finally:
        engine.dispose()


@pytest.mark.parametrize("every", [3600.0, 0.0])
def test_a_server_gathers_the_statistics_at_start_unless_told_not_to(
        tmp_path: Path, settings: Settings, every: float) -> None:
    path = tmp_path / "library.db"
    url = _library(path)
    own = settings.model_copy(update={"database_url": url, "sqlite_statistics_seconds": every})
    with TestClient(create_app(own)) as client:
        assert client.get("/healthz").status_code == 200
        with sqlite3.connect(path) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
            gathered = "sqlite_stat1" in tables and db.execute(
                "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'reference_photo'").fetchone()[0]
    assert bool(gathered) == (every > 0)
