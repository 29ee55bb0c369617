"""The collector's own account of each folder: its last successful IMAP round and its
last failure, kept in the store so ``/health`` in any process can read them without
logging in to IMAP itself."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

from mailroom.errors import RetryLater
from mailroom.events import utcnow
from mailroom.logs import redact
from mailroom.runtime import Runtime
from mailroom.settings import Settings
from mailroom.store import mailbox_health

log = logging.getLogger(__name__)

STAMP_EVERY = 10.0  # seconds: a busy folder's rounds are stamped at most this often
STALE_GRACE = 30.0


def stale_after(settings: Settings) -> float:
    """Seconds without a successful round after which a folder counts as down: two of the
    longest waits between rounds (the poll interval or the IDLE keep-alive) plus a margin."""
    from mailroom.collector.folder import KEEPALIVE_SECONDS

    longest = max(settings.polling_interval,
                  min(settings.imap_idle_renew_seconds, KEEPALIVE_SECONDS))
    return 2 * longest + STALE_GRACE + STAMP_EVERY


class RoundStamps:
    """Stamps one folder's rounds; a store that is down never stops the collecting."""

    def __init__(self, rt: Runtime, component: str) -> None:
        self.rt = rt
        self.component = component
        self._last_ok = 0.0
        self._pending: set[asyncio.Task[bool]] = set()

    async def ok(self) -> None:
        if time.monotonic() - self._last_ok < STAMP_EVERY:
            return
        if await asyncio.to_thread(self._write, True, utcnow(), ""):
            self._last_ok = time.monotonic()

    def failed(self, detail: str) -> None:
        """Stamp a failure in the background (called from the loop's error path)."""
        self._last_ok = 0.0
        task = asyncio.get_running_loop().create_task(
            asyncio.to_thread(self._write, False, utcnow(), redact(detail)))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    def _write(self, ok: bool, at: datetime, detail: str) -> bool:
        try:
            with self.rt.db.begin() as conn:
                if ok:
                    mailbox_health.round_ok(conn, self.component, at)
                else:
                    mailbox_health.round_failed(conn, self.component, at, detail)
        except RetryLater as exc:
            log.debug("collector %s: round not stamped: %s", self.component, exc.reason)
            return False
        return True
