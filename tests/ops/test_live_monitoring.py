"""Prometheus scrapes a running mailroom; alerts and panels answer; an SMTP outage pages.

The real Prometheus and Alertmanager (Debian's packages) run on loopback with the shipped
rules and Alertmanager config; mailroom runs as per-service processes (collector,
processor, responder, api, each serving its own /metrics as in production) on an embedded
broker, PostgreSQL, Dovecot and aiosmtpd.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from monitoring import (
    DASHBOARD,
    RULES,
    Alertmanager,
    Prometheus,
    dashboard_queries,
    grafana_expr,
    shortened_rules,
    start_alertmanager,
    start_prometheus,
    wait_for,
)

from faults.fault_procs import ServiceProcs, service_env
from mailgen import make_batch, make_mail
from mailroom import topics
from mailroom.broker import EmbeddedBroker, free_port
from mailroom.kafka import KafkaClients
from mailroom.store import Database
from mailroom.store import mails as mail_store
from mailroom.store.schema import OPEN_STATUSES
from servers import Dovecot, SmtpSink

pytestmark = [pytest.mark.integration, pytest.mark.slow]

USER = "support@example.com"
STAGES = ("collector", "processor", "responder")
FAULT_ALERT = "MailroomSmtpDown"


@dataclass
class Services(ServiceProcs):
    """mailroom's services, one process each, every one on its own /metrics port."""

    ports: dict[str, int] = field(default_factory=dict)

    def start_all(self) -> None:
        self.topics_create()
        for name in (*STAGES, "api"):
            self.ports[name] = free_port()
            args = () if name == "api" else ("--with-api",)
            self.start(name, *args, API_PORT=str(self.ports[name]))

    def alive(self) -> bool:
        """True while every service runs; AssertionError with their logs once one exited."""
        assert not self.exited(), f"services exited: {self.exited()}\n{self.tail()}"
        return True

    def metrics_targets(self) -> dict[str, str]:
        return {name: f"127.0.0.1:{port}" for name, port in self.ports.items()}

    def stop(self) -> None:
        self.stop_all()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[list[Alertmanager | Prometheus | Services]]:
    """Everything the test started, stopped afterwards in reverse order."""
    started: list[Alertmanager | Prometheus | Services] = []
    yield started
    for thing in reversed(started):
        thing.stop()


def produce_garbage(bootstrap: str) -> None:
    """One record on raw_emails that is not an event: the processor dead-letters it."""
    producer = KafkaClients(bootstrap).producer()
    producer.produce(topics.RAW_EMAILS, value=b"{not an event", key=b"garbage")
    assert producer.flush(30) == 0


def active_alerts(alertmanager: Alertmanager) -> dict[str, dict[str, Any]]:
    """alertname -> alert, of the alerts Alertmanager holds as active."""
    return {a["labels"]["alertname"]: a for a in alertmanager.alerts() if a["status"]["state"] == "active"}


def settled(db: Database, expected: int) -> bool:
    """The store holds at least ``expected`` mails and none is still open."""
    with db.begin() as conn:
        counts = mail_store.count_by(conn, "status")
    return sum(counts.values()) >= expected and not any(counts.get(s, 0) for s in OPEN_STATUSES)


def panel_problems(prometheus: Prometheus, queries: list[tuple[str, str]]) -> list[str]:
    """Panels whose query fails in Prometheus or returns no series."""
    problems = []
    for title, expr in queries:
        try:
            if not prometheus.series_of(grafana_expr(expr)):
                problems.append(f"{title}: {expr!r} returns no series")
        except AssertionError as exc:
            problems.append(f"{title}: {exc}")
    return problems


def test_prometheus_scrapes_mailroom_panels_answer_and_an_smtp_outage_reaches_alertmanager(
    dovecot: Dovecot, smtp_sink: SmtpSink, broker: EmbeddedBroker, pg_url: str,
    store_of: Callable[[str], Database], tmp_path: Path, stack: list[Alertmanager | Prometheus | Services],
) -> None:
    """Real Prometheus + Alertmanager on a running mailroom: every alert and panel query works,
    every panel shows data after traffic, a garbage record fires MailroomDeadLetters, stopping
    SMTP fires MailroomSmtpDown into Alertmanager, and once SMTP is back the parked replies go
    out once each and the alert resolves."""
    mails = make_batch(24, automated_every=6)
    # a second request from a sender just answered: its reply is suppressed (rate limit)
    repeat = make_mail(0, subscription=True)
    dovecot.preload(USER, [m.raw for m in mails] + [repeat.raw])
    wanted = [m for m in mails if m.wants_reply]

    env = service_env(imap_host=dovecot.host, imap_port=dovecot.port, smtp=smtp_sink,
                      bootstrap=broker.bootstrap_servers, db_url=pg_url, data_dir=tmp_path / "data")
    store = store_of(pg_url)  # the schema first, as a deployment's migration step
    services = Services(env, tmp_path / "logs")
    stack.append(services)
    alertmanager = start_alertmanager(tmp_path)
    stack.append(alertmanager)
    services.start_all()
    rules = shortened_rules(tmp_path / "alerts.yml", FAULT_ALERT, for_="5s", window="20s")
    prometheus = start_prometheus(tmp_path, rules, alertmanager, services.metrics_targets())
    stack.append(prometheus)
    # the garbage goes in once Prometheus has scraped every service (the processor's
    # dead-letter counter at 0): increase() sees nothing of a counter first seen at 1
    wait_for(lambda: prometheus.value("count(up == 1)") == len(services.ports), 60,
             "every service scraped", lambda: str(prometheus.target_health()))
    produce_garbage(broker.bootstrap_servers)

    # -- traffic: every mail settled in the store, and Prometheus has seen the replies go out
    wait_for(lambda: services.alive() and len(smtp_sink.messages()) >= len(wanted), 120,
             "every wanted reply sent", services.tail)
    wait_for(lambda: settled(store, len(mails) + 1), 60, "every mail settled in the store",
             services.tail)
    wait_for(lambda: prometheus.value('sum(mailroom_replies_total{outcome="sent"})') >= len(wanted)
             and prometheus.value("sum(mailroom_dead_letters_total)") >= 1
             and prometheus.value("sum(mailroom_replies_suppressed_total)") >= 1,
             30, "sent, dead-lettered and suppressed counts scraped",
             lambda: str(prometheus.series_of("sum by (__name__, outcome, reason, topic) ("
                                              "{__name__=~'mailroom_replies.*|mailroom_dead.*'})")))
    assert set(prometheus.target_health().values()) == {"up"}, prometheus.target_health()
    assert set(prometheus.target_health()) == set(services.ports)

    # -- every alert expression evaluates; the SMTP alert stays quiet while replies go out
    shipped = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in shipped["groups"]:
        for rule in group["rules"]:
            prometheus.query(rule["expr"])
    # and the rule manager evaluated each loaded rule without error
    health = prometheus.rule_health()
    assert len(health) == sum(len(g["rules"]) for g in shipped["groups"]), health
    assert set(health.values()) == {"ok"}, health
    assert FAULT_ALERT not in prometheus.alert_states()
    # the garbage record is a real fault: the dead-letter alert (no `for:`) fires at once
    wait_for(lambda: prometheus.alert_states().get("MailroomDeadLetters") == "firing", 30,
             "MailroomDeadLetters firing", lambda: str(prometheus.alert_states()))

    # -- every panel query evaluates and shows series; the mailbox variable has values
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queries = dashboard_queries(dashboard)
    # a counter born with the last scrape has one sample, and rate() needs two: wait a scrape
    wait_for(lambda: not panel_problems(prometheus, queries), 30, "every panel shows series",
             lambda: str(panel_problems(prometheus, queries)))
    mailboxes = httpx.get(f"{prometheus.url}/api/v1/label/mailbox/values",
                          params={"match[]": "mailroom_collector_mailbox_up"}, timeout=5).json()
    assert mailboxes["data"], mailboxes
    # the check is not vacuous: a panel reading a metric mailroom does not export is caught
    title, expr = next((t, e) for t, e in queries if "mailroom_replies_total" in e)
    broken = [(title, expr.replace("mailroom_replies_total", "mailroom_replys_total"))]
    assert panel_problems(prometheus, broken), "a panel on a missing metric passed"

    # -- fault: the SMTP server stops; new subscription requests cannot be answered
    smtp_sink.stop()
    fresh = [make_mail(1000 + i, subscription=True) for i in range(4)]
    for mail in fresh:
        dovecot.append(mail.raw)
    wait_for(lambda: prometheus.alert_states().get(FAULT_ALERT) == "firing", 90,
             f"{FAULT_ALERT} firing in Prometheus",
             lambda: f"{prometheus.alert_states()}\n{services.tail()}")
    wait_for(lambda: FAULT_ALERT in active_alerts(alertmanager), 30,
             f"{FAULT_ALERT} active in Alertmanager", alertmanager.tail)
    received = active_alerts(alertmanager)[FAULT_ALERT]
    assert received["labels"]["severity"] == "critical"
    assert received["annotations"]["summary"] == "Replies fail and none was sent for 10 minutes"
    # the garbage record paged too, naming its topic (the shipped rule, unchanged)
    assert active_alerts(alertmanager)["MailroomDeadLetters"]["labels"]["topic"] == topics.RAW_EMAILS
    assert len(smtp_sink.messages()) == len(wanted), "a reply went out while SMTP was down"

    # -- recovery: SMTP answers again; the parked replies go out once each, the alert resolves
    smtp_sink.start()
    wait_for(lambda: services.alive() and len(smtp_sink.messages()) >= len(wanted) + len(fresh)
             and settled(store, len(mails) + 1 + len(fresh)), 90, "parked replies sent",
             services.tail)
    wait_for(lambda: FAULT_ALERT not in prometheus.alert_states(), 30, f"{FAULT_ALERT} resolved",
             lambda: str(prometheus.alert_states()))
    answered = Counter(str(m["In-Reply-To"]).strip() for m in smtp_sink.messages())
    assert max(answered.values()) == 1, answered
    # user0 asked twice: whichever request came first is answered, the other suppressed
    pair = {mails[0].message_id, repeat.message_id}
    assert len(set(answered) & pair) == 1, answered
    assert set(answered) - pair == {m.message_id for m in [*wanted, *fresh]} - pair, answered
