"""Migration 0021: platforms on the former default notice template move to the one that names
videos; a template a supervisor wrote stays as written; downgrading puts the former back."""

import importlib.util
from pathlib import Path

from sqlalchemy import text

from app import migrations
from app.db import make_engine
from app.takedowns.notice_text import DEFAULT_TEMPLATE
from tests.takedowns.test_migration_0011 import _insert


def _revision_0021():
    path = (Path(__file__).parents[2] / "alembic" / "versions"
            / "2026_12_02_0021_notice_names_videos.py")
    spec = importlib.util.spec_from_file_location("revision_0021", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _templates(engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT platform, template FROM platform_settings")).all())


def test_the_default_template_moves_to_the_one_naming_videos_and_back(tmp_path):
    from alembic.command import downgrade, upgrade

    url = f"sqlite:///{tmp_path}/old.db"
    migrations.upgrade(url, "0020")
    engine = make_engine(url)
    former = _revision_0021().OLD_DEFAULT_TEMPLATE
    assert "videos" not in former and "videos" in DEFAULT_TEMPLATE
    with engine.begin() as conn:
        _insert(conn, "platform_settings", platform="instagram", channel="portal",
                template=former)
        _insert(conn, "platform_settings", platform="x", channel="portal", template="Mine")
    upgrade(migrations.alembic_config(url), "head")
    assert _templates(engine) == {"instagram": DEFAULT_TEMPLATE, "x": "Mine"}
    downgrade(migrations.alembic_config(url), "0020")
    assert _templates(engine) == {"instagram": former, "x": "Mine"}
    engine.dispose()
