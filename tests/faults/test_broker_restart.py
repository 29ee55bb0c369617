"""Fault 1: the broker is stopped and restarted, empty, in the middle of the stream."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from books import SCENARIO_MAILS, all_settled, assert_books, poll, slow_relay, wait_for_books
from fault_procs import RestartableBroker, ServiceProcs, dovecot_env

from mailgen import make_batch
from mailroom.store import Database
from servers import Dovecot, SmtpSink

pytestmark = [pytest.mark.faults, pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")]

USER = "support@example.com"


@pytest.mark.timeout(300)
def test_an_empty_broker_restarted_mid_stream_loses_no_mail_and_answers_none_twice(
    dovecot: Dovecot, smtp_sink: SmtpSink, restartable_broker: RestartableBroker, pg_url: str,
    tmp_path: Path, service_procs: Callable[[dict[str, str]], ServiceProcs],
    store_of: Callable[[str], Database],
) -> None:
    """Recovery comes from the store (reconciler) and the IMAP checkpoint, not from Kafka."""
    mails = make_batch(SCENARIO_MAILS)
    dovecot.preload(USER, [m.raw for m in mails])
    slow_relay(smtp_sink)
    env = dovecot_env(dovecot, smtp_sink, restartable_broker.bootstrap_servers, pg_url,
                      tmp_path / "data", MAX_EMAILS_PER_BATCH="25")
    db = store_of(pg_url)  # schema first, as a deployment's migration step
    procs = service_procs(env)
    procs.topics_create()
    for name in ("processor", "responder", "collector"):
        procs.start(name)

    # mid-stream: replies are going out, and most mails are not answered yet
    assert poll(lambda: len(smtp_sink.received) >= 20, 120), procs.tail()
    assert len(smtp_sink.received) < len(mails) // 2, "too late to be mid-stream"
    restartable_broker.restart(down_for=3)
    procs.topics_create()  # the new broker knows no topics

    books = wait_for_books(db, smtp_sink, settled=all_settled(len(mails)), timeout=180)
    assert not procs.exited(), procs.tail()
    assert_books(books, expected_rows=len(mails),
                 wanted_replies=[m.message_id for m in mails if m.wants_reply])
    assert books.by_status["in_review"] == sum(1 for m in mails if not m.wants_reply), books.summary()
