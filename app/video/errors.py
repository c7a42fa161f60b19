"""The video core's refusal as the app's error family: a clear 4xx whose message an analyst
understands and whose JSON detail names the reason and each problem."""

from __future__ import annotations

from app.errors import AppError
from app.video.refusal import Refusal


class VideoRefused(AppError):
    status_code = 422
    title = "Cannot accept this video"

    def __init__(self, message: str, *, reason: str = "caps",
                 problems: list[str] | None = None, status: int = 422) -> None:
        super().__init__(message, detail={"reason": reason, "problems": problems or [message]})
        self.status_code = status
        if status == 413:
            self.title = "Too large"
        self.reason = reason
        self.problems = problems or [message]

    @classmethod
    def of(cls, refusal: Refusal) -> VideoRefused:
        return cls(refusal.message, reason=refusal.reason, problems=refusal.problems,
                   status=refusal.status)
