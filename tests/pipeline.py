"""Running the whole pipeline (the same Supervisor ``mailroom up`` uses) inside a test."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from mailroom.app import Supervisor
from mailroom.settings import Settings
from mailroom.store import mails as mail_store

ALL = ["collector", "processor", "responder", "api"]


@contextlib.asynccontextmanager
async def running(settings: Settings, names: list[str] | None = None) -> AsyncIterator[Supervisor]:
    supervisor = Supervisor(settings, names or ALL)
    task = asyncio.create_task(supervisor.run())
    try:
        await wait_until(lambda: supervisor.ready.is_set() or task.done(), 60)
        if task.done():
            task.result()  # raise what failed
        yield supervisor
    finally:
        supervisor.stopping.set()
        await asyncio.wait_for(task, 90)


async def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(step)
    return condition()


def statuses(supervisor: Supervisor) -> dict[str, int]:
    assert supervisor.runtime is not None
    with supervisor.runtime.db.begin() as conn:
        return mail_store.count_by(conn, "status")
