"""How far the collector may run ahead of the rest of the pipeline.

Two bounds, checked before each FETCH batch (``AheadGate.take``):

- ``COLLECTOR_MAX_AHEAD``: mails collected and not yet settled (the store's open mails,
  collected or awaiting a reply) stay below it, so a backlog of any size waits in the
  mailbox, not in the broker or the stages' memory. The store is counted only when the
  collector's own estimate (the last count plus what it collected since) says the bound is
  reached, and at most every ``REFRESH_SECONDS``.
- With the embedded broker, ``EMBEDDED_RECYCLE_RECORDS`` and ``EMBEDDED_RECYCLE_BYTES``:
  after collecting that many mails, or that many bytes of ``raw_emails`` records, the
  collector holds until the supervisor has recycled the topics (which stops this service;
  the next one starts with a fresh count), so the broker never holds much more than that
  many mails' records, however big the mails. A mail that never settles would block the recycle for
  ever, so the hold ends after ``recycle_hold_seconds`` and collection goes on without it.

Neither moves a checkpoint: a waiting collector has fetched nothing it has not recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from mailroom.collector.folder import KEEPALIVE_SECONDS  # (also the longest quiet wait here)
from mailroom.runtime import Runtime
from mailroom.settings import Settings
from mailroom.store import mails as mail_store

log = logging.getLogger(__name__)

REFRESH_SECONDS = 0.2  # the store's open mails are counted at most this often
LOG_EVERY = 60.0  # seconds between two "waiting for the pipeline" lines
# a hold for a recycle lasts at most two reconciler periods (a mail whose record was lost is
# published again within about one and a half) plus this
RECYCLE_HOLD_MARGIN = 60.0


class WaitReason(StrEnum):
    PIPELINE = "pipeline"  # COLLECTOR_MAX_AHEAD mails are collected and not yet settled
    RECYCLE = "recycle"  # EMBEDDED_RECYCLE_RECORDS/_BYTES collected: the topics are due a recycle


def batch_size(want: int, *, in_flight: int, max_ahead: int, quota_left: int | None) -> int:
    """How many of the next ``want`` UIDs one FETCH may take now; 0 means wait.

    ``in_flight``: mails collected and not yet settled. ``max_ahead``: their bound (0: none).
    ``quota_left``: mails left before the recycle hold (None: no recycle). A nearly full
    pipeline waits for room for a worthwhile batch (a quarter of the bound, or all that is
    wanted) rather than fetching a few mails at a time.
    """
    take = want
    if quota_left is not None:
        if quota_left <= 0:
            return 0
        take = min(take, quota_left)
    if max_ahead:
        room = max_ahead - in_flight
        if room < min(take, max(1, max_ahead // 4)):
            return 0
        take = min(take, room)
    return take


def recycle_hold_seconds(settings: Settings) -> float:
    return 2 * settings.reconcile_after_seconds + RECYCLE_HOLD_MARGIN


class AheadGate:
    """The bounds, shared by every folder of one collector service."""

    def __init__(self, rt: Runtime, stop_event: asyncio.Event) -> None:
        settings = rt.settings
        self.rt = rt
        self.stop_event = stop_event
        self.max_ahead = settings.collector_max_ahead
        # only `mailroom up` runs with the embedded broker, and its supervisor recycles
        self.quota = settings.embedded_recycle_records if settings.embedded else None
        self.byte_quota = settings.embedded_recycle_bytes if settings.embedded else None
        self.hold_seconds = recycle_hold_seconds(settings)
        self.open_mails: int | None = None  # the store's count at the last read
        self.read_at = 0.0
        self.added = 0  # mails this service recorded since that read began
        self.taken = 0  # UIDs taken by batches not recorded yet
        self.collected = 0  # mails recorded towards the recycle quota
        self.collected_bytes = 0  # ... and the bytes of their raw_emails records
        self._waiting = dict.fromkeys(WaitReason, 0)  # folders waiting, by reason
        self._logged_at = -LOG_EVERY
        self._unlogged = (0, 0.0)  # waits and seconds since the last log line

    @property
    def holding(self) -> bool:
        """Waiting for the topics' recycle (the supervisor reads it)."""
        return self._waiting[WaitReason.RECYCLE] > 0

    def estimate(self) -> int:
        return (self.open_mails or 0) + self.added + self.taken

    def _quota_left(self) -> int | None:
        if self.quota is None:
            return None
        if self.byte_quota is not None and self.collected_bytes >= self.byte_quota:
            return 0
        return self.quota - self.collected - self.taken

    def _size(self, want: int) -> int:
        return batch_size(want, in_flight=self.estimate(), max_ahead=self.max_ahead,
                          quota_left=self._quota_left())

    async def _read(self) -> None:
        self.added = 0
        self.read_at = time.monotonic()
        self.open_mails = await asyncio.to_thread(self._count_open)

    def _count_open(self) -> int:
        with self.rt.db.begin() as conn:
            return mail_store.count_open(conn)

    def _reason(self) -> WaitReason:
        left = self._quota_left()
        return WaitReason.RECYCLE if left is not None and left <= 0 else WaitReason.PIPELINE

    async def take(self, want: int, keepalive: Callable[[], Awaitable[None]] | None = None) -> int:
        """Wait until a batch may be fetched; returns how many UIDs it may take (at most
        ``want``), 0 when the service stops. ``keepalive`` is called during a long wait."""
        if self.max_ahead and self.open_mails is None:
            await self._read()
        wait: _Wait | None = None
        try:
            while True:
                size = self._size(want)
                if size:
                    self.taken += size
                    return size
                if self.stop_event.is_set():
                    return 0
                reason = self._reason()
                if wait is None or wait.reason is not reason:
                    if wait is not None:
                        self._wait_ends(wait)
                    wait = self._wait_starts(reason)
                now = time.monotonic()
                if reason is WaitReason.RECYCLE and now - wait.started >= self.hold_seconds:
                    log.warning("collector: the embedded topics were not recycled within %.0f s "
                                "(a mail has not settled); collecting again without the recycle",
                                self.hold_seconds)
                    self.collected = self.collected_bytes = 0
                    continue
                if reason is WaitReason.PIPELINE and now - self.read_at >= REFRESH_SECONDS:
                    await self._read()
                    continue
                pause = (self.read_at + REFRESH_SECONDS - now if reason is WaitReason.PIPELINE
                         else REFRESH_SECONDS)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop_event.wait(), timeout=max(0.01, pause))
                self._count(wait)
                if keepalive is not None and time.monotonic() - wait.quiet_since >= KEEPALIVE_SECONDS:
                    await keepalive()
                    wait.quiet_since = time.monotonic()
        finally:
            if wait is not None:
                self._wait_ends(wait)

    def recorded(self, mails: int, record_bytes: int = 0) -> None:
        """A batch's mails are in the store (called after its commit), their raw_emails
        records ``record_bytes`` long in all."""
        self.added += mails
        self.collected += mails
        self.collected_bytes += record_bytes

    def release(self, taken: int) -> None:
        """A batch that ``take`` allowed is over (recorded, or failed)."""
        self.taken -= taken

    def _count(self, wait: _Wait) -> None:
        now = time.monotonic()
        self.rt.metrics.collector_wait_seconds.labels(wait.reason.value).inc(now - wait.counted)
        wait.counted = now

    def _wait_starts(self, reason: WaitReason) -> _Wait:
        self._waiting[reason] += 1
        self.rt.metrics.collector_waiting.labels(reason.value).set(1)
        wait = _Wait(reason)
        if reason is WaitReason.RECYCLE:
            log.info("collector: %d mails (%.1f MB of records) collected since the embedded "
                     "topics were last recycled (EMBEDDED_RECYCLE_RECORDS, _BYTES); holding "
                     "until they are recycled", self.collected, self.collected_bytes / 1e6)
            return wait
        if wait.started - self._logged_at < LOG_EVERY:
            return wait  # a backlog waits at every batch: one line a minute says it
        waits, seconds = self._unlogged
        since = (f"; {waits} more wait(s), {seconds:.1f} s in all, since the last such line"
                 if waits else "")
        log.info("collector: waiting for the pipeline: %d mails collected and not yet settled "
                 "(COLLECTOR_MAX_AHEAD %d)%s", self.estimate(), self.max_ahead, since)
        self._logged_at, self._unlogged, wait.logged = wait.started, (0, 0.0), True
        return wait

    def _wait_ends(self, wait: _Wait) -> None:
        self._count(wait)
        self._waiting[wait.reason] -= 1
        if not self._waiting[wait.reason]:
            self.rt.metrics.collector_waiting.labels(wait.reason.value).set(0)
        if wait.reason is WaitReason.PIPELINE and not wait.logged:
            waits, seconds = self._unlogged
            self._unlogged = (waits + 1, seconds + time.monotonic() - wait.started)


@dataclass
class _Wait:
    """One wait of ``AheadGate.take``, from its start to the batch it allowed."""

    reason: WaitReason
    started: float = field(default_factory=time.monotonic)
    counted: float = field(default_factory=time.monotonic)  # seconds counted up to here
    quiet_since: float = field(default_factory=time.monotonic)  # the last IMAP keep-alive
    logged: bool = False
