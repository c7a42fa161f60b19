"""What the app writes is readable by its own user only: the database holds prison layouts and
prisoners' names, dates of birth and release dates; the data folder holds sealed images and
keys. A umask of 077 covers every file made later (SQLite's -wal and -shm files, sealed
images, index snapshots, exports); the data folder and a database made before this rule are
put right as the app starts."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO


def keep_private(data_dir: Path) -> None:
    os.umask(0o077)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    for path in data_dir.glob("*.db*"):
        if path.is_file() and not path.is_symlink():
            os.chmod(path, 0o600)


def new_private_file(path: Path) -> BinaryIO:
    """A new file (never an existing one) readable by this user only, whatever the umask."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
