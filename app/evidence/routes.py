"""Image intake, the display copy, and reference photos: pages and API."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
