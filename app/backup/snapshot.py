"""One consistent snapshot of the database, and the sealed files its committed rows name.

SQLite: the online backup API copies the whole database in one step under one read
transaction (writers go on, in WAL mode), so the copy is one committed state. PostgreSQL: a
REPEATABLE READ transaction exports its snapshot; pg_dump runs in that same snapshot, and the
file names are read in it too, so the dump and the list of files agree exactly.

Why the files of that list are all there: a sealed file is written, fsynced and renamed into
place before the transaction that names it commits (evidence/storage.py), so every row in the
snapshot has its whole file on disk; sealed files are never changed in place (packs re-sealed
by key rotation are replaced by an atomic rename, and both versions open); a file goes only
after the erase that forgets it commits (txfiles.py). So a named file that is missing when it
is copied belongs to an image erased after the snapshot: the backup records that erasure and
restore applies it.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.engine import make_url

REFERENCED = {
    "revision": "SELECT version_num FROM alembic_version",
    "images": "SELECT id, storage_key FROM image WHERE erased_at IS NULL ORDER BY id",
    "packs": "SELECT pack_key FROM notice WHERE pack_key <> '' "
             "UNION SELECT pack_key FROM notice_preview ORDER BY 1",
}


class BackupFailed(Exception):
    """The backup or restore cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Contents:
    revision: str
    images: list[tuple[int, str]]  # (image id, storage key) of every held image
    packs: list[str]  # storage keys of the evidence packs notices refer to


def _contents(rows: Any) -> Contents:
    return Contents(revision=rows("revision")[0][0],
                    images=[(int(i), str(k)) for i, k in rows("images")],
                    packs=[str(k) for (k,) in rows("packs")])


def sqlite_copy(source: Path, target: Path) -> Contents:
    """Copy a live SQLite database to `target` (online backup API) and list what it names."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # pages=-1: one step, one read transaction: one committed state
        return _contents(lambda name: dst.execute(REFERENCED[name]).fetchall())
    finally:
        dst.close()
        src.close()


def binary(name: str) -> str:
    """A PostgreSQL client program: on the PATH, or from the newest installed server."""
    found = shutil.which(name) or next(iter(sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise BackupFailed(f"{name} is not installed: install the PostgreSQL client programs "
                           "of the server's version")
    return found


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """(connection URI without the password, environment with PGPASSWORD): the password never
    appears on a command line."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    uri = parsed.set(drivername="postgresql", password=None).render_as_string(
        hide_password=False)
    return uri, env


@contextmanager
def postgres_snapshot(url: str) -> Iterator[tuple[str, Contents]]:
    """(exported snapshot id, what it names), held open until the block ends."""
    import psycopg

    uri, env = libpq(url)
    with psycopg.connect(uri, password=env.get("PGPASSWORD")) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        yield row[0], _contents(lambda name: conn.execute(REFERENCED[name]).fetchall())
        conn.rollback()


def pg_dump(url: str, snapshot: str, out: BinaryIO) -> None:
    """pg_dump (custom format) of the database in `snapshot`, streamed into `out`."""
    uri, env = libpq(url)
    command = [binary("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
               f"--snapshot={snapshot}", f"--dbname={uri}"]
    # an argument list, no shell: the URI is one argument whatever it holds
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # noqa: S603
                          env=env) as proc:
        assert proc.stdout is not None
        while block := proc.stdout.read(1 << 20):
            out.write(block)
        error = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise BackupFailed(f"pg_dump failed: {error.strip()[:500]}")


def pg_restore(url: str, chunks: Iterator[bytes]) -> None:
    """Load a custom-format dump (given as plain chunks) into an empty database, in one
    transaction: a failed restore leaves the database empty."""
    uri, env = libpq(url)
    command = [binary("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
               "--single-transaction", f"--dbname={uri}"]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE,  # noqa: S603
                          env=env) as proc:
        assert proc.stdin is not None
        try:
            for chunk in chunks:
                proc.stdin.write(chunk)
        except BrokenPipeError:
            pass  # pg_restore stopped: its error is read below
        finally:
            proc.stdin.close()
        error = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise BackupFailed(f"pg_restore failed: {error.strip()[:500]}")
