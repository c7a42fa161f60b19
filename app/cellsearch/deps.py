"""Typed resource dependencies of the cell-search routes: the search named in the path, or 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.cellsearch.models import CellSearch
from app.cellsearch.service import get_search
from app.db import SessionDep


def search_from_path(search_id: int, db: SessionDep) -> CellSearch:
    return get_search(db, search_id)


CellSearchDep = Annotated[CellSearch, Depends(search_from_path)]
