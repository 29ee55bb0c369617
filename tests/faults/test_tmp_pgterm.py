"""Fault 5: PostgreSQL, the state store, is restarted while the pipeline runs.

This restarts the machine's PostgreSQL cluster, so it also drops other tests' connections:
it runs once per suite and nowhere else.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import Callable

import pytest
from books import SCENARIO_MAILS, all_settled, assert_books, wait_for_books

from mailgen import make_batch
from mailroom.store import Database
from pipeline import running, wait_until
from servers import Dovecot, SmtpSink

pytestmark = [pytest.mark.faults, pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")]

USER = "support@example.com"


def drop_connections(url: str) -> None:
    import psycopg
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        n = conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchone()
        print("terminated", n)


def restart_postgresql() -> None:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions or shutil.which("pg_ctlcluster") is None:
        if os.environ.get("CI"):
            raise RuntimeError("pg_ctlcluster or /etc/postgresql missing")
        pytest.skip("no local PostgreSQL cluster to restart")
    # no pipes: the restarted server inherits them and would hold them open forever
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart"],
                   check=True, timeout=120, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


@pytest.mark.timeout(300)
async def test_postgresql_restarted_mid_stream_loses_no_mail_and_answers_none_twice(
    dovecot: Dovecot, smtp_sink: SmtpSink, pg_url: str, make_settings,  # type: ignore[no-untyped-def]
    store_of: Callable[[str], Database],
) -> None:
    """A lost store connection is ``RetryLater``: batches wait, then go on; nothing is lost."""
    mails = make_batch(SCENARIO_MAILS)
    dovecot.preload(USER, [m.raw for m in mails])
    settings = make_settings(dovecot=dovecot, smtp=smtp_sink, database_url=pg_url,
                             max_emails_per_batch=25)
    db = store_of(pg_url)

    async with running(settings, ["collector", "processor", "responder"]) as supervisor:
        assert await wait_until(lambda: len(smtp_sink.received) >= 20, 120)
        assert len(smtp_sink.received) < len(mails) // 2, "too late to be mid-stream"
        await asyncio.to_thread(drop_connections, pg_url)
        books = await asyncio.to_thread(
            wait_for_books, db, smtp_sink, settled=all_settled(len(mails)), timeout=180)
        assert not [n for n, t in supervisor.tasks.items() if t.done()], "a service stopped"

    import collections
    recv = smtp_sink.received
    first = {}
    dups = []
    for r in recv:
        m = r.message["In-Reply-To"]
        if m in first:
            dups.append((round(first[m]-recv[0].at,2), round(r.at-recv[0].at,2)))
        else:
            first[m] = r.at
    print("DUPS", len(dups), dups[:30])
    assert_books(books, expected_rows=len(mails),
                 wanted_replies=[m.message_id for m in mails if m.wants_reply])
