"""The processor's metrics for a batch, with each labelled child looked up once per batch
(issue 21): every mail still counted once, under the labels it was counted under before."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from mailroom.events import RawEmail
from mailroom.kafka import KafkaClients
from mailroom.metrics import Metrics
from mailroom.processor.service import ProcessorService
from mailroom.runner import Item
from mailroom.runtime import Runtime
from mailroom.settings import Settings
from mailroom.store import Database, MailStatus
from mailroom.store import mails as mail_store

pytestmark = pytest.mark.integration

SUBJECTS = ["Suscripción al boletín", "Question about invoice 42", "subscription offer"]
TEXTS = ["Hello, I would like to subscribe to the newsletter, please.",
         "The amount on invoice 42 is wrong.", "Buy now"]


def mail(n: int) -> RawEmail:
    headers = {"x-spam-flag": ["YES"]} if n % 3 == 2 else {}
    return RawEmail.model_validate({
        "mail_id": f"mail-{n}", "account": "support@example.com", "folder": "INBOX", "uid": n,
        "message_id": f"<{n}@example.org>", "subject": SUBJECTS[n % 3],
        "from_addr": f"user{n}@example.org", "return_path": f"<user{n}@example.org>",
        "language": "es" if n % 3 == 0 else "en", "text": TEXTS[n % 3], "headers": headers})


async def test_every_mail_is_counted_once_under_its_own_labels(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, mailroom_data_dir=tmp_path / "data",  # type: ignore[call-arg]
                        database_url=f"sqlite:///{tmp_path / 'store.db'}",
                        imap_email="support@example.com", smtp_email="replies@example.com",
                        default_language="en")
    db = Database(settings.store_url)
    db.create_schema()
    rt = Runtime(settings=settings, db=db, kafka=KafkaClients("127.0.0.1:1"), metrics=Metrics())
    service = ProcessorService(rt)
    mails = [mail(n) for n in range(30)]
    with db.begin() as conn:
        mail_store.record_collected(conn, mails)
        for n in (0, 4, 5):  # settled already: counted as settled, not routed
            mail_store.set_status(conn, f"mail-{n}", MailStatus.REPLIED)
    now = time.monotonic()
    items = [Item(m, m.mail_id, "raw_emails", 0, i, now) for i, m in enumerate(mails)]
    await service.handle_batch(items)

    with db.begin() as conn:
        rows = {m.mail_id: mail_store.get_mail(conn, m.mail_id) for m in mails}
    settled = {"mail-0", "mail-4", "mail-5"}
    routes = Counter(str(r["route"]) for k, r in rows.items() if r and k not in settled)
    decided = Counter((str(r["category"]), str(r["rule"] or "")) for k, r in rows.items()
                      if r and k not in settled)
    sample = rt.metrics.registry.get_sample_value
    assert sample("emails_processed_total", {"topic": "raw_emails", "status": "settled"}) == 3
    for route, count in routes.items():
        assert sample("emails_processed_total", {"topic": "raw_emails", "status": route}) == count
    for (category, rule), count in decided.items():
        assert sample("mailroom_decisions_total",
                      {"category": category, "rule": rule}) == count
    assert len(routes) >= 2 and sum(routes.values()) == 27
    families = {m.name: m for m in rt.metrics.registry.collect()}
    counts = [s for m in families.values() for s in m.samples if s.name.endswith("_count")]
    assert any(s.value == 30 for s in counts)  # the processing time: every mail of the batch
    assert any(s.value == 27 for s in counts)  # the confidence: every mail routed
    db.dispose()
