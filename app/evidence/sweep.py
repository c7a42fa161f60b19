"""Remove image files that no live row names: left by a crash between write and commit."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from app.evidence.models import Image
from app.evidence.storage import images_root
from app.settings import Settings


def sweep_orphans(session: Session, settings: Settings, *,
                  older_than: timedelta = timedelta(hours=1)) -> list[Path]:
    """Delete files older than `older_than` whose storage key no unerased image holds.

    The age margin keeps files of transactions still in flight (written, not yet committed).
    """
    root = images_root(settings)
    if not root.is_dir():
        return []
    live = set(session.exec(select(Image.storage_key)
                            .where(col(Image.erased_at).is_(None))).all())
    cutoff = time.time() - older_than.total_seconds()
    removed = []
    for path in root.glob("*/*"):
        key = path.name.removeprefix(".tmp-").split(".", 1)[0]
        if path.is_file() and path.stat().st_mtime < cutoff and (
                path.name.startswith(".tmp-") or key not in live):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
