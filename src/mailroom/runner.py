"""The loop every consuming stage shares: consume, handle, produce, commit, dead-letter.

A stage supplies only ``handle_batch``. The loop owns the rest:

* records that do not decode as the stage's event type go to ``dead_letter`` at once;
* ``RetryLater`` from the handler (store or broker away) retries the same batch with
  backoff: nothing is committed, the partition waits, nothing is lost;
* any other exception makes the loop retry the batch one record at a time, so one poison
  record is dead-lettered with its reason and the rest go on;
* offsets are committed only after every produced record was acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from pydantic import BaseModel, ValidationError

from mailroom import topics
from mailroom.errors import DeadLetterError, RetryLater
from mailroom.events import DeadLetter
from mailroom.kafka import Outgoing, produce_all
from mailroom.runtime import Runtime
from mailroom.store import MailStatus
from mailroom.store import dead_letters as dead_letter_store
from mailroom.store import mails as mail_store

log = logging.getLogger(__name__)

E = TypeVar("E", bound=BaseModel)


@dataclass
class Item(Generic[E]):
    """One consumed record with its decoded event."""

    event: E
    key: str | None
    topic: str
    partition: int
    offset: int
    received: float  # monotonic time the batch arrived, for processing-time metrics


BROKER_LOST = frozenset({KafkaError._ALL_BROKERS_DOWN})
GROUP_LOST = frozenset({KafkaError.UNKNOWN_MEMBER_ID, KafkaError.ILLEGAL_GENERATION})


def _key(message: Message) -> str | None:
    key = message.key()
    if key is None:
        return None
    return key.decode(errors="replace") if isinstance(key, bytes) else str(key)


def take_batch(consumer: Consumer, size: int, wait: float) -> list[Message]:
    """What is buffered now, up to ``size``; when nothing is, wait up to ``wait`` for one.

    ``consume(size, wait)`` would hold a partial batch back until ``wait`` ran out, adding
    up to ``wait`` of latency at every stage (measured as a 0.5 s sawtooth).
    """
    messages = consumer.consume(size, 0)
    if messages:
        return list(messages)
    first = consumer.poll(wait)
    if first is None:
        return []
    return [first, *consumer.consume(size - 1, 0)] if size > 1 else [first]


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with full jitter."""
    return float(random.uniform(0, min(cap, base * 2 ** min(attempt, 16))))


def dead_letter_record(letter: DeadLetter) -> Outgoing:
    return Outgoing(topics.DEAD_LETTER, letter.key, letter.to_bytes())


class Runner(ABC, Generic[E]):
    """Base of the processor and the responder."""

    stage: ClassVar[str]
    input_topic: ClassVar[str]
    event_type: type[E]

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.stop_event = asyncio.Event()
        self.consumer: Consumer | None = None
        self.producer: Producer | None = None
        self.batches = 0
        self.busy = False  # a batch is between consume and commit
        self.caught_up = False  # the last poll returned nothing
        self.broker_lost = False  # set from librdkafka's error callback

    # -- what a stage supplies ------------------------------------------------------
    @abstractmethod
    async def handle_batch(self, items: Sequence[Item[E]]) -> list[Outgoing]:
        """Handle decoded records; return what to produce. Raise RetryLater to retry all."""

    async def on_idle(self) -> None:
        """Called when a poll returned nothing (timers, parked work)."""

    # -- the loop -------------------------------------------------------------------
    def stop(self) -> None:
        self.stop_event.set()

    def _on_kafka_error(self, err: KafkaError) -> None:
        """librdkafka's error callback (its own thread): note a lost broker."""
        if err.code() in BROKER_LOST:
            self.broker_lost = True

    def _open_clients(self) -> None:
        self.broker_lost = False
        self.producer = self.rt.kafka.producer(on_error=self._on_kafka_error)
        self.consumer = self.rt.kafka.consumer(self.stage, [self.input_topic],
                                               on_error=self._on_kafka_error)

    async def _reopen_clients(self) -> None:
        """Start over with new clients after the broker was lost.

        A broker that comes back empty (the embedded one forgets everything) no longer
        knows this consumer's group membership or the producer's id; librdkafka's clients
        keep both and stop receiving (measured: a responder deaf after a broker restart).
        New clients join afresh; whatever was in flight is republished from the store.
        """
        log.warning("%s: the broker was lost; reconnecting with new clients", self.stage)
        consumer, producer = self.consumer, self.producer
        if consumer is not None:
            await asyncio.to_thread(consumer.close)
        if producer is not None:
            await asyncio.to_thread(producer.flush, 5)
        await asyncio.sleep(1)
        self._open_clients()

    async def run(self) -> None:
        settings = self.rt.settings
        self.stop_event.clear()
        self._open_clients()
        log.info("%s consuming %s", self.stage, self.input_topic)
        try:
            while not self.stop_event.is_set():
                if self.broker_lost and await asyncio.to_thread(self.rt.kafka.ping, 2.0):
                    await self._reopen_clients()
                assert self.consumer is not None
                messages = await asyncio.to_thread(
                    take_batch, self.consumer, settings.kafka_consumer_batch, 0.5
                )
                records = [m for m in messages if self._usable(m)]
                self.caught_up = not messages
                if not records:
                    await self.on_idle()
                    continue
                self.busy = True
                try:
                    await self._process(records)
                finally:
                    self.busy = False
                self.batches += 1
        finally:
            consumer, self.consumer = self.consumer, None
            if consumer is not None:
                await asyncio.to_thread(consumer.close)
            producer, self.producer = self.producer, None
            if producer is not None:
                await asyncio.to_thread(producer.flush, 10)

    def _usable(self, message: Message) -> bool:
        err = message.error()
        if err is None:
            return True
        if err.code() != KafkaError._PARTITION_EOF:
            log.warning("%s: consumer error: %s", self.stage, err)
        return False

    async def _process(self, records: list[Message]) -> None:
        received = time.monotonic()
        items: list[Item[E]] = []
        dead: list[DeadLetter] = []
        origins: list[str | None] = []  # where each undecodable record sat: its letter's identity
        for message in records:
            raw = message.value() or b""
            key = _key(message)
            try:
                event = self.event_type.model_validate_json(raw)
            except ValidationError as exc:
                dead.append(self._letter(message, f"undecodable {self.event_type.__name__}: "
                                         f"{exc.errors()[0]['msg']}", exc))
                origins.append(f"{message.topic()}/{message.partition()}/{message.offset()}")
                continue
            items.append(Item(event, key, message.topic() or self.input_topic,
                              message.partition() or 0, message.offset() or 0, received))
        attempt = 0
        while True:
            try:
                outgoing, more_dead = await self._handle_isolating(items)
                letters = dead + more_dead
                await asyncio.to_thread(self._record_dead_letters, letters,
                                        origins + [None] * len(more_dead))
                assert self.producer is not None
                await asyncio.to_thread(
                    produce_all, self.producer, outgoing + [dead_letter_record(d) for d in letters]
                )
                break
            except RetryLater as exc:
                attempt += 1
                self.rt.metrics.retries.labels(self.stage).inc()
                delay = exc.delay if exc.delay is not None else backoff_delay(attempt)
                log.warning("%s: retrying batch in %.1fs: %s", self.stage, delay, exc.reason)
                if self.stop_event.is_set() and attempt > 3:
                    # shutting down: leave the batch uncommitted, it is consumed again
                    return
                await asyncio.sleep(delay)
        for letter in letters:
            self.rt.metrics.dead_letters.labels(letter.source_topic).inc()
        await asyncio.to_thread(self._commit, records)

    async def _handle_isolating(self, items: list[Item[E]]) -> tuple[list[Outgoing], list[DeadLetter]]:
        if not items:
            return [], []
        try:
            return await self.handle_batch(items), []
        except RetryLater:
            raise
        except Exception as exc:
            if len(items) == 1:
                reason = exc.reason if isinstance(exc, DeadLetterError) else f"{type(exc).__name__}: {exc}"
                if not isinstance(exc, DeadLetterError):
                    log.exception("%s: record failed, dead-lettering", self.stage)
                return [], [self._letter_for(items[0], reason, exc)]
            log.warning("%s: batch failed (%s); isolating the bad record", self.stage, exc)
        outgoing: list[Outgoing] = []
        dead: list[DeadLetter] = []
        for item in items:
            out, letters = await self._handle_isolating([item])
            outgoing += out
            dead += letters
        return outgoing, dead

    def _letter(self, message: Message, reason: str, exc: BaseException) -> DeadLetter:
        return DeadLetter(
            source_topic=message.topic() or self.input_topic,
            key=_key(message),
            reason=reason,
            error_type=type(exc).__name__,
            payload=(message.value() or b"").decode(errors="replace"),
        )

    def _letter_for(self, item: Item[E], reason: str, exc: BaseException) -> DeadLetter:
        letter = DeadLetter(
            source_topic=item.topic, key=item.key, reason=reason, error_type=type(exc).__name__,
            payload=item.event.model_dump_json(),
        )
        email = getattr(item.event, "email", item.event)
        for name in ("mail_id", "account", "folder", "uid"):
            setattr(letter, name, getattr(email, name, None))
        return letter

    def _record_dead_letters(self, letters: list[DeadLetter], origins: list[str | None]) -> None:
        """Idempotent: a batch retried after this (its produce failed) or consumed again
        (a crash before the commit) records no second letter; see dead_letters.dedup_key."""
        if not letters:
            return
        with self.rt.db.begin() as conn:
            dead_letter_store.record(conn, letters, origins)
            for letter in letters:
                if letter.mail_id:
                    mail_store.set_status(conn, letter.mail_id, MailStatus.DEAD, error=letter.reason)

    def _commit(self, records: list[Message]) -> None:
        last: dict[tuple[str, int], int] = {}
        for m in records:
            tp = (m.topic() or self.input_topic, m.partition() or 0)
            last[tp] = max(last.get(tp, -1), m.offset() or 0)
        offsets = [TopicPartition(t, p, o + 1) for (t, p), o in last.items()]
        assert self.consumer is not None
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:
            if exc.args[0].code() in GROUP_LOST:
                self.broker_lost = True  # the group forgot us: rejoin with a new consumer
            # a rebalance took the partition: its new owner re-reads from the last commit,
            # and every stage is idempotent, so this is a duplicate, never a loss
            log.warning("%s: commit failed: %s", self.stage, exc)
