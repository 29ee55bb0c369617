"""A stage's watch on a server it needs while it has no work to show it (the responder's
SMTP server between replies): the stage reports what it sees to ``Runtime.report``, which
logs the change once, and ``/health/ready`` of its process turns 503 while it is down."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from mailroom.runtime import Runtime

Probe = Callable[[], Awaitable[str | None]]  # None: fine; a string: what is wrong


async def watch(rt: Runtime, component: str, probe: Probe, every: float,
                timeout: float = 10.0) -> None:
    """Probe now and then every ``every`` seconds until cancelled."""
    while True:
        try:
            problem = await asyncio.wait_for(probe(), timeout)
        except TimeoutError:
            problem = f"no answer within {timeout:g}s"
        except Exception as exc:  # a probe's own bug must not end the watch
            problem = type(exc).__name__
        rt.report(component, problem is None, problem or "")
        await asyncio.sleep(every)


def start(rt: Runtime, component: str, probe: Probe, every: float) -> asyncio.Task[None]:
    return asyncio.create_task(watch(rt, component, probe, every), name=f"watch-{component}")


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
