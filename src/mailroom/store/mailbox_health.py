"""Each watched folder's last successful IMAP round and last failure (see ``/health``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from mailroom.events import as_utc
from mailroom.store.schema import mailbox_health


@dataclass(frozen=True)
class MailboxRound:
    ok_at: datetime | None
    failed_at: datetime | None
    detail: str


def _upsert(conn: Connection, component: str, **values: Any) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(mailbox_health).values(component=component, **values)
    conn.execute(statement.on_conflict_do_update(index_elements=[mailbox_health.c.component],
                                                 set_=values))


def round_ok(conn: Connection, component: str, at: datetime) -> None:
    _upsert(conn, component, ok_at=at)


def round_failed(conn: Connection, component: str, at: datetime, detail: str) -> None:
    _upsert(conn, component, failed_at=at, detail=detail[:300])


def _aware(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def read(conn: Connection) -> dict[str, MailboxRound]:
    rows = conn.execute(select(mailbox_health.c.component, mailbox_health.c.ok_at,
                               mailbox_health.c.failed_at, mailbox_health.c.detail))
    return {str(r[0]): MailboxRound(_aware(r[1]), _aware(r[2]), str(r[3] or "")) for r in rows}
