"""Exactly one reply: claims, leases and the per-sender rate limit.

A reply row is created (or re-claimed) in status ``sending`` before SMTP and marked
``sent`` after. The claim is one conditional statement, so two responders racing for the
same mail cannot both win. A ``sending`` row whose lease ran out means its responder
died mid-send: the SMTP server may or may not have accepted the reply. It is never sent
again automatically (no customer gets two replies); the row becomes ``uncertain`` and the
mail goes to a person, who can see what the responder knew.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select, update

from mailroom.events import utcnow
from mailroom.store.db import insert_ignore, plan_with_values
from mailroom.store.schema import MailStatus, ReplyStatus, autoreply_log, mails, replies, suppressions


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


# -- batches: the responder claims and settles a whole batch in one transaction ------------
#
# Each statement is still conditional, so the guarantees above hold across processes: a
# row is claimed by whichever INSERT or UPDATE gets it first, and every other statement
# finds it taken. Rows are handled in key order so two batches lock them in the same
# order (PostgreSQL would abort one of two crossing batches as a deadlock: RetryLater).


@dataclass(frozen=True)
class ClaimRequest:
    """One reply to claim: the arguments of ``claim`` without owner and lease."""

    mail_id: str
    template: str
    recipient: str
    message_id: str
    body: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return self.mail_id, self.template


@dataclass(frozen=True)
class SlotRequest:
    """One rate slot to take: the arguments of ``take_rate_slot``."""

    recipient: str
    template: str
    mail_id: str


def _pairs(keys: Sequence[tuple[str, str]]) -> ColumnElement[bool]:
    """Rows with these (mail, template) keys, as a condition the unique index can serve.

    Not a row-value ``IN``: for 500 pairs PostgreSQL planned that (EXPLAIN, 30,000
    replies) as a walk over every reply with the template, testing each against every
    pair. Grouped by template, each group is ``template = t AND mail_id IN (...)``: one
    index probe per mail.
    """
    by_template: dict[str, set[str]] = {}
    for mail_id, template in keys:
        by_template.setdefault(template, set()).add(mail_id)
    return or_(*[and_(replies.c.template == template, replies.c.mail_id.in_(sorted(ids)))
                 for template, ids in sorted(by_template.items())])


def claim_many(
    conn: Connection, requests: Sequence[ClaimRequest], *, owner: str, lease: timedelta
) -> dict[tuple[str, str], Claim]:
    """``claim`` for many replies in a few statements; the result is keyed by (mail, template).

    A reply asked for twice in one batch is claimed at most once; the second ask is ``BUSY``.
    """
    plan_with_values(conn)
    now = utcnow()
    unique = sorted({r.key: r for r in reversed(requests)}.values(), key=lambda r: r.key)
    result: dict[tuple[str, str], Claim] = {}
    if not unique:
        return result
    # executemany: SQLAlchemy batches it into multi-row INSERTs from one cached statement
    inserted = conn.execute(
        insert_ignore(conn, replies).returning(replies.c.mail_id, replies.c.template),
        [dict(mail_id=r.mail_id, template=r.template, recipient=r.recipient,
              message_id=r.message_id, status=ReplyStatus.SENDING, attempts=1, owner=owner,
              lease_until=now + lease, created_at=now, body=r.body)
         for r in unique],
    ).all()
    result.update({(m, t): Claim.CLAIMED for m, t in inserted})
    rest = [r.key for r in unique if r.key not in result]
    if rest:
        retaken = conn.execute(
            update(replies)
            .where(_pairs(rest), replies.c.status == ReplyStatus.RETRY,
                   or_(replies.c.next_attempt_at.is_(None), replies.c.next_attempt_at <= now))
            .values(status=ReplyStatus.SENDING, owner=owner, lease_until=now + lease,
                    attempts=replies.c.attempts + 1)
            .returning(replies.c.mail_id, replies.c.template)
        ).all()
        result.update({(m, t): Claim.CLAIMED for m, t in retaken})
        rest = [k for k in rest if k not in result]
    if rest:
        cut_off = conn.execute(
            update(replies)
            .where(_pairs(rest), replies.c.status == ReplyStatus.SENDING,
                   replies.c.lease_until < now)
            .values(status=ReplyStatus.UNCERTAIN, owner=owner, lease_until=None,
                    last_error="the responder stopped while sending; the reply may have gone out")
            .returning(replies.c.mail_id, replies.c.template)
        ).all()
        result.update({(m, t): Claim.UNCERTAIN for m, t in cut_off})
        rest = [k for k in rest if k not in result]
    if rest:
        found = conn.execute(
            select(replies.c.mail_id, replies.c.template, replies.c.status).where(_pairs(rest))
        ).all()
        result.update({
            (m, t): {ReplyStatus.SENT: Claim.ALREADY_SENT, ReplyStatus.SENDING: Claim.BUSY,
                     ReplyStatus.RETRY: Claim.PARKED}.get(ReplyStatus(s), Claim.FINISHED)
            for m, t, s in found
        })
    return result


def take_rate_slots(
    conn: Connection, requests: Sequence[SlotRequest], *, period: timedelta
) -> set[tuple[str, str, str]]:
    """``take_rate_slot`` for many; returns the (recipient, template, mail) that may reply.

    Within one batch the slot goes as it would one request after the other: to the mail
    that already holds it, else to the first asking mail if the slot is free or expired.
    """
    now = utcnow()
    groups: dict[tuple[str, str], list[str]] = {}
    for r in requests:
        mail_ids = groups.setdefault((r.recipient, r.template), [])
        if r.mail_id not in mail_ids:
            mail_ids.append(r.mail_id)
    granted: set[tuple[str, str, str]] = set()
    if not groups:
        return granted
    ordered = sorted(groups)
    inserted = conn.execute(
        insert_ignore(conn, autoreply_log).returning(autoreply_log.c.recipient,
                                                     autoreply_log.c.template),
        [dict(recipient=rcpt, template=tpl, mail_id=groups[(rcpt, tpl)][0], at=now)
         for rcpt, tpl in ordered],
    ).all()
    for rcpt, tpl in inserted:
        granted.add((rcpt, tpl, groups[(rcpt, tpl)][0]))
    taken = {(rcpt, tpl) for rcpt, tpl in inserted}
    for rcpt, tpl in ordered:  # a slot that exists: few in a batch, one statement each
        if (rcpt, tpl) in taken:
            continue
        slot = (autoreply_log.c.recipient == rcpt, autoreply_log.c.template == tpl)
        holder = conn.execute(
            update(autoreply_log)
            .where(*slot, autoreply_log.c.mail_id.in_(groups[(rcpt, tpl)]))
            .values(at=now)
            .returning(autoreply_log.c.mail_id)
        ).scalar()
        if holder is None:
            holder = conn.execute(
                update(autoreply_log)
                .where(*slot, autoreply_log.c.at < now - period)
                .values(mail_id=groups[(rcpt, tpl)][0], at=now)
                .returning(autoreply_log.c.mail_id)
            ).scalar()
        if holder is not None:
            granted.add((rcpt, tpl, str(holder)))
    return granted


def mark_sent_many(conn: Connection, sent: Sequence[tuple[str, str]],
                   notes: Mapping[str, str] | None = None) -> None:
    """Reply rows ``sent`` and their mails ``replied``, in two statements.

    ``notes`` (mail id -> text) is kept as the mail's error, e.g. recipients the server
    refused while accepting the others; those few mails get a statement each.
    """
    if not sent:
        return
    plan_with_values(conn)
    now = utcnow()
    notes = notes or {}
    conn.execute(update(replies).where(_pairs(sent))
                 .values(status=ReplyStatus.SENT, sent_at=now, last_error=None, lease_until=None))
    plain = sorted({m for m, _ in sent if m not in notes})
    for start in range(0, len(plain), 500):
        conn.execute(update(mails).where(mails.c.mail_id.in_(plain[start:start + 500]))
                     .values(status=MailStatus.REPLIED, error=None, updated_at=now,
                             finished_at=now))
    for mail_id, note in sorted(notes.items()):
        conn.execute(update(mails).where(mails.c.mail_id == mail_id)
                     .values(status=MailStatus.REPLIED, error=note, updated_at=now,
                             finished_at=now))
