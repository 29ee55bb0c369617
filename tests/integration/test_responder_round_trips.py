"""The responder's fewer round trips keep its guarantees (real aiosmtpd, SQLite and PostgreSQL).

The attempt log's common commit (record_attempts alone) runs as a statement in autocommit:
what proves it durable is that the SMTP server, at every DATA, reads the reply's row as
``sending`` through a connection of its own; a refused DATA (451) puts the reply back to
``claimed`` in a transaction with the retry's start, and the retry goes out once. The
claims of a batch's chunks renew the responder's progress mark once a second at most.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import Envelope
from sqlalchemy import event, select

from mailroom.responder.service import ResponderService
from mailroom.runtime import Runtime, build_runtime
from mailroom.settings import Settings
from mailroom.store import Database, MailStatus, ReplyStatus, progress
from mailroom.store.schema import mails, replies
from responders import queued, routed, seed
from servers import SmtpSink

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

MAILS = 120  # three chunks (PIPELINE_CHUNK) and many group commits


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'mailroom.db'}"
    pg_url: str = request.getfixturevalue("pg_url")
    return pg_url.replace("postgresql://", "postgresql+psycopg://")


@pytest.fixture
def rt(make_settings: Callable[..., Settings], smtp_sink: SmtpSink, db_url: str) -> Iterator[Runtime]:
    runtime = build_runtime(make_settings(smtp=smtp_sink, database_url=db_url, smtp_pool_size=4),
                            "127.0.0.1:1")  # no broker: handle_batch is called directly
    yield runtime
    runtime.db.dispose()


def autocommitting(dbapi_connection: Any) -> bool:
    """Whether the driver runs each statement as its own transaction (psycopg, sqlite3)."""
    if hasattr(dbapi_connection, "autocommit") and isinstance(dbapi_connection.autocommit, bool):
        return dbapi_connection.autocommit
    return dbapi_connection.isolation_level is None


class StatusAtData:
    """The sink's DATA hook: the reply row's status as another connection reads it then,
    and a 451 for the first DATA of ``refuse``."""

    def __init__(self, db: Database, refuse: str) -> None:
        self.db = db
        self.refuse = refuse
        self.seen: dict[str, list[str]] = {}
        self.lock = threading.Lock()

    def __call__(self, envelope: Envelope) -> str | None:
        mail_id = "mail-" + envelope.rcpt_tos[0].split("@")[0].removeprefix("client")
        with self.db.begin() as conn:
            status = conn.execute(select(replies.c.status)
                                  .where(replies.c.mail_id == mail_id)).scalar_one()
        with self.lock:
            self.seen.setdefault(mail_id, []).append(str(status))
            if mail_id == self.refuse and len(self.seen[mail_id]) == 1:
                return "451 4.3.0 try again in a moment"
        return None


async def test_every_data_finds_its_attempt_committed_and_each_reply_goes_once(
        rt: Runtime, smtp_sink: SmtpSink, db_url: str) -> None:
    events = [routed(n) for n in range(1, MAILS + 1)]
    seed(rt, events)
    observer = Database(db_url)
    hook = StatusAtData(observer, refuse="mail-7")
    smtp_sink.behaviour.on_data = hook
    modes: Counter[bool] = Counter()
    marks = 0

    @event.listens_for(rt.db.engine, "before_cursor_execute")
    def _mode(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        nonlocal marks
        if statement.startswith("UPDATE replies") and "RETURNING" in statement:
            modes[autocommitting(conn.connection.dbapi_connection)] += 1
        marks += statement.startswith("INSERT INTO stage_progress")

    service = ResponderService(rt)
    started = time.monotonic()
    try:
        await service.handle_batch(queued(events))
    finally:
        await service.pool.close()
        service.attempts.close()
        observer.dispose()
    # the attempt log's start was durable (visible to another connection) before each DATA
    assert {m: s for m, s in hook.seen.items() if m != "mail-7"} == {
        f"mail-{n}": [ReplyStatus.SENDING] for n in range(1, MAILS + 1) if n != 7}
    assert hook.seen["mail-7"] == [ReplyStatus.SENDING, ReplyStatus.SENDING]  # 451, then again
    assert Counter(r.rcpt_tos[0] for r in smtp_sink.received) == {
        f"client{n}@example.org": 1 for n in range(1, MAILS + 1)}
    with rt.db.begin() as conn:
        rows = {m: (s, a) for m, s, a in conn.execute(
            select(replies.c.mail_id, replies.c.status, replies.c.attempts))}
        statuses = set(conn.execute(select(mails.c.status)).scalars())
        marked = progress.last(conn)
    assert rows == {f"mail-{n}": (ReplyStatus.SENT, 2 if n == 7 else 1)
                    for n in range(1, MAILS + 1)}
    assert statuses == {MailStatus.REPLIED}
    # the commits of starts and ends alone ran in autocommit; the one with the 451's end
    # (claimed again before its retry starts) in a transaction
    assert modes[True] >= 2 and modes[False] >= 1
    # the reconciler's sign of life: marked with the first chunk, then once a second at most
    assert progress.RESPONDER in marked
    assert 1 <= marks <= 1 + int(time.monotonic() - started)
