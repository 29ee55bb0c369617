"""A stage's watch on a server it needs while it has no work to show it (the responder's
SMTP server between replies): the stage reports what it sees to ``Runtime.report``, which
logs the change once, and ``/health/ready`` of its process turns 503 while it is down."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import aiosmtplib

from mailroom.runtime import Runtime
from mailroom.settings import Security, Settings

Probe = Callable[[], Awaitable[str | None]]  # None: fine; a string: what is wrong


async def problem_of(probe: Probe, timeout: float) -> str | None:
    """Run ``probe`` within ``timeout``: None when fine, else what is wrong, a timeout or an
    error of the probe's own included (it never raises, so a watch or a health check goes on)."""
    try:
        return await asyncio.wait_for(probe(), timeout)
    except TimeoutError:
        return f"no answer within {timeout:g}s"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def watch(rt: Runtime, component: str, probe: Probe, every: float,
                timeout: float = 10.0) -> None:
    """Probe now and then every ``every`` seconds until cancelled."""
    while True:
        problem = await problem_of(probe, timeout)
        rt.report(component, problem is None, problem or "")
        await asyncio.sleep(every)


def start(rt: Runtime, component: str, probe: Probe, every: float) -> asyncio.Task[None]:
    return asyncio.create_task(watch(rt, component, probe, every), name=f"watch-{component}")


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def smtp_problem(settings: Settings, timeout: float = 3.0) -> str | None:
    """Does the SMTP server answer? Connect and EHLO (TLS per ``SMTP_SECURITY``); no login,
    nothing sent, so probing often costs the server nothing but a connection."""
    if not settings.smtp_server:
        return "SMTP_SERVER not set"
    client = aiosmtplib.SMTP(
        hostname=settings.smtp_server, port=settings.smtp_port, timeout=timeout,
        use_tls=settings.smtp_security is Security.SSL,
        start_tls=settings.smtp_security is Security.STARTTLS,
    )
    try:
        await client.connect()
        if client.is_ehlo_or_helo_needed:
            await client.ehlo()
    except (aiosmtplib.SMTPException, OSError) as exc:
        return f"{settings.smtp_server}:{settings.smtp_port}: {type(exc).__name__}: {exc}"
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except aiosmtplib.SMTPException:
                client.close()
    return None
