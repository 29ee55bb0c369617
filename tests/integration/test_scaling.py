"""Horizontal scaling for real: several processes share the partitions through consumer
groups, one is SIGKILLed mid-run, and every mail is still accounted for exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from test_processes import MAILROOM, procs, service_env  # noqa: F401 - fixture re-export

from mailgen import make_batch
from mailroom.broker import EmbeddedBroker, free_port
from mailroom.store import Database, MailStatus, replies
from mailroom.store import mails as mail_store
from servers import Dovecot, SmtpSink

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MAILS = int(os.environ.get("MAILROOM_SCALING_MAILS", "5000"))


def counts(db: Database) -> dict[str, int]:
    with db.begin() as conn:
        return mail_store.count_by(conn, "status")


def test_five_thousand_mails_three_processors_two_responders_one_killed(
    dovecot: Dovecot, smtp_sink: SmtpSink, broker: EmbeddedBroker, pg_url: str, tmp_path: Path,
    procs: list[subprocess.Popen[bytes]],  # noqa: F811
) -> None:
    mails = make_batch(MAILS)
    dovecot.preload("support@example.com", [m.raw for m in mails])
    wanted = {m.message_id for m in mails if m.wants_reply}
    env = service_env(dovecot, smtp_sink, broker, pg_url, tmp_path, free_port())
    env["MAX_EMAILS_PER_BATCH"] = "500"
    subprocess.run([*MAILROOM, "topics", "create"], env=env, check=True, timeout=60)
    logs = tmp_path / "logs"
    logs.mkdir()

    def start(name: str) -> subprocess.Popen[bytes]:
        out = (logs / f"{name}-{len(procs)}.log").open("wb")
        proc = subprocess.Popen([*MAILROOM, name], env=env, stdout=out, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    processors = [start("processor") for _ in range(3)]
    for _ in range(2):
        start("responder")
    start("collector")
    start("collector")  # a second collector must not read the same folder (lease)

    db = Database(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    # kill one processor once the work is under way
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(smtp_sink.received) < len(wanted) // 5:
        time.sleep(0.2)
    victim = random.Random(7).choice(processors)
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        c = counts(db)
        if c.get(MailStatus.REPLIED, 0) == len(wanted) and \
                c.get(MailStatus.IN_REVIEW, 0) == MAILS - len(wanted):
            break
        time.sleep(1)
    time.sleep(3)
    final = counts(db)
    with db.begin() as conn:
        reply_counts = replies.counts(conn)
    db.dispose()
    assert final.get(MailStatus.REPLIED, 0) == len(wanted), (final, reply_counts)
    assert final.get(MailStatus.IN_REVIEW, 0) == MAILS - len(wanted), final
    assert sum(final.values()) == MAILS, final
    targets = Counter(str(m["In-Reply-To"]).strip() for m in smtp_sink.messages())
    assert set(targets) == wanted
    duplicates = {k: v for k, v in targets.items() if v > 1}
    assert not duplicates, f"{len(duplicates)} mails answered twice"
