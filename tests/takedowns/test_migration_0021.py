"""Migration 0021: platforms on the former default notice template move to the one that names
videos; a template a supervisor wrote stays as written; downgrading puts the former back."""

from sqlalchemy import text

from app import migrations
from app.db import make_engine
from app.takedowns.notice_text import DEFAULT_TEMPLATE
from tests.takedowns.test_migration_0011 import _insert, revision_module


def _revision_0021():
    return revision_module("2026_12_02_0021_notice_names_videos.py")


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


def test_an_account_holding_a_video_counts_it_once_in_its_priority(tmp_path):
    from alembic.command import upgrade

    url = f"sqlite:///{tmp_path}/old.db"
    migrations.upgrade(url, "0020")
    engine = make_engine(url)
    with engine.begin() as conn:
        filmed = _insert(conn, "account", platform="instagram", handle="filmed_cell",
                         image_count=4, priority=23,
                         priority_factors='{"images": 8, "no_action_yet": 15}')
        still = _insert(conn, "account", platform="instagram", handle="photos_only",
                        image_count=2, priority=4, priority_factors='{"images": 4}')
        images = [_insert(conn, "image", sha256=f"{n:064d}", storage_key=f"k{n}")
                  for n in range(6)]
        video = _insert(conn, "video", sha256="f" * 64, storage_key="v1")
        for n in range(4):  # a photo, then the video's three frames
            _insert(conn, "evidence_image", image_id=images[n], account_id=filmed)
        for n in (1, 2, 3):
            _insert(conn, "video_frame", video_id=video, image_id=images[n], t=float(n))
        _insert(conn, "evidence_video", video_id=video, account_id=filmed)
        for n in (4, 5):
            _insert(conn, "evidence_image", image_id=images[n], account_id=still)
    upgrade(migrations.alembic_config(url), "head")
    with engine.connect() as conn:
        held = {r[0]: r[1:] for r in conn.execute(text(
            "SELECT handle, image_count, priority, priority_factors FROM account"))}
    # one photo and one video: 2 held, 4 points for them; the other factor kept
    assert held["filmed_cell"] == (2, 19, '{"images": 4, "no_action_yet": 15}')
    assert held["photos_only"] == (2, 4, '{"images": 4}')  # no video: untouched
    engine.dispose()
