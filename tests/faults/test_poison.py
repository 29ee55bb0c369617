"""Fault 6: poison events in every topic, and mails that make a stage fail.

The poison is produced to the head of every partition before any good mail, so all 500
good mails being settled proves each partition moved past it.
"""

from __future__ import annotations

import asyncio

import pytest
from books import FINAL_STATUSES, SCENARIO_MAILS, Books, assert_books, bare_id, wait_for_books

from mailgen import make_batch
from mailroom import topics
from mailroom.broker import EmbeddedBroker
from mailroom.events import Decision, RawEmail, Route, RoutedEmail
from mailroom.kafka import KafkaClients
from pipeline import running
from servers import Dovecot, SmtpSink

pytestmark = [pytest.mark.faults, pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")]

USER = "support@example.com"
PARTITIONS = 3
GARBAGE = [
    b"\x00\xff\xfe not json at all \x00",
    b"",
    b"[]",
    b'{"version": 1, "mail_id": 42}',  # wrong types, required fields missing
    b'{"version": 99, "mail_id": "x", "account": "a", "folder": "f"}',  # unknown version
    b'{"version": 1, "email": {"mail_id": "y"}, "decision": "acknowledge"}',
]
CONSUMED = (topics.RAW_EMAILS, topics.ACKNOWLEDGEMENT_QUEUE)
INJECTED = "injected@customers.test"


def crlf_mail() -> RawEmail:
    """Valid schema, but its sender would inject a Bcc into a reply."""
    return RawEmail(mail_id="poison-crlf-0001", account=USER, folder="INBOX", uid=0,
                    message_id="<poison-crlf@customers.test>", subject="Subscription request",
                    from_addr=f"victim@customers.test\r\nBcc: {INJECTED}",
                    text="please subscribe me")


def unknown_template_mail() -> RoutedEmail:
    email = RawEmail(mail_id="poison-template-0001", account=USER, folder="INBOX", uid=0,
                     message_id="<poison-template@customers.test>", subject="Subscription",
                     from_addr="template@customers.test", text="hi")
    decision = Decision(mail_id=email.mail_id, category="subscription", route=Route.ACKNOWLEDGE,
                        template="no/such/../../template\r\n", language="xx")
    return RoutedEmail(email=email, decision=decision)


def produce_poison(bootstrap: str) -> int:
    """Garbage at the head of every partition of every topic; returns how many on consumed ones."""
    kafka = KafkaClients(bootstrap)
    kafka.create_topics(PARTITIONS, 1)
    producer = kafka.producer()
    on_consumed = 0
    for topic in topics.ALL_TOPICS:
        for partition in range(PARTITIONS):
            for value in GARBAGE:
                producer.produce(topic, value=value, key=b"poison", partition=partition)
                on_consumed += topic in CONSUMED
    producer.produce(topics.RAW_EMAILS, value=crlf_mail().to_bytes(), key=b"poison-crlf")
    producer.produce(topics.ACKNOWLEDGEMENT_QUEUE, value=unknown_template_mail().to_bytes(),
                     key=b"poison-template")
    assert producer.flush(30) == 0
    return on_consumed


@pytest.mark.timeout(300)
async def test_poison_in_every_topic_is_dead_lettered_with_a_reason_and_the_rest_flows(
    dovecot: Dovecot, smtp_sink: SmtpSink, broker: EmbeddedBroker,
    make_settings,  # type: ignore[no-untyped-def]
) -> None:
    garbage = await asyncio.to_thread(produce_poison, broker.bootstrap_servers)
    mails = make_batch(SCENARIO_MAILS)
    dovecot.preload(USER, [m.raw for m in mails])
    good = {bare_id(m.message_id) for m in mails}
    settings = make_settings(dovecot=dovecot, smtp=smtp_sink, bootstrap=broker.bootstrap_servers,
                             kafka_topic_partitions=PARTITIONS)

    def settled(b: Books) -> bool:
        landed = sum(1 for r in b.rows.values() if bare_id(str(r["message_id"])) in good)
        return landed == len(mails) and not b.open and \
            len(b.letters_from(topics.RAW_EMAILS)) + len(b.letters_from(topics.ACKNOWLEDGEMENT_QUEUE)) \
            >= garbage

    async with running(settings, ["collector", "processor", "responder"]) as supervisor:
        assert supervisor.runtime is not None
        books = await asyncio.to_thread(
            wait_for_books, supervisor.runtime.db, smtp_sink, settled=settled, timeout=150)
        assert not [n for n, t in supervisor.tasks.items() if t.done()], "a service stopped"

    assert_books(books, expected_rows=None,
                 wanted_replies=[m.message_id for m in mails if m.wants_reply])
    for topic in CONSUMED:
        letters = books.letters_from(topic)
        garbage_letters = [d for d in letters if d["mail_id"] is None]
        assert len(garbage_letters) >= len(GARBAGE) * PARTITIONS, (topic, len(letters))
        assert all(str(d["reason"]).strip() for d in letters)
    # the mail that makes the responder fail: settled with a reason, never answered
    row = books.rows.get("poison-crlf-0001")
    assert books.reasons_for("poison-crlf-0001") or (row is not None and row["status"] == "suppressed"), row
    # an unknown (hostile) template name: the default template or a dead letter, settled either way
    row = books.rows.get("poison-template-0001")
    assert row is not None and row["status"] in FINAL_STATUSES, row
    assert "poison-crlf@customers.test" not in books.replies
    assert not any(INJECTED in rcpt for r in smtp_sink.received for rcpt in r.rcpt_tos)
    assert not any(INJECTED.encode() in r.data for r in smtp_sink.received)
