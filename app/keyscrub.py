"""Erased keys leave the backups' key parts too: the key part folder is scrubbed on erasure.

Whatever destroys an image, video or evidence pack key (retention, an early erasure, a
withdrawal, a restore that finds no key, a pack erased with its image) calls `queue` in its
own transaction: a `key_scrub` row per destroyed key is written with the erasure, so the
erasure and the duty to scrub commit together. Right after that commit, in the same request or
command, every key part in settings.backup_keys_folder is rewritten without those keys (new
file, fsync, rename, fsync the folder: app/backup/keyparts.py) and the rows are deleted, with
an audit event saying how many key parts were scrubbed. If that cannot be done (the folder set
in CELLWATCH_BACKUP_KEYS_DIR is missing, a key part does not open under the backup key, the
disk refuses), the rows stay: the scrub is pending, `cellwatch keys status` and `cellwatch jobs
run` show it, and every `jobs run` tries again. The erasure itself is never undone for it: the
live key is gone, and the rows say which key parts still hold a copy.

Sits beside txfiles.py and locks.py, under every domain: evidence and takedowns queue here.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, event, func, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction, sessionmaker
from sqlmodel import Field, Session, SQLModel, col, select

from app.audit.service import Actor, record
from app.backup import keyparts
from app.backup.stream import BackupBroken
from app.db import UTCDateTime, make_session_factory, unit_of_work, utcnow
from app.settings import Settings

log = logging.getLogger("cellwatch")

IMAGE, PACK, VIDEO = "image", keyparts.PACK, keyparts.VIDEO
JOB_ACTOR = Actor(user_id=None, name="job:key-scrub", client_addr="local")
_QUEUED = "cellwatch.keyscrub"
_HOOKED = "cellwatch.keyscrub_hooked"
DEFER = "cellwatch.keyscrub_defer"  # set on a session whose caller scrubs once at the end


class KeyScrub(SQLModel, table=True):
    """A destroyed key that may still sit in a key part: pending until the folder is scrubbed."""

    __tablename__ = "key_scrub"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=8)  # image | pack | video
    storage_key: str = Field(max_length=64)  # the image's or video's storage key, the pack's key
    # the erased image, or video for kind video (audit events name it), none for a pack
    image_id: int | None = None
    queued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    attempts: int = 0
    last_error: str = Field(default="", max_length=500)


class ScrubImpossible(Exception):
    """The key part folder cannot be scrubbed now; the message says why."""


@dataclass
class ScrubReport:
    scrubbed: int = 0  # destroyed keys no key part holds any more
    key_parts: int = 0  # key parts rewritten
    pending: int = 0  # destroyed keys still waiting (see error)
    error: str = ""

    def summary(self) -> str:
        text = f"{self.scrubbed} erased keys removed from {self.key_parts} key parts"
        if self.pending:
            text += f"; {self.pending} still PENDING ({self.error})"
        return text


@dataclass
class Pending:
    count: int = 0
    oldest: datetime | None = None
    errors: list[str] = field(default_factory=list)


def _after_commit(session: OrmSession) -> None:
    queued = session.info.pop(_QUEUED, None)
    if queued is None or session.info.get(DEFER):
        return
    settings, actor = queued
    try:
        run_pending(make_session_factory(session.get_bind()), settings, actor)
    except (SQLAlchemyError, OSError):  # after the commit: the erasure stands, rows stay
        log.exception("scrubbing erased keys from the key parts failed; left pending")


def _after_transaction_end(session: OrmSession, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # ended without a commit (after_commit pops it first)
        session.info.pop(_QUEUED, None)


def queue(session: Session, settings: Settings, actor: Actor, kind: str,
          keys: list[tuple[str, int | None]]) -> None:
    """Record, in the erasing transaction, that these keys ([(storage key, image id)]) were
    destroyed; they are scrubbed from the key parts once it commits."""
    if not keys:
        return
    for storage_key, image_id in keys:
        session.add(KeyScrub(kind=kind, storage_key=storage_key, image_id=image_id))
    session.flush()
    if not session.info.get(_HOOKED):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_transaction_end", _after_transaction_end)
        session.info[_HOOKED] = True
    session.info[_QUEUED] = (settings, actor)


def _check(settings: Settings, folder_exists: bool) -> None:
    if not folder_exists:
        if settings.backup_keys_dir:  # set on purpose: other storage that is not there now
            raise ScrubImpossible(f"the key part folder {settings.backup_keys_folder} "
                                  "(CELLWATCH_BACKUP_KEYS_DIR) is missing")
        return
    if any(keyparts.parts_in(settings.backup_keys_folder)):
        problem = settings.backup_key_problem()
        if problem:
            raise ScrubImpossible(f"key parts cannot be rewritten: {problem}")


def _scrub(settings: Settings, doomed: set[str]) -> tuple[int, int]:
    folder = settings.backup_keys_folder
    try:
        exists = folder.is_dir()
    except OSError as exc:
        raise ScrubImpossible(f"the key part folder {folder} cannot be reached ({exc})") from None
    _check(settings, exists)
    if not exists:
        return 0, 0  # no backup has written a key part: nothing holds these keys
    return keyparts.scrub(folder, settings.backup_key_bytes, doomed)


def run_pending(factory: sessionmaker[Session], settings: Settings, actor: Actor) -> ScrubReport:
    """Scrub every pending destroyed key from every key part in the folder, under the folder's
    lock; audited. On failure the rows stay, with the reason."""
    report = ScrubReport()
    folder = settings.backup_keys_folder
    with factory() as session:
        rows = list(session.exec(select(KeyScrub).order_by(col(KeyScrub.id))).all())
    if not rows:
        return report
    try:  # scrubbing again what another scrub did meanwhile changes nothing: it is idempotent
        with keyparts.locked(folder) if folder.is_dir() else nullcontext():
            report.key_parts, removed = _scrub(settings, {r.storage_key for r in rows})
    except (ScrubImpossible, BackupBroken, OSError) as exc:
        report.pending, report.error = len(rows), str(exc)[:500]
        _failed(factory, actor, rows, report.error)
        return report
    with unit_of_work(factory) as session:
        session.execute(delete(KeyScrub).where(col(KeyScrub.id).in_([r.id for r in rows])))
        _audit_done(session, actor, rows, report.key_parts, removed)
    report.scrubbed = len(rows)
    return report


def _named(rows: list[KeyScrub]) -> list[tuple[str, list[Any]]]:
    """What the audit events name, per kind: image and video ids, pack keys."""
    return [(kind, sorted({r.storage_key if kind == PACK else r.image_id for r in rows
                           if r.kind == kind and (kind == PACK or r.image_id is not None)}))
            for kind in (IMAGE, PACK, VIDEO)]


def _audit_done(session: Session, actor: Actor, rows: list[KeyScrub], parts: int,
                removed: int) -> None:
    for kind, ids in _named(rows):
        if ids:
            record(session, actor, "backup.keys.scrubbed", object_type=kind,
                   object_ids=ids, details={"scrubbed": {"key_parts": parts,
                                            "copies_removed": removed}})


def _failed(factory: sessionmaker[Session], actor: Actor, rows: list[KeyScrub],
            error: str) -> None:
    """Each row keeps its attempts and the reason; the first failure of a key is audited."""
    first = [r for r in rows if r.attempts == 0]
    with unit_of_work(factory) as session:
        session.execute(update(KeyScrub).where(col(KeyScrub.id).in_([r.id for r in rows]))
                        .values(attempts=KeyScrub.attempts + 1, last_error=error))
        for kind, ids in _named(first):
            if ids:
                record(session, actor, "backup.keys.scrub_pending", outcome="failure",
                       object_type=kind, object_ids=ids,
                       details={"reason": error, "waiting": len(ids)})


def pending(session: Session) -> Pending:
    """What still waits to be scrubbed, for `keys status` and `jobs run`."""
    count, oldest = session.exec(select(func.count(), func.min(KeyScrub.queued_at))).one()
    errors = sorted(set(session.exec(select(KeyScrub.last_error).where(
        KeyScrub.last_error != "")).all()))
    return Pending(int(count or 0), oldest, errors)
