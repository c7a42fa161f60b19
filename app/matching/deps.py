"""Resources named in matching URLs, loaded or a 404 before the route runs (routes name their
permission first, so a caller who may not see a match is refused before it is looked up)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.db import SessionDep
from app.matching import service
from app.matching.models import Match


def match_from_path(match_id: int, db: SessionDep) -> Match:
    return service.get_match(db, match_id)


MatchDep = Annotated[Match, Depends(match_from_path)]
