"""Health checks: Kafka, SMTP, every IMAP mailbox and the state store, concurrently.

Each check is bounded by a timeout and answers with a ``CheckResult``; a failure's detail
names the server and the error, never a password.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable

import aioimaplib
import aiosmtplib

from mailroom.api.models import CheckResult, Health, HealthServices
from mailroom.events import utcnow
from mailroom.runtime import Runtime
from mailroom.settings import Security

CHECK_TIMEOUT = 3.0


async def timed(name: str, check: Callable[[], Awaitable[str | None]],
                timeout: float = CHECK_TIMEOUT) -> CheckResult:
    """Run ``check`` (None = fine, a string = what failed) within ``timeout``."""
    started = time.monotonic()
    try:
        problem = await asyncio.wait_for(check(), timeout)
    except TimeoutError:
        problem = f"no answer within {timeout:g}s"
    except Exception as exc:
        problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
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
    s = rt.settings
    if not s.smtp_server:
        return "SMTP_SERVER not set"
    client = aiosmtplib.SMTP(
        hostname=s.smtp_server, port=s.smtp_port, timeout=timeout,
        use_tls=s.smtp_security is Security.SSL,
        start_tls=s.smtp_security is Security.STARTTLS,
    )
    try:
        await client.connect()
        if client.is_ehlo_or_helo_needed:
            await client.ehlo()
    except (aiosmtplib.SMTPException, OSError) as exc:
        return f"{s.smtp_server}:{s.smtp_port}: {type(exc).__name__}: {exc}"
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except aiosmtplib.SMTPException:
                client.close()
    return None


async def check_imap_login(host: str, port: int, security: Security, user: str, password: str,
                           timeout: float = CHECK_TIMEOUT) -> str | None:
    """Connect, LOGIN and LOGOUT. With STARTTLS the password is never sent in the clear:
    the check stops at the greeting and the STARTTLS capability."""
    client: aioimaplib.IMAP4
    if security is Security.SSL:
        client = aioimaplib.IMAP4_SSL(host=host, port=port, timeout=timeout,
                                      ssl_context=ssl.create_default_context())
    else:
        client = aioimaplib.IMAP4(host=host, port=port, timeout=timeout)
    try:
        await client.wait_hello_from_server()
        if security is Security.STARTTLS:
            await asyncio.wait_for(client.protocol.capability(), timeout)
            offered = "STARTTLS" in client.protocol.capabilities
            return None if offered else f"{host}:{port} does not offer STARTTLS"
        response = await client.login(user, password)
        if response.result != "OK":
            return f"{host}:{port}: login refused for {user}"
        await client.logout()
    except OSError as exc:
        return f"{host}:{port}: {type(exc).__name__}: {exc}"
    finally:
        if client.protocol is not None and client.protocol.transport is not None:
            client.protocol.transport.close()
    return None


async def imap_checks(rt: Runtime, timeout: float = CHECK_TIMEOUT) -> list[CheckResult]:
    """The configured mailbox is checked live; the collector's reports cover the others."""
    s = rt.settings
    results: list[CheckResult] = []
    live_name = f"imap:{s.imap_email}/{s.imap_mailbox}"
    if s.imap_server and s.imap_email:
        password = s.imap_password.get_secret_value()
        results.append(await timed(live_name, lambda: check_imap_login(
            s.imap_server, s.imap_port, s.imap_security, s.imap_email, password, timeout), timeout))
    for name, report in sorted(rt.health.items()):
        if name.startswith("imap:") and name != live_name:
            results.append(CheckResult(name=name, ok=report.ok, detail=report.detail))
    if not results:
        results.append(CheckResult(name="imap", ok=False,
                                   detail="no mailbox configured (IMAP_SERVER/MAILROOM_MAILBOXES)"))
    return results


def summarise(kafka: CheckResult, smtp: CheckResult, store: CheckResult,
              imap: list[CheckResult]) -> Health:
    """Fold check results into the /health body (pure)."""
    checks = [kafka, smtp, store, *imap]
    services = HealthServices(kafka=kafka.ok, smtp=smtp.ok, imap=all(c.ok for c in imap))
    ok = services.kafka and services.smtp and services.imap and store.ok
    details = "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.ok)
    return Health(status="OK" if ok else "DEGRADED", services=services, store=store.ok,
                  details=details, timestamp=utcnow(), checks=checks)


async def full_health(rt: Runtime, timeout: float = CHECK_TIMEOUT) -> Health:
    kafka, smtp, store, imap = await asyncio.gather(
        timed("kafka", lambda: check_kafka(rt, timeout), timeout),
        timed("smtp", lambda: check_smtp(rt, timeout), timeout),
        timed("store", lambda: check_store(rt), timeout),
        imap_checks(rt, timeout),
    )
    return summarise(kafka, smtp, store, imap)


async def readiness(rt: Runtime, timeout: float = CHECK_TIMEOUT) -> list[CheckResult]:
    """What the API needs to serve: the store and Kafka."""
    return list(await asyncio.gather(
        timed("store", lambda: check_store(rt), timeout),
        timed("kafka", lambda: check_kafka(rt, timeout), timeout),
    ))
