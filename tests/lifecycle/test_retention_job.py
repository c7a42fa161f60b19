"""`cellwatch jobs run` erases what is past its retention rule, one rule at a time, and reports
the counts per kind, in its output and in its audit event."""

import json
import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from app import migrations
from app.accounts.models import Account, AccountStatus, IdempotencyKey
from app.accounts.service import set_status
from app.audit.linker import link_all
from app.audit.models import AuditEvent
from app.audit.verify import verify_chain
from app.auth.models import ApiKey, EnrolmentCode, User, UserSession
from app.auth.throttle import LoginFailure
from app.db import make_engine, make_session_factory, utcnow
from app.estate.models import Cell, Establishment
from app.evidence import storage
from app.evidence.images import ingest_image
from app.evidence.models import EvidenceImage, Image, ReferencePhoto
from app.lifecycle import job
from app.matching.models import Match, MatchRun
from app.settings import Settings, get_settings
from app.takedowns.models import Takedown, TakedownImage
from tests.conftest import AUDIT_KEY, TEST_ACTOR
from tests.matching import scenes

DAY = timedelta(days=1)


@pytest.fixture
def world(tmp_path):
    """A database of its own: the job commits."""
    url = f"sqlite:///{tmp_path}/retention-{uuid.uuid4().hex[:6]}.db"
    migrations.upgrade(url)
    settings = Settings(data_dir=tmp_path / "data", database_url=url, audit_link_seconds=0,
                        match_workers=0)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    yield settings, engine, factory
    engine.dispose()


def _image(session, settings, seed):
    image, _ = ingest_image(session, settings, TEST_ACTOR, data=scenes.jpeg(scenes.room(seed)),
                            filename=f"room-{seed}.jpg")
    return image


def _account(session, handle, closed_days_ago):
    status = "new" if closed_days_ago is None else "removed"
    closed = None if closed_days_ago is None else utcnow() - closed_days_ago * DAY
    account = Account(platform="instagram", handle=handle, status=status, closed_at=closed)
    session.add(account)
    session.flush()
    return account


def _evidence(session, account, image):
    row = EvidenceImage(image_id=image.id, account_id=account.id, original_filename="x.jpg",
                        post_url="https://www.instagram.com/p/X/")
    session.add(row)
    session.flush()
    return row


def _fill(session: Session, settings: Settings) -> dict[str, int]:
    now = utcnow()
    for n in range(3):  # audit events from before the 24 months, first in the chain
        session.add(AuditEvent(occurred_at=now - 800 * DAY, actor_name="t", action="test.old",
                               object_ids=f'["{n}"]'))
    session.flush()
    old, recent, open_ = (_account(session, "old_closed", 800), _account(session, "new_closed", 10),
                          _account(session, "still_open", None))
    ids = {"old_image": _image(session, settings, 301).id,
           "shared_image": _image(session, settings, 302).id,
           "recent_image": _image(session, settings, 303).id}
    cited = _evidence(session, old, session.get(Image, ids["old_image"]))
    _evidence(session, old, session.get(Image, ids["shared_image"]))
    _evidence(session, open_, session.get(Image, ids["shared_image"]))
    _evidence(session, recent, session.get(Image, ids["recent_image"]))
    session.add(Match(query_image_id=ids["old_image"], candidate_image_id=ids["recent_image"],
                      method="phash", distance=4))
    session.add(MatchRun(image_id=ids["old_image"]))
    est = Establishment(code="MDI", name="Moorland")
    session.add(est)
    session.flush()
    cell = Cell(establishment_id=est.id, label="A-1-001", wing="A", landing="1")
    session.add(cell)
    session.flush()
    ids["unused_photo_image"] = _image(session, settings, 304).id
    ids["recently_removed_image"] = _image(session, settings, 305).id
    session.add(ReferencePhoto(image_id=ids["unused_photo_image"], cell_id=cell.id,
                               removed_at=now - 400 * DAY))
    session.add(ReferencePhoto(image_id=ids["recently_removed_image"], cell_id=cell.id,
                               removed_at=now - 10 * DAY))
    user = User(username="u1", role="analyst", password_hash="x")
    session.add(user)
    session.flush()
    takedown = Takedown(account_id=old.id, platform="instagram", state="removed",
                        reason="Taunting a victim", author_id=user.id)
    session.add(takedown)
    session.flush()
    session.add(TakedownImage(takedown_id=takedown.id, evidence_id=cited.id))
    ids["cited"] = cited.id or 0
    session.add_all([
        UserSession(token_hash="a" * 64, user_id=user.id, csrf_token="c", expires_at=now - 40 * DAY,
                    last_seen_at=now - 41 * DAY),
        UserSession(token_hash="b" * 64, user_id=user.id, csrf_token="c", expires_at=now + DAY),
        ApiKey(user_id=user.id, name="old", prefix="p1", key_hash="1" * 64,
               expires_at=now + 30 * DAY, revoked_at=now - 100 * DAY),
        ApiKey(user_id=user.id, name="expired", prefix="p2", key_hash="2" * 64,
               expires_at=now - 100 * DAY),
        ApiKey(user_id=user.id, name="revoked lately", prefix="p3", key_hash="3" * 64,
               expires_at=now + 30 * DAY, revoked_at=now - 10 * DAY),
        ApiKey(user_id=user.id, name="live", prefix="p4", key_hash="4" * 64,
               expires_at=now + 30 * DAY),
        IdempotencyKey(user_id=user.id, key="k1", request_hash="h", created_at=now - 3 * DAY),
        IdempotencyKey(user_id=user.id, key="k2", request_hash="h", created_at=now),
        LoginFailure(at=now - 2 * DAY, username="x", client_addr="1.2.3.4"),
        LoginFailure(at=now, username="x", client_addr="1.2.3.4"),
        EnrolmentCode(user_id=user.id, code_hash="e" * 64, expires_at=now - 40 * DAY),
        EnrolmentCode(user_id=user.id, code_hash="f" * 64, expires_at=now + DAY,
                      used_at=now - 40 * DAY),
        EnrolmentCode(user_id=user.id, code_hash="g" * 64, expires_at=now + DAY),
    ])
    session.flush()
    ids.update(old=old.id or 0, recent=recent.id or 0, open=open_.id or 0)
    return ids


def test_a_run_erases_each_kind_past_its_rule_and_reports_the_counts(world):
    settings, engine, factory = world
    with factory() as s:
        ids = _fill(s, settings)
        keys = {name: s.get(Image, ids[name]).storage_key for name in ids
                if name.endswith("image")}
        s.commit()
    link_all(engine, factory, key=AUDIT_KEY)
    report = job.run(engine, settings)
    assert report.ran and report.audit_note == ""
    assert report.counts == {
        "closed_accounts": 1, "images_erased": 1, "evidence_links_removed": 1,
        "matches_removed": 1, "match_runs_removed": 1, "reference_photo_images_erased": 1,
        "audit_events": 3, "sessions": 1, "api_keys": 2, "idempotency_keys": 1,
        "login_failures": 1, "enrolment_codes": 2}
    with factory() as s:
        erased = {name for name in keys if s.get(Image, ids[name]).erased_at is not None}
        assert erased == {"old_image", "unused_photo_image"}
        for name, key in keys.items():  # sealed files gone exactly for the erased images
            on_disk = storage.path_for(settings, key, "original").exists()
            assert on_disk == (name not in erased), name
        assert s.get(Image, ids["old_image"]).wrapped_key == b""
        live = s.exec(select(EvidenceImage.account_id, EvidenceImage.image_id)
                      .where(col(EvidenceImage.erased_at).is_(None))).all()
        assert sorted(live) == sorted([(ids["open"], ids["shared_image"]),
                                       (ids["recent"], ids["recent_image"])])
        kept = s.get(EvidenceImage, ids["cited"])  # the takedown's record, marked erased
        assert kept.erased_at is not None and kept.original_filename == ""
        assert s.exec(select(Match)).all() == [] and s.exec(select(MatchRun)).all() == []
        assert [k.name for k in s.exec(select(ApiKey).order_by(col(ApiKey.id)))] == [
            "revoked lately", "live"]
        assert len(s.exec(select(UserSession)).all()) == 1
        assert len(s.exec(select(EnrolmentCode)).all()) == 1
        assert s.exec(select(IdempotencyKey.key)).all() == ["k2"]
        assert len(s.exec(select(LoginFailure)).all()) == 1
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "test.old")).all() == []
        [run] = s.exec(select(AuditEvent).where(AuditEvent.action == "retention.run")).all()
        assert json.loads(run.details) == {"counts": report.counts}
    assert link_all(engine, factory, key=AUDIT_KEY)
    with factory() as s:
        assert verify_chain(s, key=AUDIT_KEY).ok
    again = job.run(engine, settings)  # nothing is past its rule twice
    assert again.counts == dict.fromkeys(job.KINDS, 0)


def test_the_clock_starts_when_an_account_closes_and_stops_if_it_reopens(world):
    settings, engine, factory = world
    with factory() as s:
        closed, reopened = _account(s, "closed", None), _account(s, "reopened", None)
        images = []
        for n, account in enumerate((closed, reopened)):
            images.append(_image(s, settings, 310 + n).id)
            _evidence(s, account, s.get(Image, images[-1]))
        set_status(s, TEST_ACTOR, closed, AccountStatus.no_further_action, note="nothing more")
        set_status(s, TEST_ACTOR, reopened, AccountStatus.removed)
        assert closed.closed_at is not None and reopened.closed_at is not None
        set_status(s, TEST_ACTOR, reopened, AccountStatus.re_emerged)
        assert reopened.closed_at is None
        s.commit()
    days = settings.retention_closed_account_days
    early = job.run(engine, settings, now=utcnow() + (days - 1) * DAY)
    assert early.counts["closed_accounts"] == 0  # not yet
    late = job.run(engine, settings, now=utcnow() + (days + 1) * DAY)
    assert late.counts["closed_accounts"] == 1 and late.counts["images_erased"] == 1
    with factory() as s:
        assert [s.get(Image, i).erased_at is not None for i in images] == [True, False]


def test_months_ago_keeps_the_day_or_the_end_of_a_short_month():
    now = utcnow().replace(year=2027, month=3, day=31)
    assert job.months_ago(now, 13) == now.replace(year=2026, month=2, day=28)
    assert job.months_ago(now, 24) == now.replace(year=2025, month=3, day=31)


def test_the_command_prints_the_counts_and_verify_stays_clean(tmp_path, monkeypatch):
    from app.cli import cli

    monkeypatch.setenv("CELLWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CELLWATCH_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        assert runner.invoke(cli, ["migrate"]).exit_code == 0
        engine = make_engine(f"sqlite:///{tmp_path}/cellwatch.db")
        with make_session_factory(engine)() as s:
            for n in range(3):
                s.add(AuditEvent(occurred_at=utcnow() - 800 * DAY, actor_name="t",
                                 action="test.old", object_ids=f'["{n}"]'))
            s.commit()
        engine.dispose()
        assert runner.invoke(cli, ["audit", "link"]).exit_code == 0
        result = runner.invoke(cli, ["jobs", "run"])
        verified = runner.invoke(cli, ["audit", "verify"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert ("retention: closed accounts 0, images erased 0, evidence links removed 0, "
            "matches removed 0, match runs removed 0, reference photo images erased 0, "
            "audit events 3, sessions 0, api keys 0, idempotency keys 0, login failures 0, "
            "enrolment codes 0") in result.output
    assert verified.exit_code == 0, verified.output
    assert "audit log intact" in verified.output
    assert "from the signed anchor at seq 3" in verified.output


def test_a_removed_photo_whose_image_is_still_used_is_kept(world):
    settings, engine, factory = world
    with factory() as s:
        est = Establishment(code="HMP", name="Elsewhere")
        s.add(est)
        s.flush()
        cells = [Cell(establishment_id=est.id, label=f"A-1-00{n}", wing="A", landing="1")
                 for n in (1, 2)]
        s.add_all(cells)
        s.flush()
        in_library, evidence = _image(s, settings, 320), _image(s, settings, 321)
        long_ago = utcnow() - 400 * DAY
        s.add_all([  # removed from one cell, still a photo of another
            ReferencePhoto(image_id=in_library.id, cell_id=cells[0].id, removed_at=long_ago),
            ReferencePhoto(image_id=in_library.id, cell_id=cells[1].id),
            # removed from the library, still an open account's evidence
            ReferencePhoto(image_id=evidence.id, cell_id=cells[0].id, removed_at=long_ago)])
        _evidence(s, _account(s, "open_one", None), evidence)
        s.commit()
        ids = [in_library.id, evidence.id]
    assert job.run(engine, settings).counts["reference_photo_images_erased"] == 0
    with factory() as s:
        assert all(s.get(Image, i).erased_at is None for i in ids)


def test_retention_leaves_a_live_library_photo_to_its_own_rule(world):
    settings, engine, factory = world
    with factory() as s:
        est = Establishment(code="LIB", name="Library")
        s.add(est)
        s.flush()
        cell = Cell(establishment_id=est.id, label="A-1-001", wing="A", landing="1")
        s.add(cell)
        s.flush()
        image = _image(s, settings, 330)  # confirmed once: now a photo of the cell
        s.add(ReferencePhoto(image_id=image.id, cell_id=cell.id, source="evidence"))
        account = _account(s, "closed_long_ago", 800)
        _evidence(s, account, image)
        s.commit()
        image_id, account_id = image.id, account.id
    report = job.run(engine, settings)
    assert (report.counts["closed_accounts"], report.counts["images_erased"],
            report.counts["evidence_links_removed"]) == (1, 0, 1)
    with factory() as s:
        assert s.get(Image, image_id).erased_at is None
        assert s.exec(select(EvidenceImage).where(
            EvidenceImage.account_id == account_id)).all() == []
