"""Helpers for the evidence tests: what is stored, and a cell to hang photos on."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from app.estate.models import Cell, Establishment
from app.evidence.models import Image
from app.settings import Settings


def stored_files(settings: Settings) -> list[Path]:
    root = settings.data_dir / "images"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def image_count(session: Session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(Image)).one()


def assert_nothing_stored(session: Session, settings: Settings) -> None:
    assert image_count(session) == 0
    assert stored_files(settings) == []


@pytest.fixture
def cell(session: Session) -> Cell:
    est = Establishment(code="MDI", name="Moorland")
    session.add(est)
    session.flush()
    row = Cell(establishment_id=est.id or 0, label="A-1-014", wing="A", landing="1")
    session.add(row)
    session.commit()
    return row
