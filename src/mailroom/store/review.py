"""The queries behind the review API and dashboard: search, categories, a reviewer's label,
a dead letter sent again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Text, cast, func, or_, select, update

from mailroom.events import as_utc, utcnow
from mailroom.store import assignments
from mailroom.store.schema import MailStatus, dead_letters, feedback, mails

SUMMARY_COLUMNS = (mails.c.mail_id, mails.c.subject, mails.c.from_addr, mails.c.account,
                   mails.c.folder, mails.c.status, mails.c.category, mails.c.confidence,
                   mails.c.language, mails.c.collected_at, mails.c.assignee, mails.c.assigned_at,
                   mails.c.thread_id)
SUMMARY_NAMES = tuple(c.name for c in SUMMARY_COLUMNS)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(*, status: str | None, category: str | None, text: str | None,
                language: str | None = None, account: str | None = None,
                folder: str | None = None, holder: str | None = None,
                unassigned: bool = False, take_cutoff: datetime | None = None,
                collected_before: datetime | None = None) -> list[ColumnElement[bool]]:
    asked = ((mails.c.status, status), (mails.c.category, category),
             (mails.c.language, language), (mails.c.account, account), (mails.c.folder, folder))
    conditions: list[ColumnElement[bool]] = [column == value for column, value in asked if value]
    cutoff = take_cutoff or utcnow()
    if holder:
        conditions.append(assignments.held_by(holder, cutoff))
    if unassigned:
        conditions.append(assignments.unheld(cutoff))
    if collected_before is not None:
        conditions.append(mails.c.collected_at < collected_before)
    if text and text.strip():
        pattern = _like(text.strip().lower())
        conditions.append(or_(
            func.lower(mails.c.subject).like(pattern, escape="\\"),
            func.lower(mails.c.from_addr).like(pattern, escape="\\"),
            func.lower(cast(mails.c.event, Text)).like(pattern, escape="\\"),
        ))
    return conditions


def _latest_of_thread(status: str | None) -> ColumnElement[bool]:
    """Not followed by a later mail of its conversation (in the same status): the queue
    shows one row per conversation, its newest mail."""
    later = mails.alias("later")
    newer = select(later.c.mail_id).where(later.c.thread_id == mails.c.thread_id,
                                          later.c.thread_id.is_not(None),
                                          later.c.collected_at > mails.c.collected_at)
    if status:
        newer = newer.where(later.c.status == status)
    # no "thread_id IS NULL OR": a NULL never equals, so such a mail has no later one anyway,
    # and without the OR PostgreSQL plans an anti-join instead of a subquery per row
    return ~newer.exists()


def search(conn: Connection, *, status: str | None, category: str | None, text: str | None,
           limit: int, offset: int, oldest_first: bool = False, conversations: bool = False,
           **more: Any) -> tuple[int, list[dict[str, Any]]]:
    """(how many match, one page of their summaries), newest first (or oldest first);
    ``conversations``: one row per conversation.

    ``more``: language, account, folder, holder, unassigned, take_cutoff, collected_before.
    """
    conditions = _conditions(status=status, category=category, text=text, **more)
    if conversations:
        conditions.append(_latest_of_thread(status))
    total = conn.execute(select(func.count()).select_from(mails).where(*conditions)).scalar_one()
    order = mails.c.collected_at.asc() if oldest_first else mails.c.collected_at.desc()
    rows = conn.execute(
        select(*SUMMARY_COLUMNS).where(*conditions)
        .order_by(order, mails.c.mail_id)
        .limit(limit).offset(offset)
    ).mappings()
    return int(total), [dict(r) for r in rows]


def matching_ids(conn: Connection, *, status: str | None, category: str | None,
                 text: str | None, limit: int, conversations: bool = False,
                 **more: Any) -> list[str]:
    """The ids a filter matches (a bulk action's targets), oldest first, at most ``limit``;
    ``conversations``: each conversation's newest mail only, as the queue shows them."""
    conditions = _conditions(status=status, category=category, text=text, **more)
    if conversations:
        conditions.append(_latest_of_thread(status))
    return [str(i) for i in conn.execute(
        select(mails.c.mail_id).where(*conditions)
        .order_by(mails.c.collected_at, mails.c.mail_id).limit(limit)).scalars()]


def oldest_waiting_seconds(conn: Connection) -> float:
    """How long the oldest mail still in review has waited since it was collected; 0 when
    the queue is empty (``email_review_oldest_age_seconds``, the overview)."""
    found: datetime | None = conn.execute(
        select(func.min(mails.c.collected_at)).where(mails.c.status == MailStatus.IN_REVIEW)
    ).scalar_one()
    if found is None:
        return 0.0
    return max(0.0, (utcnow() - as_utc(found)).total_seconds())


def categories(conn: Connection) -> list[str]:
    found = conn.execute(select(mails.c.category).where(mails.c.category.is_not(None))
                         .group_by(mails.c.category).order_by(mails.c.category)).scalars()
    return [str(c) for c in found]


def record_label(conn: Connection, mail_id: str, label: str, user: str) -> None:
    """A reviewer's category: training feedback, and the mail's category from now on."""
    conn.execute(feedback.insert().values(mail_id=mail_id, label=label, user=user, at=utcnow()))
    conn.execute(update(mails).where(mails.c.mail_id == mail_id)
                 .values(category=label, updated_at=utcnow()))


def mark_retried(conn: Connection, letter_id: int) -> bool:
    """An open dead letter published again; False when it was no longer open."""
    return bool(conn.execute(update(dead_letters).where(dead_letters.c.id == letter_id,
                                                        dead_letters.c.status == "open")
                             .values(status="retried")).rowcount)
