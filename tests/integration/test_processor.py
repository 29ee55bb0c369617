"""ProcessorService against the real embedded broker and a SQLite state store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from confluent_kafka import Consumer

from mailroom import topics
from mailroom.events import Decision, RawEmail, RoutedEmail
from mailroom.kafka import Outgoing, produce_all
from mailroom.processor import model as text_model
from mailroom.processor.service import ProcessorService
from mailroom.runtime import Runtime, build_runtime
from mailroom.settings import Settings
from mailroom.store import MailStatus
from mailroom.store import dead_letters as dead_letter_store
from mailroom.store import mails as mail_store

pytestmark = pytest.mark.integration
# a rule only nominates an acknowledgement: the intent model must read a request too
REQUEST = "Hello, I would like to subscribe to the newsletter, please."


def mail(n: int, subject: str, **fields: object) -> RawEmail:
    values: dict[str, object] = {
        "mail_id": f"mail-{n}", "account": "support@example.com", "folder": "INBOX", "uid": n,
        "message_id": f"<{n}@example.org>", "subject": subject, "from_addr": f"user{n}@example.org",
        "return_path": f"<user{n}@example.org>", "language": "en", "text": "Hello, see the subject.",
    }
    values |= fields
    return RawEmail.model_validate(values)


def produce(rt: Runtime, records: list[tuple[str | None, bytes]]) -> None:
    producer = rt.kafka.producer()
    produce_all(producer, [Outgoing(topics.RAW_EMAILS, key, value) for key, value in records])


def collect(consumer: Consumer, until: Callable[[dict[str, list[tuple[str | None, bytes]]]], bool],
            timeout: float = 60.0) -> dict[str, list[tuple[str | None, bytes]]]:
    """Read the output topics until ``until`` holds (never waits on end offsets)."""
    seen: dict[str, list[tuple[str | None, bytes]]] = {t: [] for t in topics.ALL_TOPICS}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not until(seen):
        for message in consumer.consume(100, 0.5):
            if message.error() is None:
                key = message.key()
                seen[message.topic() or ""].append(
                    (key.decode() if isinstance(key, bytes) else None, message.value() or b""))
    return seen


@pytest.fixture
async def pipeline(broker, make_settings) -> AsyncIterator[tuple[Runtime, ProcessorService, Consumer]]:  # type: ignore[no-untyped-def]
    settings: Settings = make_settings(bootstrap=broker.bootstrap_servers,
                                       imap_email="support@example.com",
                                       smtp_email="replies@example.com")
    rt = build_runtime(settings, broker.bootstrap_servers)
    rt.kafka.create_topics(3, 1)
    service = ProcessorService(rt)
    task = asyncio.create_task(service.run())
    reader = rt.kafka.consumer("test-reader", [topics.CLASSIFIED_EMAILS, topics.ACKNOWLEDGEMENT_QUEUE,
                                               topics.HUMAN_REVIEW, topics.DEAD_LETTER])
    try:
        yield rt, service, reader
    finally:
        service.stop()
        await asyncio.wait_for(task, 30)
        reader.close()
        rt.db.dispose()


async def test_mails_are_classified_routed_and_recorded(
    pipeline: tuple[Runtime, ProcessorService, Consumer],
) -> None:
    """Subscription -> acknowledgement_queue, others -> human_review, spam -> archive only."""
    rt, _, reader = pipeline
    mails = [
        mail(1, "Suscripción al boletín", language="es", text=REQUEST),
        mail(2, "Question about invoice 42", text="The amount on invoice 42 is wrong."),
        mail(3, "Re: subscription", headers={"auto-submitted": ["auto-replied"]}),
        mail(4, "subscription offer", headers={"x-spam-flag": ["YES"]}),
    ]
    await asyncio.to_thread(produce, rt, [(m.mail_id, m.to_bytes()) for m in mails])
    seen = await asyncio.to_thread(
        collect, reader, lambda s: len(s[topics.CLASSIFIED_EMAILS]) >= 4
        and len(s[topics.ACKNOWLEDGEMENT_QUEUE]) >= 1 and len(s[topics.HUMAN_REVIEW]) >= 2)

    decisions = {Decision.model_validate_json(v).mail_id: Decision.model_validate_json(v)
                 for _, v in seen[topics.CLASSIFIED_EMAILS]}
    assert {k: (d.category, d.route.value) for k, d in decisions.items()} == {
        "mail-1": ("subscription", "acknowledgement_queue"),
        "mail-2": ("other", "human_review"),
        "mail-3": ("automated", "human_review"),
        "mail-4": ("spam", "archive"),
    }
    acks = [RoutedEmail.model_validate_json(v) for _, v in seen[topics.ACKNOWLEDGEMENT_QUEUE]]
    assert [(a.email.mail_id, a.decision.template) for a in acks] == [("mail-1", "subscription")]
    assert [k for k, _ in seen[topics.ACKNOWLEDGEMENT_QUEUE]] == ["mail-1"]
    # the reply goes with it, composed here for the responder to send
    (reply,) = [a.reply for a in acks]
    assert reply is not None and reply.key == "subscription"
    assert reply.recipients == [mails[0].from_addr] and "\r\nAuto-Submitted: auto-replied\r\n" in reply.data
    reviewed = [RoutedEmail.model_validate_json(v) for _, v in seen[topics.HUMAN_REVIEW]]
    assert [r.reply for r in reviewed] == [None, None]
    assert sorted(k or "" for k, _ in seen[topics.HUMAN_REVIEW]) == ["mail-2", "mail-3"]
    with rt.db.begin() as conn:
        rows = {m.mail_id: mail_store.get_mail(conn, m.mail_id) for m in mails}
    assert {k: (r or {}).get("status") for k, r in rows.items()} == {
        "mail-1": MailStatus.AWAITING_REPLY, "mail-2": MailStatus.IN_REVIEW,
        "mail-3": MailStatus.IN_REVIEW, "mail-4": MailStatus.ARCHIVED,
    }
    assert rows["mail-1"] and rows["mail-1"]["rule"] == "subscription"
    text = rt.metrics.registry.get_sample_value(
        "emails_processed_total", {"topic": "raw_emails", "status": "human_review"})
    assert text == 2.0
    assert rt.metrics.registry.get_sample_value(
        "mailroom_decisions_total", {"category": "spam", "rule": "guard:spam"}) == 1.0


async def test_poison_record_is_dead_lettered_and_the_partition_moves_on(
    pipeline: tuple[Runtime, ProcessorService, Consumer],
) -> None:
    rt, _, reader = pipeline
    good = mail(7, "subscription please", text=REQUEST)
    # same key, so the same partition: the good record sits right behind the poison one
    await asyncio.to_thread(produce, rt, [("k", b"{not json"), ("k", good.to_bytes())])
    seen = await asyncio.to_thread(
        collect, reader, lambda s: len(s[topics.DEAD_LETTER]) >= 1
        and len(s[topics.ACKNOWLEDGEMENT_QUEUE]) >= 1)
    assert len(seen[topics.DEAD_LETTER]) == 1
    assert b"undecodable RawEmail" in seen[topics.DEAD_LETTER][0][1]
    assert [k for k, _ in seen[topics.ACKNOWLEDGEMENT_QUEUE]] == ["mail-7"]
    with rt.db.begin() as conn:
        letters = dead_letter_store.list_open(conn)
        assert [letter["payload"] for letter in letters] == ["{not json"]
        assert (mail_store.get_mail(conn, "mail-7") or {})["status"] == MailStatus.AWAITING_REPLY


async def test_the_same_event_twice_is_one_mail_and_a_replied_mail_is_not_routed_again(
    pipeline: tuple[Runtime, ProcessorService, Consumer],
) -> None:
    rt, _, reader = pipeline
    first = mail(9, "subscription", text=REQUEST)
    await asyncio.to_thread(produce, rt, [(first.mail_id, first.to_bytes())] * 2)
    seen = await asyncio.to_thread(
        collect, reader, lambda s: len(s[topics.ACKNOWLEDGEMENT_QUEUE]) >= 1, timeout=60)
    # let a possible second delivery (other batch) arrive before counting
    more = await asyncio.to_thread(collect, reader, lambda s: False, timeout=4)
    acks = seen[topics.ACKNOWLEDGEMENT_QUEUE] + more[topics.ACKNOWLEDGEMENT_QUEUE]
    assert 1 <= len(acks) <= 2 and {k for k, _ in acks} == {"mail-9"}
    with rt.db.begin() as conn:
        assert mail_store.count_by(conn, "mail_id") == {"mail-9": 1}
        mail_store.set_status(conn, "mail-9", MailStatus.REPLIED)
    # a redelivery after the reply: decided again, but settled, so not routed
    await asyncio.to_thread(produce, rt, [(first.mail_id, first.to_bytes()),
                                          (mail(10, "other").mail_id, mail(10, "other").to_bytes())])
    later = await asyncio.to_thread(
        collect, reader, lambda s: len(s[topics.HUMAN_REVIEW]) >= 1, timeout=60)
    assert later[topics.ACKNOWLEDGEMENT_QUEUE] == []
    assert [k for k, _ in later[topics.HUMAN_REVIEW]] == ["mail-10"]
    with rt.db.begin() as conn:
        assert (mail_store.get_mail(conn, "mail-9") or {})["status"] == MailStatus.REPLIED
    assert rt.metrics.registry.get_sample_value(
        "emails_processed_total", {"topic": "raw_emails", "status": "settled"}) == 1.0


async def test_model_file_change_is_picked_up_and_a_broken_one_is_ignored(
    make_settings, tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    path = tmp_path / "model.joblib"
    texts, labels = ["join the list", "add me please", "invoice wrong", "order late"], \
        ["subscription", "subscription", "other", "other"]
    text_model.save(text_model.train(texts, labels, n_features=2**10), path)
    rt = build_runtime(make_settings(mailroom_model=path), "127.0.0.1:1")
    try:
        service = ProcessorService(rt)
        first = service.models.intent
        assert first is not None
        assert rt.metrics.registry.get_sample_value("mailroom_model_info",
                                                    {"version": first.version}) == 1.0
        assert not await service.reload_if_changed()
        newer = text_model.train([*texts, "cancel me"], [*labels, "unsubscription"], n_features=2**10)
        text_model.save(newer, path)
        path.touch()
        assert await service.reload_if_changed()
        assert service.models.intent is not None and service.models.intent.version == newer.version
        assert rt.metrics.registry.get_sample_value("mailroom_model_info",
                                                    {"version": first.version}) is None
        path.write_bytes(b"broken")
        assert not await service.reload_if_changed()
        assert service.models.intent.version == newer.version
    finally:
        rt.db.dispose()


def test_invalid_rules_file_stops_start_up_with_file_and_line(make_settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mailroom.settings import ConfigError

    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: x\n    category: y\n    route: nowhere\n", encoding="utf-8")
    rt = build_runtime(make_settings(mailroom_rules=rules), "127.0.0.1:1")
    try:
        with pytest.raises(ConfigError, match=r"rules\.yaml:4: unknown route 'nowhere'"):
            ProcessorService(rt)
    finally:
        rt.db.dispose()
