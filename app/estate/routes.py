"""Estate pages (supervisors edit) and API: one router holding them all.

Prisoner pages come before `/estate/{code}` so that `/estate/prisoners` is never read as a code.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.estate import api, pages, prisoner_pages

router = APIRouter()
router.include_router(prisoner_pages.router)
router.include_router(pages.router)
router.include_router(api.router)
