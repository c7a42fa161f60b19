"""`cellwatch users`: list, create (with an enrolment code), disable, enable, set a role, reset
a sign-in. The operator at the server's terminal acts directly; in the web app granting access
takes two people (app/auth/grants.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlmodel import Session

from app.auth import users as user_service
from app.auth.grants import reset_sign_in
from app.cli_common import cli_actor, fail
from app.cli_database import DatabaseNotReady, ready_engine
from app.db import make_session_factory, unit_of_work
from app.errors import AppError
from app.private import keep_private
from app.settings import get_settings

users_cli = typer.Typer(help="Manage users.", no_args_is_help=True)




@contextmanager
def _unit_of_work() -> Iterator[Session]:
    """One command's transaction: committed when the block ends, rolled back when it raises."""
    settings = get_settings()
    try:
        engine = ready_engine(settings)
    except DatabaseNotReady as exc:
        fail(str(exc))
        raise
    keep_private(settings.data_dir)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


@users_cli.command("create")
def users_create(username: str, role: str, display_name: str = "") -> None:
    """Create a user; prints a one-time enrolment code (password and authenticator are chosen
    with it at /enrol). For the first users; afterwards admins propose and a second approves."""
    with _unit_of_work() as session:
        try:
            user, code = user_service.create_enrolling_user(
                session, get_settings(), cli_actor(), username=username, role=role,
                display_name=display_name)
        except AppError as exc:
            fail(exc.message)
            return
    _show_code(f"created {user.username} ({user.role})", code)


def _show_code(what: str, code: str) -> None:
    # On the terminal only: never through logging, so no log file ever holds a code.
    hours = get_settings().enrolment_hours
    typer.echo(f"{what}; enrolment code {code}")
    typer.echo(f"  They open /enrol, type it, choose a password and set up an authenticator "
               f"app. It works once, within {hours} hours.")


@users_cli.command("list")
def users_list() -> None:
    """List users with role and state."""
    with _unit_of_work() as session:
        for user in user_service.list_users(session):
            state = "active" if user.is_active else "disabled"
            typer.echo(f"{user.username:24} {user.role:11} {state}")


def _with_user(username: str, action: str, role: str = "") -> str:
    with _unit_of_work() as session:
        user = user_service.find_user(session, username)
        if user is None:
            fail(f"no user named {username!r}")
            return ""
        try:
            out = ""
            if action == "disable":
                user_service.set_active(session, cli_actor(), user, False)
            elif action == "enable":
                user_service.set_active(session, cli_actor(), user, True)
            elif action == "set-role":
                user_service.apply_role(session, cli_actor(), user, role)
            else:
                out = reset_sign_in(session, get_settings(), cli_actor(), user)
        except AppError as exc:
            fail(exc.message)
        return out


@users_cli.command("disable")
def users_disable(username: str) -> None:
    """Disable a user; their sessions end at once."""
    _with_user(username, "disable")
    typer.echo(f"{username} disabled; their sessions were ended")


@users_cli.command("enable")
def users_enable(username: str) -> None:
    """Enable a user again (also clears a lockout)."""
    _with_user(username, "enable")
    typer.echo(f"{username} enabled")


@users_cli.command("set-role")
def users_set_role(username: str, role: str) -> None:
    """Change a user's role; their sessions end and their API keys are revoked at once."""
    _with_user(username, "set-role", role)
    typer.echo(f"{username} is now {role}; their sessions were ended, API keys revoked")


@users_cli.command("reset-sign-in")
def users_reset_sign_in(username: str) -> None:
    """Forgotten password or lost authenticator: both are cleared, API keys revoked, sessions
    ended; prints a one-time enrolment code."""
    code = _with_user(username, "reset")
    _show_code(f"{username}: password and authenticator cleared", code)
