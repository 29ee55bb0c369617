"""Errors named by what happens next."""

from __future__ import annotations


class RetryLater(Exception):
    """A passing failure (server busy, connection lost): try the same work again later."""

    def __init__(self, reason: str, *, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


class DeadLetterError(Exception):
    """A permanent failure for one message: record it in ``dead_letter`` and move on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
