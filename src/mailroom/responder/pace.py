"""The responder's side of the relay's pace (``store/pace.py`` keeps the shared budget).

A responder takes the send slots of a claimed chunk in one store round trip, then each
reply's SMTP transaction starts at its slot. A retry takes one more slot. When the budget
has no slot within a few seconds (the day's budget is spent, or the other replicas hold
the next seconds), the chunk is parked until then instead of holding its claims and the
partition. A server's "too many" (421, or 450/451/452 saying so) halves the shared pace.
With no pace set, nothing here runs: no store round trip is added.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

from mailroom.settings import Settings
from mailroom.store import Database
from mailroom.store import pace as pace_store
from mailroom.store.pace import Budget

log = logging.getLogger(__name__)

# a replica takes slots starting at most this far ahead: its claims stay short (CLAIM_LEASE)
HORIZON = 1.0
# a chunk whose slots are further away than this is parked until then rather than waited for
MAX_WAIT = 10.0
# one burst of "too many" reaches every connection at once: it halves the pace once
COOLDOWN = 2.0
# a send that missed its slot by more than this takes a new one: sends held up would
# otherwise go out together, faster than the pace
LATE = 0.05
RETAKES = 3  # then it goes on its old slot (already counted in the budget)
# DATA later than this after its slot takes a new one (``keep``): a send at most this late
# adds at most ``pace * STALE`` sends to any second. Not less: a new slot costs the old one
# and comes after the slots already handed out, so its send holds its connection meanwhile
# and the sends waiting for that connection go late in turn (0.1 s let that spread on a
# loaded machine: docs/responder.md, "Send pace")
STALE = 0.2
# a send takes its pool connection this long before its slot: MAIL, RCPT and the attempt's
# commit go meanwhile, and DATA waits for the slot itself (their delays do not bunch sends)
LEAD = 0.1
# the server's words for "you are sending too fast" in a 450/451/452 (a 421 always counts)
TOO_MANY = re.compile(r"too many|too fast|rate|limit|throttl|slow down|4\.7\.[01]\b", re.I)


def budget_of(settings: Settings) -> Budget:
    return Budget(per_second=settings.smtp_rate_per_second, per_day=settings.smtp_rate_per_day)


def too_many(code: int | None, reason: str) -> bool:
    """Whether an SMTP refusal says the sender goes too fast."""
    return code == 421 or (code in (450, 451, 452) and bool(TOO_MANY.search(reason)))


class PaceDeferred(Exception):
    """Not every slot within ``MAX_WAIT``: ``slots`` were granted, the rest may go at
    ``until`` (epoch seconds)."""

    def __init__(self, until: float, slots: list[float]) -> None:
        super().__init__(f"send pace: the relay's budget has room again at "
                         f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(until))} UTC")
        self.until = until
        self.slots = slots


class Pacer:
    def __init__(self, db: Database, budget: Budget) -> None:
        self.db = db
        self.budget = budget
        self._slowed = 0.0  # this process's last slowdown (spares the store a burst)
        self._asking: list[asyncio.Future[float]] = []  # single slots asked for together
        self._asker: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self.budget.limited

    def chunk(self, default: int) -> int:
        """Replies to claim at once: what the pace sends in about ``2 * HORIZON`` seconds, so
        a claim never waits long for its slot."""
        if not self.budget.per_second:
            return default
        return max(1, min(default, int(self.budget.per_second * 2 * HORIZON)))

    async def reserve(self, n: int) -> list[float]:
        """``n`` slots (epoch seconds), waiting up to ``MAX_WAIT`` for the budget; with
        fewer in reach (the day's budget), ``PaceDeferred`` says which and when the rest."""
        slots: list[float] = []
        want = n
        while len(slots) < n:
            # slots start ``LEAD`` from now: the first reply has time to take its connection
            taken = await asyncio.to_thread(self._reserve, want, time.time() + LEAD)
            if taken.slots:
                slots += taken.slots
                want = n - len(slots)
                continue
            if taken.fits:  # part of the group fits in the day's budget: take that part
                want = taken.fits
                continue
            wait = taken.not_before - time.time()
            if wait > MAX_WAIT:
                raise PaceDeferred(taken.not_before + HORIZON, slots)
            await asyncio.sleep(max(0.0, wait))
        return slots

    async def one(self) -> float:
        """One more slot (a retry, a missed slot); the sends asking at the same moment
        share one store round trip. Raises ``PaceDeferred`` like ``reserve``."""
        asked: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._asking.append(asked)
        if self._asker is None:
            self._asker = asyncio.create_task(self._hand_out())
        return await asked

    async def _hand_out(self) -> None:
        asking: list[asyncio.Future[float]] = []
        try:
            while self._asking:
                await asyncio.sleep(0)  # let the others asking now join this round trip
                asking, self._asking = self._asking, []
                try:
                    slots = await self.reserve(len(asking))
                except PaceDeferred as deferred:
                    slots = deferred.slots
                    for asked in asking[len(slots):]:
                        if not asked.done():  # (its sender may have been cancelled)
                            asked.set_exception(PaceDeferred(deferred.until, []))
                except Exception as exc:
                    for asked in asking:
                        if not asked.done():
                            asked.set_exception(exc)
                    continue
                for asked, at in zip(asking, slots, strict=False):
                    if not asked.done():
                        asked.set_result(at)
        finally:  # (cancelled with the service: nobody waits for a slot forever)
            for asked in asking + self._asking:
                if not asked.done():
                    asked.cancel()
            self._asking = []
            self._asker = None

    async def hold(self, at: float) -> float:
        """Wait until ``LEAD`` seconds before the slot at ``at``; a reply that gets there
        more than ``LATE`` after that point exchanges its slot for a new one (a few times at
        most): DATA would go late, together with the sends after it. Returns the slot
        (DATA waits for it: ``keep``); raises ``PaceDeferred`` when the day is spent."""
        if not self.budget.per_second:
            return at  # a day's budget only: the slot is "now", there is no spacing to keep
        # (time enough left for MAIL, RCPT and the commit)
        return await self._on_time(at, LEAD, LATE)

    async def keep(self, at: float) -> None:
        """Wait for the slot at ``at`` just before DATA. When it passed more than ``STALE`` ago
        while the send waited (for its attempt's commit, for a free connection), take a new
        slot and wait for that (a few times at most): the sends a stalled store held up
        would otherwise go out together when it comes back, with those queued behind them.
        Never raises for want of a slot: the attempt is recorded, so a send that cannot get
        a new one (the day is spent, the store is away) goes on its old slot, already
        counted in the budget."""
        if not self.budget.per_second:
            return
        try:
            await self._on_time(at, 0.0, STALE)
        except Exception:
            return

    async def _on_time(self, at: float, lead: float, late: float) -> float:
        """Wait until ``lead`` before the slot at ``at``; arriving more than ``late`` after that
        point, exchange the slot for a new one (``RETAKES`` times at most, then the last one
        stands). Returns the slot kept."""
        for _ in range(RETAKES):
            await self.wait_for(at - lead)
            if time.time() - (at - lead) <= late:
                return at
            at = await self.one()
        await self.wait_for(at - lead)
        return at

    def _reserve(self, n: int, now: float) -> pace_store.Reservation:
        with self.db.begin() as conn:
            return pace_store.reserve(conn, self.budget, n, now=now, horizon=HORIZON)

    async def wait_for(self, at: float) -> None:
        """Sleep until the slot at ``at``."""
        delay = at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

    async def slow_down(self, reason: str) -> None:
        """Halve the shared pace (once per burst of refusals)."""
        now = time.time()
        if not self.budget.per_second or now - self._slowed < COOLDOWN:
            return
        self._slowed = now
        pace = await asyncio.to_thread(self._slow_down, now)
        if pace is not None:
            log.warning("the SMTP server says too many (%s): send pace now %.2f/s",
                        reason[:200], pace)

    def _slow_down(self, now: float) -> float | None:
        with self.db.begin() as conn:
            return pace_store.slow_down(conn, self.budget, now=now, cooldown=COOLDOWN)
