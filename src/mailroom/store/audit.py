"""The audit trail: every human action (reply, close, reclassify, take, release, assign,
bulk job, dead-letter retry/discard) with who, when, and the state before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from mailroom.events import utcnow
from mailroom.store.schema import audit_log

COLUMNS = (audit_log.c.id, audit_log.c.at, audit_log.c.user, audit_log.c.action,
           audit_log.c.mail_id, audit_log.c.target, audit_log.c.before, audit_log.c.after)


def record(conn: Connection, user: str, action: str, *, mail_id: str | None = None,
           target: str | None = None, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None) -> None:
    """One entry, in the caller's transaction: the action and its record commit together."""
    conn.execute(audit_log.insert().values(at=utcnow(), user=user[:128], action=action,
                                           mail_id=mail_id, target=target,
                                           before=before, after=after))


def record_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Several entries in one statement (a bulk job's chunk); each row as ``record`` takes it."""
    if rows:
        now = utcnow()
        conn.execute(audit_log.insert(), [
            {"at": now, "mail_id": None, "target": None, "before": None, "after": None} | r
            for r in rows])


def for_mail(conn: Connection, mail_id: str, limit: int = 200) -> list[dict[str, Any]]:
    """A mail's entries, oldest first (the mail page's history)."""
    rows = conn.execute(select(*COLUMNS).where(audit_log.c.mail_id == mail_id)
                        .order_by(audit_log.c.id).limit(limit)).mappings()
    return [dict(r) for r in rows]


def search(conn: Connection, *, user: str | None = None, action: str | None = None,
           mail_id: str | None = None, target: str | None = None,
           limit: int = 100, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """(how many match, one page of them), newest first; a filter left empty matches all."""
    asked = ((audit_log.c.user, user), (audit_log.c.action, action),
             (audit_log.c.mail_id, mail_id), (audit_log.c.target, target))
    conditions = [column == value for column, value in asked if value]
    total = conn.execute(select(func.count()).select_from(audit_log).where(*conditions)).scalar_one()
    rows = conn.execute(select(*COLUMNS).where(*conditions).order_by(audit_log.c.id.desc())
                        .limit(limit).offset(offset)).mappings()
    return int(total), [dict(r) for r in rows]
