"""The responder service on real parts: Tansu broker, aiosmtpd sink, SQLite store.

What it proves: one reply per mail, threaded; redelivered events and competing responders
never send twice; 4xx answers are parked and retried until every reply arrives once; a 5xx
fails the reply with the server's answer and dead-letters it; the per-sender rate limit
and the loop guard suppress with a recorded reason.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from mailroom import topics
from mailroom.broker import EmbeddedBroker
from mailroom.events import DeadLetter, RoutedEmail
from mailroom.reconciler import Reconciler
from mailroom.responder.compose import PRECOMPOSED_MAX_AGE, Composer
from mailroom.responder.service import ResponderService, RetryPolicy
from mailroom.runtime import Runtime, build_runtime
from mailroom.settings import Settings
from mailroom.store import MailStatus, ReplyStatus
from mailroom.store import dead_letters as dead_letter_store
from mailroom.store import mails as mail_store
from mailroom.store import replies as reply_store
from mailroom.store.schema import suppressions
from pipeline import wait_until
from responders import publish, replies_to, responding, seed
from responders import routed as routed_mail
from servers import SmtpSink

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

FAST_RETRY = RetryPolicy(quick_attempts=2, quick_wait=0.05, quick_wait_max=0.1,
                         park_base=0.5, park_cap=1.0)
_seq = itertools.count(1)


def routed(**fields: Any) -> RoutedEmail:
    """A new mail each call (``responders.routed``'s fields)."""
    n = next(_seq)
    return routed_mail(n, subject=f"Suscripción {n}", **fields)


@pytest.fixture
def settings(make_settings: Callable[..., Settings], broker: EmbeddedBroker,
             smtp_sink: SmtpSink) -> Settings:
    return make_settings(smtp=smtp_sink, bootstrap=broker.bootstrap_servers)


@pytest.fixture
def rt(settings: Settings, broker: EmbeddedBroker) -> Any:
    runtime = build_runtime(settings, broker.bootstrap_servers)
    runtime.kafka.create_topics(3, 1)
    yield runtime
    runtime.db.dispose()


def mail_row(rt: Runtime, mail_id: str) -> dict[str, Any]:
    with rt.db.begin() as conn:
        row = mail_store.get_mail(conn, mail_id)
    assert row is not None
    return row


def reply_rows(rt: Runtime, mail_id: str) -> list[dict[str, Any]]:
    with rt.db.begin() as conn:
        return reply_store.get(conn, mail_id)


def sample(rt: Runtime, name: str, **labels: str) -> float:
    return rt.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_one_threaded_reply_per_mail_even_when_delivered_twice(
        rt: Runtime, smtp_sink: SmtpSink) -> None:
    """Each event published twice at once, then again after the replies: one reply each."""
    events = [routed() for _ in range(5)]
    seed(rt, events)
    publish(rt, events, times=2)
    async with responding(ResponderService(rt)):
        assert await wait_until(lambda: len(smtp_sink.received) >= 5, 60)
        publish(rt, events)
        assert await wait_until(
            lambda: sample(rt, "emails_processed_total", topic="acknowledgement_queue",
                           status="duplicate") >= 10, 30)
        await asyncio.sleep(1)  # a late duplicate would arrive now
    assert replies_to(smtp_sink) == Counter(e.email.message_id for e in events)
    for message in smtp_sink.messages():
        assert message["Auto-Submitted"] == "auto-replied"
        assert message["References"].split()[-1] == message["In-Reply-To"]
        assert message["To"].addresses[0].addr_spec.startswith("client")
    for event in events:
        assert mail_row(rt, event.email.mail_id)["status"] == MailStatus.REPLIED
        (reply,) = reply_rows(rt, event.email.mail_id)
        assert reply["status"] == ReplyStatus.SENT and reply["message_id"].endswith(
            ".reply@example.com>")
    assert sample(rt, "emails_processed_total", topic="acknowledgement_queue", status="sent") == 5
    assert sample(rt, "mailroom_smtp_send_seconds_count") == 5


async def test_a_reply_composed_ahead_is_sent_as_it_is_unless_it_no_longer_fits(
        rt: Runtime, settings: Settings, smtp_sink: SmtpSink) -> None:
    """The processor's composition is what goes out (marked here by an extra header); one
    whose recipient was changed on the queue, or that waited too long, is composed again;
    the loop guard is asked again whatever came composed."""
    composer = Composer.from_settings(settings)
    fresh, moved, stale = (routed() for _ in range(3))
    daemon = routed(sender="mailer-daemon@example.org")
    marked: list[RoutedEmail] = []
    for event in (fresh, moved, stale, daemon):
        composed = composer.ahead(event.email, event.decision)
        assert composed is not None
        composed = composed.model_copy(update={"data": "X-Ahead: yes\r\n" + composed.data})
        if event is moved:
            composed = composed.model_copy(update={"recipients": ["victim@example.net"]})
        if event is stale:
            composed = composed.model_copy(update={
                "composed_at": composed.composed_at - PRECOMPOSED_MAX_AGE - timedelta(seconds=5)})
        marked.append(event.model_copy(update={"reply": composed}))
    seed(rt, marked)
    publish(rt, marked)
    async with responding(ResponderService(rt)):
        assert await wait_until(lambda: all(
            mail_row(rt, e.email.mail_id)["status"] == MailStatus.REPLIED for e in marked[:3])
            and mail_row(rt, daemon.email.mail_id)["status"] == MailStatus.SUPPRESSED, 60)
    assert replies_to(smtp_sink) == Counter(e.email.message_id for e in marked[:3])
    got = {str(r.message["In-Reply-To"]).strip(): r for r in smtp_sink.received}
    assert got[fresh.email.message_id].message["X-Ahead"] == "yes"
    for event in (moved, stale):
        received = got[event.email.message_id]
        assert received.message["X-Ahead"] is None
        assert received.rcpt_tos == [event.email.from_addr]
        assert received.message["To"].addresses[0].addr_spec == event.email.from_addr


async def test_two_responders_in_one_group_send_each_reply_once(
        rt: Runtime, smtp_sink: SmtpSink) -> None:
    """Two instances share the partitions; every event twice; still one reply each."""
    events = [routed() for _ in range(8)]
    seed(rt, events)
    publish(rt, events, times=2)
    async with responding(ResponderService(rt), ResponderService(rt)):
        assert await wait_until(lambda: len(smtp_sink.received) >= 8, 60)
        await asyncio.sleep(2)
    assert replies_to(smtp_sink) == Counter(e.email.message_id for e in events)


async def test_competing_responders_never_both_send(
        rt: Runtime, settings: Settings, broker: EmbeddedBroker, smtp_sink: SmtpSink) -> None:
    """Two responders in different groups both get every event: the store claim picks one."""
    other = build_runtime(settings.model_copy(update={"kafka_group_prefix": "other"}),
                          broker.bootstrap_servers)
    events = [routed() for _ in range(8)]
    seed(rt, events)
    publish(rt, events)
    try:
        async with responding(ResponderService(rt), ResponderService(other)):
            assert await wait_until(
                lambda: sum(sample(r, "emails_processed_total", topic="acknowledgement_queue",
                                   status=s) for r in (rt, other) for s in ("sent", "duplicate"))
                >= 16, 60)
    finally:
        other.db.dispose()
    assert replies_to(smtp_sink) == Counter(e.email.message_id for e in events)


async def test_4xx_replies_are_parked_then_each_arrives_once(
        rt: Runtime, smtp_sink: SmtpSink) -> None:
    """421/451 for a while: replies park (the partition moves on), then arrive exactly once."""
    refusing = True
    answers = itertools.cycle(["421 4.3.2 Try later", "451 4.3.0 Local problem"])
    smtp_sink.behaviour.on_data = lambda _env: next(answers) if refusing else None
    first, later = [routed() for _ in range(4)], [routed() for _ in range(2)]
    # a reviewer's reply: the reconciler republishes it without its text (the store keeps it)
    later[1].decision = later[1].decision.model_copy(update={
        "template": "manual", "reply_body": "Texto escrito por Alicia", "requested_by": "alice"})
    seed(rt, first + later)
    publish(rt, first)

    def parked(events: list[RoutedEmail]) -> bool:
        rows = [r for e in events for r in reply_rows(rt, e.email.mail_id)]
        return len(rows) == len(events) and all(r["status"] == ReplyStatus.RETRY for r in rows)

    async with responding(ResponderService(rt, retry=FAST_RETRY)):
        assert await wait_until(lambda: parked(first), 60)
        publish(rt, later)  # a parked reply does not block what comes after it
        assert await wait_until(lambda: parked(later), 60)
        assert smtp_sink.received == []
        refusing = False
        reconciler = Reconciler(rt)
        for _ in range(60):
            await asyncio.to_thread(reconciler.republish_open, timedelta(0))
            if await wait_until(lambda: len(smtp_sink.received) >= 6, 1.0):
                break
        await asyncio.sleep(1.5)
    assert replies_to(smtp_sink) == Counter(e.email.message_id for e in first + later)
    for event in first + later:
        (reply,) = reply_rows(rt, event.email.mail_id)
        assert reply["status"] == ReplyStatus.SENT and reply["attempts"] >= 2
    (manual,) = [m for m in smtp_sink.messages() if m["In-Reply-To"] == later[1].email.message_id]
    body = manual.get_body(("plain",))
    assert body is not None and "Texto escrito por Alicia" in str(body.get_content())
    assert sample(rt, "emails_processed_total", topic="acknowledgement_queue", status="retry") >= 6


async def test_5xx_fails_with_the_answer_and_is_dead_lettered_not_retried(
        rt: Runtime, smtp_sink: SmtpSink) -> None:
    """550 at DATA: failed with the reason, in dead_letters and on the topic, tried once.

    Several Reply-To addresses are never answered at all (nor at one of them): review.
    """
    data_for: Counter[str] = Counter()

    def on_data(envelope: Any) -> str | None:
        data_for[envelope.rcpt_tos[0]] += 1
        return "550 5.7.1 Rejected by policy" if envelope.rcpt_tos[0] == "bad@example.org" else None

    smtp_sink.behaviour.on_data = on_data
    bad = routed(sender="bad@example.org")
    partial = routed(reply_to=["ok@example.org", "gone@example.org"])
    seed(rt, [bad, partial])
    publish(rt, [bad, partial])
    dead_consumer = rt.kafka.consumer("test-dead", [topics.DEAD_LETTER])
    try:
        async with responding(ResponderService(rt, retry=FAST_RETRY)):
            assert await wait_until(
                lambda: mail_row(rt, bad.email.mail_id)["status"] == MailStatus.FAILED, 60)
            assert await wait_until(
                lambda: mail_row(rt, partial.email.mail_id)["status"] == MailStatus.IN_REVIEW, 30)
            await asyncio.to_thread(Reconciler(rt).republish_open, timedelta(0))
            await asyncio.sleep(3)
        letters = []
        for _ in range(40):
            messages = await asyncio.to_thread(dead_consumer.consume, 10, 0.5)
            letters += [DeadLetter.model_validate_json(m.value() or b"") for m in messages
                        if m.error() is None]
            if letters:
                break
    finally:
        dead_consumer.close()

    assert data_for["bad@example.org"] == 1  # permanent: never retried
    (reply,) = reply_rows(rt, bad.email.mail_id)
    assert reply["status"] == ReplyStatus.FAILED
    assert "550 5.7.1 Rejected by policy" in reply["last_error"]
    assert "550 5.7.1 Rejected by policy" in mail_row(rt, bad.email.mail_id)["error"]
    with rt.db.begin() as conn:
        stored = dead_letter_store.list_open(conn)
    assert [d["mail_id"] for d in stored] == [bad.email.mail_id]
    assert [d.mail_id for d in letters] == [bad.email.mail_id]
    assert "Rejected by policy" in letters[0].reason

    assert smtp_sink.received == [] and set(data_for) == {"bad@example.org"}
    partial_row = mail_row(rt, partial.email.mail_id)
    assert partial_row["status"] == MailStatus.IN_REVIEW
    assert "2 Reply-To addresses" in partial_row["error"]


async def test_rate_limit_and_loop_guard_suppress_with_their_reason(
        rt: Runtime, smtp_sink: SmtpSink) -> None:
    """Same sender twice, even for another template (across two responder instances) -> one
    reply per address and period (issue 16); auto mails -> none."""
    first = routed(sender="ana@example.org")
    second = routed(sender="Ana@Example.org")
    other_template = routed(sender="ana@example.org", category="unsubscription")
    auto = routed(headers={"auto-submitted": ["auto-replied (vacation)"]})
    noreply = routed(sender="no-reply@shop.example")
    seed(rt, [first, second, other_template, auto, noreply])

    publish(rt, [first])
    async with responding(ResponderService(rt)):
        assert await wait_until(lambda: len(smtp_sink.received) == 1, 60)
    publish(rt, [second, other_template, auto, noreply])
    async with responding(ResponderService(rt)):  # a new instance: the limit is in the store
        assert await wait_until(
            lambda: mail_row(rt, other_template.email.mail_id)["status"]
            == MailStatus.SUPPRESSED, 60)
        assert await wait_until(
            lambda: mail_row(rt, noreply.email.mail_id)["status"] == MailStatus.SUPPRESSED, 30)
        assert await wait_until(
            lambda: mail_row(rt, second.email.mail_id)["status"] == MailStatus.SUPPRESSED, 30)

    assert replies_to(smtp_sink) == Counter([first.email.message_id])
    with rt.db.begin() as conn:
        reasons = {row.mail_id: row.reason
                   for row in conn.execute(select(suppressions.c.mail_id, suppressions.c.reason))}
    assert reasons == {second.email.mail_id: "rate_limited", auto.email.mail_id: "auto_submitted",
                       noreply.email.mail_id: "noreply_sender",
                       other_template.email.mail_id: "rate_limited"}
    for event, reason in ((second, "rate_limited"), (other_template, "rate_limited"),
                          (auto, "auto_submitted")):
        row = mail_row(rt, event.email.mail_id)
        assert row["status"] == MailStatus.SUPPRESSED and row["error"] == reason
        assert reply_rows(rt, event.email.mail_id) == []
    assert sample(rt, "mailroom_replies_suppressed_total", reason="auto_submitted") == 1
    assert sample(rt, "mailroom_replies_suppressed_total", reason="rate_limited") == 2
