"""`mailroom up` must run for weeks: the embedded broker's memory stays flat once caught up.

Tansu keeps every record in memory and enforces no retention, so the supervisor recycles
the topics when every stage has caught up. Several batches of large mails go through; the
broker's resident memory after the last batch must not have grown by what it was fed.
"""

from __future__ import annotations

import resource

import pytest

from mailgen import make_mail
from pipeline import running, settle_and_recycle
from servers import Dovecot, SmtpSink

# serial: the service's peak RSS depends on how far the stages fall behind each other, which
# the load of the parallel run changes
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.serial]

BATCHES = 4
PER_BATCH = 150
PADDING = b"x" * 60_000  # ~60 KB per mail: ~9 MB of mail per batch, three records each


def padded(i: int) -> bytes:
    raw = make_mail(i, subscription=i % 2 == 0).raw
    return raw + b"\n" + b"\n".join(PADDING[k:k + 76] for k in range(0, len(PADDING), 76)) + b"\n"


async def test_broker_and_service_memory_stay_flat_across_batches(
    dovecot: Dovecot, smtp_sink: SmtpSink, make_settings  # type: ignore[no-untyped-def]
) -> None:
    settings = make_settings(dovecot=dovecot, smtp=smtp_sink, embedded_recycle_records=PER_BATCH,
                             max_emails_per_batch=50)
    broker_rss: list[int] = []
    service_rss: list[int] = []
    async with running(settings) as supervisor:
        assert supervisor.broker is not None
        for batch in range(BATCHES):
            start = batch * PER_BATCH
            dovecot.preload("support@example.com", [padded(i) for i in range(start, start + PER_BATCH)])
            total = start + PER_BATCH

            await settle_and_recycle(supervisor, total)
            broker_rss.append(supervisor.broker.rss_bytes())
            service_rss.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
        assert smtp_sink.wait_for(BATCHES * PER_BATCH // 2, 30)

    fed = PER_BATCH * len(PADDING) * 3 * (BATCHES - 1)  # what an unbounded broker would keep
    growth = broker_rss[-1] - broker_rss[0]
    print(f"broker RSS per batch (MB): {[round(r / 2**20, 1) for r in broker_rss]}")
    print(f"service peak RSS per batch (MB): {[round(r / 2**20, 1) for r in service_rss]}")
    assert growth < fed / 4, f"broker grew {growth / 2**20:.1f} MB after {fed / 2**20:.1f} MB fed"
    assert service_rss[-1] - service_rss[1] < 100 * 2**20
