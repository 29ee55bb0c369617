"""The responder: ``acknowledgement_queue`` -> guard -> rate limit -> claim -> SMTP -> store.

It only moves data; guarding and composing are pure (``guard.py``, ``compose.py``), the
reply ledger is ``store/replies.py``. Exactly one reply per mail and template comes from
the ledger: a reply is ``claimed`` before SMTP, ``sending`` only while its SMTP transaction
is on the wire (``attempts.py`` records both edges in group commits) and ``sent`` right
after, so a redelivered event or a second responder finds it taken, and a responder killed
at any moment leaves at most ``SMTP_POOL_SIZE`` replies in doubt (they go to review); what
it had claimed and not yet attempted is sent by the next one. A transient SMTP failure is
retried a few times at once, then parked (``retry`` with a due time) for the Reconciler to
republish; the partition never waits.

A batch moves in phases, so the store is visited a few times per batch and not per reply
(measured: two transactions and two thread hops per reply were half the responder's
time). Per chunk of ``PIPELINE_CHUNK`` records: guard, and compose what the processor did
not compose ahead (pure; ``compose.Composer``), then ONE
transaction records the suppressions and takes the rate slots and claims, then the
claimed replies are handed to the pool and the next chunk starts: the SMTP server works
on them while it is composed, and their answers are read while it is claimed. A sent
reply's row is settled by the attempt log as soon as its 250 is read; when all are out,
one transaction marks their mails replied and records the parked and the failed.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import Connection
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from mailroom import autoreply, dependencies, topics
from mailroom.errors import RetryLater
from mailroom.events import DeadLetter, RoutedEmail, as_utc, utcnow
from mailroom.kafka import Outgoing
from mailroom.responder.attempts import AttemptLog
from mailroom.responder.compose import (
    MANUAL_TEMPLATE,
    Composer,
    ComposeRefused,
    reply_key,
)
from mailroom.responder.pace import PaceDeferred, Pacer, budget_of, too_many
from mailroom.responder.smtp import (
    Attempt,
    Delivery,
    NotStarted,
    SmtpConfig,
    SmtpPermanent,
    SmtpPool,
    SmtpTransient,
    SmtpUnknown,
)
from mailroom.runner import Item, Runner, backoff_delay, dead_letter_record
from mailroom.runtime import Runtime
from mailroom.settings import AutoreplyMode, UncertainReplyPolicy
from mailroom.store import MailStatus, ReplyStatus, progress
from mailroom.store import dead_letters as dead_letter_store
from mailroom.store import mails as mail_store
from mailroom.store import replies as reply_store
from mailroom.store.replies import Claim

log = logging.getLogger(__name__)

RATE_LIMITED = "rate_limited"
# AUTOREPLY_MODE off/shadow (helper E): an automatic reply still in the queue from before the
# switch, or from a replay, is held for a person; a reviewer's own reply is sent
AUTOREPLY_HELD = "autoreply_mode"
# a suppression may only close a mail that is still open (a replay never undoes a reply)
SUPPRESSIBLE: tuple[MailStatus, ...] = (MailStatus.COLLECTED, MailStatus.AWAITING_REPLY,
                                        MailStatus.IN_REVIEW)
OPEN_FOR_REVIEW: tuple[MailStatus, ...] = (MailStatus.COLLECTED, MailStatus.AWAITING_REPLY)


class Outcome(StrEnum):
    SENT = "sent"
    SUPPRESSED = "suppressed"
    DUPLICATE = "duplicate"
    RETRY = "retry"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    PACED = "paced"  # parked until the send pace has a slot for it


# replies composed and claimed per step: one chunk is with the SMTP server while the next
# is composed and claimed (measured: the whole batch in one step left the responder idle
# a quarter of its time, waiting for the SMTP server)
PIPELINE_CHUNK = 50
SETTLE_PATIENCE = 120.0  # seconds to wait for the store before giving a sent batch up
# how long a claim keeps other responders off a reply nobody attempted yet; once it ran
# out, whoever gets the mail next claims and sends it (the old holder's attempt is then
# called off: it starts only if the row is still claimed under its token)
CLAIM_LEASE = timedelta(seconds=30)
# the responder's progress mark (``store/progress.py``) is renewed at most this often
PROGRESS_EVERY = 1.0


@dataclass(frozen=True)
class RetryPolicy:
    """Quick in-process retries, then parked retries with a growing delay."""

    quick_attempts: int = 3
    quick_wait: float = 0.2
    quick_wait_max: float = 2.0
    park_base: float = 30.0
    park_cap: float = 3600.0
    give_up_after: timedelta = timedelta(days=5)  # what MTAs do with a 4xx that never ends

    def park_delay(self, attempts: int) -> float:
        """Exponential with jitter (half fixed, half random)."""
        delay = min(self.park_cap, self.park_base * 2 ** min(max(attempts - 1, 0), 20))
        return float(delay / 2 + random.uniform(0, delay / 2))




@dataclass
class Reply:
    """One record's way through the batch; ``outcome`` is set once its fate is known."""

    item: Item[RoutedEmail]
    suppress: str | None = None  # a guard reason, or RATE_LIMITED
    data: bytes = b""  # the message as sent; empty until composed
    message_id: str = ""
    key: str = ""
    to: list[str] = field(default_factory=list)
    body: str | None = None
    rate_limited: bool = True  # a reviewer's reply is not
    slot_at: float | None = None  # when its first attempt may start (the send pace)
    wait: float | None = None  # parked for the send pace: seconds until it may go
    claim: Claim | None = None
    owner: str = ""  # the claim's token: its attempts start only while it holds the row
    delivery: Delivery | None = None
    outcome: Outcome | None = None
    reason: str = ""  # why it was parked, or what the guard saw
    letter: DeadLetter | None = None
    fail_status: MailStatus = MailStatus.FAILED

    @property
    def mail_id(self) -> str:
        return self.item.event.email.mail_id


class ResponderService(Runner[RoutedEmail]):
    stage = "responder"
    input_topic = topics.ACKNOWLEDGEMENT_QUEUE
    event_type = RoutedEmail

    def __init__(self, runtime: Runtime, *, pool: SmtpPool | None = None,
                 retry: RetryPolicy | None = None) -> None:
        super().__init__(runtime)
        settings = runtime.settings
        self.pool = pool or SmtpPool(SmtpConfig.from_settings(settings))
        self.retry = retry or RetryPolicy()
        self.composer = Composer.from_settings(settings)
        self.own_addresses = self.composer.own_addresses
        # one SMTP transaction (MAIL, RCPT, DATA, each up to the timeout); an attempt whose
        # lease ran out is never sent again (it goes to a person), so the lease only decides
        # how soon that happens
        self.attempts = AttemptLog(runtime.db,
                                   lease=timedelta(seconds=settings.smtp_timeout * 4 + 15),
                                   claim_lease=CLAIM_LEASE,
                                   policy=settings.uncertain_reply_policy,
                                   patience=SETTLE_PATIENCE, group=self.pool.size)
        self._tokens = itertools.count(1)
        self._marked = -PROGRESS_EVERY - 1.0  # monotonic time of the last progress mark
        self.pacer = Pacer(runtime.db, budget_of(settings))
        self.chunk = self.pacer.chunk(PIPELINE_CHUNK)

    async def run(self) -> None:
        # between replies nothing else would notice SMTP going down (logged, /health/ready)
        watch = dependencies.start(self.rt, "smtp", self._smtp_problem,
                                   self.rt.settings.dependency_probe_seconds)
        try:
            await super().run()
        finally:
            await dependencies.stop(watch)
            await self.pool.close()
            self.attempts.close()

    async def _smtp_problem(self) -> str | None:
        return await dependencies.smtp_problem(self.rt.settings)

    # -- the batch ------------------------------------------------------------------
    async def handle_batch(self, items: Sequence[Item[RoutedEmail]]) -> list[Outgoing]:
        started = time.monotonic()
        batch = [Reply(item) for item in items]
        manual = [r.mail_id for r in batch if r.item.event.decision.template == MANUAL_TEMPLATE
                  and r.item.event.decision.reply_body is None]
        # republished from the store, which keeps a person's text only on the reply row
        bodies = await asyncio.to_thread(self._parked_manual_bodies, manual) if manual else {}
        sending: list[asyncio.Future[list[None]]] = []
        try:
            for start in range(0, len(batch), self.chunk):
                chunk = batch[start:start + self.chunk]
                for reply in chunk:
                    self._plan(reply, bodies)
                # earlier chunks' replies go out over SMTP while this one is claimed
                await asyncio.to_thread(self._claim_batch, chunk)
                claimed = [r for r in chunk if r.claim is Claim.CLAIMED]
                if claimed and self.pacer.enabled:
                    if not sending:
                        # connections opened on a slot would send late, then together
                        await self.pool.warm()
                    claimed = await self._pace(claimed)
                sending.append(asyncio.gather(*(self._deliver(r) for r in claimed)))
        except BaseException:
            # a chunk's claim failed (the batch is retried): what earlier chunks claimed
            # is still sent and recorded, or its claims would sit until they run out
            await asyncio.gather(*sending)
            await self.attempts.flush()
            await self._settle_while_store_recovers([r for r in batch if r.claim is Claim.CLAIMED])
            raise
        await asyncio.gather(*sending)
        await self.attempts.flush()
        await self._settle_while_store_recovers(batch)
        return self._account(batch, started)

    async def _pace(self, claimed: list[Reply]) -> list[Reply]:
        """Give each claimed reply its send slot; those without one soon (the day's budget
        is spent) are parked until then, not held (their claims and the partition with them).
        If the store cannot say, the chunk is parked like a 4xx: its claims are released."""
        try:
            slots = await self.pacer.reserve(len(claimed))
        except PaceDeferred as deferred:
            slots, wait = deferred.slots, max(0.0, deferred.until - time.time())
            for r in claimed[len(slots):]:
                r.outcome, r.reason, r.wait = Outcome.PACED, str(deferred), wait
        except Exception as exc:
            log.warning("responder: no send slots from the store, parking the chunk: %s", exc)
            slots = []
            for r in claimed:
                r.outcome, r.reason = Outcome.RETRY, f"send pace unavailable: {exc}"
        for r, at in zip(claimed, slots, strict=False):
            r.slot_at = at
        return claimed[:len(slots)]

    async def _settle_while_store_recovers(self, batch: list[Reply]) -> None:
        """Record what SMTP already did; wait out a store outage rather than lose it.

        Once a reply went out, giving up here would leave its claim to run out and the mail
        to a person ("may have been sent"). A short outage (a database restart) is waited
        out in place instead, with backoff, for up to ``SETTLE_PATIENCE`` seconds.
        """
        deadline = time.monotonic() + SETTLE_PATIENCE
        attempt = 0
        while True:
            try:
                await asyncio.to_thread(self._settle_batch, batch)
                return
            except RetryLater as exc:
                attempt += 1
                if time.monotonic() >= deadline:
                    raise
                log.warning("responder: recording sent replies failed, retrying: %s", exc.reason)
                await asyncio.sleep(min(backoff_delay(attempt), max(0.0, deadline - time.monotonic())))

    def _plan(self, reply: Reply, bodies: dict[str, str | None]) -> None:
        """Guard and compose one record (pure); a refusal or a bug fails only this record."""
        email, decision = reply.item.event.email, reply.item.event.decision
        settings = self.rt.settings
        if decision.requested_by is None and settings.autoreply_mode is not AutoreplyMode.ON:
            reply.suppress = AUTOREPLY_HELD
            reply.reason = f"AUTOREPLY_MODE={settings.autoreply_mode.value}: not sent automatically"
            return
        try:
            # the processor's own check, again: no loop, and exactly one acceptable address
            refused = autoreply.refusal(email, self.own_addresses)
            if refused is not None:
                reply.suppress, reply.reason = refused.code, refused.detail
                return
            if decision.template == MANUAL_TEMPLATE and decision.reply_body is None:
                decision = decision.model_copy(update={"reply_body": bodies.get(email.mail_id)})
            composed = reply.item.event.reply
            if composed is not None and self.composer.usable(composed, email, decision):
                reply.data = composed.data.encode("utf-8")
                reply.to, reply.message_id = list(composed.recipients), composed.message_id
            else:
                rendered = self.composer.render(email, decision)
                reply.data, reply.to = rendered.data, rendered.recipients
                reply.message_id = rendered.message_id
        except ComposeRefused as exc:
            self.rt.metrics.replies.labels(outcome="refused").inc()
            self._failed(reply, exc.reason, "ComposeRefused", MailStatus.DEAD, keyed=False)
            return
        except Exception as exc:
            self._unexpected(reply, exc)
            return
        reply.key = reply_key(decision)
        reply.body = decision.reply_body
        reply.rate_limited = decision.requested_by is None and settings.autoreply_period > 0

    async def _deliver(self, reply: Reply) -> None:
        try:
            reply.delivery = await self._send(reply)
        except NotStarted:
            # the claim ran out and another responder took the reply: it sends it
            reply.outcome = Outcome.DUPLICATE
        except PaceDeferred as exc:  # a retry found the day's budget spent
            reply.outcome, reply.reason = Outcome.PACED, str(exc)
            reply.wait = max(0.0, exc.until - time.time())
        except SmtpUnknown as exc:
            if self.rt.settings.uncertain_reply_policy is UncertainReplyPolicy.RESEND:
                reply.outcome, reply.reason = Outcome.RETRY, exc.reason
            else:  # the attempt log put it in review
                log.warning("reply to %s may or may not have gone out: %s", reply.mail_id,
                            exc.reason)
                reply.outcome = Outcome.UNCERTAIN
        except SmtpTransient as exc:
            reply.outcome, reply.reason = Outcome.RETRY, exc.reason
        except SmtpPermanent as exc:
            self.rt.metrics.replies.labels(outcome=Outcome.FAILED).inc()
            self._failed(reply, exc.reason, "SmtpPermanent", MailStatus.FAILED)
        except Exception as exc:
            self._unexpected(reply, exc)
        else:
            reply.outcome = Outcome.SENT

    def _account(self, batch: list[Reply], started: float) -> list[Outgoing]:
        """Metrics for each record and the dead letters to produce."""
        metrics = self.rt.metrics
        now, elapsed = utcnow(), time.monotonic() - started
        outgoing: list[Outgoing] = []
        for reply in batch:
            outcome = reply.outcome
            assert outcome is not None, f"reply {reply.mail_id} left without an outcome"
            if outcome is Outcome.SENT:
                assert reply.delivery is not None
                metrics.replies.labels(
                    outcome="partial" if reply.delivery.refused else Outcome.SENT).inc()
                metrics.end_to_end.observe(
                    (now - as_utc(reply.item.event.email.collected_at)).total_seconds())
            elif outcome is Outcome.FAILED:
                assert reply.letter is not None
                metrics.dead_letters.labels(reply.letter.source_topic).inc()
                outgoing.append(dead_letter_record(reply.letter))
            elif outcome is Outcome.SUPPRESSED:
                log.info("no reply to %s: %s", reply.mail_id, reply.suppress)
                metrics.suppressed.labels(reason=str(reply.suppress)).inc()
                metrics.replies.labels(outcome=outcome).inc()
            elif outcome is Outcome.PACED:
                log.info("reply to %s waits for the send pace: %s", reply.mail_id, reply.reason)
                metrics.replies.labels(outcome=outcome).inc()
            elif outcome is Outcome.RETRY:
                log.warning("reply to %s parked for a later retry: %s", reply.mail_id, reply.reason)
                metrics.replies.labels(outcome=outcome).inc()
            else:  # DUPLICATE, UNCERTAIN
                metrics.replies.labels(outcome=outcome).inc()
            metrics.processed.labels(topic=topics.ACKNOWLEDGEMENT_QUEUE, status=outcome).inc()
            metrics.processing_time.labels(topic=topics.ACKNOWLEDGEMENT_QUEUE).observe(elapsed)
        return outgoing

    # -- steps ----------------------------------------------------------------------
    async def _send(self, reply: Reply) -> Delivery:
        """One try at once; after a transient failure, a few more with backoff.

        The first try goes without tenacity: building its retry machinery per reply cost
        a tenth of the responder's time, and nearly every reply needs one try only. Under
        ``UNCERTAIN_REPLY_POLICY=resend`` a lost answer is tried again like a 4xx.
        """
        policy = self.retry
        transient: tuple[type[Exception], ...] = (SmtpTransient, SmtpUnknown) \
            if self.rt.settings.uncertain_reply_policy is UncertainReplyPolicy.RESEND \
            else (SmtpTransient,)
        try:
            return await self._send_once(reply)
        except transient:
            if policy.quick_attempts <= 1:
                raise
        await asyncio.sleep(random.uniform(0, policy.quick_wait * 2))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.quick_attempts - 1),
            wait=wait_random_exponential(multiplier=policy.quick_wait, max=policy.quick_wait_max),
            retry=retry_if_exception_type(transient),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._send_once(reply)
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def _send_once(self, reply: Reply) -> Delivery:
        key, attempts = (reply.mail_id, reply.key), self.attempts
        start: Callable[[], Awaitable[bool]] = functools.partial(attempts.start, key, reply.owner)
        if self.pacer.enabled:
            # the first try has its slot from the chunk's reservation, a retry takes one
            try:
                at = reply.slot_at if reply.slot_at is not None else await self.pacer.one()
                reply.slot_at = None
                at = await self.pacer.hold(at)
            except PaceDeferred:
                raise  # parked until the budget has room (``_deliver``)
            except Exception as exc:  # the store is down: retried, then parked, like a 4xx
                raise SmtpTransient(f"send pace unavailable: {exc}") from exc
            start = functools.partial(self._paced_start, key, reply.owner, at)
        started = time.monotonic()
        try:
            delivery = await self.pool.send(
                reply.data, sender=self.rt.settings.smtp_email, recipients=reply.to,
                attempt=Attempt(start=start, end=lambda result: attempts.end(key, result)))
        except (SmtpTransient, SmtpUnknown) as exc:
            # the server is down when it cannot be reached, says so (421) or refuses the
            # login (a transient 5xx); a 4xx about one message says nothing about the others
            code = getattr(exc, "code", None)
            if code is None or code == 421 or code >= 500:
                self.rt.report("smtp", False, exc.reason[:200])
            if self.pacer.enabled and too_many(code, exc.reason):
                await self._slow_down(exc.reason)
            raise
        finally:
            self.rt.metrics.smtp_latency.observe(time.monotonic() - started)
        self.rt.report("smtp", True)
        return delivery

    async def _paced_start(self, key: tuple[str, str], owner: str, at: float) -> bool:
        """The attempt's start, recorded while its connection waits for the slot: DATA
        goes at the slot, whatever MAIL, RCPT and the commit took (within ``LEAD``), or
        at a new one when the slot passed meanwhile (``Pacer.keep``)."""
        starting = asyncio.ensure_future(self.attempts.start(key, owner))
        await self.pacer.wait_for(at)  # (never raises: the start must be settled)
        started = await starting
        if started:
            await self.pacer.keep(at)
        return started

    async def _slow_down(self, reason: str) -> None:
        try:
            await self.pacer.slow_down(reason)
        except Exception as exc:  # the store is down: the reply is still retried
            log.warning("responder: could not slow the send pace down: %s", exc)

    def _reply_letter(self, reply: Reply, reason: str, error_type: str) -> DeadLetter:
        item, email = reply.item, reply.item.event.email
        return DeadLetter(
            source_topic=item.topic, key=item.key, reason=reason, error_type=error_type,
            payload=item.event.model_dump_json(), mail_id=email.mail_id, account=email.account,
            folder=email.folder, uid=email.uid,
        )

    def _failed(self, reply: Reply, reason: str, error_type: str, status: MailStatus,
                *, keyed: bool = True) -> None:
        log.warning("reply to %s failed for good: %s", reply.mail_id, reason)
        reply.letter = self._reply_letter(reply, reason, error_type)
        reply.fail_status = status
        reply.outcome = Outcome.FAILED
        if not keyed:
            reply.key = ""  # no reply row to mark

    def _unexpected(self, reply: Reply, exc: Exception) -> None:
        """The per-record edge: a bug in one reply dead-letters that reply, not the batch."""
        log.error("responder: record failed, dead-lettering", exc_info=exc)
        reply.letter = self._letter_for(reply.item, f"{type(exc).__name__}: {exc}", exc)
        reply.fail_status = MailStatus.DEAD
        reply.outcome = Outcome.FAILED
        reply.key = ""

    # -- store (called in a thread) --------------------------------------------------
    def _parked_manual_bodies(self, mail_ids: list[str]) -> dict[str, str | None]:
        bodies: dict[str, str | None] = {}
        with self.rt.db.begin() as conn:
            for mail_id in mail_ids:
                bodies[mail_id] = next(
                    (str(row["body"]) for row in reply_store.get(conn, mail_id)
                     if str(row["template"]).startswith(f"{MANUAL_TEMPLATE}-") and row["body"]
                     and row["status"] in (ReplyStatus.RETRY, ReplyStatus.CLAIMED,
                                           ReplyStatus.SENDING)), None)
        return bodies

    def _claim_batch(self, batch: list[Reply]) -> None:
        """Suppressions, rate slots and claims of a chunk in one transaction."""
        with self.rt.db.begin() as conn:
            self._claim_in(conn, batch)
            # the reconciler's sign of life (it waits RECONCILE_AFTER_SECONDS for one):
            # once a second is enough, where every chunk was a statement more and a turn
            # at the row every responder writes
            now = time.monotonic()
            if now - self._marked >= PROGRESS_EVERY:
                progress.mark(conn, progress.RESPONDER)
                marked = now
            else:
                marked = self._marked
        self._marked = marked  # (once committed: a rolled-back mark is marked again)

    def _claim_in(self, conn: Connection, batch: list[Reply]) -> None:
        settings = self.rt.settings
        open_ = [r for r in batch if r.outcome is None and r.suppress is None]
        limited = [r for r in open_ if r.rate_limited]
        if limited:
            granted = reply_store.take_rate_slots(
                conn, [reply_store.SlotRequest(r.to[0].lower(), r.mail_id) for r in limited],
                period=timedelta(seconds=settings.autoreply_period))
            for r in limited:
                if (r.to[0].lower(), r.mail_id) not in granted:
                    r.suppress = RATE_LIMITED
        for r in batch:
            if r.outcome is None and r.suppress is not None:
                r.outcome = self._record_suppression(conn, r.mail_id, r.suppress, r.reason)
        wanted = [r for r in open_ if r.suppress is None and r.data]
        if not wanted:
            return
        ids = [r.mail_id for r in wanted]
        known = mail_store.known_ids(conn, ids)
        # the reply row references the mail; the processor normally stored it
        missing = {r.mail_id: r.item.event.email for r in wanted if r.mail_id not in known}
        if missing:
            mail_store.record_collected(conn, list(missing.values()))
        # a token per chunk: an attempt starts only while its own claim holds the row
        owner = f"{self.rt.instance}/{next(self._tokens)}"
        claims = reply_store.claim_many(conn, [
            reply_store.ClaimRequest(r.mail_id, r.key, ", ".join(r.to)[:512], r.message_id,
                                     r.body)
            for r in wanted
        ], owner=owner, lease=self.attempts.claim_lease)
        first: set[tuple[str, str]] = set()
        for r in wanted:
            r.owner = owner
            # a record delivered twice in one batch is claimed once; the other is a duplicate
            r.claim = claims[(r.mail_id, r.key)] if (r.mail_id, r.key) not in first \
                else Claim.BUSY
            first.add((r.mail_id, r.key))
            if r.claim is Claim.UNCERTAIN:
                # never send twice: a person decides whether the cut-off reply went out
                mail_store.set_status(conn, r.mail_id, MailStatus.IN_REVIEW,
                                      error=reply_store.CUT_OFF,
                                      only_from=(MailStatus.AWAITING_REPLY,))
                r.outcome = Outcome.UNCERTAIN
            elif r.claim is Claim.ALREADY_SENT:
                # a redelivery after the reply went out; heal a status a race left open
                mail_store.set_status(conn, r.mail_id, MailStatus.REPLIED,
                                      only_from=(MailStatus.AWAITING_REPLY,))
            if r.claim is not Claim.CLAIMED and r.outcome is None:
                log.debug("reply %s/%s skipped: %s", r.mail_id, r.key, r.claim)
                r.outcome = Outcome.DUPLICATE

    @staticmethod
    def _record_suppression(conn: Connection, mail_id: str, reason: str, detail: str = "") -> Outcome:
        if reason in autoreply.REVIEW_REASONS or reason == AUTOREPLY_HELD:
            # a doubtful reply address (several Reply-To, a system or own one): a person
            # decides where, if anywhere, the answer goes
            status, error, only_from = MailStatus.IN_REVIEW, detail or reason, OPEN_FOR_REVIEW
        else:
            status, error, only_from = MailStatus.SUPPRESSED, reason, SUPPRESSIBLE
        if not mail_store.set_status(conn, mail_id, status, error=error, only_from=only_from):
            return Outcome.DUPLICATE  # already settled (a redelivery): nothing new to record
        reply_store.record_suppressions(conn, [(mail_id, reason)])
        return Outcome.SUPPRESSED

    def _settle_batch(self, batch: list[Reply]) -> None:
        """One transaction: the mails replied (their reply rows are ``sent`` already), the
        parked and the failed."""
        sent = [r for r in batch if r.outcome is Outcome.SENT and r.delivery is not None]
        parked = [r for r in batch if r.outcome in (Outcome.RETRY, Outcome.PACED)]
        failed = [r for r in batch if r.outcome is Outcome.FAILED and r.letter is not None]
        if not sent and not parked and not failed:
            return
        notes: dict[str, str] = {}
        for r in sent:
            if r.delivery is not None and r.delivery.refused:
                notes[r.mail_id] = "some recipients refused: " + "; ".join(
                    f"{addr}: {answer}" for addr, answer in r.delivery.refused.items())
                log.warning("reply to %s: %s", r.mail_id, notes[r.mail_id])
        with self.rt.db.begin() as conn:
            reply_store.mark_mails_replied(conn, [r.mail_id for r in sent], notes)
            given_up = reply_store.park_many(
                conn, [reply_store.ParkRequest(r.mail_id, r.key, r.reason, r.owner, r.wait)
                       for r in parked],
                give_up_after=self.retry.give_up_after, delay=self._park_delay)
            for request in given_up:
                r = next(r for r in parked if (r.mail_id, r.key) == request.key)
                self.rt.metrics.replies.labels(outcome=Outcome.FAILED).inc()
                self._failed(r, f"gave up after {self.retry.give_up_after}: {r.reason}",
                             "SmtpTransient", MailStatus.FAILED)
                failed.append(r)
            if not failed:
                return
            reply_store.fail_many(conn, {(r.mail_id, r.key): r.letter.reason
                                         for r in failed if r.key and r.letter})
            for r in failed:
                assert r.letter is not None
                mail_store.set_status(conn, r.mail_id, r.fail_status, error=r.letter.reason)
            dead_letter_store.record(conn, [r.letter for r in failed if r.letter])

    def _park_delay(self, attempts: int) -> float:
        """The wait before the next round: each round is ``quick_attempts`` SMTP attempts."""
        return self.retry.park_delay(max(1, attempts // max(1, self.retry.quick_attempts)))
