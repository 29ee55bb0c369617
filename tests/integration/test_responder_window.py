"""The window of doubt is what is on the wire: a responder SIGKILLed mid-batch (real
aiosmtpd sink, real SQLite store), then a fresh responder on the same batch.

What it proves, for a kill during DATA and after DATA (the server stored the message and
its 250 never reached the dead client): at the kill, at most ``SMTP_POOL_SIZE`` replies are
``sending``; the replies the dead responder had claimed but not yet attempted (killed
before their DATA) are sent by the fresh responder automatically, exactly once; the ones
it had on the wire go to review marked uncertain and are never sent again; no mail gets
two replies.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import Envelope
from sqlalchemy import select

from mailroom.responder.service import ResponderService
from mailroom.runtime import build_runtime
from mailroom.settings import Settings
from mailroom.store import MailStatus, ReplyStatus
from mailroom.store import mails as mail_store
from mailroom.store.replies import CUT_OFF
from mailroom.store.schema import replies
from responders import queued, routed, seed
from servers import SmtpSink

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

CHILD = Path(__file__).with_name("responder_once.py")
MAILS = 12
POOL = 2
KILL_AT = 4  # the DATA of the 4th transaction
LEASE = 1.0  # seconds: the dead responder's claims and attempts run out this soon


class KillOnData:
    """The sink's DATA hook: at the ``KILL_AT``-th message, SIGKILL the responder first."""

    def __init__(self, after_data: bool) -> None:
        self.after_data = after_data
        self.child: subprocess.Popen[bytes] | None = None
        self.seen = 0
        self.killed_for: str | None = None  # In-Reply-To of the message on the wire
        self.lock = threading.Lock()

    def __call__(self, envelope: Envelope) -> str | None:
        with self.lock:
            self.seen += 1
            if self.seen != KILL_AT or self.child is None:
                return None
            content = envelope.content if isinstance(envelope.content, bytes) else b""
            self.killed_for = next(line.split(b":", 1)[1].strip().decode()
                                   for line in content.splitlines()
                                   if line.lower().startswith(b"in-reply-to:"))
            os.kill(self.child.pid, signal.SIGKILL)
            self.child.wait(10)
        # after DATA: the server stores it and answers a dead client; during: never stored
        return None if self.after_data else "451 4.3.0 the client went away mid-DATA"


def child_env(settings: Settings, smtp: SmtpSink) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IMAP_", "SMTP_", "KAFKA_", "MAILROOM_", "DATABASE_URL"))}
    return env | {
        "SMTP_SERVER": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_SECURITY": "none",
        "SMTP_EMAIL": smtp.user, "SMTP_PASSWORD": smtp.password,
        "SMTP_POOL_SIZE": str(POOL), "DATABASE_URL": settings.store_url,
        "MAILROOM_DATA_DIR": str(settings.mailroom_data_dir), "DEFAULT_LANGUAGE": "en",
    }


def reply_statuses(rt: Any) -> dict[str, str]:
    with rt.db.begin() as conn:
        return {m: s for m, s in conn.execute(select(replies.c.mail_id, replies.c.status))}


@pytest.mark.parametrize("after_data", [False, True], ids=["during_data", "after_data"])
@pytest.mark.timeout(120)
async def test_a_killed_responder_leaves_only_the_replies_on_the_wire_in_doubt(
        make_settings: Callable[..., Settings], smtp_sink: SmtpSink, tmp_path: Path,
        after_data: bool) -> None:
    settings = make_settings(smtp=smtp_sink, smtp_pool_size=POOL)
    rt = build_runtime(settings, "127.0.0.1:9")  # the batch is handed over directly: no broker
    events = [routed(n) for n in range(1, MAILS + 1)]
    by_target = {e.email.message_id: e.email.mail_id for e in events}
    seed(rt, events)
    batch = tmp_path / "batch.jsonl"
    batch.write_text("".join(e.model_dump_json() + "\n" for e in events))
    hook = KillOnData(after_data)
    smtp_sink.behaviour.on_data = hook
    try:
        # the kill is on the SMTP server's side: the child is killed by the DATA hook
        child = subprocess.Popen([sys.executable, str(CHILD), str(batch), str(LEASE)],
                                 env=child_env(settings, smtp_sink), cwd=tmp_path,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        hook.child = child
        output, _ = await asyncio.to_thread(child.communicate, timeout=60)
        assert child.returncode == -signal.SIGKILL, output.decode()
        assert hook.killed_for in by_target
        killed = by_target[hook.killed_for]

        at_kill = reply_statuses(rt)
        in_doubt = {m for m, s in at_kill.items() if s == ReplyStatus.SENDING}
        not_attempted = {m for m, s in at_kill.items() if s == ReplyStatus.CLAIMED}
        assert killed in in_doubt and len(in_doubt) <= POOL, at_kill
        assert not_attempted, "the kill came after every attempt: nothing was left to re-send"

        await asyncio.sleep(LEASE + 0.2)  # the dead responder's leases run out
        service = ResponderService(rt)
        try:
            await service.handle_batch(queued(events))  # what a redelivery or the reconciler brings
            await service.handle_batch(queued(events))  # and once more: still nothing sent twice
        finally:
            await service.pool.close()
    finally:
        rt.db.dispose()

    sent_to = Counter(by_target[str(m["In-Reply-To"]).strip()] for m in smtp_sink.messages())
    assert max(sent_to.values()) == 1, sent_to
    assert (killed in sent_to) is after_data  # stored only when killed after DATA
    final = reply_statuses(rt)
    with rt.db.begin() as conn:
        mails = {e.email.mail_id: mail_store.get_mail(conn, e.email.mail_id) for e in events}
    for mail_id, row in mails.items():
        assert row is not None
        if mail_id in in_doubt:  # a person decides; the page says why
            assert final[mail_id] == ReplyStatus.UNCERTAIN
            assert row["status"] == MailStatus.IN_REVIEW and row["error"] == CUT_OFF, row
        else:  # sent before the kill, or claimed and sent again now: once either way
            assert final[mail_id] == ReplyStatus.SENT and sent_to[mail_id] == 1, mail_id
            assert row["status"] == MailStatus.REPLIED
    assert not_attempted <= {m for m, s in final.items() if s == ReplyStatus.SENT}
