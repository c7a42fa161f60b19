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
is copied belongs to an image (or video) erased after the snapshot: the backup records that
erasure and restore applies it.
"""

from __future__ import annotations

import glob
import os
import re
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
    "images": "SELECT id, storage_key, master_key_id, wrapped_key FROM image "
              "WHERE erased_at IS NULL ORDER BY id",
    # packs erased with an image they held have no file left to copy
    "packs": "SELECT pack_key FROM (SELECT pack_key FROM notice WHERE pack_key <> '' "
             "UNION SELECT pack_key FROM notice_preview) AS named WHERE pack_key NOT IN "
             "(SELECT pack_key FROM evidence_pack WHERE erased_at IS NOT NULL) ORDER BY 1",
    "pack_keys": "SELECT pack_key, master_key_id, wrapped_key FROM evidence_pack "
                 "WHERE erased_at IS NULL AND length(wrapped_key) > 0 ORDER BY pack_key",
    # a video's poster is committed with its sampled_at (matching/sampling.py), its preview
    # with its video_preview row's done_at (matching/previews.py)
    "videos": "SELECT id, storage_key, master_key_id, wrapped_key, "
              "CASE WHEN sampled_at IS NULL THEN 0 ELSE 1 END, "
              "CASE WHEN EXISTS (SELECT 1 FROM video_preview p WHERE p.video_id = video.id "
              "AND p.done_at IS NOT NULL) THEN 1 ELSE 0 END FROM video "
              "WHERE erased_at IS NULL ORDER BY id",
}
# tables whose rows pg_dump leaves out: copied (copy_rows) with every wrapped key left empty
KEYED_TABLES = {"image-rows": "image", "pack-rows": "evidence_pack", "video-rows": "video"}
VIDEO = "video"


COLUMN_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class BackupFailed(Exception):
    """The backup or restore cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class HeldKey:
    image_id: int  # an image's id, a video's id, 0 for a pack
    storage_key: str  # an image's or a video's storage key, or a pack's key
    master_key_id: str
    wrapped_key: bytes
    kind: str = "image"  # image | pack | video


@dataclass(frozen=True)
class Contents:
    revision: str
    keys: list[HeldKey]  # every held image, with its wrapped key
    packs: list[str]  # storage keys of the evidence packs notices refer to
    pack_keys: list[HeldKey]  # every pack with a key of its own, not erased
    video_keys: list[HeldKey]  # every held video, with its wrapped key
    sampled: frozenset[int]  # the held videos sampled (their poster stored)
    previewed: frozenset[int] = frozenset()  # the held videos whose preview is stored

    @property
    def images(self) -> list[tuple[int, str]]:
        return [(held.image_id, held.storage_key) for held in self.keys]


def _contents(rows: Any) -> Contents:
    videos = rows("videos")
    return Contents(revision=rows("revision")[0][0],
                    keys=[HeldKey(int(i), str(k), str(m), bytes(w))
                          for i, k, m, w in rows("images")],
                    packs=[str(k) for (k,) in rows("packs")],
                    pack_keys=[HeldKey(0, str(k), str(m), bytes(w), "pack")
                               for k, m, w in rows("pack_keys")],
                    video_keys=[HeldKey(int(i), str(k), str(m), bytes(w), VIDEO)
                                for i, k, m, w, _, _ in videos],
                    sampled=frozenset(int(i) for i, _, _, _, done, _ in videos if done),
                    previewed=frozenset(int(i) for i, *_, done in videos if done))


def sqlite_copy(source: Path, target: Path) -> Contents:
    """Copy a live SQLite database to `target` (online backup API), list what it names, then
    clear the image, pack and video keys from the copy (they go to the key part), overwriting
    their bytes."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # pages=-1: one step, one read transaction: one committed state
        contents = _contents(lambda name: dst.execute(REFERENCED[name]).fetchall())
        dst.execute("PRAGMA journal_mode=DELETE")  # no -wal file beside the copy
        dst.execute("PRAGMA secure_delete=ON")  # freed space is zeroed, not left behind
        for table in KEYED_TABLES.values():
            dst.execute(f"UPDATE {table} SET wrapped_key = X''")  # noqa: S608  our names
        dst.commit()
        dst.execute("VACUUM")
        return contents
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
def postgres_snapshot(url: str) -> Iterator[tuple[str, Contents, Any]]:
    """(exported snapshot id, what it names, the connection holding it) until the block ends."""
    import psycopg

    uri, env = libpq(url)
    with psycopg.connect(uri, password=env.get("PGPASSWORD")) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        yield row[0], _contents(lambda name: conn.execute(REFERENCED[name]).fetchall()), conn
        conn.rollback()


def table_columns(conn: Any, table: str) -> list[str]:
    return [name for (name,) in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name = %s ORDER BY ordinal_position", (table,)).fetchall()]


def copy_rows(conn: Any, table: str, out: BinaryIO) -> None:
    """A keyed table (image, evidence_pack, video) in the snapshot, as COPY text, with every
    wrapped key left empty: the first line names the columns."""
    from psycopg import sql

    columns = table_columns(conn, table)
    out.write((" ".join(columns) + "\n").encode())
    select = sql.SQL(", ").join(sql.SQL("''::bytea") if c == "wrapped_key" else
                                sql.Identifier(c) for c in columns)
    query = sql.SQL("COPY (SELECT {} FROM {} ORDER BY 1) TO STDOUT").format(
        select, sql.Identifier("public", table))
    with conn.cursor().copy(query) as copy:
        for block in copy:
            out.write(bytes(block))


def pg_dump(url: str, snapshot: str, out: BinaryIO) -> None:
    """pg_dump (custom format) of the database in `snapshot`, streamed into `out`; the image,
    evidence_pack and video tables' rows are left out (copy_rows writes them without their
    keys)."""
    uri, env = libpq(url)
    command = [binary("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
               *(f"--exclude-table-data=public.{t}" for t in KEYED_TABLES.values()),
               f"--snapshot={snapshot}",
               f"--dbname={uri}"]
    # an argument list, no shell: the URI is one argument whatever it holds
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # noqa: S603
                          env=env) as proc:
        assert proc.stdout is not None
        while block := proc.stdout.read(1 << 20):
            out.write(block)
        error = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise BackupFailed(f"pg_dump failed: {error.strip()[:500]}")


def _script(dump: Path, env: dict[str, str], *sections: str) -> Iterator[bytes]:
    """pg_restore's SQL for these sections of a custom-format dump."""
    command = [binary("pg_restore"), "--no-owner", "--no-privileges", "--file=-",
               *(f"--section={section}" for section in sections), str(dump)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # noqa: S603
                          env=env) as proc:
        assert proc.stdout is not None
        while block := proc.stdout.read(1 << 20):
            yield block
        error = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise BackupFailed(f"pg_restore failed: {error.strip()[:500]}")


def _table_rows(table: str, rows: Iterator[bytes]) -> Iterator[bytes]:
    """A rows part (copy_rows) as a COPY ... FROM stdin block of a psql script."""
    buffer = b""
    for chunk in rows:
        buffer += chunk
        if b"\n" in buffer:
            break
    header, _, rest = buffer.partition(b"\n")
    names = header.decode().split()
    if not names or not all(COLUMN_RE.match(name) for name in names):
        raise BackupFailed(f"the {table} rows part does not start with its column names")
    columns = ", ".join(f'"{name}"' for name in names)
    yield f"COPY public.{table} ({columns}) FROM stdin;\n".encode()
    yield rest
    yield from rows
    yield b"\\.\n"


def pg_restore(url: str, dump: Path, rows: dict[str, Iterator[bytes]]) -> None:
    """Load a dump into an empty database in one transaction (psql): the schema and every
    table's rows, then the keyed tables' rows (`rows`: table -> its rows part), then indexes,
    constraints and triggers. A failed restore leaves the database empty."""
    uri, env = libpq(url)
    command = [binary("psql"), "--no-psqlrc", "--quiet", "--single-transaction",
               "--set=ON_ERROR_STOP=1", f"--dbname={uri}"]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,  # noqa: S603
                          stderr=subprocess.PIPE, env=env) as proc:
        assert proc.stdin is not None
        try:
            for block in _parts(dump, env, rows):
                proc.stdin.write(block)
        except BrokenPipeError:
            pass  # psql stopped: its error is read below
        finally:
            proc.stdin.close()
        error = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise BackupFailed(f"restoring the database failed: {error.strip()[:500]}")


def _parts(dump: Path, env: dict[str, str],
           rows: dict[str, Iterator[bytes]]) -> Iterator[bytes]:
    yield from _script(dump, env, "pre-data", "data")
    for table, part in rows.items():
        yield from _table_rows(table, part)
    yield from _script(dump, env, "post-data")
