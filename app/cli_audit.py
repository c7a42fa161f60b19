"""`cellwatch audit`: link the chain, verify it with the key, write checkpoints."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from sqlalchemy import Engine
from sqlmodel import Session

from app.cli_common import fail
from app.cli_database import DatabaseNotReady, ready_engine
from app.db import make_session_factory, unit_of_work, utcnow
from app.settings import get_settings

audit_cli = typer.Typer(help="Check the audit log.", no_args_is_help=True)



def _ready_engine() -> Engine:
    try:
        return ready_engine(get_settings())
    except DatabaseNotReady as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


@contextmanager
def _unit_of_work() -> Iterator[Session]:
    engine = _ready_engine()
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


@audit_cli.command("link")
def audit_link() -> None:
    """Link committed events into the chain now (servers and `jobs run` do it on their own)."""
    from app.audit.linker import link_all
    from app.audit.service import ChainHeadInvalid

    engine = _ready_engine()
    try:
        linked = link_all(engine, make_session_factory(engine),
                          key=get_settings().audit_key_bytes)
    except ChainHeadInvalid as exc:
        fail(f"nothing linked: {exc}")
    finally:
        engine.dispose()
    if linked is None:
        fail("another linker holds the chain's lock; try again shortly")
    typer.echo(f"{linked} events linked into the chain")


_CHECKPOINT_HELP = "the auditor's checkpoint file (default: CELLWATCH_AUDIT_CHECKPOINT_FILE)"


def _checkpoint_path(given: Path | None) -> Path:
    return given if given is not None else get_settings().checkpoint_path


@audit_cli.command("verify")
def audit_verify(checkpoint: Path = typer.Option(None, help=_CHECKPOINT_HELP)) -> None:
    """Check the audit chain with the audit key against the latest checkpoint; report the first
    broken link."""
    from app.audit.verify import read_checkpoint, verify_chain

    path = _checkpoint_path(checkpoint)
    try:
        point = read_checkpoint(path)
    except ValueError as exc:
        fail(f"audit log NOT verified: the checkpoint file {path} is unreadable ({exc})")
        return
    with _unit_of_work() as session:
        result = verify_chain(session, key=get_settings().audit_key_bytes, checkpoint=point)
    if not result.ok:
        fail(f"audit log BROKEN at event {result.broken_at}: {result.reason} "
              f"({result.checked} events verified before it)")
    typer.echo(f"audit log intact: {result.checked} linked events checked")
    if result.anchor_seq:
        typer.echo(f"from the signed anchor at seq {result.anchor_seq}: the events up to it "
                   "were pruned by retention")
    typer.echo(f"against the checkpoint of {point.at} (seq {point.seq})" if point else
               f"no checkpoint in {path}: write one with `cellwatch audit checkpoint`, so that "
               "removing the newest events is found too")
    if result.unused_ids:
        typer.echo(f"{result.unused_ids} event ids were never used (transactions rolled back "
                   "on PostgreSQL; on SQLite any would be a deleted event)")
    waiting = result.lag
    if waiting.unlinked:
        typer.echo(f"{waiting.unlinked} committed events await linking; the oldest since "
                   f"{waiting.oldest_at:%Y-%m-%d %H:%M:%S} UTC "
                   f"({waiting.seconds(utcnow()):.0f} s)")
    else:
        typer.echo("no event awaits linking")


@audit_cli.command("checkpoint")
def audit_checkpoint(file: Path = typer.Option(None, help=_CHECKPOINT_HELP)) -> None:
    """Verify the chain, then append its signed head (sequence, time, hash) to the checkpoint
    file. Keep a copy where database administrators cannot reach it."""
    from app.audit.verify import write_checkpoint

    path = _checkpoint_path(file)
    try:
        with _unit_of_work() as session:
            point = write_checkpoint(session, path, key=get_settings().audit_key_bytes)
    except ValueError as exc:
        fail(str(exc))
        return
    typer.echo(f"checkpoint written to {path}: seq {point.seq}, hash {point.hash}, {point.at}")
