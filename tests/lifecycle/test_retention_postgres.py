"""On PostgreSQL the app's role cannot delete audit events: `jobs run` prunes them through the
owner's connection, and without it says so and applies every other rule."""

import uuid
from datetime import timedelta

from sqlmodel import select

from app.audit.linker import link_all
from app.audit.models import AuditEvent
from app.audit.verify import verify_chain
from app.auth.models import User, UserSession
from app.db import make_engine, make_session_factory, utcnow
from app.evidence import storage
from app.evidence.models import Image
from app.lifecycle import job
from app.settings import Settings
from tests.conftest import AUDIT_KEY
from tests.lifecycle.test_retention_job import _account, _evidence, _image
from tests.support.postgres import two_role_database

DAY = timedelta(days=1)


def test_the_prune_needs_the_owner_and_the_other_rules_do_not(request, tmp_path):
    owner_url, app_url = two_role_database(request.getfixturevalue("pg_server"),
                                           f"retention_{uuid.uuid4().hex[:8]}")
    settings = Settings(data_dir=tmp_path / "data", database_url=app_url,
                        migrate_database_url=owner_url, audit_link_seconds=0, match_workers=0)
    engine, owner = make_engine(app_url), make_engine(owner_url)
    factory = make_session_factory(engine)
    try:
        with factory() as s:
            for n in range(4):
                s.add(AuditEvent(occurred_at=utcnow() - 800 * DAY, actor_name="t",
                                 action="test.old", object_ids=f'["{n}"]'))
            s.flush()
            account = _account(s, "old_closed", 800)
            image = _image(s, settings, 401)
            _evidence(s, account, image)
            user = User(username="u1", role="analyst", password_hash="x")
            s.add(user)
            s.flush()
            s.add(UserSession(token_hash="a" * 64, user_id=user.id, csrf_token="c",
                              expires_at=utcnow() - 40 * DAY, last_seen_at=utcnow() - 41 * DAY))
            s.commit()
            image_id, key = image.id, image.storage_key
        link_all(engine, factory, key=AUDIT_KEY)

        as_app = job.run(engine, settings)  # the app's role alone: no prune, the rest done
        assert as_app.audit_note == ("audit events not pruned: this role may not delete them; "
                                     "set CELLWATCH_MIGRATE_DATABASE_URL to the tables' owner")
        assert as_app.counts["audit_events"] == 0
        assert (as_app.counts["closed_accounts"], as_app.counts["images_erased"],
                as_app.counts["sessions"]) == (1, 1, 1)
        with factory() as s:
            assert len(s.exec(select(AuditEvent).where(
                AuditEvent.action == "test.old")).all()) == 4
            assert s.get(Image, image_id).wrapped_key == b""
        assert not storage.path_for(settings, key, "original").exists()

        with_owner = job.run(engine, settings, owner=owner)
        assert with_owner.audit_note == "" and with_owner.counts["audit_events"] == 4
        link_all(engine, factory, key=AUDIT_KEY)
        with factory() as s:
            assert s.exec(select(AuditEvent).where(AuditEvent.action == "test.old")).all() == []
            result = verify_chain(s, key=AUDIT_KEY)
        assert result.ok, result.reason
    finally:
        engine.dispose()
        owner.dispose()
