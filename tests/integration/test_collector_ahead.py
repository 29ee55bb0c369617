"""Issue 21, bounded work in flight: the collector runs at most ``COLLECTOR_MAX_AHEAD`` mails
ahead of the pipeline, and with the embedded broker holds after ``EMBEDDED_RECYCLE_RECORDS``
mails until the supervisor has recycled the topics, so a backlog waits in the mailbox; the
waits lose, skip and double nothing."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest

import mailgen
from mailgen import make_batch
from mailroom.app import EMBEDDED_SESSION_TIMEOUT_MS, Supervisor
from mailroom.store import MailStatus
from mailroom.store import mails as mail_store
from pipeline import running, statuses, wait_until
from servers import Dovecot, SmtpSink

pytestmark = [pytest.mark.integration]

USER = "support@example.com"


def settled(supervisor: Supervisor, total: int) -> bool:
    """The store holds ``total`` mails and none is still collected or awaiting a reply."""
    counts = statuses(supervisor)
    return sum(counts.values()) == total and counts.get(MailStatus.COLLECTED, 0) == 0 \
        and counts.get(MailStatus.AWAITING_REPLY, 0) == 0


def sample_value(registry: Any, name: str, labels: dict[str, str]) -> float:
    """One sample of the registry /metrics serves (in process mode: the children's too)."""
    for metric in registry.collect():
        for sample in metric.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    raise AssertionError(f"no sample {name}{labels}")


def assert_answered_once(sink: SmtpSink, mails: list[mailgen.TestMail]) -> None:
    replies = Counter(r.in_reply_to for r in sink.received)
    wanted = [m.message_id for m in mails if m.wants_reply]
    assert wanted and all(replies[m] == 1 for m in wanted), \
        {m: replies[m] for m in wanted if replies[m] != 1}
    assert sum(replies.values()) == len(wanted)


@pytest.mark.timeout(120)
async def test_open_mails_stay_within_max_ahead_while_a_backlog_drains_each_answered_once(
        dovecot: Dovecot, smtp_sink: SmtpSink, make_settings) -> None:  # type: ignore[no-untyped-def]
    max_ahead, batch = 40, 20
    mails = make_batch(300)
    dovecot.preload(USER, [m.raw for m in mails])
    settings = make_settings(dovecot=dovecot, smtp=smtp_sink, collector_max_ahead=max_ahead,
                             max_emails_per_batch=batch)
    samples: list[int] = []
    async with running(settings) as supervisor:
        assert supervisor.runtime is not None
        db = supervisor.runtime.db

        def count_open() -> int:
            with db.begin() as conn:
                return mail_store.count_open(conn)

        async def sample() -> None:
            while True:
                samples.append(await asyncio.to_thread(count_open))
                await asyncio.sleep(0.01)

        sampler = asyncio.create_task(sample())
        started = time.monotonic()
        try:
            assert await wait_until(lambda: settled(supervisor, len(mails)), 90), \
                statuses(supervisor)
        finally:
            sampler.cancel()
        drained = time.monotonic() - started
        wanted = sum(m.wants_reply for m in mails)
        assert await wait_until(lambda: len(smtp_sink.received) >= wanted, 30)
        waited = sample_value(supervisor.runtime.metrics.registry,
                              "mailroom_collector_wait_seconds_total", {"reason": "pipeline"})
    print(f"{len(samples)} samples, open mails at most {max(samples)} "
          f"(COLLECTOR_MAX_AHEAD {max_ahead}, batch {batch}); drained in {drained:.1f} s, "
          f"the collector waited {waited:.1f} s")
    assert len(samples) > 20
    assert max(samples) <= max_ahead + batch
    assert waited is not None and waited > 0, "the collector never waited for the pipeline"
    assert_answered_once(smtp_sink, mails)


PADDING = b"x" * 30_000  # ~30 KB a mail, so that the broker's memory shows what it holds


def padded(mail: mailgen.TestMail) -> bytes:
    lines = b"\n".join(PADDING[k:k + 76] for k in range(0, len(PADDING), 76))
    return mail.raw + b"\n" + lines + b"\n"


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("quota", ["records", "bytes"])
async def test_up_recycles_the_topics_during_a_backlog_larger_than_the_recycle_count(
        dovecot: Dovecot, smtp_sink: SmtpSink, make_settings,  # type: ignore[no-untyped-def]
        quota: str, per_recycle: int = 100) -> None:
    """`mailroom up` (stages in child processes): a backlog of 6x EMBEDDED_RECYCLE_RECORDS
    (or of 6x EMBEDDED_RECYCLE_BYTES' worth of these 30 kB mails, the count out of reach)
    is collected in holds of that many mails, each followed by a recycle, so the broker holds
    at most that many mails' records and its memory stays well below what the backlog would
    take; every mail is answered exactly once."""
    mails = make_batch(6 * per_recycle)
    dovecot.preload(USER, [padded(m) for m in mails])
    # by bytes: two batches of 50 of these mails reach the quota, one does not
    limits = {"embedded_recycle_records": per_recycle} if quota == "records" else \
        {"embedded_recycle_records": 100 * per_recycle,
         "embedded_recycle_bytes": per_recycle * len(PADDING) * 5 // 6}
    settings = make_settings(dovecot=dovecot, smtp=smtp_sink, max_emails_per_batch=50,
                             kafka_session_timeout_ms=EMBEDDED_SESSION_TIMEOUT_MS, **limits)
    supervisor = Supervisor(settings, ["collector", "processor", "responder", "api"],
                            processes=True)
    task = asyncio.create_task(supervisor.run())
    broker_rss: list[int] = []

    async def sample() -> None:
        while True:
            if supervisor.broker is not None and supervisor.broker.process is not None:
                broker_rss.append(supervisor.broker.rss_bytes())
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    try:
        assert await wait_until(lambda: supervisor.ready.is_set() or task.done(), 90)
        started = time.monotonic()
        assert await wait_until(lambda: settled(supervisor, len(mails)), 150), \
            (statuses(supervisor), supervisor.recycled_after)
        drained = time.monotonic() - started
        wanted = sum(m.wants_reply for m in mails)
        assert await wait_until(lambda: len(smtp_sink.received) >= wanted, 30)
        await asyncio.sleep(1.5)  # the collector's next metrics snapshot
        assert supervisor.runtime is not None
        held = sample_value(supervisor.runtime.metrics.registry,
                            "mailroom_collector_wait_seconds_total", {"reason": "recycle"})
    finally:
        sampler.cancel()
        supervisor.stopping.set()
        await asyncio.wait_for(task, 90)
    assert task.result() == 0
    ready_rss, peak_rss = broker_rss[0], max(broker_rss)
    # raw_emails, classified_emails, and acknowledgement_queue for half of them
    fed = int(len(mails) * len(PADDING) * 2.5)
    print(f"drained {len(mails)} mails in {drained:.1f} s with {supervisor.recycles} recycles "
          f"after {supervisor.recycled_after} mails; the collector held {held:.1f} s; broker "
          f"RSS {ready_rss / 2**20:.0f} MB at start, peak {peak_rss / 2**20:.0f} MB "
          f"(the backlog's records: about {fed / 2**20:.0f} MB)")
    assert held > 0
    assert supervisor.recycles >= 5, supervisor.recycled_after
    assert max(supervisor.recycled_after) <= per_recycle, supervisor.recycled_after
    assert peak_rss - ready_rss < fed / 2
    assert_answered_once(smtp_sink, mails)
