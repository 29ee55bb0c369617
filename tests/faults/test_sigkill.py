"""Fault 2: services are SIGKILLed at random points, several times, and restarted."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from books import SCENARIO_MAILS, all_settled, assert_books, poll, wait_for_books
from fault_procs import RestartableBroker, ServiceProcs, dovecot_env

from mailgen import make_batch
from mailroom.store import Database
from servers import Dovecot, SmtpSink

pytestmark = [pytest.mark.faults, pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")]

USER = "support@example.com"
STAGES = ("collector", "processor", "responder")


@pytest.mark.timeout(360)
def test_each_service_sigkilled_at_random_points_and_restarted_loses_and_repeats_nothing(
    dovecot: Dovecot, smtp_sink: SmtpSink, restartable_broker: RestartableBroker, pg_url: str,
    tmp_path: Path, service_procs: Callable[[dict[str, str]], ServiceProcs],
    store_of: Callable[[str], Database],
) -> None:
    """Each stage is killed at least once (5 kills in all) while work is in flight."""
    rng = random.Random(9)
    mails = make_batch(SCENARIO_MAILS)
    dovecot.preload(USER, [m.raw for m in mails])
    env = dovecot_env(dovecot, smtp_sink, restartable_broker.bootstrap_servers, pg_url,
                      tmp_path / "data", MAX_EMAILS_PER_BATCH="20", SMTP_TIMEOUT="5",
                      KAFKA_CONSUMER_BATCH="50")
    db = store_of(pg_url)  # schema first, as a deployment's migration step

    def slow_server(_envelope: object) -> None:
        time.sleep(0.03)  # a real server's pace, so the kills land while work is in flight

    smtp_sink.behaviour.on_data = slow_server
    procs = service_procs(env)
    procs.topics_create()
    for name in STAGES:
        procs.start(name)
    assert poll(lambda: len(smtp_sink.received) >= 5, 120), procs.tail()

    victims = [*STAGES, *rng.sample(STAGES, 2)]
    rng.shuffle(victims)
    sent_at_kill: list[int] = []
    for victim in victims:
        time.sleep(rng.uniform(0.5, 4.0))  # a random point of its work
        sent_at_kill.append(len(smtp_sink.received))
        procs.kill(victim)
        time.sleep(rng.uniform(0.2, 1.5))
        procs.start(victim)
    assert set(procs.kills) == set(STAGES)
    wanted = [m.message_id for m in mails if m.wants_reply]
    assert sent_at_kill[0] < len(wanted), f"the first kill came after the work: {sent_at_kill}"

    # a responder killed mid-send holds its claim until the lease ends; allow for it
    books = wait_for_books(db, smtp_sink, settled=all_settled(len(mails)), timeout=240)
    assert not procs.exited(), procs.tail()
    assert_books(books, expected_rows=len(mails), wanted_replies=wanted)
