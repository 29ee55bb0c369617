"""What every service is handed: settings, the store, Kafka clients, metrics, health."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from mailroom.events import utcnow
from mailroom.kafka import KafkaClients
from mailroom.logs import redact
from mailroom.metrics import Metrics
from mailroom.responder.pace import budget_of
from mailroom.settings import Settings
from mailroom.store import Database, MailStatus
from mailroom.store import dead_letters as dead_letter_store
from mailroom.store import mails as mail_store
from mailroom.store import pace as pace_store
from mailroom.store import review as review_store

log = logging.getLogger(__name__)

# the statuses that are a queue: what email_queue_size reports
QUEUED = (MailStatus.COLLECTED, MailStatus.AWAITING_REPLY, MailStatus.IN_REVIEW)


@dataclass
class ComponentHealth:
    ok: bool
    detail: str = ""
    since: datetime = field(default_factory=utcnow)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    kafka: KafkaClients
    metrics: Metrics
    # per-mailbox and per-service health reported by the running services
    health: dict[str, ComponentHealth] = field(default_factory=dict)
    instance: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")

    def report(self, component: str, ok: bool, detail: str = "") -> None:
        """Record what a stage sees of a dependency; the log says it once when the
        dependency goes down and once when it comes back, however often it is reported."""
        detail = redact(detail)  # a server's or library's text may quote a credential
        previous = self.health.get(component)
        if previous is None or previous.ok != ok or previous.detail != detail:
            same_state = previous is not None and previous.ok == ok
            self.health[component] = ComponentHealth(
                ok, detail, previous.since if previous is not None and same_state else utcnow())
        if not ok and (previous is None or previous.ok):
            log.warning("%s is down: %s", component, detail or "no detail")
        elif ok and previous is not None and not previous.ok:
            log.info("%s is back (down since %s)", component,
                        previous.since.isoformat(timespec="seconds"))

    def oldest_review_age(self) -> float:
        with self.db.begin() as conn:
            return review_store.oldest_waiting_seconds(conn)

    def send_pace(self) -> tuple[float | None, int]:
        """The send pace now (None: no per-second pace set) and the replies waiting to go."""
        budget = budget_of(self.settings)
        with self.db.begin() as conn:
            found, waiting = pace_store.shown(conn, budget, now=time.time())
        return (found.pace if found is not None and budget.per_second else None), waiting

    def queue_sizes(self) -> dict[str, int]:
        with self.db.begin() as conn:
            return queue_sizes_of(mail_store.count_in(conn, QUEUED),
                                  dead_letter_store.count_open(conn))


def queue_sizes_of(by_status: Mapping[str, int], open_dead_letters: int) -> dict[str, int]:
    """``email_queue_size`` per queue from mail counts per status."""
    return {
        "raw_emails": by_status.get(MailStatus.COLLECTED, 0),
        "acknowledgement_queue": by_status.get(MailStatus.AWAITING_REPLY, 0),
        "human_review": by_status.get(MailStatus.IN_REVIEW, 0),
        "dead_letter": open_dead_letters,
    }


def build_runtime(settings: Settings, bootstrap_servers: str | None = None) -> Runtime:
    db = Database(settings.store_url)
    db.create_schema()
    kafka = KafkaClients(
        bootstrap_servers or settings.kafka_bootstrap_servers,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        group_prefix=settings.kafka_group_prefix,
    )
    metrics = Metrics()
    runtime = Runtime(settings=settings, db=db, kafka=kafka, metrics=metrics)
    metrics.watch_queues(runtime.queue_sizes)
    metrics.watch_review_age(runtime.oldest_review_age)
    metrics.watch_pace(runtime.send_pace)
    return runtime
