"""One kind of page of results, for every list: numbered pages, or a cursor for long logs.

Templates show it with `kit.pager(page)` (templates/_kit.html); the links keep the list's
other query parameters (filters) and change only the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import Query, Request

T = TypeVar("T")

PageNumber = Annotated[int, Query(ge=1, le=100000, description="page number, from 1")]


@dataclass
class Page(Generic[T]):
    items: list[T]
    number: int = 1
    size: int = 50
    total: int | None = None  # None where counting is too dear: `more` says if a next exists
    more: bool = False
    params: list[tuple[str, str]] = field(default_factory=list)  # the query kept by links
    cursor: tuple[str, str] | None = None  # (name, value) of a keyset list's next page

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, -(-(self.total or 0) // self.size))

    @property
    def has_prev(self) -> bool:
        return self.number > 1 and self.cursor is None

    @property
    def has_next(self) -> bool:
        if self.cursor is not None or self.total is None:
            return self.more
        return self.number < self.pages

    def href(self, number: int) -> str:
        return "?" + urlencode([*self.params, ("page", str(number))])

    @property
    def next_href(self) -> str:
        if self.cursor is not None:
            return "?" + urlencode([*self.params, self.cursor])
        return self.href(self.number + 1)

    @property
    def prev_href(self) -> str:
        return self.href(self.number - 1)


def kept_params(request: Request, *drop: str) -> list[tuple[str, str]]:
    """The request's query parameters less the page (and any cursor named in `drop`)."""
    skip = {"page", *drop}
    return [(k, v) for k, v in request.query_params.multi_items() if k not in skip]


def page_of(rows: list[T], number: int, size: int, request: Request | None = None,
            total: int | None = None) -> Page[T]:
    """A page from a query that fetched `size + 1` rows (the extra one says there is more)
    or, with `total`, from a counted query."""
    return Page(items=rows[:size], number=number, size=size, total=total,
                more=len(rows) > size,
                params=kept_params(request) if request is not None else [])
