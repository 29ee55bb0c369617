"""One responder batch with every kind of record in it (real broker runtime, aiosmtpd, SQLite).

What it proves: the per-batch phases keep the per-reply guarantees inside one batch: the
rate limit holds between two mails of the same batch, a record delivered twice in one batch
is sent once, a reviewer's reply skips the rate limit, a loop-guarded mail is suppressed, a
header-injecting display name is answered with the name made safe (no Bcc), and every
record is counted once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from mailroom import topics
from mailroom.broker import EmbeddedBroker
from mailroom.responder.service import ResponderService
from mailroom.runtime import Runtime, build_runtime
from mailroom.settings import Settings
from mailroom.store import MailStatus
from mailroom.store import mails as mail_store
from mailroom.store.schema import autoreply_log, suppressions
from responders import queued, routed, seed
from servers import SmtpSink

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]


@pytest.fixture
def rt(make_settings: Callable[..., Settings], broker: EmbeddedBroker,
       smtp_sink: SmtpSink) -> Any:
    runtime = build_runtime(make_settings(smtp=smtp_sink, bootstrap=broker.bootstrap_servers),
                            broker.bootstrap_servers)
    yield runtime
    runtime.db.dispose()


def count(rt: Runtime, status: str) -> float:
    return rt.metrics.registry.get_sample_value(
        "emails_processed_total", {"topic": topics.ACKNOWLEDGEMENT_QUEUE, "status": status}) or 0.0


async def test_one_batch_keeps_every_per_reply_guarantee(rt: Runtime, smtp_sink: SmtpSink) -> None:
    first = routed(1, "ana@example.org")
    same_sender = routed(2, "ANA@example.org")  # same recipient and template: rate limited
    manual = routed(3, "ana@example.org", reply_body="Ya está dada de alta.")
    auto = routed(4, "bot@example.org", headers={"auto-submitted": ["auto-generated"]})
    unsafe = routed(5, "eve@example.org", from_name="Eve\r\nBcc: victim@example.org")
    events = [first, same_sender, first, manual, auto, unsafe]  # ``first`` delivered twice
    seed(rt, events)
    service = ResponderService(rt)
    try:
        outgoing = await service.handle_batch(queued(events))
    finally:
        await service.pool.close()

    assert sorted(str(m["In-Reply-To"]) for m in smtp_sink.messages()) == sorted(
        [first.email.message_id, manual.email.message_id, unsafe.email.message_id])
    (to_eve,) = [r for r in smtp_sink.received if r.in_reply_to == unsafe.email.message_id]
    assert to_eve.rcpt_tos == ["eve@example.org"] and to_eve.message["Bcc"] is None
    assert outgoing == []
    with rt.db.begin() as conn:
        status = {e.email.mail_id: mail_store.get_mail(conn, e.email.mail_id)["status"]  # type: ignore[index]
                  for e in events}
        reasons = dict(conn.execute(select(suppressions.c.mail_id, suppressions.c.reason)).all())
        slots = conn.execute(select(autoreply_log.c.template, autoreply_log.c.mail_id)).all()
    assert status == {"mail-1": MailStatus.REPLIED, "mail-2": MailStatus.SUPPRESSED,
                      "mail-3": MailStatus.REPLIED, "mail-4": MailStatus.SUPPRESSED,
                      "mail-5": MailStatus.REPLIED}
    assert reasons == {"mail-2": "rate_limited", "mail-4": "auto_submitted"}
    # the reviewer's reply (mail-3) took no slot
    assert sorted(slots) == [("*", "mail-1"), ("*", "mail-5")]
    assert (count(rt, "sent"), count(rt, "duplicate"), count(rt, "suppressed"),
            count(rt, "failed")) == (3, 1, 2, 0)
