"""Before a command touches the database: is there one, and is it migrated?

Run from the wrong folder (or without the server's CELLWATCH_DATA_DIR), a command used to create
an empty SQLite file and fail on its first query with a long traceback. Now it says what is
wrong and how to point it at the server's data, and creates nothing.
"""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from app.db import make_engine
from app.migrations import alembic_config
from app.settings import Settings


class DatabaseNotReady(Exception):
    """The database is missing, unreachable or not migrated; the message says what to do.
    `missing`: there is no database file at all (a connection would create an empty one)."""

    def __init__(self, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


def _where(settings: Settings) -> str:
    if settings.database_url:
        return f"CELLWATCH_DATABASE_URL ({make_url(settings.database_url).render_as_string()})"
    return (f"the data folder {settings.data_dir.resolve()} (CELLWATCH_DATA_DIR"
            f"{'' if settings.data_dir.is_absolute() else ', relative to ' + str(Path.cwd())})")


def _point_it(settings: Settings) -> str:
    return ("Run the command from the server's working folder, or give it the server's "
            "settings, e.g.\n"
            "  CELLWATCH_DATA_DIR=/path/to/the/server/data cellwatch ...\n"
            "(or CELLWATCH_DATABASE_URL for PostgreSQL). To start a new, empty database at "
            f"{_where(settings)}: cellwatch migrate")


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (None: not SQLite, or in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def check_database(settings: Settings) -> None:
    """Raise DatabaseNotReady, saying why and what to do, unless the database exists, can be
    reached and is at the newest migration. Creates no file and no folder."""
    url = settings.effective_database_url
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise DatabaseNotReady(f"There is no Cellwatch database at {path}: nothing found in "
                               f"{_where(settings)}.\n{_point_it(settings)}", missing=True)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            current = _revision(conn)
    except SQLAlchemyError as exc:
        first = str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0][:200]
        raise DatabaseNotReady(f"Cannot reach the database at {_where(settings)}: {first}"
                               ) from None
    finally:
        engine.dispose()
    if current is None:
        raise DatabaseNotReady(f"The database at {_where(settings)} has no Cellwatch tables "
                               "(it was never migrated).\nIf it is the right one, run: "
                               f"cellwatch migrate\nIf not: {_point_it(settings)}")
    if current != head:
        script = ScriptDirectory.from_config(alembic_config())
        known = script.get_revision(current) if current in _revisions(script) else None
        if known is None:
            raise DatabaseNotReady(f"The database at {_where(settings)} is at migration "
                                   f"{current}, which this version of Cellwatch does not know "
                                   "(a newer version migrated it): use that version.")
        raise DatabaseNotReady(f"The database at {_where(settings)} is not at the newest "
                               f"migration (it is at {current}, this version needs {head}).\n"
                               "Run: cellwatch migrate")


def _revision(conn: Connection) -> str | None:
    """The database's migration (read directly: alembic's own reader logs through whatever
    handlers an earlier `migrate` in this process left behind)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _revisions(script: ScriptDirectory) -> set[str]:
    return {rev.revision for rev in script.walk_revisions()}


def ready_engine(settings: Settings, **pool: int) -> Engine:
    """An engine for a command, once `check_database` found the database ready."""
    check_database(settings)
    return make_engine(settings.effective_database_url, **pool)
