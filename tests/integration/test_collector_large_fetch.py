"""A FETCH of hundreds of small mails in one response is read without a stack overflow."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from test_collector import (  # noqa: F401 - runtime_for is a fixture
    USER,
    collector,
    events,
    idle_entered,
    read,
    runtime_for,
    until,
)

from mailroom import topics
from mailroom.broker import EmbeddedBroker
from mailroom.collector import folder
from mailroom.runtime import Runtime
from servers import Dovecot

pytestmark = pytest.mark.integration


async def test_one_fetch_of_800_tiny_mails_is_collected_whole(
        broker: EmbeddedBroker, dovecot: Dovecot,
        runtime_for: Callable[..., Runtime],  # noqa: F811 - the fixture
        monkeypatch: pytest.MonkeyPatch) -> None:
    """aioimaplib parses a read recursively per line; 800 tiny mails in one FETCH used to
    raise RecursionError and cut the connection, every time, so the folder never moved."""
    n = 800
    monkeypatch.setattr(folder, "FIRST_BATCH", n)  # one FETCH of all, not a slow start
    tiny = [f"Subject: t{i}\r\nMessage-ID: <tiny{i}@x>\r\n\r\nx\r\n".encode() for i in range(n)]
    dovecot.preload(USER, tiny)
    rt = runtime_for(dovecot=dovecot, max_emails_per_batch=n)
    async with collector(rt):
        await until(idle_entered(rt, f"{USER}/INBOX"), timeout=60, what="catch-up")
        got = events(await read(broker.bootstrap_servers, topics.RAW_EMAILS, n, settle=1.0))
    assert len(got) == n
    assert rt.metrics.registry.get_sample_value(
        "mailroom_collector_fetch_seconds_count", {"mailbox": f"{USER}/INBOX"}) == 1
    assert rt.metrics.registry.get_sample_value(
        "mailroom_collector_reconnects_total", {"mailbox": f"{USER}/INBOX"}) in (None, 0.0)
