"""The loop for one watched folder: connect, catch up, wait (IDLE or poll), repeat.

Per batch: wait for room in the pipeline (``collector/ahead.py``) -> fetch -> parse -> skip
mails already known -> publish and wait for the broker's acknowledgement -> one transaction
(mails + dead letters + checkpoint) -> post-action.
The checkpoint never moves before the broker has the batch, so a crash or a cut
connection at any point re-reads the batch, and the store's ``known_ids`` keeps a mail
from being published twice once it is recorded. Nor does it move past a UID without an
outcome: each UID of the batch is a mail, or a dead letter (unparseable, or no body after
``FETCH_RETRIES`` more tries).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from mailroom import topics
from mailroom.collector.budget import within_budget
from mailroom.collector.imap import Fetched, ImapConnection, ImapError
from mailroom.collector.imap_responses import FolderState
from mailroom.collector.liveness import RoundStamps
from mailroom.collector.mailboxes import Account, health_component, lease_name
from mailroom.collector.parse import UnparseableMail, parse_message
from mailroom.errors import RetryLater
from mailroom.events import DeadLetter, RawEmail
from mailroom.kafka import Outgoing
from mailroom.runner import backoff_delay, dead_letter_record
from mailroom.settings import AutoreplyMode
from mailroom.store import checkpoints, leases
from mailroom.store import dead_letters as dead_letter_store
from mailroom.store import mails as mail_store

if TYPE_CHECKING:
    from prometheus_client import Gauge

    from mailroom.collector.service import CollectorService

log = logging.getLogger(__name__)

LEASE_TTL = timedelta(seconds=60)
# after mail was found, look again every LINGER_PAUSE seconds, LINGER_ROUNDS times, before
# going back to IDLE: together about as long as Dovecot holds back its IDLE notice
LINGER_PAUSE = 0.05
LINGER_ROUNDS = 10
KEEPALIVE_SECONDS = 300.0  # longest quiet IDLE before a round trip proves the link alive
MAX_DEAD_LETTER_PAYLOAD = 1_000_000
# a UID that came back without a body is fetched again so often, pausing 1x, 2x, ... this
FETCH_RETRIES = 2
FETCH_RETRY_PAUSE = 0.5
# a UID whose FETCH failed this many times in a row, fetched alone, is dead-lettered
UNREADABLE_AFTER = 3
# a backlog's first batch: the stages after the collector start on it while the next,
# twice as large, is fetched (up to MAX_EMAILS_PER_BATCH), instead of waiting for a whole one
FIRST_BATCH = 50
# UIDs searched at a time while the checkpoint is far below the folder's UIDNEXT (catch_up)
SEARCH_WINDOW = 20_000


class FolderWatcher:
    def __init__(self, service: CollectorService, account: Account, folder: str) -> None:
        self.service = service
        self.rt = service.rt
        self.account = account
        self.folder = folder
        self.label = f"{account.name}/{folder}"
        self.component = health_component(account.name, folder)
        self.in_batch = False  # between FETCH and checkpoint: finish before stopping
        self.lease_name = lease_name(account.name, folder)
        # a batch whose FETCH fails is tried again at half the size, down to one UID; a
        # UID that fails alone UNREADABLE_AFTER times in a row is dead-lettered (kept in
        # memory: a restart tries it afresh)
        self.batch_limit = self.rt.settings.max_emails_per_batch
        self.failures: dict[int, tuple[int, str]] = {}  # UID -> (times failed alone, last error)
        self.read_only = self.rt.settings.autoreply_mode is AutoreplyMode.SHADOW
        self.rounds = RoundStamps(self.rt, self.component)  # what /health reads

    # -- the folder lease ----------------------------------------------------------------
    async def run(self) -> None:
        """Hold the folder's lease, then collect; several collectors never read one folder.

        Without the lease this collector stands by and tries again; if it loses the lease
        (its renewals failed for longer than the lease lives) it stops reading at once. A
        batch cut off that way is read again by the new holder, and known mails are skipped.
        """
        try:
            await self._hold_lease_and_collect()
        finally:
            # synchronous on purpose: it must run even while this task is being cancelled,
            # so another collector can take the folder over without waiting for expiry
            with contextlib.suppress(Exception):
                self._release_lease()

    async def _hold_lease_and_collect(self) -> None:
        while not self.service.stopping:
            if not await asyncio.to_thread(self._take_lease):
                self.rt.report(self.component, True, "standby: another collector holds this folder")
                await self.service.sleep(LEASE_TTL.total_seconds() / 3)
                continue
            watch = asyncio.create_task(self.run_connected())
            keep = asyncio.create_task(self._keep_lease())
            try:
                done, _ = await asyncio.wait({watch, keep}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                keep.cancel()
                if not watch.done():
                    watch.cancel()
                for task in (watch, keep):
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if watch not in done:
                log.warning("collector %s lost its folder lease; standing by", self.label)

    def _take_lease(self) -> bool:
        try:
            with self.rt.db.begin() as db:
                if leases.acquire(db, self.lease_name, self.rt.instance, LEASE_TTL):
                    return True
                owner = leases.holder(db, self.lease_name)
                if owner is None or not self._dead_neighbour(owner):
                    return False
                # a restart after a crash (SIGKILL) need not wait out the dead run's lease
                log.warning("collector %s: taking over the lease of %s, which is not running",
                            self.label, owner)
                leases.release(db, self.lease_name, owner)
                return leases.acquire(db, self.lease_name, self.rt.instance, LEASE_TTL)
        except RetryLater:
            return False

    def _dead_neighbour(self, owner: str) -> bool:
        """Is ``owner`` a collector of this host's SQLite store whose process is gone?

        Instances are named ``host-pid``. Only a SQLite store is sure to be one host's:
        elsewhere a pid may belong to another machine (or container) of the same name.
        """
        host, _, pid = owner.rpartition("-")
        if self.rt.db.engine.dialect.name != "sqlite" or host != socket.gethostname() \
                or not pid.isdigit() or int(pid) == os.getpid():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def _release_lease(self) -> None:
        with self.rt.db.begin() as db:
            leases.release(db, self.lease_name, self.rt.instance)

    async def _keep_lease(self) -> None:
        """Renew every third of the lease's life; return when it was lost."""
        failures = 0
        while True:
            await asyncio.sleep(LEASE_TTL.total_seconds() / 3)
            if await asyncio.to_thread(self._take_lease):
                failures = 0
                continue
            failures += 1
            if failures >= 2:
                return

    # -- connection lifecycle ------------------------------------------------------------
    async def run_connected(self) -> None:
        """Until stopped; a failure reconnects with jittered backoff, never ends the task."""
        metrics = self.rt.metrics
        attempt = 0
        while not self.service.stopping:
            conn = self.service.connection(self.account)
            try:
                await conn.open()
                # shadow mode leaves the mailbox untouched: EXAMINE, and no post-action
                state = await conn.select(self.folder, read_only=self.read_only)
                attempt = 0
                metrics.mailbox_up.labels(self.label).set(1)
                self.rt.report(self.component, True, f"connected, UIDVALIDITY {state.uidvalidity}")
                await self._follow(conn, state)
            except (RetryLater, OSError) as exc:
                self._failed(str(exc))
            except Exception as exc:  # the loop's edge: one folder's bug never stops the others
                log.exception("collector %s failed", self.label)
                self._failed(f"{type(exc).__name__}: {exc}")
            finally:
                metrics.idle_state.labels(self.label).set(0)
                await conn.close()
            if self.service.stopping:
                break
            attempt += 1
            metrics.reconnects.labels(self.label).inc()
            await self.service.sleep(backoff_delay(attempt, base=1.0, cap=60.0))
        self.rt.metrics.mailbox_up.labels(self.label).set(0)

    def _failed(self, reason: str) -> None:
        self.rt.metrics.mailbox_up.labels(self.label).set(0)
        # reasons come from our own messages and the server's; credentials never appear
        self.rt.report(self.component, False, reason[:300])  # logs when the folder goes down
        self.rounds.failed(reason)
        log.debug("collector %s: %s", self.label, reason[:300])

    async def _follow(self, conn: ImapConnection, state: FolderState) -> None:
        settings = self.rt.settings
        use_idle = settings.imap_idle and conn.has_idle
        wait = min(settings.imap_idle_renew_seconds, KEEPALIVE_SECONDS) if use_idle \
            else settings.polling_interval
        lingering = 0  # short looks left before IDLE, after a round that found mail
        while not self.service.stopping:
            found = await self.catch_up(conn, state)
            await self.rounds.ok()
            if found and use_idle:
                # mail that arrived while this round was fetched is looked for at once:
                # the server's IDLE notice comes up to ~0.5 s late (Dovecot coalesces),
                # and while mail keeps coming a round is far shorter than that
                lingering = LINGER_ROUNDS
                continue
            if self.service.stopping:
                return
            if lingering:
                # mail was coming a moment ago: a few short looks answer the next one far
                # sooner than the server's late IDLE notice would (one SEARCH each)
                lingering -= 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.service.stop_event.wait(), timeout=LINGER_PAUSE)
                continue
            self.rt.metrics.idle_state.labels(self.label).set(1 if use_idle else 0)
            if use_idle:
                await conn.wait_for_news(wait, self.service.stop_event)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.service.stop_event.wait(), timeout=wait)
            self.rt.metrics.idle_state.labels(self.label).set(0)

    # -- collecting ------------------------------------------------------------------
    async def catch_up(self, conn: ImapConnection, state: FolderState) -> int:
        """Collect every mail above the checkpoint, one batch at a time; returns how many.

        A checkpoint far below the folder's UIDNEXT (as the server gave it when the folder
        was selected) is caught up ``SEARCH_WINDOW`` UIDs at a time: one SEARCH of a
        million UIDs is megabytes for the server to build (Dovecot's imap process, capped
        at 256 MB by default, died of it at every reconnect) and for us to hold."""
        last_uid = await asyncio.to_thread(self._last_uid, state.uidvalidity)
        lag = self.rt.metrics.collector_lag.labels(self.label)
        self.batch_limit = min(self.batch_limit, FIRST_BATCH)
        done = 0
        while state.uidnext - 1 - last_uid > SEARCH_WINDOW:
            window_end = last_uid + SEARCH_WINDOW
            uids = await conn.search_range(last_uid + 1, window_end)
            taken = await self._collect(conn, state, uids, lag, state.uidnext - 1 - window_end)
            done += taken
            if taken < len(uids) or self.service.stopping:
                return done  # stopping, or the pipeline holds the collector
            last_uid = window_end  # (what this window does not list is not there)
        uids = await conn.search_after(last_uid)
        return done + await self._collect(conn, state, uids, lag, 0)

    async def _collect(self, conn: ImapConnection, state: FolderState, uids: list[int],
                       lag: Gauge, beyond: int) -> int:
        """Collect ``uids`` in batches; returns how many (fewer when stopping or held).
        ``beyond``: about how many UIDs wait above them (for the lag gauge)."""
        lag.set(len(uids) + beyond)
        size = self.rt.settings.max_emails_per_batch
        start = 0
        gate = self.service.gate
        while start < len(uids):
            # how far the pipeline lets this batch go (it may wait here, between batches)
            allowed = await gate.take(min(size, self.batch_limit, len(uids) - start),
                                      keepalive=conn.noop)
            if self.service.stopping or not allowed:
                gate.release(allowed)
                return start
            self.service.enter_batch()
            self.in_batch = True
            try:
                if self.failures.get(uids[start], (0, ""))[0] >= UNREADABLE_AFTER:
                    await self._dead_letter_unreadable(uids[start], state.uidvalidity)
                    start += 1
                    continue
                chunk = uids[start:start + allowed]
                try:
                    start += await self.collect_batch(conn, state, chunk)
                except ImapError as exc:
                    self._batch_failed(chunk, str(exc))
                    raise
                self.batch_limit = min(size, self.batch_limit * 2)
                self.failures.pop(chunk[0], None)
            finally:
                gate.release(allowed)
                self.in_batch = False
                self.service.leave_batch()
            lag.set(len(uids) - start + beyond)
        return len(uids)

    def _batch_failed(self, chunk: list[int], error: str) -> None:
        """Halve the next batch; count a failure of a UID fetched alone."""
        self.batch_limit = max(1, len(chunk) // 2)
        if len(chunk) == 1:
            times, _ = self.failures.get(chunk[0], (0, ""))
            self.failures[chunk[0]] = (times + 1, error)

    async def _dead_letter_unreadable(self, uid: int, uidvalidity: int) -> None:
        """A UID whose FETCH failed alone every time (Dovecot drops the connection on a mail
        it cannot read): a dead letter a person can act on, so the folder moves on."""
        times, error = self.failures.pop(uid)
        letter = self._letter(uid, uidvalidity, "Unreadable",
                              f"UID {uid} in {self.label} could not be fetched: it failed "
                              f"{times} times alone, last: {error[:500]}")
        log.error("collector %s: %s", self.label, letter.reason)
        await self.service.publish([dead_letter_record(letter)])
        await asyncio.to_thread(self._commit, [], [letter], uidvalidity, uid)
        self.rt.metrics.dead_letters.labels(topic="imap").inc()
        self.batch_limit = self.rt.settings.max_emails_per_batch

    def _last_uid(self, uidvalidity: int) -> int:
        with self.rt.db.begin() as db:
            checkpoint = checkpoints.load(db, self.account.name, self.folder)
        if checkpoint is None or checkpoint.uidvalidity != uidvalidity:
            if checkpoint is not None:
                log.warning("collector %s: UIDVALIDITY changed %d -> %d, re-scanning",
                            self.label, checkpoint.uidvalidity, uidvalidity)
            return 0  # a new UIDVALIDITY: read all again; known mails are skipped
        return checkpoint.last_uid

    async def collect_batch(self, conn: ImapConnection, state: FolderState, uids: list[int]) -> int:
        """Collect the first of ``uids`` that fit ``MAX_BATCH_BYTES``; returns how many."""
        metrics, settings = self.rt.metrics, self.rt.settings
        started = time.monotonic()
        sizes = await conn.sizes(uids)
        uids = within_budget(uids, sizes, max_email_bytes=settings.max_email_bytes,
                             budget=settings.max_batch_bytes)
        fetched = await conn.fetch(uids, settings.max_email_bytes, sizes)
        fetched, unread = await self._fetch_missing(conn, uids, fetched, state.uidvalidity)
        metrics.fetch_latency.labels(self.label).observe(time.monotonic() - started)
        metrics.fetched.labels(self.label).inc(len(fetched))
        events, letters = await asyncio.to_thread(self._parse_all, fetched, state.uidvalidity)
        letters += unread
        events = await asyncio.to_thread(self._unknown, events)
        letters = await asyncio.to_thread(self._unknown_letters, letters)
        records = [Outgoing(topics.RAW_EMAILS, e.mail_id, e.to_bytes()) for e in events]
        records += [dead_letter_record(letter) for letter in letters]
        await self.service.publish(records)
        await asyncio.to_thread(self._commit, events, letters, state.uidvalidity, max(uids))
        self.service.gate.recorded(len(events), sum(len(r.value) for r in records
                                                     if r.topic == topics.RAW_EMAILS))
        metrics.processed.labels(topic="imap", status="collected").inc(len(events))
        if letters:
            metrics.processed.labels(topic="imap", status="dead_letter").inc(len(letters))
            metrics.dead_letters.labels(topic="imap").inc(len(letters))
        await self._post_action(conn, [f.uid for f in fetched])
        return len(uids)

    async def _fetch_missing(self, conn: ImapConnection, uids: list[int], fetched: list[Fetched],
                             uidvalidity: int) -> tuple[list[Fetched], list[DeadLetter]]:
        """Every UID of the batch gets an outcome before the checkpoint passes it.

        A UID the server answered without a body (or not at all) is fetched again
        ``FETCH_RETRIES`` times; one still without a body becomes a dead letter naming
        account, folder and UID (saying whether the server still lists it), never a gap.
        """
        got = {f.uid for f in fetched}
        missing = [u for u in uids if u not in got]
        for attempt in range(FETCH_RETRIES):
            if not missing:
                return fetched, []
            log.warning("collector %s: UIDs %s came back without a body; fetching again",
                        self.label, missing[:20])
            await asyncio.sleep(FETCH_RETRY_PAUSE * (attempt + 1))
            max_bytes = self.rt.settings.max_email_bytes
            again = await conn.fetch(missing, max_bytes, await conn.sizes(missing))
            fetched = sorted([*fetched, *again], key=lambda f: f.uid)
            got |= {f.uid for f in again}
            missing = [u for u in missing if u not in got]
        if not missing:
            return fetched, []
        listed = set(await conn.search_uids(missing))
        letters = []
        for uid in missing:
            why = "the server still lists it" if uid in listed else "the server no longer lists " \
                "it (expunged while it was being read?)"
            letters.append(self._letter(uid, uidvalidity, "NoBody",
                                        f"UID {uid} in {self.label} came back without a body "
                                        f"{FETCH_RETRIES + 1} times; {why}"))
        log.error("collector %s: UIDs %s dead-lettered: no body after %d tries",
                  self.label, missing[:20], FETCH_RETRIES + 1)
        return fetched, letters

    def _parse_all(self, fetched: list[Fetched], uidvalidity: int,
                   ) -> tuple[list[RawEmail], list[DeadLetter]]:
        events: list[RawEmail] = []
        letters: list[DeadLetter] = []
        for item in fetched:
            try:
                events.append(parse_message(
                    item.raw, account=self.account.name, folder=self.folder, uid=item.uid,
                    uidvalidity=uidvalidity, limits=self.service.limits,
                    own_addresses=self.service.own_addresses,
                    full_size=item.size if item.headers_only else None,
                ))
            except UnparseableMail as exc:
                letters.append(self._letter(
                    item.uid, uidvalidity, "UnparseableMail", exc.reason,
                    payload=item.raw[:MAX_DEAD_LETTER_PAYLOAD].decode("utf-8", "replace"),
                    mail_id=topics.mail_id(self.account.name, self.folder, None, item.raw),
                ))
        return events, letters

    def _letter(self, uid: int, uidvalidity: int, error_type: str, reason: str,
                payload: str = "", mail_id: str | None = None) -> DeadLetter:
        """A dead letter for one UID of this folder, named by account, folder and UID."""
        return DeadLetter(source_topic="imap", key=f"{self.label}/{uidvalidity}/{uid}",
                          reason=reason, error_type=error_type, payload=payload,
                          mail_id=mail_id, account=self.account.name, folder=self.folder,
                          uid=uid)

    def _unknown(self, events: list[RawEmail]) -> list[RawEmail]:
        """Drop mails already recorded (a re-scan after a UIDVALIDITY change, a retry)."""
        with self.rt.db.begin() as db:
            known = mail_store.known_ids(db, [e.mail_id for e in events])
        fresh: dict[str, RawEmail] = {}
        for event in events:
            if event.mail_id not in known and event.mail_id not in fresh:
                fresh[event.mail_id] = event
        return list(fresh.values())

    def _unknown_letters(self, letters: list[DeadLetter]) -> list[DeadLetter]:
        if not letters:
            return letters
        with self.rt.db.begin() as db:
            known = dead_letter_store.known_mail_ids(db, [d.mail_id or "" for d in letters])
        return [d for d in letters if d.mail_id not in known]

    def _commit(self, events: list[RawEmail], letters: list[DeadLetter], uidvalidity: int,
                last_uid: int) -> None:
        with self.rt.db.begin() as db:
            mail_store.record_collected(db, events)
            dead_letter_store.record(db, letters)
            checkpoints.save(db, self.account.name, self.folder, uidvalidity, last_uid)

    async def _post_action(self, conn: ImapConnection, uids: list[int]) -> None:
        """After the mails are durable: flag them \\Seen or move them (optional)."""
        if not uids or self.account.post_action == "none" or self.read_only:
            return
        try:
            if self.account.move_to:
                await conn.move(uids, self.account.move_to)
            else:
                await conn.mark_seen(uids)
        except ImapError as exc:
            # the mails are collected; a failed flag only means they stay as they were
            log.warning("collector %s: post-action failed: %s", self.label, exc)
            if not conn.alive:
                raise
