"""Health checks: Kafka, SMTP, the state store and every watched IMAP folder.

Kafka, SMTP (connect and EHLO, no login, nothing sent) and the store are asked directly,
each bounded by a timeout. IMAP is not: the collector stamps each folder's last successful
round and last failure in the store (``collector/liveness.py``), and a folder counts as up
while its last round is recent; this API never logs in to IMAP. What a stage in this
process reports (``Runtime.report``) counts at once. Results are cached for
``API_HEALTH_CACHE_SECONDS`` and shared by every caller; only authenticated callers see
the details (hosts, ports, addresses, errors).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from mailroom import dependencies
from mailroom.api.models import CheckResult, Health, HealthServices, Probe
from mailroom.collector.liveness import stale_after
from mailroom.collector.mailboxes import HEALTH_PREFIX, health_component, load_accounts
from mailroom.errors import RetryLater
from mailroom.events import utcnow
from mailroom.runtime import ComponentHealth, Runtime
from mailroom.settings import ConfigError
from mailroom.store import mailbox_health
from mailroom.store.mailbox_health import MailboxRound

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 3.0


async def timed(name: str, check: Callable[[], Awaitable[str | None]],
                timeout: float = CHECK_TIMEOUT) -> CheckResult:
    """Run ``check`` (None = fine, a string = what failed) within ``timeout``."""
    started = time.monotonic()
    problem = await dependencies.problem_of(check, timeout)
    return CheckResult(name=name, ok=problem is None, detail=problem or "",
                       seconds=round(time.monotonic() - started, 4))


async def check_kafka(rt: Runtime, timeout: float = CHECK_TIMEOUT) -> str | None:
    if not rt.kafka.bootstrap_servers:
        return "KAFKA_BOOTSTRAP_SERVERS not set"
    ok = await asyncio.to_thread(rt.kafka.ping, max(0.5, timeout - 0.5))
    return None if ok else f"broker {rt.kafka.bootstrap_servers} did not answer"


async def check_store(rt: Runtime) -> str | None:
    return None if await asyncio.to_thread(rt.db.ping) else "state store did not answer"


async def check_smtp(rt: Runtime, timeout: float = CHECK_TIMEOUT) -> str | None:
    """Connect and EHLO (with TLS per settings); nothing is sent, no login is tried."""
    reported = rt.health.get("smtp")
    if reported is not None and not reported.ok:
        return reported.detail or "the responder cannot reach it"
    return await dependencies.smtp_problem(rt.settings, timeout)  # says when SMTP_SERVER is unset


def judge_mailboxes(components: list[str], rounds: Mapping[str, MailboxRound],
                    reports: Mapping[str, ComponentHealth], now: datetime,
                    stale_seconds: float) -> list[CheckResult]:
    """One check per watched folder from the collector's stamps and live reports (pure)."""
    results = []
    for name in components:
        report, stamp = reports.get(name), rounds.get(name)
        ok_at = stamp.ok_at if stamp is not None else None
        failed_at = stamp.failed_at if stamp is not None else None
        age = (now - ok_at).total_seconds() if ok_at is not None else None
        if report is not None and not report.ok:
            ok, detail = False, report.detail
        elif stamp is not None and failed_at is not None and (ok_at is None or failed_at > ok_at):
            ok, detail = False, stamp.detail or "the last round failed"
        elif age is not None and age <= stale_seconds:
            ok, detail = True, f"last successful round {age:.0f} s ago"
        elif age is not None:
            ok, detail = False, f"no successful round for {age:.0f} s"
        elif report is not None:
            ok, detail = True, report.detail  # connected, its first round under way
        else:
            ok, detail = False, "no successful round yet"
        results.append(CheckResult(name=name, ok=ok, detail=detail,
                                   last_round_seconds_ago=None if age is None else round(age, 1)))
    return results


def mailbox_checks(rt: Runtime, now: datetime | None = None) -> list[CheckResult]:
    """Every watched folder: those configured here, those a collector stamped, those a
    stage in this process reports."""
    now = now or utcnow()
    try:
        configured = [health_component(a.name, f) for a in load_accounts(rt.settings)
                      for f in a.folders]
    except ConfigError:
        configured = []  # an API alone need not know the mailboxes: the stamps name them
    try:
        with rt.db.begin() as conn:
            rounds = mailbox_health.read(conn)
    except RetryLater as exc:
        log.warning("health: mailbox rounds unreadable: %s", exc.reason)
        return [CheckResult(name="imap", ok=False, detail="state store did not answer")]
    reports = {k: v for k, v in rt.health.items() if k.startswith(HEALTH_PREFIX)}
    names = sorted(set(configured or rounds) | set(reports))
    if not names:
        return [CheckResult(name="imap", ok=False,
                            detail="no mailbox configured (IMAP_SERVER/MAILROOM_MAILBOXES)")]
    return judge_mailboxes(names, rounds, reports, now, stale_after(rt.settings))


def summarise(kafka: CheckResult, smtp: CheckResult, store: CheckResult,
              imap: list[CheckResult]) -> Health:
    """Fold check results into the /health body (pure)."""
    checks = [kafka, smtp, store, *imap]
    services = HealthServices(kafka=kafka.ok, smtp=smtp.ok, imap=all(c.ok for c in imap))
    ok = services.kafka and services.smtp and services.imap and store.ok
    details = "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.ok)
    return Health(status="OK" if ok else "DEGRADED", services=services, store=store.ok,
                  details=details, timestamp=utcnow(), checks=checks)


def public_view(health: Health) -> Health:
    """What anyone may see: the verdict per service, no hosts, addresses or errors."""
    return health.model_copy(update={"details": "", "checks": []})


async def full_health(rt: Runtime, timeout: float = CHECK_TIMEOUT) -> Health:
    kafka, smtp, store, imap = await asyncio.gather(
        timed("kafka", lambda: check_kafka(rt, timeout), timeout),
        timed("smtp", lambda: check_smtp(rt, timeout), timeout),
        timed("store", lambda: check_store(rt), timeout),
        asyncio.to_thread(mailbox_checks, rt),
    )
    return summarise(kafka, smtp, store, imap)


def down_here(reports: Mapping[str, ComponentHealth]) -> list[CheckResult]:
    """What the stages of this process report as down (the responder's SMTP server, the
    collector's folders): this process is not ready while one is (pure)."""
    return [CheckResult(name=name, ok=False, detail=r.detail)
            for name, r in sorted(reports.items()) if not r.ok]


async def readiness(rt: Runtime, timeout: float = CHECK_TIMEOUT) -> list[CheckResult]:
    """What this process needs to do its work: the store, Kafka, and every server a stage
    running here reported as needed and down."""
    checks = list(await asyncio.gather(
        timed("store", lambda: check_store(rt), timeout),
        timed("kafka", lambda: check_kafka(rt, timeout), timeout),
    ))
    return checks + down_here(dict(rt.health))


def probe_body(checks: list[CheckResult], detailed: bool) -> Probe:
    failed = "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.ok)
    names = ", ".join(c.name.partition(":")[0] for c in checks if not c.ok)
    return Probe(status="DEGRADED" if failed else "OK",
                 details=failed if detailed else (f"down: {names}" if names else ""))


class HealthCache:
    """``/health`` computed at most once per ``seconds``; callers arriving meanwhile wait
    for the run under way instead of starting their own (a flood costs one check)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._lock = asyncio.Lock()
        self._value: Health | None = None
        self._at = 0.0

    async def get(self, compute: Callable[[], Awaitable[Health]]) -> Health:
        async with self._lock:
            if self._value is None or self._clock() - self._at >= self.seconds:
                self._value = await compute()
                self._at = self._clock()
            return self._value
