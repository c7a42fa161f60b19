"""Turning multipart form input into service arguments (shared by pages and API)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from fastapi import UploadFile

from app.errors import Unprocessable
from app.evidence.validation import clean_filename


async def read_files(files: list[UploadFile] | None, limit: int) -> list[tuple[str, bytes]]:
    """(display name, bytes) of each chosen file; an empty file input sends a nameless part."""
    out = []
    for upload in files or []:
        data = await upload.read(limit + 1)  # the middleware caps the body; this caps a file
        if not upload.filename and not data:
            continue
        out.append((clean_filename(upload.filename), data))
    return out


def parse_time(value: str, what: str) -> datetime | None:
    """ISO 8601 (a form's datetime-local gives no offset: the service reads it as local)."""
    value = value.strip()
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise Unprocessable(f"The {what} “{value[:40]}” is not a date and time "
                            "(e.g. 2026-03-01T21:15).") from None


def parse_day(value: str, tz: str, what: str) -> datetime | None:
    """A date from a form, as the start of that day in the unit's local time."""
    value = value.strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Unprocessable(f"The {what} “{value[:40]}” is not a date (YYYY-MM-DD).") from None
    return datetime.combine(day, time(), tzinfo=ZoneInfo(tz))


def per_file(values: list[str] | None, count: int, what: str) -> list[str]:
    """One value for all files, or exactly one per file, in the order the files were sent."""
    values = values or []
    if len(values) <= 1:
        return [values[0] if values else ""] * count
    if len(values) != count:
        raise Unprocessable(f"{len(values)} values of {what} were sent for {count} files: "
                            "send one for all files, or one per file.")
    return values
