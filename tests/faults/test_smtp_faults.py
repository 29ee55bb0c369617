"""Fault 3: SMTP answers 421/451 for a while, then 250; 550 for some recipients."""

from __future__ import annotations

import asyncio
import re
import threading
import time

import pytest
from aiosmtpd.smtp import Envelope
from books import SCENARIO_MAILS, all_settled, assert_books, wait_for_books

from mailgen import make_batch
from pipeline import running
from servers import Dovecot, SmtpSink

pytestmark = [pytest.mark.faults, pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")]

USER = "support@example.com"
TEMPORARY_FOR = 8.0  # seconds of 4xx answers after the first attempt
REFUSED = re.compile(r"^user\d*(00|50)@")  # every 50th sender does not exist: 550


class FlakyServer:
    """4xx on DATA during the first seconds (421 and 451 in turn), then 250."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.temporary = 0
        self.permanent = 0
        self.lock = threading.Lock()

    def on_data(self, _envelope: Envelope) -> str | None:
        with self.lock:
            now = time.monotonic()
            self.first = self.first or now
            if now - self.first < TEMPORARY_FOR:
                self.temporary += 1
                return "421 4.3.2 Service busy, try later" if self.temporary % 2 else \
                    "451 4.3.0 Local problem, try later"
            return None

    def on_rcpt(self, address: str) -> str | None:
        if REFUSED.match(address):
            with self.lock:
                self.permanent += 1
            return "550 5.1.1 No such user"
        return None


@pytest.mark.timeout(300)
async def test_smtp_4xx_then_250_delivers_each_reply_once_and_550_ends_failed_with_a_reason(
    dovecot: Dovecot, smtp_sink: SmtpSink, make_settings  # type: ignore[no-untyped-def]
) -> None:
    mails = make_batch(SCENARIO_MAILS)
    dovecot.preload(USER, [m.raw for m in mails])
    flaky = FlakyServer()
    smtp_sink.behaviour.on_data = flaky.on_data
    smtp_sink.behaviour.on_rcpt = flaky.on_rcpt
    refused = [m.message_id for m in mails if m.wants_reply and REFUSED.match(m.sender)]
    wanted = [m.message_id for m in mails if m.wants_reply]
    assert refused and len(refused) < len(wanted)

    settings = make_settings(dovecot=dovecot, smtp=smtp_sink, max_emails_per_batch=100)
    async with running(settings, ["collector", "processor", "responder"]) as supervisor:
        assert supervisor.runtime is not None
        books = await asyncio.to_thread(
            wait_for_books, supervisor.runtime.db, smtp_sink,
            settled=all_settled(len(mails)), timeout=200)
        assert not [n for n, t in supervisor.tasks.items() if t.done()], "a service stopped"

    assert flaky.temporary > 0 and flaky.permanent > 0, "the faults never happened"
    assert_books(books, expected_rows=len(mails), wanted_replies=wanted, must_fail=refused)
    for message_id in refused:  # the server's answer is the recorded reason
        row = next(r for r in books.rows.values() if r["message_id"] == message_id)
        assert any("550" in reason for reason in books.reasons_for(str(row["mail_id"]))), row
