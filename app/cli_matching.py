"""`cellwatch matching`: watch the queue of second matching stages, and retry failed ones."""

from __future__ import annotations

from datetime import datetime

import typer
from sqlalchemy import Engine

from app.cli_common import cli_actor
from app.cli_database import DatabaseNotReady, ready_engine
from app.db import make_session_factory, unit_of_work, utcnow
from app.errors import AppError
from app.matching import doorbell, queue, video_retry
from app.settings import Settings, get_settings

matching_cli = typer.Typer(help="The queue of second matching stages (match workers).",
                           no_args_is_help=True)



def _engine(settings: Settings) -> Engine:
    try:
        return ready_engine(settings)
    except DatabaseNotReady as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


def _ago(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "-"
    return f"{max(0.0, (now - then).total_seconds()):.0f} s"


@matching_cli.command("queue")
def show_queue(limit: int = typer.Option(20, min=1, help="how many failed stages to list")
               ) -> None:
    """Depth and age of the queue, the claims held now (worker, lease), failed stages and why."""
    settings = get_settings()
    policy = queue.Policy.of(settings)
    engine = _engine(settings)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            now = utcnow()
            depth = queue.backlog(session, now, policy)
            videos = queue.backlog(session, now, policy, queue.SAMPLINGS)
            held = queue.running(session, now, policy)
            failed = queue.failed(session, limit)
            failed_clips = video_retry.failed_videos(session, limit)
            passes = queue.backlog(session, now, policy, queue.CLIPS)
            held_passes = queue.running(session, now, policy, queue.CLIPS)
            failed_passes = queue.failed(session, limit, queue.CLIPS)
            shown = queue.backlog(session, now, policy, queue.PREVIEWS)
            failed_shown = queue.failed(session, limit, queue.PREVIEWS)
    finally:
        engine.dispose()
    typer.echo(f"second stages waiting: {depth.waiting} ({depth.running} running), oldest "
               f"waiting {_ago(now, depth.oldest_at)}; failed for good: {depth.failed}")
    typer.echo(f"videos waiting to be sampled: {videos.waiting} ({videos.running} running), "
               f"oldest waiting {_ago(now, videos.oldest_at)}; failed for good: "
               f"{videos.failed}")
    typer.echo(f"clip passes waiting (frames settled): {passes.waiting} ({passes.running} "
               f"running), oldest queued {_ago(now, passes.oldest_at)} ago; failed for good: "
               f"{passes.failed}")
    typer.echo(f"previews waiting (made after the matching): {shown.waiting} ({shown.running} "
               f"running), oldest queued {_ago(now, shown.oldest_at)} ago; failed for good: "
               f"{shown.failed}")
    typer.echo(f"lease {policy.lease.total_seconds():.0f} s, {policy.attempts} attempts "
               "per stage")
    if held or held_passes:
        typer.echo("running:")
    for run in held:
        ends = (run.claimed_at + policy.lease - now).total_seconds() if run.claimed_at else 0
        typer.echo(f"  image {run.image_id}: attempt {run.attempts} by {run.claimed_by or '?'}, "
                   f"claimed {_ago(now, run.claimed_at)} ago, lease ends in {ends:.0f} s")
    for row in held_passes:
        ends = (row.claimed_at + policy.lease - now).total_seconds() if row.claimed_at else 0
        typer.echo(f"  clip pass of video {row.video_id}: attempt {row.attempts} by "
                   f"{row.claimed_by or '?'}, claimed {_ago(now, row.claimed_at)} ago, lease "
                   f"ends in {ends:.0f} s")
    if failed:
        typer.echo(f"failed (newest first{', first ' + str(limit) if depth.failed > limit else ''};"
                   " `cellwatch matching retry IMAGE_ID` runs one again):")
    for run in failed:
        typer.echo(f"  image {run.image_id}: failed {_ago(now, run.failed_at)} ago after "
                   f"{run.attempts} attempt{'' if run.attempts == 1 else 's'}: {run.error}")
    if failed_clips:
        typer.echo("videos whose sampling failed (newest first; `cellwatch matching retry-video "
                   "VIDEO_ID --reason TEXT` samples one again):")
    for video in failed_clips:
        typer.echo(f"  video {video.id}: sampling failed {_ago(now, video.failed_at)} ago after "
                   f"{video.attempts} attempt{'' if video.attempts == 1 else 's'}: {video.error}")
    if failed_passes:
        typer.echo("clip passes that failed (newest first; `cellwatch matching retry-video "
                   "VIDEO_ID --reason TEXT` runs one again):")
    for row in failed_passes:
        typer.echo(f"  video {row.video_id}: clip pass failed {_ago(now, row.failed_at)} ago "
                   f"after {row.attempts} attempt{'' if row.attempts == 1 else 's'}: "
                   f"{row.error}")
    if failed_shown:
        typer.echo("previews that failed (newest first; `cellwatch matching retry-video "
                   "VIDEO_ID --reason TEXT` makes one again):")
    for row in failed_shown:
        typer.echo(f"  video {row.video_id}: preview failed {_ago(now, row.failed_at)} ago "
                   f"after {row.attempts} attempt{'' if row.attempts == 1 else 's'}: "
                   f"{row.error}")


@matching_cli.command("retry")
def retry(image_ids: list[int] = typer.Argument(None, help="images whose stage failed"),
          all_failed: bool = typer.Option(False, "--all-failed", help="every failed stage")
          ) -> None:
    """Put failed second stages back in the queue with a fresh set of attempts (audited)."""
    if bool(image_ids) == all_failed:
        typer.secho("give image ids, or --all-failed (not both)", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    settings = get_settings()
    engine = _engine(settings)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            again = queue.retry_failed(session, cli_actor(), None if all_failed else image_ids)
        if again:
            doorbell.ring(settings, engine)  # committed: the workers take them now
    except AppError as exc:  # rolled back: all or nothing
        typer.secho(f"{exc.message} (see `cellwatch matching queue`)", fg=typer.colors.RED,
                    err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"{len(again)} failed second stage{'' if len(again) == 1 else 's'} queued again"
               + (": image " + ", ".join(str(r.image_id) for r in again) if again else ""))


@matching_cli.command("retry-video")
def retry_video(video_id: int = typer.Argument(..., help="a video whose sampling failed"),
                reason: str = typer.Option(..., "--reason", help="why (kept in the audit log)")
                ) -> None:
    """Queue a video whose sampling (or else clip pass, or preview) failed for good again:
    the match workers sample it (run its pass, make its preview) afresh (audited). Refused,
    with nothing changed, for a video that has not failed."""
    settings = get_settings()
    engine = _engine(settings)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            before = video_retry.retry_video(session, cli_actor(), video_id, reason)
        doorbell.ring(settings, engine)  # committed: the workers take it now
    except AppError as exc:  # rolled back: nothing changed
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    what = {"sampling": "", "clip_pass": "'s clip pass", "preview": "'s preview"}[before.what]
    typer.echo(f"video {video_id}{what} queued again (it had failed after {before.attempts} "
               f"attempt{'' if before.attempts == 1 else 's'}: {before.error}); "
               "`cellwatch matching queue` shows it waiting")


@matching_cli.command("reanalyse")
def reanalyse(batch: int = typer.Option(100, min=1, max=1000, help="images a transaction"),
              every: bool = typer.Option(False, "--every", help=(
                  "every held image's features, not only an older version's (features "
                  "stored before each thread had its own detector may be wrong where two "
                  "were computed at once)"))) -> None:
    """Recompute local features stored by an older version, from the sealed originals
    (after an upgrade that changes them; stop the match workers first, start them after)."""
    from app.evidence.reanalysis import count_stale, reanalyse_stale

    settings = get_settings()
    engine = _engine(settings)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            stale = count_stale(session, every=every)
        typer.echo(f"{stale} image{'' if stale == 1 else 's'} with features "
                   f"{'to recompute' if every else 'of an older version'}")
        done = reanalyse_stale(factory, settings, cli_actor(), batch,
                               every=every) if stale else None
    finally:
        engine.dispose()
    if done is not None:
        typer.echo(f"recomputed {done.recomputed}; failed {done.failed} (their originals failed "
                   "the integrity check: see the log); start the match workers again")
    if done is not None and done.failed:
        raise typer.Exit(1)
