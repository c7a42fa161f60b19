"""Small helpers shared by the estate services."""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from app.errors import Unprocessable

T = TypeVar("T")
P = ParamSpec("P")


def checked(parse: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a `validation` parser; its ValueError becomes a 422 with the same message."""
    try:
        return parse(*args, **kwargs)
    except ValueError as exc:
        message = str(exc)
        raise Unprocessable(message[:1].upper() + message[1:] + ".") from None
