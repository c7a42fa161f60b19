"""Migration 0011 keeps earlier takedowns as they were: every image of the account chosen, portal
notices already filed recorded as submitted, the former default template replaced."""

import importlib.util
from datetime import datetime
from pathlib import Path

from sqlalchemy import Boolean, DateTime, Integer, LargeBinary, inspect, text

from app import migrations
from app.db import make_engine
from app.takedowns.notice_text import DEFAULT_TEMPLATE


def revision_module(filename: str):
    """A migration module itself, for the former default template it knows."""
    path = Path(__file__).parents[2] / "alembic" / "versions" / filename
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _revision_0011():
    return revision_module("2026_11_30_0011_takedown_images_preview.py")


def _filler(column):
    """A value for a NOT NULL column without a default (the test names the ones it cares for)."""
    kind = column["type"]
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, DateTime) or "DATETIME" in str(kind).upper():
        return datetime(2026, 11, 1, 12)
    if isinstance(kind, LargeBinary):
        return b"\0"
    return "x"


def _insert(conn, table, **values):
    for column in inspect(conn).get_columns(table):
        if column["name"] in values or column["nullable"] or column["name"] == "id":
            continue
        if column.get("default") is None:
            values[column["name"]] = _filler(column)
    names = ", ".join(values)
    conn.execute(text(f"INSERT INTO {table} ({names}) VALUES "  # noqa: S608 - test's own names
                      f"({', '.join(':' + n for n in values)})"), values)
    return conn.execute(text("SELECT max(rowid) FROM " + table)).scalar()  # noqa: S608


def test_earlier_takedowns_keep_their_images_and_portal_notices_count_as_filed(tmp_path):
    from alembic.command import upgrade

    url = f"sqlite:///{tmp_path}/old.db"
    migrations.upgrade(url, "0010")
    engine = make_engine(url)
    revision = _revision_0011()
    with engine.begin() as conn:
        user = _insert(conn, "app_user", username="ana", role="analyst")
        account = _insert(conn, "account", platform="instagram", handle="wing_a_boss")
        other = _insert(conn, "account", platform="instagram", handle="someone_else")
        images = [_insert(conn, "image", sha256=f"{n:064d}", storage_key=f"k{n}")
                  for n in range(3)]
        mine = [_insert(conn, "evidence_image", image_id=images[n], account_id=account)
                for n in range(2)]
        _insert(conn, "evidence_image", image_id=images[2], account_id=other)
        takedown = _insert(conn, "takedown", account_id=account, platform="instagram",
                           state="sent", author_id=user)
        _insert(conn, "notice", takedown_id=takedown, number=1, channel="portal",
                delivery="manual", sent_by=user, sent_at=datetime(2026, 11, 2, 9))
        _insert(conn, "platform_settings", platform="instagram", channel="portal",
                template=revision.OLD_DEFAULT_TEMPLATE)
        _insert(conn, "platform_settings", platform="x", channel="portal", template="Mine")
    upgrade(migrations.alembic_config(url), "head")
    with engine.connect() as conn:
        chosen = conn.execute(text("SELECT evidence_id FROM takedown_image WHERE takedown_id = "
                                   ":t ORDER BY position"), {"t": takedown}).scalars().all()
        assert chosen == mine
        filed = conn.execute(text("SELECT submitted_by, submitted_at FROM notice")).one()
        assert filed[0] == user and filed[1] is not None
        templates = {p: t for p, t in conn.execute(text(
            "SELECT platform, template FROM platform_settings"))}
        assert templates == {"instagram": DEFAULT_TEMPLATE, "x": "Mine"}
    engine.dispose()
