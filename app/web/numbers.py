"""Whole numbers typed by people or sent by clients."""

from __future__ import annotations

INT64_MAX = 2**63 - 1  # the largest id or count either database stores
ROW_ID_MAX = 2**31 - 1  # the largest row id or version: they are INTEGER columns on PostgreSQL


def whole_number(text: str, most: int = INT64_MAX) -> int | None:
    """The number `text` spells in ASCII digits, if it is at most `most`; else None.
    (str.isdigit alone also admits '³' and other digits that int() refuses.)"""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if value <= most else None
