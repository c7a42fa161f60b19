"""Retention, run by `cellwatch jobs run`: erase every record past its rule (settings
`CELLWATCH_RETENTION_*`, listed in the README) and report the counts per kind, in the
command's output and in one audit event (`retention.run`).

Under a database lock, so two runners never erase the same account twice; each account is a
unit of work of its own, so an interrupted run keeps what it did and the next one goes on.
Audit events are pruned last, through the owner's connection (`owner`): on PostgreSQL the
app's role may not delete them.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from app import keyscrub
from app.accounts.models import Account
from app.accounts.retention import prune_idempotency_keys
from app.audit.linker import LOCK_NAME as CHAIN_LOCK
from app.audit.prune import PruneRefused, prune_audit
from app.audit.service import Actor, record
from app.audit.verify import read_checkpoint
from app.auth import retention as auth_retention
from app.db import make_session_factory, unit_of_work, utcnow
from app.evidence.models import EvidenceImage
from app.lifecycle.erasure import Erasure, erase_account_evidence, erase_unused_photos
from app.locks import Lease, job_lock
from app.settings import Settings

JOB_ACTOR = Actor(user_id=None, name="job:retention", client_addr="local")
LOCK_NAME = "retention"
# the kinds reported, in the order the command prints them
KINDS = ("closed_accounts", "images_erased", "evidence_links_removed", "matches_removed",
         "match_runs_removed", "reference_photo_images_erased", "audit_events", "sessions",
         "api_keys", "idempotency_keys", "login_failures", "enrolment_codes")


@dataclass
class RetentionReport:
    ran: bool = True
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    audit_note: str = ""  # why audit events were not pruned, when they were not
    scrub: keyscrub.ScrubReport = field(default_factory=keyscrub.ScrubReport)

    def add_accounts(self, done: Erasure) -> None:
        self.counts["closed_accounts"] += 1
        self.counts["images_erased"] += len(done.images_erased)
        self.counts["evidence_links_removed"] += done.evidence_links_removed
        self.counts["matches_removed"] += done.matches_removed
        self.counts["match_runs_removed"] += done.match_runs_removed

    def summary(self) -> str:
        if not self.ran:
            return "another runner holds the retention lock; nothing done"
        text = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.counts.items())
        return text + (f" ({self.audit_note})" if self.audit_note else "")


def months_ago(now: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months before (the month's last day if short)."""
    year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
    day = min(now.day, calendar.monthrange(year, month + 1)[1])
    return now.replace(year=year, month=month + 1, day=day)


def run(engine: Engine, settings: Settings, *, owner: Engine | None = None,
        now: datetime | None = None, actor: Actor = JOB_ACTOR) -> RetentionReport:
    """One run under the retention lock; ran=False if another runner holds it."""
    with job_lock(engine, LOCK_NAME) as lease:
        if lease is None:
            return RetentionReport(ran=False)
        return _run(engine, owner or engine, settings, now or utcnow(), actor, lease)


def _run(engine: Engine, owner: Engine, settings: Settings, now: datetime, actor: Actor,
         lease: Lease) -> RetentionReport:
    factory = make_session_factory(engine)
    report = RetentionReport()
    _closed_accounts(factory, settings, actor, now, lease, report)
    with unit_of_work(factory) as session:
        session.info[keyscrub.DEFER] = True  # scrubbed once, below
        photos = erase_unused_photos(
            session, settings, actor, now=now,
            removed_before=now - timedelta(days=settings.retention_reference_photo_days))
        report.counts["reference_photo_images_erased"] = len(photos.images_erased)
        report.counts["matches_removed"] += photos.matches_removed
        report.counts["match_runs_removed"] += photos.match_runs_removed
        _short_lived(session, settings, now, report)
    report.scrub = keyscrub.run_pending(factory, settings, actor)  # what this run erased
    _audit(engine, owner, settings, actor, now, report)
    with unit_of_work(factory) as session:
        # nested: the log withholds top-level keys named like secrets ("api_keys")
        record(session, actor, "retention.run", details={"counts": report.counts, **(
            {"audit_not_pruned": report.audit_note} if report.audit_note else {})})
    return report


def _closed_accounts(factory: Callable[[], Session], settings: Settings, actor: Actor,
                     now: datetime, lease: Lease, report: RetentionReport) -> None:
    days = settings.retention_closed_account_days
    cutoff = now - timedelta(days=days)
    with factory() as session:
        due = list(session.exec(select(Account.id).where(
            col(Account.closed_at) < cutoff,
            select(EvidenceImage.id).where(EvidenceImage.account_id == Account.id,
                                           col(EvidenceImage.erased_at).is_(None)).exists())
            .order_by(col(Account.id))).all())
    for account_id in due:
        with unit_of_work(factory) as session:
            session.info[keyscrub.DEFER] = True  # one scrub of the key parts for the whole run
            account = session.get(Account, account_id)
            if account is None or account.closed_at is None or account.closed_at >= cutoff:
                continue  # reopened since the list was read
            done = erase_account_evidence(
                session, settings, actor, account=account, now=now, early=False,
                reason=f"retention: account closed more than {days} days ago")
        report.add_accounts(done)
        lease.renew()


def _short_lived(session: Session, settings: Settings, now: datetime,
                 report: RetentionReport) -> None:
    days = timedelta(days=1)
    report.counts["sessions"] = auth_retention.prune_sessions(
        session, ended_before=now - settings.retention_session_days * days)
    report.counts["api_keys"] = auth_retention.prune_api_keys(
        session, ended_before=now - settings.retention_api_key_days * days)
    report.counts["enrolment_codes"] = auth_retention.prune_enrolment_codes(
        session, ended_before=now - settings.retention_enrolment_code_days * days)
    report.counts["login_failures"] = auth_retention.prune_login_failures(
        session, before=now - timedelta(hours=settings.retention_login_failure_hours))
    report.counts["idempotency_keys"] = prune_idempotency_keys(
        session, before=now - settings.retention_idempotency_days * days)


def _audit(engine: Engine, owner: Engine, settings: Settings, actor: Actor, now: datetime,
           report: RetentionReport) -> None:
    """Prune the audit log through the owner's connection, under the chain's lock."""
    try:
        checkpoint = read_checkpoint(settings.checkpoint_path)
    except ValueError as exc:
        report.audit_note = f"audit events not pruned: the checkpoint file is unreadable ({exc})"
        return
    with job_lock(engine, CHAIN_LOCK) as chain_lease:
        if chain_lease is None:
            report.audit_note = "audit events not pruned: the chain's linker is at work"
            return
        try:
            with unit_of_work(make_session_factory(owner)) as session:
                done = prune_audit(session, actor, key=settings.audit_key_bytes,
                                   before=months_ago(now, settings.retention_audit_months),
                                   checkpoint=checkpoint)
        except PruneRefused as exc:
            report.audit_note = f"audit events not pruned: {exc}"
            return
        except DBAPIError as exc:
            if "permission denied" not in str(exc):
                raise
            report.audit_note = ("audit events not pruned: this role may not delete them; set "
                                 "CELLWATCH_MIGRATE_DATABASE_URL to the tables' owner")
            return
    report.counts["audit_events"] = done.events
