"""Files whose fate follows a database transaction (sealed images, evidence packs).

A file written during a unit of work is deleted again if the transaction does not commit, so
no file outlives a rolled-back record; a file marked for deletion goes only once the commit
that forgets it has happened, so a rollback never loses a file still referred to.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger("cellwatch")

_NEW = "cellwatch.files_written"
_DOOMED = "cellwatch.files_doomed"
_HOOKED = "cellwatch.files_hooked"


def _unlink(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            log.exception("could not delete file %s", path)


def _after_commit(session: Session) -> None:
    session.info[_NEW] = []
    _unlink(session.info.pop(_DOOMED, []))


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return  # a savepoint: the outer transaction decides
    written = session.info.pop(_NEW, [])
    if written:
        log.info("transaction ended without commit: deleting %d new files", len(written))
    _unlink(written)
    session.info.pop(_DOOMED, None)  # not committed: the files are still needed


def _hook(session: Session) -> None:
    if not session.info.get(_HOOKED):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_transaction_end", _after_transaction_end)
        session.info[_HOOKED] = True
    session.connection()  # make sure a transaction is open, so its end is seen


def keep_if_committed(session: Session, path: Path) -> None:
    """Call before writing `path`: it is deleted again unless the transaction commits."""
    _hook(session)
    session.info.setdefault(_NEW, []).append(path)


def delete_when_committed(session: Session, *paths: Path) -> None:
    """`paths` are deleted once the transaction commits, and kept if it rolls back."""
    _hook(session)
    session.info.setdefault(_DOOMED, []).extend(paths)
