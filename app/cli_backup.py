"""`cellwatch backup DEST`, `cellwatch backup verify DEST`, `cellwatch restore SRC`."""

from __future__ import annotations

from pathlib import Path

import typer

from app.backup.snapshot import BackupFailed
from app.backup.stream import BackupBroken
from app.cli_common import cli_actor, fail
from app.cli_database import DatabaseNotReady, check_database
from app.private import keep_private
from app.settings import get_settings


def backup(
    dest: Path = typer.Argument(..., help="a new (or empty) folder for the backup; "
                                "`verify SRC` checks one instead"),
    src: Path = typer.Argument(None, help="with `verify`: the backup folder to check"),
    keys_inside: bool = typer.Option(False, "--keys-inside", help="put this backup's image and "
                                     "pack keys inside it, where no erasure can scrub them "
                                     "(default: the key part folder, CELLWATCH_BACKUP_KEYS_DIR "
                                     "or <data dir>/backup-keys)"),
) -> None:
    """Write an encrypted, verifiable backup of the database and sealed files while the
    service runs (`cellwatch backup verify DEST` checks one without restoring). To write into
    a folder named verify, give its full path."""
    from app.backup.service import write_backup
    from app.backup.verify import verify_backup

    settings = get_settings()
    if str(dest) == "verify" and src is not None:
        try:
            body = verify_backup(settings, src)
        except (BackupBroken, OSError) as exc:
            fail(f"backup NOT verified: {exc}")
            return
        typer.echo(f"backup verified: {body['database']} database at migration "
                   f"{body['revision']}, {body['images']} images, {body.get('videos', 0)} "
                   f"videos, {body['packs']} evidence packs, written {body['created_at']}")
        return
    if str(dest) == "verify":
        fail("give the backup folder to check: cellwatch backup verify DEST")
    if src is not None:
        fail("give one folder: cellwatch backup DEST (or cellwatch backup verify DEST)")
    try:
        check_database(settings)
    except DatabaseNotReady as exc:
        fail(str(exc))
    keep_private(settings.data_dir)
    try:
        body = write_backup(settings, dest, cli_actor(), keys_inside=keys_inside)
    except (BackupFailed, OSError) as exc:
        fail(f"no backup written: {exc}")
        return
    typer.echo(f"backup written to {dest}: {body['images']} images, {body['videos']} videos, "
               f"{body['packs']} evidence packs, database at migration {body['revision']}; "
               f"image and video keys {body['keys']}")
    if body["keys"] == "in the backup":
        typer.echo("note: the image keys are inside this backup (--keys-inside), so an image "
                   "erased later can be restored from it until it is deleted")
    else:
        typer.echo(f"the key part is in {settings.backup_keys_folder}: a restore after losing "
                   "this machine needs it, so keep that folder on other storage (or mirror it "
                   "there with the backups)")
    if "pruned_key_backups" in body:
        typer.echo(f"{body['pruned_key_backups']} key backups older than "
                   f"{settings.backup_keys_days} days deleted")
    if body["erased_since_snapshot"]:
        typer.echo(f"{len(body['erased_since_snapshot'])} images erased while it was written: "
                   "restore erases them again")
    if body["videos_erased_since_snapshot"]:
        typer.echo(f"{len(body['videos_erased_since_snapshot'])} videos erased while it was "
                   "written: restore erases them again")
    for label in ("missing_images", "missing_videos", "missing_packs"):
        if body[label]:
            typer.secho(f"warning: {label.replace('_', ' ')} (their files were not found): "
                        f"{', '.join(map(str, body[label]))}", fg=typer.colors.YELLOW, err=True)


def restore(
    src: Path = typer.Argument(..., help="a backup folder written by cellwatch backup"),
    keys: Path = typer.Option(None, "--keys", help="the key backup to take image keys from: "
                              "this backup's own or a newer one (default: the backup's own)"),
) -> None:
    """Restore a backup onto an empty machine (empty data folder, empty database)."""
    from app.backup.restore import restore_backup

    settings = get_settings()
    try:
        body = restore_backup(settings, src, cli_actor(), keys=keys)
    except (BackupBroken, BackupFailed, OSError) as exc:
        fail(str(exc) if isinstance(exc, BackupFailed) else f"nothing restored: {exc}")
        return
    typer.echo(f"restored the backup of {body['created_at']}: {body['images']} images, "
               f"{body.get('videos', 0)} videos, {body['packs']} evidence packs into "
               f"{settings.data_dir}")
    if body["erased_on_restore"]:
        typer.echo(f"{body['erased_on_restore']} images restored erased: the key backup holds "
                   "no key for them (erased since)")
    if body["videos_erased_on_restore"]:
        typer.echo(f"{len(body['videos_erased_on_restore'])} videos restored erased: the key "
                   "backup holds no key for them (erased since, or a backup written before "
                   "videos were backed up)")
    if body["database"] == "postgresql":
        typer.echo("PostgreSQL: now give the app's role its rights: "
                   "cellwatch grant-app-role ROLE")
