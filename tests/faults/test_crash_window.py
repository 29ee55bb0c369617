"""Replies in doubt: a lost answer after DATA, under each ``UNCERTAIN_REPLY_POLICY``.

The SMTP sink stores the message and answers 250; a proxy drops that answer and the
connection (``smtp_proxy.py``). The responder cannot know whether the reply went out:
under ``review`` (the default) it goes to a person marked uncertain and is never sent
again; under ``resend`` it is sent again (the customer may get it twice, never none).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import Envelope
from books import Books, all_settled, assert_books, bare_id, poll, wait_for_books
from fault_procs import RestartableBroker, ServiceProcs
from smtp_proxy import SmtpCuttingProxy
from sqlalchemy import select

from mailgen import make_batch
from mailroom.broker import brokers_on, free_port
from mailroom.events import RoutedEmail
from mailroom.responder.attempts import UNCERTAIN_NOTE
from mailroom.responder.service import ResponderService, RetryPolicy
from mailroom.runtime import Runtime, build_runtime
from mailroom.settings import Settings
from mailroom.store import Database, MailStatus, ReplyStatus
from mailroom.store import mails as mail_store
from mailroom.store import replies as reply_store
from mailroom.store.schema import replies
from responders import queued, replies_to, routed, seed
from servers import Dovecot, SmtpSink

pytestmark = [pytest.mark.faults, pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")]

USER = "support@example.com"
QUICK = RetryPolicy(quick_attempts=3, quick_wait=0.05, quick_wait_max=0.1)


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
    service = ResponderService(rt, retry=QUICK)
    try:
        await service.handle_batch(queued(events))
    finally:
        await service.pool.close()


def seeded(rt: Runtime, count: int) -> list[RoutedEmail]:
    events = [routed(n) for n in range(1, count + 1)]
    seed(rt, events)
    return events


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
    assert replies_to(smtp_sink) == Counter(e.email.message_id for e in events)  # each once
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
    counts = replies_to(smtp_sink)
    assert set(counts) == {e.email.message_id for e in events}
    assert sorted(counts.values()) == [1, 1, 2]  # the lost one went out again: a duplicate
    assert all(r["status"] == ReplyStatus.SENT for r in rows)
    assert set(statuses.values()) == {MailStatus.REPLIED}


# -- the scenario: `mailroom up` on its defaults, killed twice ------------------------

BACKLOG = 3000
REFUSALS = 20  # DATA answered 451, spread over the run
LOST_ANSWERS = 3  # 250s the proxy drops after the server stored the message
# SMTP_POOL_SIZE's default, the bound per killed responder
POOL_SIZE = int(Settings.model_fields["smtp_pool_size"].default)


class SlowlyRefusing:
    """The sink's DATA hook: a real server's pace, and 451 for every 25th message, 20 times."""

    def __init__(self) -> None:
        self.seen = 0
        self.refused = 0
        self.lock = threading.Lock()

    def __call__(self, _envelope: Envelope) -> str | None:
        time.sleep(0.005)
        with self.lock:
            self.seen += 1
            if self.refused < REFUSALS and self.seen % 25 == 0:
                self.refused += 1
                return "451 4.3.0 Local problem, try later"
        return None


def up_env(dovecot: Dovecot, proxy: SmtpCuttingProxy, sink: SmtpSink, data_dir: Path,
           broker_port: int) -> dict[str, str]:
    """Only what a new user must set (servers, logins) and ports: every other setting default."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IMAP_", "SMTP_", "KAFKA_", "MAILROOM_", "DATABASE_URL",
                                "EMBEDDED_", "API_", "RECONCILE", "POLLING", "UNCERTAIN"))}
    user, password = next(iter(dovecot.users.items()))
    return env | {
        "IMAP_SERVER": dovecot.host, "IMAP_PORT": str(dovecot.port), "IMAP_SECURITY": "none",
        "IMAP_EMAIL": user, "IMAP_PASSWORD": password,
        "SMTP_SERVER": "127.0.0.1", "SMTP_PORT": str(proxy.port), "SMTP_SECURITY": "none",
        "SMTP_EMAIL": sink.user, "SMTP_PASSWORD": sink.password,
        "MAILROOM_DATA_DIR": str(data_dir), "API_PORT": str(free_port()),
        # 9092 on a user's machine; a port of its own here, the same across restarts
        "EMBEDDED_BROKER_PORT": str(broker_port),
    }


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_mailroom_up_killed_twice_leaves_at_most_the_replies_on_the_wire_in_doubt(
        dovecot: Dovecot, smtp_sink: SmtpSink, smtp_proxy: SmtpCuttingProxy, tmp_path: Path,
        service_procs: Callable[[dict[str, str]], ServiceProcs]) -> None:
    """3,000 mails, two SIGKILLs of ``mailroom up`` 8 s apart, 451 ×20, 3 lost 250s.

    Every keyword mail is answered exactly once except at most 2 × SMTP_POOL_SIZE + 3 in
    doubt, each in review marked uncertain; no mail answered twice; no broker left behind.
    """
    mails = make_batch(BACKLOG)
    dovecot.preload(USER, [m.raw for m in mails])
    wanted = [m.message_id for m in mails if m.wants_reply]
    refusing = SlowlyRefusing()
    smtp_sink.behaviour.on_data = refusing
    smtp_proxy.lose_answer_after_data(LOST_ANSWERS)
    broker_port = free_port()
    procs = service_procs(up_env(dovecot, smtp_proxy, smtp_sink, tmp_path / "data", broker_port))

    procs.start("up")
    assert poll(lambda: len(smtp_sink.received) >= 100, 180), procs.tail()
    for _ in range(2):  # killed mid-drain, started again at once (as a supervisor would)
        procs.kill("up")
        assert poll(lambda: not brokers_on("127.0.0.1", broker_port), 10), \
            "the embedded broker outlived its mailroom"
        procs.start("up")
        time.sleep(8)
    assert len(smtp_sink.received) < len(wanted), "the kills came after the work"
    assert procs.kills == ["up", "up"]

    db = Database(f"sqlite:///{(tmp_path / 'data' / 'mailroom.db').resolve()}")
    try:
        # the dead runs' attempts go to review once their lease ran out (SMTP_TIMEOUT × 4 + 15 s)
        books = wait_for_books(db, smtp_sink, settled=all_settled(len(mails)), timeout=600)
        with db.begin() as conn:
            reply_rows = {str(m): str(s) for m, s in conn.execute(
                select(replies.c.mail_id, replies.c.status))}
    finally:
        db.dispose()
    assert not procs.exited(), procs.tail()
    assert not procs.stop_all(), procs.tail()  # each stopped on SIGTERM, none needed a kill
    assert not brokers_on("127.0.0.1", broker_port), "a broker was left running"

    assert_only_the_wire_in_doubt(books, reply_rows, wanted, refusing, smtp_proxy, len(mails))


def assert_only_the_wire_in_doubt(books: Books, reply_rows: dict[str, str], wanted: list[str],
                                  refusing: SlowlyRefusing, proxy: SmtpCuttingProxy,
                                  expected_rows: int) -> None:
    """The issue's "done when": faults happened; every keyword mail answered exactly once
    except at most 2 x SMTP_POOL_SIZE + 3 in doubt, each in review marked uncertain."""
    assert refusing.refused == REFUSALS and proxy.answers_lost == LOST_ANSWERS
    assert_books(books, expected_rows=expected_rows, wanted_replies=wanted)  # 0 duplicates
    in_doubt = books.in_doubt
    assert len(in_doubt) <= 2 * POOL_SIZE + LOST_ANSWERS, books.summary()
    unanswered = [m for m in wanted if books.replies.get(bare_id(m), 0) == 0]
    assert {bare_id(m) for m in unanswered} <= in_doubt  # each unanswered one is in review
    for mail_id, row in books.rows.items():
        if bare_id(str(row["message_id"])) in in_doubt:
            assert reply_rows[mail_id] == ReplyStatus.UNCERTAIN and \
                row["status"] == MailStatus.IN_REVIEW, row


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_split_services_on_postgresql_responder_killed_twice_leaves_only_the_wire_in_doubt(
        dovecot: Dovecot, smtp_sink: SmtpSink, smtp_proxy: SmtpCuttingProxy, tmp_path: Path,
        restartable_broker: RestartableBroker, pg_url: str,
        service_procs: Callable[[dict[str, str]], ServiceProcs],
        store_of: Callable[[str], Database]) -> None:
    """The same faults with one process per service on PostgreSQL; the responder is killed."""
    mails = make_batch(BACKLOG)
    dovecot.preload(USER, [m.raw for m in mails])
    wanted = [m.message_id for m in mails if m.wants_reply]
    refusing = SlowlyRefusing()
    smtp_sink.behaviour.on_data = refusing
    smtp_proxy.lose_answer_after_data(LOST_ANSWERS)
    env = up_env(dovecot, smtp_proxy, smtp_sink, tmp_path / "data", 0) | {
        "KAFKA_BOOTSTRAP_SERVERS": restartable_broker.bootstrap_servers, "DATABASE_URL": pg_url}
    db = store_of(pg_url)  # schema first, as a deployment's migration step
    procs = service_procs(env)
    procs.topics_create()
    for name in ("collector", "processor", "responder"):
        procs.start(name)
    assert poll(lambda: len(smtp_sink.received) >= 100, 180), procs.tail()
    for _ in range(2):
        procs.kill("responder")
        procs.start("responder")
        time.sleep(8)
    assert len(smtp_sink.received) < len(wanted), "the kills came after the work"

    books = wait_for_books(db, smtp_sink, settled=all_settled(len(mails)), timeout=600)
    with db.begin() as conn:
        reply_rows = {str(m): str(s) for m, s in conn.execute(
            select(replies.c.mail_id, replies.c.status))}
    assert not procs.exited(), procs.tail()
    # no process of the run left: each service stops on SIGTERM, none needs a kill
    assert not procs.stop_all(), procs.tail()
    assert all(p.poll() is not None for p in procs.everything)
    assert_only_the_wire_in_doubt(books, reply_rows, wanted, refusing, smtp_proxy, len(mails))
