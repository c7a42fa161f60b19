"""The refusal raised by the pure video code, in the caller and in the decoding child alike
(which must not import the web stack: it would double the child's start-up). The public API
turns it into VideoRefused, an AppError."""

from __future__ import annotations


class Refusal(Exception):
    """`reason`: a short key for logs and job records ("type", "claim", "caps", "damaged",
    "timeout", "memory", "frames", "crashed"); `problems`: each sentence on its own."""

    def __init__(self, message: str, *, reason: str = "caps",
                 problems: list[str] | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.problems = problems or [message]
        self.status = status
