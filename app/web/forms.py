"""Form errors that keep the form: a refused change is rolled back, the page shown again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.responses import Response
from sqlmodel import Session

from app.errors import AppError


def refused(db: Session, exc: AppError, page: Callable[..., Response], *args: Any,
            **kwargs: Any) -> Response:
    """Nothing of the refused change is kept; `page(*args, error=…, status=…, **kwargs)` is
    rendered again with the person's input (pass it as `form=`) and the reason.

    The rollback comes first so that the page shows what is stored, not the half-made change;
    the request's unit of work then commits nothing but what the page itself records (a view).
    """
    db.rollback()
    return page(*args, error=exc.message, status=exc.status_code, **kwargs)
