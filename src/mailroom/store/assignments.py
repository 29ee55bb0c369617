"""Who holds a mail in review, in the store: taking, releasing, reassigning, and the one
conditional update through which a reviewer's reply or close leaves review.

A hold is ``assignee`` plus ``assigned_at``; it lapses at ``cutoff`` (now minus
REVIEW_TAKE_MINUTES), so a reviewer who walks away does not block the mail for ever.
Every change here is a single conditional UPDATE: of two reviewers acting at once, the
database lets exactly one through, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, or_, select, update

from mailroom.events import as_utc, utcnow
from mailroom.store.schema import MailStatus, mails


def held_by(name: str, cutoff: datetime) -> ColumnElement[bool]:
    """The mail is held by ``name`` and the hold has not lapsed."""
    return and_(mails.c.assignee == name, mails.c.assigned_at >= cutoff)


def unheld(cutoff: datetime) -> ColumnElement[bool]:
    """Nobody holds the mail (never taken, released, or the hold lapsed)."""
    return or_(mails.c.assignee.is_(None), mails.c.assigned_at.is_(None),
               mails.c.assigned_at < cutoff)


def free_for(user: str, cutoff: datetime) -> ColumnElement[bool]:
    """``user`` may act on the mail: it is theirs or nobody's."""
    return or_(unheld(cutoff), mails.c.assignee == user)


def holder(row: dict[str, Any], cutoff: datetime) -> str | None:
    """Who holds a mail row now (pure), or None."""
    at = row.get("assigned_at")
    if row.get("status") != MailStatus.IN_REVIEW or not row.get("assignee") or at is None:
        return None
    return str(row["assignee"]) if as_utc(at) >= cutoff else None


def take(conn: Connection, mail_id: str, user: str, cutoff: datetime, *, force: bool = False) -> bool:
    """``user`` holds the mail from now (renewing their own hold); False when it is not in
    review or someone else holds it (``force``: an operator reassigning)."""
    stmt = update(mails).where(mails.c.mail_id == mail_id, mails.c.status == MailStatus.IN_REVIEW)
    if not force:
        stmt = stmt.where(free_for(user, cutoff))
    now = utcnow()
    return bool(conn.execute(stmt.values(assignee=user, assigned_at=now, updated_at=now)).rowcount)


def take_conversation(conn: Connection, thread_id: str, user: str, cutoff: datetime, *,
                      force: bool = False) -> int:
    """The other mails of a conversation in review go with the one taken: those nobody else
    holds (``force``: all of them). How many moved to ``user``."""
    stmt = update(mails).where(mails.c.thread_id == thread_id, mails.c.status == MailStatus.IN_REVIEW,
                               or_(unheld(cutoff), mails.c.assignee != user))  # not yet theirs
    if not force:
        stmt = stmt.where(free_for(user, cutoff))
    now = utcnow()
    return int(conn.execute(stmt.values(assignee=user, assigned_at=now, updated_at=now)).rowcount)


def release(conn: Connection, mail_id: str, user: str | None) -> bool:
    """Drop the hold: ``user``'s own, or anybody's when ``user`` is None (an operator)."""
    stmt = update(mails).where(mails.c.mail_id == mail_id, mails.c.status == MailStatus.IN_REVIEW,
                               mails.c.assignee.is_not(None))
    if user is not None:
        stmt = stmt.where(mails.c.assignee == user)
    return bool(conn.execute(stmt.values(assignee=None, assigned_at=None, updated_at=utcnow())).rowcount)


def release_conversation(conn: Connection, thread_id: str, holder_name: str) -> None:
    """Release a conversation's mails in review that ``holder_name`` holds."""
    conn.execute(update(mails).where(mails.c.thread_id == thread_id,
                                     mails.c.status == MailStatus.IN_REVIEW,
                                     mails.c.assignee == holder_name)
                 .values(assignee=None, assigned_at=None, updated_at=utcnow()))


def leave_review(conn: Connection, mail_id: str, user: str, cutoff: datetime, status: MailStatus,
                 **values: Any) -> bool:
    """Move an unheld (or ``user``'s) mail out of review to ``status``, done by ``user``.

    The reply and close paths, single and bulk, all go through here: the status condition
    means a mail leaves review once, and the hold condition means only its holder (or
    anybody, when nobody holds it) can make it leave.
    """
    now = utcnow()
    finished = None if status == MailStatus.AWAITING_REPLY else now
    result = conn.execute(
        update(mails)
        .where(mails.c.mail_id == mail_id, mails.c.status == MailStatus.IN_REVIEW,
               free_for(user, cutoff))
        .values(status=status, assignee=user, assigned_at=None, error=None, updated_at=now,
                finished_at=finished, **values))
    return bool(result.rowcount)


def back_to_review(conn: Connection, mail_ids: Sequence[str]) -> None:
    """Reply requests the broker did not take: the mails wait in review again, unheld."""
    if mail_ids:
        conn.execute(update(mails)
                     .where(mails.c.mail_id.in_(list(mail_ids)),
                            mails.c.status == MailStatus.AWAITING_REPLY)
                     .values(status=MailStatus.IN_REVIEW, assignee=None, assigned_at=None,
                             reply_request=None, updated_at=utcnow()))


def states(conn: Connection, mail_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """status, assignee, assigned_at and category of each mail (for refusals and the audit)."""
    found: dict[str, dict[str, Any]] = {}
    ids = list(mail_ids)
    for start in range(0, len(ids), 500):
        rows = conn.execute(
            select(mails.c.mail_id, mails.c.status, mails.c.assignee, mails.c.assigned_at,
                   mails.c.category)
            .where(mails.c.mail_id.in_(ids[start:start + 500]))).mappings()
        found.update({r["mail_id"]: dict(r) for r in rows})
    return found
