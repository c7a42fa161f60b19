"""Resources named in evidence URLs, loaded or a 404 before the route runs.

Routes name their permission (`who`) before these, so that a caller who may not see the
resource is refused before anyone looks it up.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.db import SessionDep
from app.errors import NotFound
from app.estate.models import Cell
from app.evidence.models import Image
from app.evidence.reference import get_cell


def image_from_path(image_id: int, db: SessionDep) -> Image:
    image = db.get(Image, image_id)
    if image is None:
        raise NotFound(f"There is no image {image_id}.")
    return image


def cell_from_path(cell_id: int, db: SessionDep) -> Cell:
    return get_cell(db, cell_id)


ImageDep = Annotated[Image, Depends(image_from_path)]
CellDep = Annotated[Cell, Depends(cell_from_path)]
