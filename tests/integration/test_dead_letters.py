"""Dead letters are idempotent: the same failure recorded again (a retried batch, a record
consumed again after a crash) adds no second row, on SQLite and PostgreSQL (the ``db``
fixture of conftest.py) and through the runner on a real broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, TopicPartition

from mailroom import topics
from mailroom.broker import EmbeddedBroker
from mailroom.events import DeadLetter
from mailroom.kafka import KafkaClients
from mailroom.store import Database
from mailroom.store import dead_letters as dead_letter_store
from pipeline import running

pytestmark = pytest.mark.integration


def failed_mail(n: int, reason: str = "template failed") -> DeadLetter:
    return DeadLetter(source_topic=topics.ACKNOWLEDGEMENT_QUEUE, key=f"m{n}", reason=reason,
                      error_type="DeadLetterError", payload='{"x": 1}', mail_id=f"m{n}")


def garbage(payload: str = "{not json") -> DeadLetter:
    return DeadLetter(source_topic=topics.RAW_EMAILS, key="junk", reason="undecodable",
                      error_type="ValidationError", payload=payload)


async def wait_until_async(condition: Callable[[], bool], timeout: float) -> bool:
    """``condition`` (blocking) polled off the event loop until true or ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(condition):
            return True
        await asyncio.sleep(0.5)
    return False


def rows(db: Database) -> list[dict[str, object]]:
    with db.begin() as conn:
        return sorted(dead_letter_store.list_open(conn, limit=1000), key=lambda r: int(str(r["id"])))


def test_the_same_failures_recorded_twice_are_one_row_each(db: Database) -> None:
    letters = [failed_mail(1), failed_mail(2), garbage()]
    origins: list[str | None] = [None, None, "raw_emails/0/7"]
    with db.begin() as conn:
        dead_letter_store.record(conn, letters, origins)
    with db.begin() as conn:  # the batch retried: its produce failed after this commit
        dead_letter_store.record(conn, letters, origins)
        dead_letter_store.record(conn, [failed_mail(1)])  # republished mail, failing alike
    assert [(r["mail_id"], r["key"]) for r in rows(db)] == [("m1", "m1"), ("m2", "m2"), (None, "junk")]


def test_garbage_with_nul_bytes_is_recorded_on_every_store(db: Database) -> None:
    """PostgreSQL's text refuses NUL; a poison record carrying one is still a dead letter."""
    letter = DeadLetter(source_topic=topics.RAW_EMAILS, key="k\x00ey", reason="bad\x00reason",
                        error_type="ValidationError", payload="\x00 not an event \ufffd")
    with db.begin() as conn:
        dead_letter_store.record(conn, [letter], ["raw_emails/0/1"])
    [row] = rows(db)
    assert row["payload"] == "\\x00 not an event \ufffd"
    assert row["key"] == "k\\x00ey" and row["reason"] == "bad\\x00reason"


def test_distinct_failures_are_distinct_letters(db: Database) -> None:
    """The same garbage on two partitions is two records; another reason is another failure."""
    with db.begin() as conn:
        dead_letter_store.record(conn, [garbage(), garbage(), garbage("other")],
                                 ["raw_emails/0/0", "raw_emails/1/0", "raw_emails/0/0"])
        dead_letter_store.record(conn, [failed_mail(1), failed_mail(1, "another reason")])
    assert len(rows(db)) == 5


def test_a_retried_letter_failing_again_is_open_again_and_a_discarded_one_stays_closed(
    db: Database,
) -> None:
    with db.begin() as conn:
        dead_letter_store.record(conn, [failed_mail(1), failed_mail(2)])
    first, second = (int(str(r["id"])) for r in rows(db))
    with db.begin() as conn:
        dead_letter_store.set_status(conn, first, "retried")
        dead_letter_store.set_status(conn, second, "discarded")
    with db.begin() as conn:
        dead_letter_store.record(conn, [failed_mail(1), failed_mail(2)])
    with db.begin() as conn:
        assert dead_letter_store.count_open(conn) == 1
        assert dead_letter_store.get(conn, first)["status"] == "open"  # type: ignore[index]
        assert dead_letter_store.get(conn, second)["status"] == "discarded"  # type: ignore[index]


def group_member(bootstrap: str) -> Consumer:
    """A consumer of the processor's group that joins no rebalance (it never subscribes)."""
    return Consumer({"bootstrap.servers": bootstrap, "log_level": 3,
                     "group.id": KafkaClients(bootstrap).group_id("processor"),
                     "enable.auto.commit": False})


def rewind_processor_group(bootstrap: str, partitions: int) -> None:
    """Move the processor's committed offsets back to 0: its next run reads every record
    again, as after a crash between recording a dead letter and committing."""
    consumer = group_member(bootstrap)
    try:
        rewind = [TopicPartition(topics.RAW_EMAILS, p, 0) for p in range(partitions)]
        consumer.assign(rewind)
        consumer.commit(offsets=rewind, asynchronous=False)
    finally:
        consumer.close()


@pytest.mark.timeout(120)
async def test_poison_consumed_again_after_a_rewind_is_not_dead_lettered_twice(
    broker: EmbeddedBroker, make_settings,  # type: ignore[no-untyped-def]
) -> None:
    settings = make_settings(bootstrap=broker.bootstrap_servers, kafka_topic_partitions=2)
    kafka = KafkaClients(broker.bootstrap_servers)
    await asyncio.to_thread(kafka.create_topics, 2, 1)
    producer = kafka.producer()
    for partition in (0, 1):
        for value in (b"\x00 not json", b"[]"):
            producer.produce(topics.RAW_EMAILS, value=value, key=b"poison", partition=partition)
    assert producer.flush(30) == 0

    def open_letters(db: Database) -> int:
        with db.begin() as conn:
            return dead_letter_store.count_open(conn)

    def committed_to_the_end() -> bool:
        """Both records of each partition committed (Tansu's high watermark is no guide)."""
        consumer = group_member(broker.bootstrap_servers)
        try:
            parts = [TopicPartition(topics.RAW_EMAILS, p) for p in (0, 1)]
            return all(tp.offset == 2 for tp in consumer.committed(parts, timeout=10))
        finally:
            consumer.close()

    for run in range(2):
        async with running(settings, ["processor"]) as supervisor:
            assert supervisor.runtime is not None
            db = supervisor.runtime.db
            # the end signal: the processor committed every record of both partitions
            assert await wait_until_async(committed_to_the_end, 60), run
            assert open_letters(db) == 4, f"run {run}: {rows(db)}"
        await asyncio.to_thread(rewind_processor_group, broker.bootstrap_servers, 2)
