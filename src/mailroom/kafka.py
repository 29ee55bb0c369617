"""The only module that builds Kafka producers, consumers and admin clients."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from mailroom import topics
from mailroom.errors import RetryLater

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    """One record to produce."""

    topic: str
    key: str | None
    value: bytes


class KafkaClients:
    def __init__(
        self,
        bootstrap_servers: str,
        *,
        session_timeout_ms: int = 6000,
        group_prefix: str = "mailroom",
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.session_timeout_ms = session_timeout_ms
        self.group_prefix = group_prefix
        self.extra = extra or {}

    def _base(self) -> dict[str, Any]:
        return {"bootstrap.servers": self.bootstrap_servers, "log_level": 3, **self.extra}

    def producer(self, on_error: Callable[[KafkaError], None] | None = None) -> Producer:
        """An idempotent producer: a retried send is written once per partition."""
        return Producer({
            **self._base(),
            **({"error_cb": on_error} if on_error else {}),
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "batch.num.messages": 10000,
            "message.max.bytes": 8 * 1024 * 1024,
            "message.timeout.ms": 30000,
        })

    def group_id(self, stage: str) -> str:
        return f"{self.group_prefix}-{stage}"

    def consumer(self, stage: str, topic_names: Sequence[str],
                 on_error: Callable[[KafkaError], None] | None = None) -> Consumer:
        """A consumer that never commits by itself: offsets move after the next step is durable."""
        consumer = Consumer({
            **self._base(),
            **({"error_cb": on_error} if on_error else {}),
            "group.id": self.group_id(stage),
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": self.session_timeout_ms,
            "heartbeat.interval.ms": max(500, self.session_timeout_ms // 4),
            "max.poll.interval.ms": 300000,
            "fetch.max.bytes": 16 * 1024 * 1024,
            # a caught-up consumer's fetch returns after at most this long; the embedded
            # broker does not answer a waiting fetch early when records arrive, so the
            # default 500 ms became up to 0.5 s of latency at every stage
            "fetch.wait.max.ms": 50,
            "partition.assignment.strategy": "cooperative-sticky",
        })
        consumer.subscribe(list(topic_names))
        return consumer

    def admin(self) -> AdminClient:
        return AdminClient(self._base())

    def create_topics(self, partitions: int, replication: int, timeout: float = 15.0) -> list[str]:
        """Create the five topics; existing ones are left alone. Returns those created."""
        admin = self.admin()
        existing = set(admin.list_topics(timeout=timeout).topics)
        wanted = [NewTopic(t, partitions, replication) for t in topics.ALL_TOPICS if t not in existing]
        if not wanted:
            return []
        created = []
        for name, future in admin.create_topics(wanted, operation_timeout=timeout).items():
            try:
                future.result()
                created.append(name)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
        return created

    def delete_topics_and_groups(self, topic_names: Sequence[str], groups: Sequence[str]) -> None:
        admin = self.admin()
        for future in admin.delete_consumer_groups(list(groups)).values():
            try:
                future.result()
            except KafkaException as exc:
                log.debug("delete group: %s", exc)
        for future in admin.delete_topics(list(topic_names), operation_timeout=15).values():
            try:
                future.result()
            except KafkaException as exc:
                log.debug("delete topic: %s", exc)

    def ping(self, timeout: float = 2.0) -> bool:
        try:
            self.admin().list_topics(timeout=timeout)
            return True
        except KafkaException:
            return False


def produce_all(producer: Producer, records: Sequence[Outgoing], timeout: float = 30.0) -> None:
    """Produce every record and wait until the broker acknowledged all of them.

    Raises ``RetryLater`` when any record was not acknowledged: the caller then must not
    commit its input offsets or checkpoint, and tries the whole batch again.
    """
    if not records:
        return
    failures: list[str] = []

    def on_delivery(err: KafkaError | None, _msg: Any) -> None:
        if err is not None:
            failures.append(str(err))

    for record in records:
        while True:
            try:
                producer.produce(
                    record.topic,
                    value=record.value,
                    key=record.key.encode() if record.key is not None else None,
                    on_delivery=on_delivery,
                )
                break
            except BufferError:
                producer.poll(0.1)  # local queue full: let deliveries drain
            except KafkaException as exc:
                raise RetryLater(f"produce to {record.topic} failed: {exc}") from exc
    remaining = producer.flush(timeout)
    if remaining:
        raise RetryLater(f"{remaining} record(s) not acknowledged by the broker in {timeout}s")
    if failures:
        raise RetryLater(f"broker refused {len(failures)} record(s): {failures[0]}")
