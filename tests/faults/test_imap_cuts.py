"""Fault 4: the IMAP connection is cut in the middle of a FETCH and during IDLE."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from books import SCENARIO_MAILS, all_settled, assert_books, wait_for_books
from tcp_proxy import CuttingProxy

from mailgen import make_batch
from pipeline import running, statuses, wait_until
from servers import Dovecot, SmtpSink

pytestmark = [pytest.mark.faults, pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")]

USER = "support@example.com"
LATE = 20  # mails appended while the collector idles


@pytest.mark.timeout(300)
async def test_imap_cut_mid_fetch_and_during_idle_the_collector_reconnects_and_loses_nothing(
    dovecot: Dovecot, smtp_sink: SmtpSink, make_settings,  # type: ignore[no-untyped-def]
    proxy_to: Callable[[str, int], CuttingProxy],
) -> None:
    mails = make_batch(SCENARIO_MAILS)
    late = make_batch(LATE, start=SCENARIO_MAILS)
    dovecot.preload(USER, [m.raw for m in mails])
    proxy = proxy_to(dovecot.host, dovecot.port)
    proxy.cut_during_fetch(3)  # the first three FETCH answers are cut half-way
    settings = make_settings(dovecot=dovecot, smtp=smtp_sink, imap_port=proxy.port,
                             max_emails_per_batch=50)

    async with running(settings, ["collector", "processor", "responder"]) as supervisor:
        assert supervisor.runtime is not None
        assert await wait_until(lambda: proxy.fetch_cuts == 3, 60), "no FETCH was cut"
        assert await wait_until(lambda: sum(statuses(supervisor).values()) >= len(mails), 90), \
            statuses(supervisor)
        # caught up: the collector now idles; cut it there, twice
        assert await wait_until(lambda: proxy.idle_seen > 0, 30), "the collector never sent IDLE"
        proxy.cut_during_idle(2, after=0.5)
        assert await wait_until(lambda: proxy.idle_cuts == 2, 60), "no IDLE was cut"
        for mail in late:  # arrive after the cuts: the reconnected collector must see them
            await asyncio.to_thread(dovecot.append, mail.raw)
        books = await asyncio.to_thread(
            wait_for_books, supervisor.runtime.db, smtp_sink,
            settled=all_settled(len(mails) + LATE), timeout=120)
        assert not [n for n, t in supervisor.tasks.items() if t.done()], "a service stopped"

    assert proxy.connections > 5, f"only {proxy.connections} connections: did it reconnect?"
    everything = mails + late
    assert_books(books, expected_rows=len(everything),
                 wanted_replies=[m.message_id for m in everything if m.wants_reply])
