"""What the responder tests share: a routed mail, the store as the processor leaves it, the
acknowledgement queue, responders running until the block ends, and what the sink got."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

from mailroom import topics
from mailroom.events import Decision, RawEmail, Route, RoutedEmail
from mailroom.kafka import Outgoing, produce_all
from mailroom.responder.service import ResponderService
from mailroom.runner import Item
from mailroom.runtime import Runtime
from mailroom.store import mails as mail_store
from servers import SmtpSink


def routed(n: int, sender: str = "", category: str = "subscription", *, language: str = "es",
           subject: str = "", reply_body: str | None = None, **fields: Any) -> RoutedEmail:
    """Mail ``n`` routed to an acknowledgement (from ``client<n>@example.org`` unless
    ``sender``); with ``reply_body``, a reviewer's reply. ``fields`` go to ``RawEmail``."""
    unknown = set(fields) - set(RawEmail.model_fields)
    assert not unknown, f"RawEmail ignores {unknown}"  # (extra="ignore": a typo goes unseen)
    email = RawEmail(mail_id=f"mail-{n}", account="support@example.com", folder="INBOX", uid=n,
                     message_id=f"<orig-{n}@client.example.org>", subject=subject or f"Alta {n}",
                     from_addr=sender or f"client{n}@example.org", language=language, **fields)
    decision = Decision(mail_id=email.mail_id, category=category, route=Route.ACKNOWLEDGE,
                        language=language, reply_body=reply_body,
                        requested_by="reviewer" if reply_body else None)
    return RoutedEmail(email=email, decision=decision)


def seed(rt: Runtime, events: list[RoutedEmail]) -> None:
    """What the collector and processor would have stored: collected, awaiting a reply."""
    with rt.db.begin() as conn:
        mail_store.record_collected(conn, [e.email for e in events])
        mail_store.record_decisions(conn, [(e.email, e.decision) for e in events])


def queued(events: list[RoutedEmail]) -> list[Item[RoutedEmail]]:
    """The events as the consumer hands them to ``handle_batch`` (offsets in order)."""
    return [Item(e, e.email.mail_id, topics.ACKNOWLEDGEMENT_QUEUE, 0, n, time.monotonic())
            for n, e in enumerate(events)]


def publish(rt: Runtime, events: list[RoutedEmail], times: int = 1) -> None:
    producer = rt.kafka.producer()
    produce_all(producer, [Outgoing(topics.ACKNOWLEDGEMENT_QUEUE, e.email.mail_id, e.to_bytes())
                           for e in events] * times)
    producer.flush(10)


@contextlib.asynccontextmanager
async def responding(*services: ResponderService) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(s.run()) for s in services]
    try:
        yield
    finally:
        for service in services:
            service.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)


def replies_to(sink: SmtpSink) -> Counter[str]:
    """How many replies the sink got per original Message-ID (their In-Reply-To)."""
    return Counter(str(m["In-Reply-To"]).strip() for m in sink.messages())
