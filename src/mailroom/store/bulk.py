"""Bulk jobs in the store: made with their mail ids fixed, advanced chunk by chunk, and
claimed by one runner at a time (a runner that died is replaced once its heartbeat is old)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from mailroom.events import utcnow
from mailroom.store.schema import bulk_jobs

RUNNING, DONE, FAILED = "running", "done", "failed"


def create(conn: Connection, user: str, action: str, params: dict[str, Any],
           mail_ids: list[str]) -> str:
    job_id = uuid.uuid4().hex
    now = utcnow()
    conn.execute(bulk_jobs.insert().values(
        id=job_id, created_by=user, created_at=now, updated_at=now, action=action, params=params,
        mail_ids=mail_ids, status=RUNNING, total=len(mail_ids), done=0, skipped=0, position=0))
    return job_id


def get(conn: Connection, job_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(bulk_jobs).where(bulk_jobs.c.id == job_id)).mappings().first()
    return dict(row) if row else None


def claim(conn: Connection, job_id: str, stale_before: datetime) -> bool:
    """Take over a running job whose runner has not reported since ``stale_before``."""
    return bool(conn.execute(
        update(bulk_jobs).where(bulk_jobs.c.id == job_id, bulk_jobs.c.status == RUNNING,
                                bulk_jobs.c.updated_at < stale_before)
        .values(updated_at=utcnow())).rowcount)


def advance(conn: Connection, job_id: str, position: int, done: int, skipped: int) -> None:
    """A chunk handled: progress counts grow, ``position`` moves on, the heartbeat renews."""
    conn.execute(update(bulk_jobs).where(bulk_jobs.c.id == job_id).values(
        position=position, done=bulk_jobs.c.done + done, skipped=bulk_jobs.c.skipped + skipped,
        updated_at=utcnow()))


def finish(conn: Connection, job_id: str, error: str | None = None) -> None:
    now = utcnow()
    conn.execute(update(bulk_jobs).where(bulk_jobs.c.id == job_id).values(
        status=FAILED if error else DONE, error=error, updated_at=now, finished_at=now))
