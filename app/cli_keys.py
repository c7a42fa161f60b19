"""`cellwatch keys`: which master key protects what, and rotation to the current one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from app.cli_common import cli_actor, fail
from app.cli_database import DatabaseNotReady, ready_engine
from app.db import make_session_factory, unit_of_work
from app.evidence.crypto import SealBroken
from app.evidence.models import Video
from app.private import keep_private
from app.settings import get_settings

if TYPE_CHECKING:
    from app.keyscrub import Pending

keys_cli = typer.Typer(help="Master keys: status and rotation.", no_args_is_help=True)


def _counts(label: str, counts: dict[str, int], current: str) -> None:
    shown = ", ".join(f"{key_id}{' (current)' if key_id == current else ''}: {n}"
                      for key_id, n in sorted(counts.items())) or "none"
    typer.echo(f"{label}: {shown}")


@keys_cli.command("status")
def keys_status() -> None:
    """Count images, authenticator secrets and evidence packs under each master key id."""
    from app import keyscrub
    from app.keys import rotation

    settings = get_settings()
    try:
        engine = ready_engine(settings)
    except DatabaseNotReady as exc:
        fail(str(exc))
        return
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            images = rotation.image_key_counts(session)
            clips = rotation.image_key_counts(session, Video)
            secrets = rotation.secret_key_counts(session, settings)
            packs = rotation.pack_key_counts(session, settings)
            scrubs = keyscrub.pending(session)
    finally:
        engine.dispose()
    current = settings.master_key_id
    typer.echo(f"current master key: {current}; older keys configured: "
               f"{', '.join(sorted(settings.old_master_keys)) or 'none'}")
    _counts("image keys", images, current)
    _counts("video keys", clips, current)
    _counts("authenticator secrets", dict(secrets), current)
    _counts("evidence packs", dict(packs), current)
    behind = sum(n for key_id, n in (*images.items(), *clips.items())
                 if key_id != current) + sum(
        n for key_id, n in (*secrets.items(), *packs.items()) if key_id != current)
    typer.echo("everything is under the current key: older keys may be removed" if not behind
               else f"{behind} still under an older key: run `cellwatch keys rotate`")
    _scrub_status(scrubs)


def _scrub_status(scrubs: Pending) -> None:
    if not scrubs.count:
        typer.echo("key parts: no erased key waits to be scrubbed")
        return
    oldest = scrubs.oldest.isoformat(timespec="seconds") if scrubs.oldest else "?"
    typer.secho(f"key parts: {scrubs.count} erased keys still PENDING removal from the backups' "
                f"key parts (oldest erased {oldest}): "
                f"{'; '.join(scrubs.errors) or 'not tried yet'}. `cellwatch jobs run` tries "
                "again", fg=typer.colors.YELLOW)


@keys_cli.command("rotate")
def keys_rotate(batch: int = typer.Option(500, min=1, max=10_000,
                                          help="image keys re-wrapped per transaction")) -> None:
    """Re-wrap every image and evidence pack key, and re-seal authenticator secrets, under the
    current master key (CELLWATCH_MASTER_KEY_ID); packs without a key of their own get one.
    Safe while the service runs; if interrupted, run it again: it carries on with what is
    left."""
    from app.keys import packconvert, rotation

    settings = get_settings()
    try:
        engine = ready_engine(settings)
    except DatabaseNotReady as exc:
        fail(str(exc))
        return
    keep_private(settings.data_dir)
    factory = make_session_factory(engine)
    actor = cli_actor()
    try:
        images = rotation.rewrap_images(
            factory, settings, actor, batch_size=batch,
            after_batch=lambda done: typer.echo(f"  {done} image keys re-wrapped so far"))
        clips = rotation.rewrap_images(factory, settings, actor, batch_size=batch, model=Video)
        secrets = rotation.reseal_secrets(factory, settings, actor)
        converted = packconvert.convert_packs(factory, settings, actor)
        packs = rotation.rewrap_packs(factory, settings, actor)
    except SealBroken as exc:
        fail(f"rotation stopped (what was done is kept; run it again once fixed): {exc}")
        return
    finally:
        engine.dispose()
    typer.echo(f"under master key {settings.master_key_id} now: {images} image keys, {clips} "
               f"video keys and {packs} evidence pack keys re-wrapped, {secrets} authenticator "
               f"secrets re-sealed, {converted} evidence packs given keys of their own")


@keys_cli.command("convert-packs")
def keys_convert_packs() -> None:
    """Give each evidence pack sealed before packs had keys of their own a key of its own
    (so that erasing an image it holds destroys it), and seal it again. `make run` runs it;
    `keys rotate` does it too. Does nothing when every pack has its own key."""
    from app.keys import packconvert

    settings = get_settings()
    try:
        engine = ready_engine(settings)
    except DatabaseNotReady as exc:
        fail(str(exc))
        return
    keep_private(settings.data_dir)
    try:
        converted = packconvert.convert_packs(make_session_factory(engine), settings,
                                              cli_actor())
    except SealBroken as exc:
        fail(f"conversion stopped (what was done is kept; run it again once fixed): {exc}")
        return
    finally:
        engine.dispose()
    typer.echo(f"evidence packs: {converted} given keys of their own")
