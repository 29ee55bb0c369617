"""The queries behind ``/stats``: one grouped count of the mails, the latest replies'
times, and per-minute counts done by the database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Integer,
    and_,
    cast,
    extract,
    func,
    literal,
    select,
)

from mailroom.store.schema import ReplyStatus, mails, replies


def grouped_counts(conn: Connection) -> Iterator[tuple[str, str, str, str | None, int]]:
    """(account, folder, status, category, count): one pass over the mails table."""
    columns = (mails.c.account, mails.c.folder, mails.c.status, mails.c.category)
    rows = conn.execute(select(*columns, func.count()).group_by(*columns))
    return ((str(a), str(f), str(s), None if c is None else str(c), int(n))
            for a, f, s, c, n in rows)


def latest_reply_times(conn: Connection, limit: int) -> list[tuple[datetime, datetime]]:
    """(collected_at, sent_at) of the latest ``limit`` sent replies (the ``sent_at`` index)."""
    rows = conn.execute(
        select(mails.c.collected_at, replies.c.sent_at)
        .join(replies, replies.c.mail_id == mails.c.mail_id)
        .where(and_(replies.c.status == ReplyStatus.SENT, replies.c.sent_at.is_not(None)))
        .order_by(replies.c.sent_at.desc()).limit(limit)
    ).all()
    return [(collected, sent) for collected, sent in rows]


def _minutes_before(conn: Connection, column: ColumnElement[datetime],
                    now: datetime) -> ColumnElement[int]:
    """Whole minutes from ``column`` to ``now``, in SQL (SQLite keeps datetimes as text)."""
    if conn.dialect.name == "sqlite":
        days = func.julianday(literal(now, DateTime())) - func.julianday(column)
        return cast(days * 1440, Integer)  # truncates: the floor, for the rows asked for (>= 0)
    seconds = extract("epoch", literal(now, DateTime(timezone=True)) - column)
    return cast(func.floor(seconds / 60), Integer)


def per_minute_in_store(conn: Connection, column: ColumnElement[datetime], now: datetime,
                        minutes: int) -> list[int]:
    """Counts per minute for the ``minutes`` minutes ending at ``now``, oldest first, counted
    by the database: a busy hour is 60 rows to read, not 360,000 (``api.stats.per_minute``
    is the definition it is tested against)."""
    ago = _minutes_before(conn, column, now)
    rows = conn.execute(
        select(ago, func.count())
        .where(column >= now - timedelta(minutes=minutes), column <= now)
        .group_by(ago))
    counts = [0] * minutes
    for minute, count in rows:
        if 0 <= int(minute) < minutes:
            counts[minutes - 1 - int(minute)] += int(count)
    return counts


def collected_per_minute(conn: Connection, now: datetime, minutes: int) -> list[int]:
    return per_minute_in_store(conn, mails.c.collected_at, now, minutes)


def replied_per_minute(conn: Connection, now: datetime, minutes: int) -> list[int]:
    return per_minute_in_store(conn, replies.c.sent_at, now, minutes)
