"""Running the whole pipeline (the same Supervisor ``mailroom up`` uses) inside a test."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable

from mailroom.app import Supervisor
from mailroom.settings import Settings
from mailroom.store import MailStatus
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


async def settle_and_recycle(supervisor: Supervisor, total: int) -> None:
    """Wait until the store holds ``total`` mails and none is still collected or awaiting a
    reply, then until the embedded topics hold fewer than ``EMBEDDED_RECYCLE_RECORDS`` mails'
    records: recycled after the last of them, or (the collector holds after that many) during
    the batch with fewer collected since."""
    def settled() -> bool:
        counts = statuses(supervisor)
        return sum(counts.values()) == total and counts.get(MailStatus.COLLECTED, 0) == 0 \
            and counts.get(MailStatus.AWAITING_REPLY, 0) == 0

    assert await wait_until(settled, 120), statuses(supervisor)
    per_recycle = supervisor.settings.embedded_recycle_records
    assert await wait_until(lambda: total - sum(supervisor.recycled_after) < per_recycle, 30), \
        f"topics were not recycled after the pipeline caught up: {supervisor.recycled_after}"
