"""The responder in AUTOREPLY_MODE=shadow/off: an automatic reply still queued is held for a
person (never sent), while a reviewer's own reply goes out (Tansu, aiosmtpd, SQLite)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mailroom import topics
from mailroom.broker import EmbeddedBroker
from mailroom.events import Decision, RawEmail, Route, RoutedEmail
from mailroom.kafka import Outgoing, produce_all
from mailroom.responder.service import ResponderService
from mailroom.runtime import build_runtime
from mailroom.store import MailStatus
from mailroom.store import mails as mail_store
from pipeline import wait_until
from servers import SmtpSink

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]


def routed(n: int, requested_by: str | None) -> RoutedEmail:
    email = RawEmail(mail_id=f"shadow-{n}", account="support@example.com", folder="INBOX", uid=n,
                     message_id=f"<shadow-{n}@client.example.org>", subject=f"Suscripción {n}",
                     from_addr=f"client{n}@example.org", language="es")
    decision = Decision(mail_id=email.mail_id, category="subscription", route=Route.ACKNOWLEDGE,
                        template="subscription", language="es", requested_by=requested_by)
    return RoutedEmail(email=email, decision=decision)


@pytest.mark.parametrize("mode", ["shadow", "off"])
async def test_queued_automatic_reply_is_held_for_review_and_a_reviewers_reply_is_sent(
        mode: str, make_settings: Any, broker: EmbeddedBroker, smtp_sink: SmtpSink) -> None:
    settings = make_settings(smtp=smtp_sink, bootstrap=broker.bootstrap_servers,
                             autoreply_mode=mode)
    rt = build_runtime(settings, broker.bootstrap_servers)
    rt.kafka.create_topics(3, 1)
    automatic, reviewed = routed(1, None), routed(2, "alice")
    events = [automatic, reviewed]
    with rt.db.begin() as conn:  # what the processor stored before AUTOREPLY_MODE changed
        mail_store.record_collected(conn, [e.email for e in events])
        mail_store.record_decisions(conn, [(e.email, e.decision) for e in events])
    producer = rt.kafka.producer()
    produce_all(producer, [Outgoing(topics.ACKNOWLEDGEMENT_QUEUE, e.email.mail_id, e.to_bytes())
                           for e in events])
    producer.flush(5)

    def status(mail_id: str) -> str:
        with rt.db.begin() as conn:
            return str((mail_store.get_mail(conn, mail_id) or {}).get("status"))

    service = ResponderService(rt)
    task = asyncio.create_task(service.run())
    try:
        assert await wait_until(lambda: status("shadow-1") == MailStatus.IN_REVIEW
                                and status("shadow-2") == MailStatus.REPLIED, 60)
        with rt.db.begin() as conn:
            held = mail_store.get_mail(conn, "shadow-1") or {}
        assert f"AUTOREPLY_MODE={mode}" in str(held["error"])
    finally:
        service.stop()
        await asyncio.wait_for(task, 60)
        rt.db.dispose()
    assert [str(m["In-Reply-To"]) for m in smtp_sink.messages()] == [reviewed.email.message_id]
