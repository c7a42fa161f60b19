"""Errors of the evidence domain; each carries its HTTP status like every AppError."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from app.errors import AppError


class UnsupportedImageType(AppError):
    status_code = 415
    title = "Not a supported image"


class StoredImageDamaged(AppError):
    """A stored file failed authentication or its key would not unwrap: never served."""

    status_code = 500
    title = "Stored image damaged"


class ImageWithdrawn(AppError):
    """The image was withdrawn: its key is destroyed, there is nothing left to serve."""

    status_code = 410
    title = "Image withdrawn"


@dataclass(frozen=True)
class FileProblem:
    filename: str
    status: int
    message: str


class UploadRefused(AppError):
    """One or more files of a submission were refused; nothing of it was stored.

    Raised on pages and API alike: the JSON error body lists each file's problem in `detail`.
    """

    def __init__(self, problems: list[FileProblem], total: int) -> None:
        self.problems = problems
        statuses = {p.status for p in problems}
        # one kind of problem keeps its own status; a mix is "cannot accept this"
        self.status_code = statuses.pop() if len(statuses) == 1 else 422
        self.title = {413: "Too large", 415: "Not a supported image"}.get(
            self.status_code, "Cannot accept this")
        lead = ("The file was refused" if total == 1
                else f"{len(problems)} of {total} files were refused")
        details = " ".join(p.message for p in problems)
        super().__init__(f"{lead} and nothing was stored. {details}",
                         detail=[asdict(p) for p in problems])
