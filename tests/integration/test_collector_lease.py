"""Several collectors on one folder: the store's lease lets exactly one of them read it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from test_collector import (  # noqa: F401 - runtime_for is a fixture
    USER,
    collector,
    events,
    idle_entered,
    make_mail,
    read,
    runtime_for,
    until,
)

from mailroom import topics
from mailroom.broker import EmbeddedBroker
from mailroom.runtime import Runtime
from servers import Dovecot

pytestmark = pytest.mark.integration


async def test_two_collectors_on_one_folder_publish_each_mail_once(
        broker: EmbeddedBroker, dovecot: Dovecot,
        runtime_for: Callable[..., Runtime]) -> None:  # noqa: F811 - the fixture
    """The second collector stands by while the first holds the lease: no mail twice."""
    n = 40
    dovecot.preload(USER, [make_mail(i, tag="lease") for i in range(n)])
    first = runtime_for(dovecot=dovecot, max_emails_per_batch=5)
    second = runtime_for(dovecot=dovecot, max_emails_per_batch=5)
    second.instance = "second-collector"
    async with collector(first), collector(second):
        await until(lambda: idle_entered(first, f"{USER}/INBOX")()
                    or idle_entered(second, f"{USER}/INBOX")(), what="one collector reading")
        got = events(await read(broker.bootstrap_servers, topics.RAW_EMAILS, n, settle=4.0))
        details = [rt.health[f"imap:{USER}/INBOX"].detail for rt in (first, second)]
    assert len(got) == n, f"{len(got)} events for {n} mails"
    assert sum("standby" in d for d in details) == 1, details
