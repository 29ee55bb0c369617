"""The whole pipeline end to end on real parts: Dovecot → Tansu → stages → aiosmtpd.

These are the foundation's acceptance tests: every subscription mail gets exactly one
reply threaded to it, every other mail waits in review, the API reports it, a mail
arriving while running is answered within seconds, and a restart loses and repeats nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mailgen import make_batch, make_mail
from mailroom.broker import free_port
from mailroom.store import MailStatus
from pipeline import running, statuses, wait_until
from servers import Dovecot, SmtpSink

pytestmark = [pytest.mark.integration, pytest.mark.slow]

USER = "support@example.com"


def reply_targets(sink: SmtpSink) -> Counter[str]:
    """How many replies each original Message-ID received."""
    return Counter(str(m["In-Reply-To"]).strip() for m in sink.messages())


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def test_every_subscription_mail_is_answered_once_and_the_rest_wait_in_review(
    dovecot: Dovecot, smtp_sink: SmtpSink, make_settings, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    mails = make_batch(40, automated_every=10)
    dovecot.preload(USER, [m.raw for m in mails])
    wanted = {m.message_id for m in mails if m.wants_reply}
    port = free_port()
    settings = make_settings(dovecot=dovecot, smtp=smtp_sink, api_port=port)

    async with running(settings) as supervisor:
        assert await wait_until(lambda: len(smtp_sink.received) >= len(wanted), 90)
        assert await wait_until(
            lambda: statuses(supervisor).get(MailStatus.COLLECTED, 0) == 0
            and sum(statuses(supervisor).values()) == len(mails), 60)
        await asyncio.sleep(2)  # a duplicate, if any, would arrive now

        targets = reply_targets(smtp_sink)
        assert set(targets) == wanted
        assert all(count == 1 for count in targets.values()), targets
        for message in smtp_sink.messages():
            assert message["Auto-Submitted"] == "auto-replied"
            assert message["References"] and message["In-Reply-To"] in message["References"]
        counts = statuses(supervisor)
        assert counts.get(MailStatus.REPLIED) == len(wanted)
        automated = sum(1 for m in mails if not m.wants_reply and b"Auto-Submitted" in m.raw)
        others = len(mails) - len(wanted) - automated
        assert counts.get(MailStatus.IN_REVIEW, 0) + counts.get(MailStatus.ARCHIVED, 0) == others + automated

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            health = await client.get("/health")
            assert health.status_code == 200, health.text
            body = health.json()
            assert body["status"] == "OK" and body["services"] == {"kafka": True, "smtp": True,
                                                                   "imap": True}
            samples = metric_samples((await client.get("/metrics")).text)
            sent = samples[("emails_processed_total", (("status", "sent"),
                                                      ("topic", "acknowledgement_queue")))]
            assert sent == len(wanted)
            assert samples[("email_queue_size", (("queue_name", "acknowledgement_queue"),))] == 0
            assert samples[("email_queue_size", (("queue_name", "human_review"),))] == \
                counts.get(MailStatus.IN_REVIEW, 0)
            assert any(name == "email_processing_time_seconds_count" for name, _ in samples)

        # a mail that arrives while the pipeline runs is answered within seconds (IDLE)
        late = make_mail(1000, subscription=True)
        before = len(smtp_sink.received)
        dovecot.append(late.raw)
        assert await wait_until(lambda: len(smtp_sink.received) > before, 10)
        assert reply_targets(smtp_sink)[late.message_id] == 1


async def test_a_restart_half_way_loses_nothing_and_answers_nothing_twice(
    dovecot: Dovecot, smtp_sink: SmtpSink, make_settings  # type: ignore[no-untyped-def]
) -> None:
    mails = make_batch(400)
    dovecot.preload(USER, [m.raw for m in mails])
    wanted = {m.message_id for m in mails if m.wants_reply}
    settings = make_settings(dovecot=dovecot, smtp=smtp_sink, max_emails_per_batch=20,
                             kafka_consumer_batch=10)

    def slow_server(envelope: object) -> None:
        time.sleep(0.01)  # a slow SMTP server, so the stop lands half-way

    smtp_sink.behaviour.on_data = slow_server

    async with running(settings):
        assert await wait_until(lambda: len(smtp_sink.received) >= 10, 90)
    # stopped half-way; the embedded broker is gone with everything it held
    assert len(smtp_sink.received) < len(wanted)
    smtp_sink.behaviour.on_data = None
    async with running(settings) as supervisor:
        assert await wait_until(lambda: len(smtp_sink.received) >= len(wanted), 120)
        assert await wait_until(
            lambda: statuses(supervisor).get(MailStatus.IN_REVIEW, 0) == len(mails) - len(wanted), 60)
        await asyncio.sleep(2)
    targets = reply_targets(smtp_sink)
    assert set(targets) == wanted
    assert max(targets.values()) == 1, [k for k, v in targets.items() if v > 1]
