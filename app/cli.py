"""The `cellwatch` command: serve, worker, migrate, bootstrap, demo, users, audit, import, jobs."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from app import migrations
from app.auth import users as user_service
from app.cli_audit import audit_cli
from app.cli_backup import backup, restore
from app.cli_common import cli_actor, fail
from app.cli_database import DatabaseNotReady, check_database, ready_engine
from app.cli_keys import keys_cli
from app.cli_matching import matching_cli
from app.cli_users import users_cli
from app.db import make_engine, make_session_factory, unit_of_work
from app.private import keep_private
from app.settings import Settings, get_settings

cli = typer.Typer(help="Cellwatch operator commands.", no_args_is_help=True)
import_cli = typer.Typer(help="Load reference data and photos.", no_args_is_help=True)
cli.add_typer(users_cli, name="users")
cli.add_typer(audit_cli, name="audit")
cli.add_typer(import_cli, name="import")
jobs_cli = typer.Typer(help="Scheduled work (cron or a systemd timer).", no_args_is_help=True)
cli.add_typer(jobs_cli, name="jobs")
cli.add_typer(matching_cli, name="matching")
cli.add_typer(keys_cli, name="keys")
cli.command()(backup)
cli.command()(restore)



@contextmanager
def _unit_of_work() -> Iterator[Session]:
    """One command's transaction: committed when the block ends, rolled back when it raises
    (`fail` raises typer.Exit, so a refused command stores nothing)."""
    settings = get_settings()
    engine = _ready_engine(settings)
    keep_private(settings.data_dir)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


@contextmanager
def _factory() -> Iterator[sessionmaker[Session]]:
    """For commands that run several units of work of their own (one per file, say)."""
    settings = get_settings()
    engine = _ready_engine(settings)
    keep_private(settings.data_dir)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()



def _ready_engine(settings: Settings) -> Engine:
    """The command's engine, or its plain refusal when the database is missing or behind."""
    try:
        return ready_engine(settings)
    except DatabaseNotReady as exc:
        fail(str(exc))
        raise  # not reached: fail exits


def _require_database(settings: Settings) -> None:
    """A server never creates an empty database; one that is unreachable or not migrated yet
    is said plainly, and the server starts anyway (/readyz reports it until it is fixed)."""
    try:
        check_database(settings)
    except DatabaseNotReady as exc:
        if exc.missing:
            fail(str(exc))
        typer.secho(f"warning: {exc}", fg=typer.colors.YELLOW, err=True)


@cli.command()
def migrate() -> None:
    """Apply every pending database migration."""
    settings = get_settings()
    keep_private(settings.data_dir)
    migrations.upgrade(settings.effective_migrate_url)
    typer.echo("database is at the newest migration")


@cli.command("grant-app-role")
def grant_app_role(role: str = typer.Argument(..., help="the role the app connects as")) -> None:
    """PostgreSQL: give the app's role its rights (only INSERT and SELECT on the audit log).
    Runs as the owner (CELLWATCH_MIGRATE_DATABASE_URL), after `cellwatch migrate`."""
    from app.db_roles import grant_app_role as grant

    engine = make_engine(get_settings().effective_migrate_url)
    try:
        with engine.begin() as conn:
            grant(conn, role)
    except ValueError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    typer.echo(f"{role} may now use the database; it can only INSERT and SELECT audit events")


@cli.command()
def bootstrap() -> None:
    """On a database with no users, create `admin` with a one-time password, printed once."""
    with _unit_of_work() as session:
        secret = user_service.bootstrap_admin(session, cli_actor())
    if secret is None:
        typer.echo("users exist already; nothing to do")
        return
    typer.secho("\n  First run: created user 'admin'.", bold=True)
    typer.secho(f"  One-time password: {secret}", bold=True)
    typer.echo("  It is shown only now; you must choose a new one at first sign-in.\n")


@cli.command()
def demo(
    seed: int = typer.Option(1, help="another seed, another (equally fictional) estate"),
    first_run: bool = typer.Option(False, "--first-run",
                                   help="as make run: only into a brand-new database"),
) -> None:
    """Load the fictional demo estate and one demo user per role into an empty database."""
    from app.demo.command import run_demo

    run_demo(get_settings(), seed=seed, first_run=first_run)


@cli.command()
def serve(
    host: str = typer.Option(None, help="default: CELLWATCH_HOST"),
    port: int = typer.Option(None, help="default: CELLWATCH_PORT"),
    workers: int = typer.Option(None, help="default: CELLWATCH_WORKERS"),
) -> None:
    """Serve the web app and the API (uvicorn), with CELLWATCH_MATCH_WORKERS match workers."""
    import multiprocessing

    import uvicorn

    from app.server import uvicorn_options
    from app.supervisor import Supervisor

    settings = get_settings()
    settings.check_safe()
    _require_database(settings)
    _fewer_malloc_arenas()
    # the supervisor logs from this process, which serves no requests with several workers
    logging.basicConfig(level=logging.INFO)
    context = multiprocessing.get_context("spawn")
    parent = os.getpid()
    # started again if one ends while the server runs, stopped by SIGTERM (app/supervisor.py)
    matchers = Supervisor(lambda n: context.Process(
        target=_match_worker, args=(parent,), daemon=True, name=f"cellwatch-match-{n}"),
        settings.match_workers)
    matchers.start()
    try:
        uvicorn.run("app.main:create_app", factory=True, host=host or settings.host,
                    port=port or settings.port, workers=workers or settings.workers,
                    # forwarded headers: the app believes them from CELLWATCH_TRUSTED_PROXIES only
                    proxy_headers=False, server_header=False, **uvicorn_options(settings))
    finally:
        matchers.close()


def _fewer_malloc_arenas() -> None:
    """glibc gives each thread of a web worker an arena of its own, and a process that decodes
    images in many threads keeps growing for no use: two arenas, here and in every process
    started from here (the environment is read when a process starts)."""
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX, for this process too


def _match_worker(parent: int) -> None:
    """A match worker process started by `serve`, which stops it with SIGTERM.

    Nothing is shared with the server to stop it (no multiprocessing Event): such an Event's
    set() waits for every process waiting on it to wake, so one worker killed while waiting
    would leave the server's shutdown, and the next worker's, stuck for ever."""
    from app.accounts.video_links import install
    from app.matching.worker import run

    install()
    stop = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    logging.basicConfig(level=logging.INFO)

    def follow_parent() -> None:
        # The server may end without telling us (uvicorn re-raises SIGTERM after its own
        # shutdown, and a SIGKILL leaves no chance): a worker never outlives its server.
        while not stop.wait(1.0):
            if os.getppid() != parent:
                stop.set()

    threading.Thread(target=follow_parent, name="follow-parent", daemon=True).start()
    run(get_settings(), stop)


@cli.command()
def worker() -> None:
    """Run one match worker (videos to sample, second matching stages) until Ctrl-C or
    SIGTERM."""
    from app.accounts.video_links import install
    from app.matching.worker import run

    install()
    settings = get_settings()
    settings.check_safe()
    _require_database(settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    logging.basicConfig(level=logging.INFO)
    run(settings, stop)




@import_cli.command("estate")
def import_estate(
    folder: Path = typer.Argument(..., help="folder holding establishments.csv, cells.csv, "
                                  "prisoners.csv, occupancy.csv and optionally aliases.csv"),
    check: bool = typer.Option(False, "--check", help="check the files only; write nothing"),
    max_problems: int = typer.Option(100, help="how many problems to print (0: all)"),
) -> None:
    """Load the estate from a records-system CSV extract (formats: app/estate/IMPORT.md)."""
    from app.estate.importing.command import run_import

    # run_import opens its own units of work: the import, and the record of a refused one
    with _factory() as factory:
        run_import(factory, cli_actor(), folder, check_only=check, max_problems=max_problems)


@import_cli.command("photos")
def import_photos(directory: Path = typer.Argument(..., exists=True, file_okay=False,
                                                   help="<ESTABLISHMENT>/<CELL-LABEL>/*.jpg")
                  ) -> None:
    """Load reference photos from a folder tree; prints what was loaded, skipped or refused."""
    from app.evidence.bulk import import_photo_tree

    # one unit of work per file, so that one bad photo loses only itself
    with _factory() as factory:
        summary = import_photo_tree(factory, get_settings(), cli_actor(), directory.resolve())
    for path in summary.duplicates:
        typer.echo(f"duplicate  {path}: already a reference photo of that cell")
    for path, reason in summary.rejected:
        typer.echo(f"rejected   {path}: {reason}")
    typer.echo(f"loaded {len(summary.loaded)}, duplicate {len(summary.duplicates)}, "
               f"rejected {len(summary.rejected)}")


@jobs_cli.command("run")
def jobs_run() -> None:
    """Flag overdue takedowns, deliver notices left over and due re-notices, link audit events,
    erase what is past its retention rule, scrub erased keys from the backups' key parts (those
    still pending too), run second matching stages nobody ran, refresh
    priorities that age, remove orphan image files. Safe to start on several hosts at once."""
    from app import keyscrub
    from app.accounts.service import refresh_recent_priorities
    from app.audit.linker import link_all
    from app.audit.service import ChainHeadInvalid
    from app.evidence.sweep import sweep_orphans
    from app.lifecycle import job as retention
    from app.takedowns import jobs

    settings = get_settings()
    engine = _ready_engine(settings)
    # audit events are pruned as the tables' owner: the app's role may not delete them
    owner = (make_engine(settings.migrate_database_url)
             if settings.migrate_database_url else engine)
    keep_private(settings.data_dir)
    try:
        report = jobs.run(engine, settings)
        try:
            linked: int | None | str = link_all(engine, make_session_factory(engine),
                                                key=settings.audit_key_bytes)
        except ChainHeadInvalid as exc:
            linked = f"linking stopped: {exc}"
        kept = retention.run(engine, settings, owner=owner)
        # erased keys left in the backups' key parts: this run's, and any still pending
        scrub = kept.scrub if kept.ran else keyscrub.run_pending(
            make_session_factory(engine), settings, keyscrub.JOB_ACTOR)
    finally:
        engine.dispose()
        owner.dispose()
    typer.echo(f"takedowns: {report.summary()}")
    typer.echo("audit: " + ("another linker is at work" if linked is None
                            else linked if isinstance(linked, str)
                            else f"{linked} events linked into the chain"))
    typer.echo(f"retention: {kept.summary()}")
    typer.secho(f"key parts: {scrub.summary()}",
                fg=typer.colors.YELLOW if scrub.pending else None)
    typer.echo(f"matching: {_drain_second_stages(settings)} second stages run")
    with _unit_of_work() as session:
        refreshed = refresh_recent_priorities(session)
    with _factory() as factory:  # the sweep runs units of work of its own
        swept = sweep_orphans(factory, settings)
    typer.echo(f"accounts: {refreshed} priorities refreshed; images: {swept.summary()}")


def _drain_second_stages(settings: Settings) -> int:
    """Second stages (and videos to sample) nobody has run (no match workers, or a worker
    that died)."""
    from app.accounts.video_links import install
    from app.matching.engine import Limits, MatchEngine
    from app.matching.queue import Policy
    from app.matching.worker import drain

    install()
    engine = make_engine(settings.effective_database_url)
    # the index a match worker keeps (loaded, not rebuilt from every reference photo)
    index = MatchEngine(Limits.of(settings), db=make_engine(settings.effective_database_url),
                        keep=settings.data_dir / "index")
    try:
        return drain(make_session_factory(engine), index, settings=settings,
                     policy=Policy.of(settings))
    finally:
        index.close()
        engine.dispose()


def main() -> None:
    from pydantic import ValidationError

    from app.settings import explain

    try:  # refuse at start-up, in one plain sentence, before any command runs
        get_settings()
    except ValidationError as exc:
        typer.secho(f"refusing to start: {explain(exc)}", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None
    cli()
