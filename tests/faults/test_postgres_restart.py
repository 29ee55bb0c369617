"""Fault 5: the state store (PostgreSQL) goes away while the pipeline runs.

Two forms: every connection of this test's database is terminated, and the whole
PostgreSQL server is restarted. The restart is of a cluster of the test's own
(``servers.private_postgres``), so tests running beside it keep their connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import psycopg
import pytest
from books import SCENARIO_MAILS, all_settled, assert_books, slow_relay, wait_for_books

from mailgen import make_batch
from mailroom.store import Database
from pipeline import running, wait_until
from servers import Dovecot, SmtpSink, private_postgres

pytestmark = [pytest.mark.faults, pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")]

USER = "support@example.com"


def terminate_connections(url: str) -> int:
    """Kill every server process serving this test's database (what a failover looks like)."""
    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchone()
    return int(row[0]) if row else 0


async def run_through_store_fault(dovecot: Dovecot, smtp_sink: SmtpSink, pg_url: str,
                                  make_settings: Callable[..., object], db: Database,
                                  fault: Callable[[], object]) -> None:
    mails = make_batch(SCENARIO_MAILS)
    dovecot.preload(USER, [m.raw for m in mails])
    slow_relay(smtp_sink)
    # a short SMTP timeout keeps the responder's claim lease (timeout x 4 + 21 s) inside the
    # scenario, so a reply whose "sent" mark was lost shows its real end: resent or not
    settings = make_settings(dovecot=dovecot, smtp=smtp_sink, database_url=pg_url,
                             max_emails_per_batch=25, smtp_timeout=5.0)
    async with running(settings, ["collector", "processor", "responder"]) as supervisor:  # type: ignore[arg-type]
        assert await wait_until(lambda: len(smtp_sink.received) >= 20, 120)
        assert len(smtp_sink.received) < len(mails) // 2, "too late to be mid-stream"
        await asyncio.to_thread(fault)
        books = await asyncio.to_thread(
            wait_for_books, db, smtp_sink, settled=all_settled(len(mails)), timeout=180)
        assert not [n for n, t in supervisor.tasks.items() if t.done()], "a service stopped"

    assert_books(books, expected_rows=len(mails),
                 wanted_replies=[m.message_id for m in mails if m.wants_reply])


@pytest.mark.timeout(300)
async def test_store_connections_killed_mid_stream_lose_no_mail_and_answer_none_twice(
    dovecot: Dovecot, smtp_sink: SmtpSink, pg_url: str, make_settings,  # type: ignore[no-untyped-def]
    store_of: Callable[[str], Database],
) -> None:
    """A lost store connection is ``RetryLater``: batches wait, then go on; nothing is lost."""
    killed: list[int] = []
    await run_through_store_fault(dovecot, smtp_sink, pg_url, make_settings, store_of(pg_url),
                                  lambda: killed.append(terminate_connections(pg_url)))
    assert killed and killed[0] > 0, "no connection was terminated"


@pytest.mark.timeout(300)
async def test_postgresql_restarted_mid_stream_loses_no_mail_and_answers_none_twice(
    dovecot: Dovecot, smtp_sink: SmtpSink, make_settings,  # type: ignore[no-untyped-def]
    store_of: Callable[[str], Database],
) -> None:
    """The whole server restarts: refused connections for a moment, then a fresh server."""
    with private_postgres() as cluster:
        await run_through_store_fault(dovecot, smtp_sink, cluster.url, make_settings,
                                      store_of(cluster.url), cluster.restart)
