"""Replies in doubt: a lost answer after DATA, under each ``UNCERTAIN_REPLY_POLICY``.

The SMTP sink stores the message and answers 250; a proxy drops that answer and the
connection (``smtp_proxy.py``). The responder cannot know whether the reply went out:
under ``review`` (the default) it goes to a person marked uncertain and is never sent
again; under ``resend`` it is sent again (the customer may get it twice, never none).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from smtp_proxy import SmtpCuttingProxy

from mailroom import topics
from mailroom.events import Decision, RawEmail, Route, RoutedEmail
from mailroom.responder.attempts import UNCERTAIN_NOTE
from mailroom.responder.service import ResponderService, RetryPolicy
from mailroom.runner import Item
from mailroom.runtime import Runtime, build_runtime
from mailroom.settings import Settings
from mailroom.store import MailStatus, ReplyStatus
from mailroom.store import mails as mail_store
from mailroom.store import replies as reply_store
from servers import SmtpSink

pytestmark = [pytest.mark.faults, pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")]

QUICK = RetryPolicy(quick_attempts=3, quick_wait=0.05, quick_wait_max=0.1)


def routed(n: int) -> RoutedEmail:
    email = RawEmail(mail_id=f"mail-{n}", account="support@example.com", folder="INBOX", uid=n,
                     message_id=f"<orig-{n}@client.example.org>", subject=f"Alta {n}",
                     from_addr=f"client{n}@example.org", language="es")
    return RoutedEmail(email=email, decision=Decision(
        mail_id=email.mail_id, category="subscription", route=Route.ACKNOWLEDGE, language="es"))


@pytest.fixture
def smtp_proxy(smtp_sink: SmtpSink) -> Iterator[SmtpCuttingProxy]:
    proxy = SmtpCuttingProxy("127.0.0.1", smtp_sink.port)
    proxy.start()
    yield proxy
    proxy.stop()


def runtime_for(make_settings: Callable[..., Settings], sink: SmtpSink, proxy: SmtpCuttingProxy,
                **overrides: object) -> Runtime:
    settings = make_settings(smtp=sink, smtp_pool_size=1, **overrides)
    settings = settings.model_copy(update={"smtp_port": proxy.port})
    return build_runtime(settings, "127.0.0.1:9")  # the batch is handed over directly


async def answer_batch(rt: Runtime, events: list[RoutedEmail]) -> None:
    items = [Item(e, e.email.mail_id, topics.ACKNOWLEDGEMENT_QUEUE, 0, n, time.monotonic())
             for n, e in enumerate(events)]
    service = ResponderService(rt, retry=QUICK)
    try:
        await service.handle_batch(items)
    finally:
        await service.pool.close()


def seeded(rt: Runtime, count: int) -> list[RoutedEmail]:
    events = [routed(n) for n in range(1, count + 1)]
    with rt.db.begin() as conn:
        mail_store.record_collected(conn, [e.email for e in events])
        mail_store.record_decisions(conn, [(e.email, e.decision) for e in events])
    return events


def sent_to(sink: SmtpSink) -> Counter[str]:
    return Counter(str(m["In-Reply-To"]).strip() for m in sink.messages())


@pytest.mark.timeout(60)
async def test_a_lost_250_goes_to_review_marked_uncertain_and_is_never_resent(
        make_settings: Callable[..., Settings], smtp_sink: SmtpSink,
        smtp_proxy: SmtpCuttingProxy) -> None:
    rt = runtime_for(make_settings, smtp_sink, smtp_proxy)
    try:
        events = seeded(rt, 3)
        smtp_proxy.lose_answer_after_data(1)
        await answer_batch(rt, events)
        assert smtp_proxy.answers_lost == 1
        await answer_batch(rt, events)  # a redelivery: nothing is sent again
        with rt.db.begin() as conn:
            rows = {e.email.mail_id: reply_store.get(conn, e.email.mail_id)[0] for e in events}
            mails = {e.email.mail_id: mail_store.get_mail(conn, e.email.mail_id) for e in events}
    finally:
        rt.db.dispose()
    assert sent_to(smtp_sink) == Counter(e.email.message_id for e in events)  # each once
    (doubtful,) = [m for m, r in rows.items() if r["status"] == ReplyStatus.UNCERTAIN]
    assert "no answer after the message was sent" in rows[doubtful]["last_error"]
    doubtful_mail = mails[doubtful]
    assert doubtful_mail is not None and doubtful_mail["status"] == MailStatus.IN_REVIEW
    assert doubtful_mail["error"] == UNCERTAIN_NOTE
    for mail_id, row in rows.items():
        if mail_id != doubtful:
            assert row["status"] == ReplyStatus.SENT
            assert mails[mail_id]["status"] == MailStatus.REPLIED  # type: ignore[index]


@pytest.mark.timeout(60)
async def test_a_lost_250_is_sent_again_under_the_resend_policy(
        make_settings: Callable[..., Settings], smtp_sink: SmtpSink,
        smtp_proxy: SmtpCuttingProxy) -> None:
    rt = runtime_for(make_settings, smtp_sink, smtp_proxy, uncertain_reply_policy="resend")
    try:
        events = seeded(rt, 3)
        smtp_proxy.lose_answer_after_data(1)
        await answer_batch(rt, events)
        assert smtp_proxy.answers_lost == 1
        with rt.db.begin() as conn:
            statuses = {e.email.mail_id: mail_store.get_mail(conn, e.email.mail_id)["status"]  # type: ignore[index]
                        for e in events}
            rows = [r for e in events for r in reply_store.get(conn, e.email.mail_id)]
    finally:
        rt.db.dispose()
    counts = sent_to(smtp_sink)
    assert set(counts) == {e.email.message_id for e in events}
    assert sorted(counts.values()) == [1, 1, 2]  # the lost one went out again: a duplicate
    assert all(r["status"] == ReplyStatus.SENT for r in rows)
    assert set(statuses.values()) == {MailStatus.REPLIED}
