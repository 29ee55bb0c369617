"""The responder: ``acknowledgement_queue`` -> guard -> rate limit -> claim -> SMTP -> store.

It only moves data; guarding and composing are pure (``guard.py``, ``compose.py``).
Exactly one reply per mail and template comes from the store's claim: the row is
``sending`` before SMTP and ``sent`` after, so a redelivered event or a second responder
finds it taken. A transient SMTP failure is retried a few times at once, then parked
(``retry`` with a due time) for the Reconciler to republish; the partition never waits.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from enum import StrEnum

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from mailroom import topics
from mailroom.errors import RetryLater
from mailroom.events import DeadLetter, RawEmail, RoutedEmail, utcnow
from mailroom.kafka import Outgoing
from mailroom.responder.compose import (
    MANUAL_TEMPLATE,
    ComposeRefused,
    compose_reply,
    envelope_recipients,
    reply_key,
)
from mailroom.responder.guard import loop_reason
from mailroom.responder.smtp import Delivery, SmtpConfig, SmtpPermanent, SmtpPool, SmtpTransient
from mailroom.responder.templates import Templates
from mailroom.runner import Item, Runner, dead_letter_record
from mailroom.runtime import Runtime
from mailroom.store import MailStatus, ReplyStatus
from mailroom.store import dead_letters as dead_letter_store
from mailroom.store import mails as mail_store
from mailroom.store import replies as reply_store

log = logging.getLogger(__name__)

RATE_LIMITED = "rate_limited"
# a suppression may only close a mail that is still open (a replay never undoes a reply)
SUPPRESSIBLE = (MailStatus.COLLECTED, MailStatus.AWAITING_REPLY, MailStatus.IN_REVIEW)


class Outcome(StrEnum):
    SENT = "sent"
    SUPPRESSED = "suppressed"
    DUPLICATE = "duplicate"
    RETRY = "retry"
    FAILED = "failed"
    UNCERTAIN = "uncertain"


UNCERTAIN_NOTE = ("the responder stopped while sending this reply, so it may have been "
                  "delivered; check the sent mail before answering")


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


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


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
        self.templates = Templates(settings.mailroom_templates)
        self.own_addresses = {a for a in (settings.smtp_email, settings.imap_email) if a}
        # replies in flight per batch: the pool bounds SMTP, the rest overlaps store work
        self.concurrency = self.pool.size * 2
        self.lease = timedelta(seconds=settings.smtp_timeout * (self.retry.quick_attempts + 1) + 60)

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            await self.pool.close()

    # -- the batch ------------------------------------------------------------------
    async def handle_batch(self, items: Sequence[Item[RoutedEmail]]) -> list[Outgoing]:
        limit = asyncio.Semaphore(self.concurrency)

        async def one(item: Item[RoutedEmail]) -> list[Outgoing]:
            async with limit:
                return await self._handle(item)

        results = await asyncio.gather(*(one(i) for i in items), return_exceptions=True)
        outgoing: list[Outgoing] = []
        for item, result in zip(items, results, strict=True):
            if isinstance(result, RetryLater):
                raise result  # the store is away: the whole batch again (sent ones are skipped)
            if isinstance(result, BaseException):
                outgoing += await self._dead_letter_unexpected(item, result)
            else:
                outgoing += result
        return outgoing

    async def _handle(self, item: Item[RoutedEmail]) -> list[Outgoing]:
        started = time.monotonic()
        outcome, out = await self._reply(item)
        self.rt.metrics.processed.labels(topic=topics.ACKNOWLEDGEMENT_QUEUE, status=outcome).inc()
        self.rt.metrics.processing_time.labels(topic=topics.ACKNOWLEDGEMENT_QUEUE).observe(
            time.monotonic() - started)
        return out

    async def _reply(self, item: Item[RoutedEmail]) -> tuple[Outcome, list[Outgoing]]:
        email, decision = item.event.email, item.event.decision
        reason = loop_reason(email, self.own_addresses | {email.account})
        if reason is not None:
            return await self._suppress(email.mail_id, reason), []
        settings = self.rt.settings
        if decision.template == MANUAL_TEMPLATE and decision.reply_body is None:
            # republished from the store, which keeps a person's text only on the reply row
            decision = decision.model_copy(update={
                "reply_body": await asyncio.to_thread(self._parked_manual_body, email.mail_id)})
        try:
            message = compose_reply(email, decision, templates=self.templates,
                                    from_addr=settings.smtp_email,
                                    from_name=settings.reply_from_name,
                                    default_language=settings.default_language)
        except ComposeRefused as exc:
            self.rt.metrics.replies.labels(outcome="refused").inc()
            return Outcome.FAILED, await self._fail(item, None, exc.reason, "ComposeRefused",
                                                    MailStatus.DEAD)
        key = reply_key(decision)
        to = envelope_recipients(message)
        period = None  # a reviewer's reply is not rate limited
        if decision.requested_by is None and settings.autoreply_period > 0:
            period = timedelta(seconds=settings.autoreply_period)
        claim = await asyncio.to_thread(self._claim, email, key, to, message,
                                        decision.reply_body, period)
        if claim is None:
            return await self._suppress(email.mail_id, RATE_LIMITED), []
        if claim is reply_store.Claim.UNCERTAIN:
            # never send twice: a person decides whether the cut-off reply went out
            await asyncio.to_thread(self._to_review, email.mail_id, UNCERTAIN_NOTE)
            self.rt.metrics.replies.labels(outcome=Outcome.UNCERTAIN).inc()
            return Outcome.UNCERTAIN, []
        if claim is reply_store.Claim.ALREADY_SENT:
            # a redelivery after the reply went out; heal a status a race may have left open
            await asyncio.to_thread(self._settle_replied, email.mail_id)
        if claim is not reply_store.Claim.CLAIMED:
            log.debug("reply %s/%s skipped: %s", email.mail_id, key, claim)
            self.rt.metrics.replies.labels(outcome=Outcome.DUPLICATE).inc()
            return Outcome.DUPLICATE, []
        try:
            delivery = await self._send(message, to)
        except SmtpTransient as exc:
            return await self._park(item, key, exc.reason)
        except SmtpPermanent as exc:
            self.rt.metrics.replies.labels(outcome=Outcome.FAILED).inc()
            return Outcome.FAILED, await self._fail(item, key, exc.reason, "SmtpPermanent",
                                                    MailStatus.FAILED)
        await asyncio.to_thread(self._mark_sent, email.mail_id, key, delivery)
        self.rt.metrics.replies.labels(outcome="partial" if delivery.refused else Outcome.SENT).inc()
        self.rt.metrics.end_to_end.observe((utcnow() - _aware(email.collected_at)).total_seconds())
        return Outcome.SENT, []

    # -- steps ----------------------------------------------------------------------
    async def _send(self, message: EmailMessage, to: list[str]) -> Delivery:
        policy = self.retry
        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.quick_attempts),
            wait=wait_random_exponential(multiplier=policy.quick_wait, max=policy.quick_wait_max),
            retry=retry_if_exception_type(SmtpTransient),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                started = time.monotonic()
                try:
                    delivery = await self.pool.send(message, sender=self.rt.settings.smtp_email,
                                                    recipients=to)
                except SmtpTransient as exc:
                    self.rt.report("smtp", False, exc.reason[:200])
                    raise
                finally:
                    self.rt.metrics.smtp_latency.observe(time.monotonic() - started)
                self.rt.report("smtp", True)
                return delivery
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def _suppress(self, mail_id: str, reason: str) -> Outcome:
        if not await asyncio.to_thread(self._record_suppression, mail_id, reason):
            self.rt.metrics.replies.labels(outcome=Outcome.DUPLICATE).inc()
            return Outcome.DUPLICATE
        log.info("no reply to %s: %s", mail_id, reason)
        self.rt.metrics.suppressed.labels(reason=reason).inc()
        self.rt.metrics.replies.labels(outcome=Outcome.SUPPRESSED).inc()
        return Outcome.SUPPRESSED

    async def _park(self, item: Item[RoutedEmail], key: str, reason: str) -> tuple[Outcome, list[Outgoing]]:
        mail_id = item.event.email.mail_id
        given_up = await asyncio.to_thread(self._mark_retry, mail_id, key, reason)
        if given_up:
            self.rt.metrics.replies.labels(outcome=Outcome.FAILED).inc()
            return Outcome.FAILED, await self._fail(
                item, key, f"gave up after {self.retry.give_up_after}: {reason}", "SmtpTransient",
                MailStatus.FAILED)
        log.warning("reply to %s parked for a later retry: %s", mail_id, reason)
        self.rt.metrics.replies.labels(outcome=Outcome.RETRY).inc()
        return Outcome.RETRY, []

    async def _fail(self, item: Item[RoutedEmail], key: str | None, reason: str, error_type: str,
                    status: MailStatus) -> list[Outgoing]:
        email = item.event.email
        letter = DeadLetter(
            source_topic=item.topic, key=item.key, reason=reason, error_type=error_type,
            payload=item.event.model_dump_json(), mail_id=email.mail_id, account=email.account,
            folder=email.folder, uid=email.uid,
        )
        log.warning("reply to %s failed for good: %s", email.mail_id, reason)
        await asyncio.to_thread(self._record_failure, letter, key, status)
        self.rt.metrics.dead_letters.labels(letter.source_topic).inc()
        return [dead_letter_record(letter)]

    async def _dead_letter_unexpected(self, item: Item[RoutedEmail], exc: BaseException) -> list[Outgoing]:
        """The per-item edge: a bug in one reply dead-letters that reply, not the batch."""
        log.error("responder: record failed, dead-lettering", exc_info=exc)
        letter = self._letter_for(item, f"{type(exc).__name__}: {exc}", exc)
        await asyncio.to_thread(self._record_dead_letters, [letter])
        self.rt.metrics.processed.labels(topic=topics.ACKNOWLEDGEMENT_QUEUE,
                                         status=Outcome.FAILED).inc()
        self.rt.metrics.dead_letters.labels(letter.source_topic).inc()
        return [dead_letter_record(letter)]

    # -- store (called in a thread) --------------------------------------------------
    def _record_suppression(self, mail_id: str, reason: str) -> bool:
        with self.rt.db.begin() as conn:
            if not mail_store.set_status(conn, mail_id, MailStatus.SUPPRESSED, error=reason,
                                         only_from=SUPPRESSIBLE):
                return False  # already settled (a redelivery): nothing new to record
            reply_store.record_suppression(conn, mail_id, reason)
            return True

    def _settle_replied(self, mail_id: str) -> None:
        with self.rt.db.begin() as conn:
            mail_store.set_status(conn, mail_id, MailStatus.REPLIED,
                                  only_from=(MailStatus.AWAITING_REPLY,))

    def _to_review(self, mail_id: str, note: str) -> None:
        with self.rt.db.begin() as conn:
            mail_store.set_status(conn, mail_id, MailStatus.IN_REVIEW, error=note,
                                  only_from=(MailStatus.AWAITING_REPLY,))

    def _parked_manual_body(self, mail_id: str) -> str | None:
        with self.rt.db.begin() as conn:
            for row in reply_store.get(conn, mail_id):
                if str(row["template"]).startswith(f"{MANUAL_TEMPLATE}-") and row["body"] and \
                        row["status"] in (ReplyStatus.RETRY, ReplyStatus.SENDING):
                    return str(row["body"])
        return None

    def _claim(self, email: RawEmail, key: str, to: list[str], message: EmailMessage,
               body: str | None, period: timedelta | None) -> reply_store.Claim | None:
        """Rate slot and claim in one transaction; ``None`` when the rate limit refuses."""
        with self.rt.db.begin() as conn:
            if period is not None and not reply_store.take_rate_slot(
                    conn, recipient=to[0].lower(), template=key, mail_id=email.mail_id,
                    period=period):
                return None
            if not mail_store.known_ids(conn, [email.mail_id]):
                # the reply row references the mail; the processor normally stored it
                mail_store.record_collected(conn, [email])
            return reply_store.claim(
                conn, mail_id=email.mail_id, template=key, recipient=", ".join(to)[:512],
                message_id=str(message["Message-ID"]), owner=self.rt.instance, lease=self.lease,
                body=body)

    def _mark_sent(self, mail_id: str, key: str, delivery: Delivery) -> None:
        note = None
        if delivery.refused:
            note = "some recipients refused: " + "; ".join(
                f"{addr}: {answer}" for addr, answer in delivery.refused.items())
            log.warning("reply to %s: %s", mail_id, note)
        with self.rt.db.begin() as conn:
            reply_store.mark_sent(conn, mail_id, key)
            mail_store.set_status(conn, mail_id, MailStatus.REPLIED, error=note)

    def _mark_retry(self, mail_id: str, key: str, reason: str) -> bool:
        """Park the reply; returns True when it is too old to try again (the caller fails it)."""
        with self.rt.db.begin() as conn:
            row = next((r for r in reply_store.get(conn, mail_id) if r["template"] == key), None)
            attempts = int(row["attempts"]) if row else 1
            created = _aware(row["created_at"]) if row else utcnow()
            if utcnow() - created > self.retry.give_up_after:
                return True
            next_at = utcnow() + timedelta(seconds=self.retry.park_delay(attempts))
            reply_store.mark_retry(conn, mail_id, key, next_at, reason)
            return False

    def _record_failure(self, letter: DeadLetter, key: str | None, status: MailStatus) -> None:
        assert letter.mail_id is not None
        with self.rt.db.begin() as conn:
            if key is not None:
                reply_store.mark_failed(conn, letter.mail_id, key, letter.reason)
            mail_store.set_status(conn, letter.mail_id, status, error=letter.reason)
            dead_letter_store.record(conn, [letter])
