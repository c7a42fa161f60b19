"""What every `cellwatch` command shares: who a command acts as, and how it stops with an error."""

from __future__ import annotations

import getpass

import typer

from app.audit.service import Actor


def cli_actor() -> Actor:
    """The operator at the terminal, as the audit log names them."""
    return Actor(user_id=None, name=f"cli:{getpass.getuser()}"[:64], client_addr="local")


def fail(message: str) -> None:
    """Print `message` in red on standard error and exit with status 1."""
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)
