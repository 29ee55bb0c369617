"""The collector service: one ``FolderWatcher`` task per (account, folder).

It owns what the watchers share: the Kafka producer, the parse limits, the OAuth2 token
sources, the stop signal, and the bounds on how far it runs ahead of the pipeline
(``collector/ahead.py``). ``busy`` is True while any batch is between its FETCH and its
checkpoint, so the supervisor never recycles topics under a batch in flight; ``holding``
while it waits for that recycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from confluent_kafka import Producer

from mailroom.autoreply import own_addresses
from mailroom.collector.ahead import AheadGate
from mailroom.collector.folder import FolderWatcher
from mailroom.collector.imap import ImapConnection
from mailroom.collector.mailboxes import Account, load_accounts
from mailroom.collector.oauth import TokenSource
from mailroom.collector.parse import ParseLimits
from mailroom.kafka import Outgoing, produce_all
from mailroom.runtime import Runtime

log = logging.getLogger(__name__)

IMAP_TIMEOUT = 30.0
STOP_GRACE_SECONDS = 25.0


class CollectorService:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.accounts: list[Account] = load_accounts(rt.settings)
        self.limits = ParseLimits.from_settings(rt.settings)
        self.own_addresses = own_addresses(rt.settings)
        self.tokens = {acc.name: TokenSource(acc.oauth2) for acc in self.accounts if acc.oauth2}
        self.stop_event = asyncio.Event()
        self.imap_timeout = IMAP_TIMEOUT
        self.producer: Producer | None = None
        self._in_flight = 0
        self._publish_lock = asyncio.Lock()
        self.gate = AheadGate(rt, self.stop_event)

    # -- what the watchers share -----------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._in_flight > 0

    @property
    def holding(self) -> bool:
        return self.gate.holding

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    def enter_batch(self) -> None:
        self._in_flight += 1

    def leave_batch(self) -> None:
        self._in_flight -= 1

    def connection(self, account: Account) -> ImapConnection:
        return ImapConnection(account, timeout=self.imap_timeout,
                              tokens=self.tokens.get(account.name))

    async def publish(self, records: Sequence[Outgoing]) -> None:
        """Produce and wait for the broker's acks (``RetryLater`` if it did not ack)."""
        if not records:
            return
        assert self.producer is not None
        # one flush at a time: each call then waits exactly for its own records
        async with self._publish_lock:
            await asyncio.to_thread(produce_all, self.producer, records)

    async def sleep(self, seconds: float) -> None:
        """Sleep, waking early when the service stops."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop_event.wait(), timeout=seconds)

    # -- lifecycle -------------------------------------------------------------------
    async def run(self) -> None:
        self.producer = await asyncio.to_thread(self.rt.kafka.producer)
        watchers = [FolderWatcher(self, account, folder)
                    for account in self.accounts for folder in account.folders]
        log.info("collector watching %s", ", ".join(w.label for w in watchers))
        tasks = [asyncio.create_task(w.run(), name=f"collect-{w.label}") for w in watchers]
        try:
            await self.stop_event.wait()
            # a folder between batches stops at once (even mid-connect to a dead server);
            # one inside a batch finishes it, so its checkpoint matches what was published
            for watcher, task in zip(watchers, tasks, strict=True):
                if not watcher.in_batch:
                    task.cancel()
            await asyncio.wait(tasks, timeout=STOP_GRACE_SECONDS)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.to_thread(self.producer.flush, 10)

    def stop(self) -> None:
        self.stop_event.set()
