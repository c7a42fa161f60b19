"""The terminal side of `cellwatch demo`: when it may run, progress, the users it made."""

from __future__ import annotations

import typer
from sqlmodel import Session, func, select

from app.auth.models import User
from app.cli_database import DatabaseNotReady, ready_engine
from app.demo.build import Built, DemoRefused, build_demo, refuse_reasons
from app.settings import Settings


def _stop(message: str, code: int) -> None:
    if code:
        typer.secho(message, fg=typer.colors.RED, err=True)
    else:
        typer.echo(message)
    raise typer.Exit(code)


def run_demo(settings: Settings, *, seed: int, first_run: bool,
             cells_per_landing: int = 17) -> Built | None:
    """`first_run` (make run): quietly nothing unless the database is brand new (no users, no
    data) and CELLWATCH_DEMO allows it; on demand, a refusal says why (exit status 1)."""
    if settings.is_production:
        _stop("The demo estate is fictional data: production (CELLWATCH_ENVIRONMENT="
              "production) refuses it.", 0 if first_run else 1)
    if not settings.demo_enabled:
        _stop("CELLWATCH_DEMO=false: no demo estate loaded.", 0 if first_run else 1)
    try:
        engine = ready_engine(settings)
    except DatabaseNotReady as exc:
        _stop(str(exc), 1)
        raise
    try:
        if first_run:
            with Session(engine) as session:
                users = session.exec(select(func.count()).select_from(User)).one()
                if users or refuse_reasons(session):
                    return None  # not a first run: nothing to say
        typer.echo("Loading the fictional demo estate (CELLWATCH_DEMO=false turns this off)...")
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            built = build_demo(engine, settings, seed=seed,
                               cells_per_landing=cells_per_landing, say=typer.echo)
        except DemoRefused as exc:
            _stop(str(exc), 1)
            raise
    finally:
        engine.dispose()
    _report(built)
    return built


def _report(built: Built) -> None:
    typer.echo(f"Demo estate ready in {built.seconds:.0f} s. Every name, number, account and "
               "photo in it is made up.")
    for handle in built.unmatched:
        typer.secho(f"  note: {handle}'s images found no cell this time; it waits for review.",
                    fg=typer.colors.YELLOW)
    if not built.users:
        return
    typer.secho("\n  Demo users (one per role). Each password is shown only now and must be "
                "changed at first sign-in:", bold=True)
    for user in built.users:
        typer.secho(f"    {user.username:<18} {user.role:<11} {user.password}", bold=True)
    typer.echo("  Start with 'analyst': the Accounts and Review pages have work waiting.")
    typer.echo("  Development lets them in without an authenticator app, with a warning on every"
               " page;\n  production asks each to set one up (at /account/factor) before "
               "anything else.\n")
