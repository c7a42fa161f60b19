"""`cellwatch import photos DIR`: load reference photos from <ESTABLISHMENT>/<CELL-LABEL>/*.jpg.

Each file is its own unit of work, so one bad photo never costs the rest: a refused or
unreadable file rolls back only itself (and deletes what it wrote), and a crash part-way keeps
every file loaded before it. Symbolic links are never followed (a link could lead out of
DIR), and files are opened with O_NOFOLLOW so a link swapped in after the walk is refused too.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session
from tqdm import tqdm

from app.audit.service import Actor
from app.db import unit_of_work
from app.errors import AppError
from app.estate.queries import find_cell, find_establishment
from app.evidence.reference import add_reference_photo, find_reference
from app.settings import Settings

log = logging.getLogger("cellwatch")
SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
_IGNORED = {"thumbs.db", "desktop.ini"}


@dataclass
class ImportSummary:
    loaded: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


@dataclass(frozen=True)
class _Entry:
    rel: str
    path: Path | None = None  # None: refused during the walk
    establishment: str = ""
    label: str = ""
    reason: str = ""


def _children(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if not p.name.startswith(".") and p.name.lower() not in _IGNORED)


def _walk(root: Path) -> Iterator[_Entry]:
    for est_dir in _children(root):
        rel = est_dir.name
        if est_dir.is_symlink():
            yield _Entry(rel, reason="symbolic link, not followed")
        elif not est_dir.is_dir():
            yield _Entry(rel, reason="not inside an <ESTABLISHMENT>/<CELL-LABEL>/ folder")
        else:
            yield from _walk_establishment(est_dir, rel)


def _walk_establishment(est_dir: Path, est_rel: str) -> Iterator[_Entry]:
    for cell_dir in _children(est_dir):
        rel = f"{est_rel}/{cell_dir.name}"
        if cell_dir.is_symlink():
            yield _Entry(rel, reason="symbolic link, not followed")
        elif not cell_dir.is_dir():
            yield _Entry(rel, reason="not inside a <CELL-LABEL>/ folder")
        else:
            for item in _children(cell_dir):
                item_rel = f"{rel}/{item.name}"
                if item.is_symlink():
                    yield _Entry(item_rel, reason="symbolic link, not followed")
                elif item.is_dir():
                    yield _Entry(item_rel, reason="folder inside a cell folder, not searched")
                elif not item.is_file():  # a FIFO or device would block the import on open
                    yield _Entry(item_rel, reason="not a regular file, skipped")
                elif item.suffix.lower() not in SUFFIXES:
                    yield _Entry(item_rel, reason="not a .jpg, .jpeg, .png or .webp file")
                else:
                    yield _Entry(item_rel, item, est_dir.name.upper(), cell_dir.name.upper())


def _read(path: Path, limit: int) -> bytes:
    # O_NONBLOCK: a FIFO swapped in after the walk opens at once, and is refused just below
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise OSError("not a regular file")
        return handle.read(limit + 1)  # one byte over is enough to refuse it as too large


def _cell_id(session: Session, cache: dict[tuple[str, str], int | str],
             code: str, label: str) -> int | str:
    """The cell's id, or why there is none (cached: a folder holds many photos)."""
    if (code, label) not in cache:
        cell = find_cell(session, code, label)
        cache[(code, label)] = (
            cell.id or 0 if cell is not None
            else f"unknown establishment {code}" if find_establishment(session, code) is None
            else f"unknown cell {label} in {code}")
    return cache[(code, label)]


def _import_one(session: Session, settings: Settings, actor: Actor,
                cells: dict[tuple[str, str], int | str], entry: _Entry) -> tuple[str, str]:
    """One file in its own transaction -> ("loaded" | "duplicate" | "rejected", reason).
    A refused photo raises (AppError, OSError), so its unit of work rolls back."""
    assert entry.path is not None
    cell = _cell_id(session, cells, entry.establishment, entry.label)
    if isinstance(cell, str):
        return "rejected", cell
    data = _read(entry.path, settings.max_upload_bytes)
    if find_reference(session, cell_id=cell, data=data) is not None:
        return "duplicate", ""
    add_reference_photo(session, settings, actor, cell_id=cell, data=data,
                        filename=entry.path.name)
    return "loaded", ""


def import_photo_tree(factory: Callable[[], Session], settings: Settings,
                      actor: Actor, root: Path, *, progress: bool = True) -> ImportSummary:
    """Load every photo under root, each file in a unit of work of its own made by `factory`,
    so that one bad file never loses the others. Returns what happened to each file."""
    summary = ImportSummary()
    entries = list(_walk(root))
    cells: dict[tuple[str, str], int | str] = {}
    for entry in tqdm(entries, desc="photos", unit="file", disable=None if progress else True):
        if entry.path is None:
            summary.rejected.append((entry.rel, entry.reason))
            continue
        try:
            with unit_of_work(factory) as session:
                outcome, reason = _import_one(session, settings, actor, cells, entry)
        except AppError as exc:
            summary.rejected.append((entry.rel, exc.message))
        except OSError as exc:
            summary.rejected.append((entry.rel, f"could not be read ({exc.strerror or exc})"))
        except Exception:  # a bug on one picture must not cost the rest of the folder
            log.exception("import photos: %s failed", entry.rel)
            summary.rejected.append((entry.rel, "could not be analysed (the error is logged)"))
        else:
            if outcome == "rejected":
                summary.rejected.append((entry.rel, reason))
            elif outcome == "duplicate":
                summary.duplicates.append(entry.rel)
            else:
                summary.loaded.append(entry.rel)
    return summary
