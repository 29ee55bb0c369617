"""Exactly one reply: claims, leases and the per-sender rate limit.

A reply row is created (or re-claimed) in status ``sending`` before SMTP and marked
``sent`` after. The claim is one conditional statement, so two responders racing for the
same mail cannot both win. A ``sending`` row whose lease ran out means its responder
died mid-send: the SMTP server may or may not have accepted the reply. It is never sent
again automatically (no customer gets two replies); the row becomes ``uncertain`` and the
mail goes to a person, who can see what the responder knew.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, func, or_, select, update

from mailroom.events import utcnow
from mailroom.store.db import insert_ignore
from mailroom.store.schema import ReplyStatus, autoreply_log, replies, suppressions


class Claim(StrEnum):
    CLAIMED = "claimed"
    ALREADY_SENT = "already_sent"
    BUSY = "busy"  # another responder holds a live lease
    PARKED = "parked"  # waiting for its next retry time
    FINISHED = "finished"  # failed or suppressed for good
    UNCERTAIN = "uncertain"  # a previous send was cut off; a person decides


def claim(
    conn: Connection,
    *,
    mail_id: str,
    template: str,
    recipient: str,
    message_id: str,
    owner: str,
    lease: timedelta,
    body: str | None = None,
) -> Claim:
    now = utcnow()
    inserted = conn.execute(
        insert_ignore(conn, replies).values(
            mail_id=mail_id, template=template, recipient=recipient, message_id=message_id,
            status=ReplyStatus.SENDING, attempts=1, owner=owner, lease_until=now + lease,
            created_at=now, body=body,
        ).returning(replies.c.id)
    ).first()
    if inserted is not None:
        return Claim.CLAIMED
    taken = conn.execute(
        update(replies)
        .where(
            replies.c.mail_id == mail_id,
            replies.c.template == template,
            replies.c.status == ReplyStatus.RETRY,
            or_(replies.c.next_attempt_at.is_(None), replies.c.next_attempt_at <= now),
        )
        .values(status=ReplyStatus.SENDING, owner=owner, lease_until=now + lease,
                attempts=replies.c.attempts + 1)
    ).rowcount
    if taken:
        return Claim.CLAIMED
    cut_off = conn.execute(
        update(replies)
        .where(
            replies.c.mail_id == mail_id,
            replies.c.template == template,
            replies.c.status == ReplyStatus.SENDING,
            replies.c.lease_until < now,
        )
        .values(status=ReplyStatus.UNCERTAIN, owner=owner, lease_until=None,
                last_error="the responder stopped while sending; the reply may have gone out")
    ).rowcount
    if cut_off:
        return Claim.UNCERTAIN
    status = conn.execute(
        select(replies.c.status).where(replies.c.mail_id == mail_id, replies.c.template == template)
    ).scalar_one()
    return {
        ReplyStatus.SENT: Claim.ALREADY_SENT,
        ReplyStatus.SENDING: Claim.BUSY,
        ReplyStatus.RETRY: Claim.PARKED,
    }.get(ReplyStatus(status), Claim.FINISHED)


def _finish(conn: Connection, mail_id: str, template: str, **values: Any) -> None:
    conn.execute(
        update(replies)
        .where(replies.c.mail_id == mail_id, replies.c.template == template)
        .values(lease_until=None, **values)
    )


def mark_sent(conn: Connection, mail_id: str, template: str) -> None:
    _finish(conn, mail_id, template, status=ReplyStatus.SENT, sent_at=utcnow(), last_error=None)


def mark_retry(conn: Connection, mail_id: str, template: str, next_at: datetime, error: str) -> None:
    _finish(conn, mail_id, template, status=ReplyStatus.RETRY, next_attempt_at=next_at,
            last_error=error[:2000])


def mark_failed(conn: Connection, mail_id: str, template: str, error: str) -> None:
    _finish(conn, mail_id, template, status=ReplyStatus.FAILED, last_error=error[:2000])


def take_rate_slot(
    conn: Connection, *, recipient: str, template: str, mail_id: str, period: timedelta
) -> bool:
    """At most one auto-reply per recipient and template per period, across processes."""
    now = utcnow()
    if conn.execute(
        insert_ignore(conn, autoreply_log).values(
            recipient=recipient, template=template, mail_id=mail_id, at=now,
        ).returning(autoreply_log.c.recipient)
    ).first() is not None:
        return True
    return bool(conn.execute(
        update(autoreply_log)
        .where(
            autoreply_log.c.recipient == recipient,
            autoreply_log.c.template == template,
            or_(autoreply_log.c.at < now - period, autoreply_log.c.mail_id == mail_id),
        )
        .values(mail_id=mail_id, at=now)
    ).rowcount)


def record_suppression(conn: Connection, mail_id: str, reason: str) -> None:
    conn.execute(suppressions.insert().values(mail_id=mail_id, reason=reason[:128], at=utcnow()))


def due_retries(conn: Connection, limit: int = 500) -> list[str]:
    """Mail ids whose parked reply is due for another attempt."""
    rows = conn.execute(
        select(replies.c.mail_id)
        .where(replies.c.status == ReplyStatus.RETRY, replies.c.next_attempt_at <= utcnow())
        .limit(limit)
    ).scalars()
    return list(rows)


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(replies.c.status, func.count()).group_by(replies.c.status))
    return {str(k): int(v) for k, v in rows}


def get(conn: Connection, mail_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(replies).where(replies.c.mail_id == mail_id)).mappings()
    return [dict(r) for r in rows]
