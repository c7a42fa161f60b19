"""Liveness and readiness: no auth, no data."""

from __future__ import annotations

from datetime import datetime

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.audit.service import lag
from app.auth.deps import PUBLIC
from app.db import utcnow
from app.matching.queue import CLIPS, PREVIEWS, SAMPLINGS, Backlog, Policy, backlog
from app.migrations import alembic_config

router = APIRouter()


@router.get("/healthz", dependencies=[Depends(PUBLIC)])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


UNREACHABLE = ("Cellwatch cannot reach its database: it is down, restarting or out of "
               "reach. Requests that need it fail until it is back.")
PENDING = "The database is reachable but not migrated to this version: run cellwatch migrate."


def _unavailable(database: str, reason: str) -> JSONResponse:
    return JSONResponse({"status": "unavailable", "database": database, "reason": reason}, 503,
                        headers={"Retry-After": "5"})


@router.get("/readyz", dependencies=[Depends(PUBLIC)])
def readyz(request: Request) -> JSONResponse:
    engine = request.app.state.engine
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    now = utcnow()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = MigrationContext.configure(conn).get_current_revision()
        if current != head:
            return _unavailable("migrations pending", PENDING)
        with request.app.state.session_factory() as session:
            waiting = lag(session)
            policy = Policy.of(request.app.state.settings)
            queued = backlog(session, now, policy)
            videos = backlog(session, now, policy, SAMPLINGS)
            passes = backlog(session, now, policy, CLIPS)
            shown = backlog(session, now, policy, PREVIEWS)
    except SQLAlchemyError:
        # any failure on the way (it may also go away between the two reads) is the same
        # answer: a balancer takes this process out until the database is back
        return _unavailable("unreachable", UNREACHABLE)
    # How far the audit chain's linker and the match workers are behind: a figure that keeps
    # growing means no linker, or too few match workers, run. `running`: claims held now;
    # `failed`: stages out of attempts (`cellwatch matching queue` says why). `video_samplings`:
    # videos waiting for a match worker to sample their frames, the same way; `clip_passes`:
    # videos whose frames' stages are settled, waiting for their clip pass (age since queued);
    # `video_previews`: sampled videos whose preview is still to be made (taken last).
    return JSONResponse({"status": "ready", "audit_chain": {
        "unlinked": waiting.unlinked, "oldest_seconds": round(waiting.seconds(now), 1)},
        "second_stages": _depth(queued, now), "video_samplings": _depth(videos, now),
        "clip_passes": _depth(passes, now), "video_previews": _depth(shown, now)})


def _depth(queued: Backlog, now: datetime) -> dict[str, float | int]:
    oldest = 0.0 if queued.oldest_at is None else (now - queued.oldest_at).total_seconds()
    return {"waiting": queued.waiting, "running": queued.running,
            "oldest_seconds": round(max(0, oldest), 1), "failed": queued.failed}
