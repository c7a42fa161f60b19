"""Turning multipart form input into service arguments (shared by pages and API: the intake
routes of the one intake path, accounts/intake.py, and the cell library's uploads)."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Form, UploadFile

from app.errors import AppError, Unprocessable
from app.evidence.errors import FileProblem, UploadRefused
from app.evidence.intake import SubmittedFile
from app.evidence.limits import intake_file_bytes
from app.evidence.validation import clean_filename
from app.settings import Settings
from app.web.dates import parse_local_datetime

Files = Annotated[list[UploadFile] | None, File(description="JPEG, PNG or WebP images")]
# The API's: at least one file, so that the document says so (a form may post none and hear
# why on its page)
SomeFiles = Annotated[list[UploadFile], File(min_length=1, description="JPEG, PNG or WebP "
                                             "images")]
# post_url / posted_at (ISO 8601; no offset means local time): one for all files, or one each
PerFile = Annotated[list[str] | None, Form(description="one for all files, or one per file")]


def read_files(files: list[UploadFile] | None, limit: int) -> list[tuple[str, bytes]]:
    """(display name, bytes) of each chosen file; an empty file input sends a nameless part.
    Synchronous, for routes that run in the thread pool: nothing here blocks the event loop,
    and neither does their database work."""
    out = []
    for upload in files or []:
        data = upload.file.read(limit + 1)  # the middleware caps the body; this caps a file
        if not upload.filename and not data:
            continue
        out.append((clean_filename(upload.filename), data))
    return out


def per_file(values: list[str] | None, count: int, what: str) -> list[str]:
    """One value for all files, or exactly one per file, in the order the files were sent."""
    values = values or []
    if len(values) <= 1:
        return [values[0] if values else ""] * count
    if len(values) != count:
        raise Unprocessable(f"{len(values)} values of {what} were sent for {count} files: "
                            "send one for all files, or one per file.")
    return values


def submitted_files(request_files: Files, settings: Settings, post_urls: list[str] | None,
                    posted_ats: list[str] | None) -> list[SubmittedFile]:
    """The uploaded images with their post URL and time (a time without offset is local)."""
    files = read_files(request_files, intake_file_bytes(settings))  # a photo or a video
    urls = per_file(post_urls, len(files), "post_url")
    times = per_file(posted_ats, len(files), "posted_at")
    tz = settings.local_timezone
    return [SubmittedFile(name, data, url, parse_local_datetime(when, tz, "post time"))
            for (name, data), url, when in zip(files, urls, times, strict=True)]


def problems_of(exc: AppError) -> list[FileProblem]:
    """Each refused file of a refused upload, for the form to list (none for other errors)."""
    return exc.problems if isinstance(exc, UploadRefused) else []
