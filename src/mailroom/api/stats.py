"""The numbers behind ``/stats`` and the dashboard's charts.

Counts come from the state store (the record of every mail) and, for "since start", from
this process's ``emails_processed_total`` counter. Percentiles are a pure function over the
latest replies (a bounded read through the ``sent_at`` index); per-minute series are counted
by the database; the counts are one grouped pass over the mails table.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

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

from mailroom.api.models import LatencyPercentiles, MailboxStats, Series, Stats
from mailroom.events import utcnow
from mailroom.runtime import Runtime, queue_sizes_of
from mailroom.store import dead_letters as dead_letter_store
from mailroom.store import replies as reply_store
from mailroom.store.schema import ReplyStatus, mails, replies

T = TypeVar("T")

LATENCY_SAMPLE = 5000
SERIES_MINUTES = 60


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; the store writes UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_percentiles(pairs: Iterable[tuple[datetime, datetime]]) -> LatencyPercentiles:
    values = sorted(max(0.0, (as_utc(done) - as_utc(start)).total_seconds()) for start, done in pairs)
    if not values:
        return LatencyPercentiles()
    return LatencyPercentiles(
        count=len(values), p50=percentile(values, 50), p90=percentile(values, 90),
        p99=percentile(values, 99), max=values[-1])


def per_minute(times: Iterable[datetime], until: datetime, minutes: int) -> list[int]:
    """Counts per minute for the ``minutes`` minutes ending at ``until``, oldest first.

    The definition ``per_minute_in_store`` is tested against.
    """
    counts = [0] * minutes
    end = as_utc(until)
    for t in times:
        age = (end - as_utc(t)).total_seconds()
        if 0 <= age < minutes * 60:
            counts[minutes - 1 - int(age // 60)] += 1
    return counts


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
    """``per_minute`` counted by the database: a busy hour is 60 rows to read, not 360,000."""
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


def processed_since_start(rt: Runtime) -> dict[str, float]:
    found: dict[str, float] = {}
    for metric in rt.metrics.processed.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                key = f"{sample.labels.get('topic', '')}/{sample.labels.get('status', '')}"
                found[key] = sample.value
    return found


@dataclass(frozen=True)
class MailCounts:
    by_status: dict[str, int]
    by_category: dict[str, int]
    mailboxes: list[MailboxStats]


def sum_counts(rows: Iterable[tuple[str, str, str, str | None, int]]) -> MailCounts:
    """Totals per status, per category and per mailbox from one grouped count."""
    by_status: dict[str, int] = {}
    by_category: dict[str, int] = {}
    boxes: dict[tuple[str, str], dict[str, int]] = {}
    for account, folder, status, category, count in rows:
        by_status[status] = by_status.get(status, 0) + count
        if category is not None:
            by_category[category] = by_category.get(category, 0) + count
        box = boxes.setdefault((account, folder), {})
        box[status] = box.get(status, 0) + count
    return MailCounts(
        by_status=by_status, by_category=by_category,
        mailboxes=[MailboxStats(account=a, folder=f, total=sum(s.values()), by_status=s)
                   for (a, f), s in sorted(boxes.items())])


def count_mails(conn: Connection) -> MailCounts:
    """One pass over the mails table (it was three: per status, per category, per mailbox)."""
    columns = (mails.c.account, mails.c.folder, mails.c.status, mails.c.category)
    rows = conn.execute(select(*columns, func.count()).group_by(*columns))
    return sum_counts((str(a), str(f), str(s), None if c is None else str(c), int(n))
                      for a, f, s, c, n in rows)


@dataclass(frozen=True)
class StoreNumbers:
    """What ``/stats`` reads from the state store, in one transaction (the rest comes from
    this process)."""

    counts: MailCounts
    open_dead_letters: int
    replies: dict[str, int]
    latency: LatencyPercentiles
    collected: list[int]
    replied: list[int]


def read_store_numbers(conn: Connection, now: datetime) -> StoreNumbers:
    pairs = conn.execute(
        select(mails.c.collected_at, replies.c.sent_at)
        .join(replies, replies.c.mail_id == mails.c.mail_id)
        .where(and_(replies.c.status == ReplyStatus.SENT, replies.c.sent_at.is_not(None)))
        .order_by(replies.c.sent_at.desc()).limit(LATENCY_SAMPLE)
    ).all()
    return StoreNumbers(
        counts=count_mails(conn),
        open_dead_letters=dead_letter_store.count_open(conn),
        replies=reply_store.counts(conn),
        latency=latency_percentiles(pairs),
        collected=per_minute_in_store(conn, mails.c.collected_at, now, SERIES_MINUTES),
        replied=per_minute_in_store(conn, replies.c.sent_at, now, SERIES_MINUTES),
    )


class StatsCache(Generic[T]):
    """``/stats`` computed at most once per ``seconds``, however many dashboards poll it.

    Its counts are whole-table aggregates (a scan of the mails table at a million mails),
    so ten open dashboards must not cost ten scans. One caller computes; callers arriving
    meanwhile wait for that result instead of starting their own. A failure is not kept.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._value: T | None = None
        self._at = 0.0

    def get(self, compute: Callable[[], T]) -> T:
        with self._lock:
            if self._value is None or self._clock() - self._at >= self.seconds:
                self._value = compute()
                self._at = self._clock()
            return self._value


def read_stats(rt: Runtime, now: datetime | None = None) -> Stats:
    now = now or utcnow()
    with rt.db.begin() as conn:
        found = read_store_numbers(conn, now)
    return Stats(
        since_start=processed_since_start(rt),
        by_status=found.counts.by_status,
        by_category=found.counts.by_category,
        queue_sizes=queue_sizes_of(found.counts.by_status, found.open_dead_letters),
        replies=found.replies,
        latency_seconds=found.latency,
        mailboxes=found.counts.mailboxes,
        total=sum(found.counts.by_status.values()),
        throughput=Series(minutes=SERIES_MINUTES, until=now,
                          collected=found.collected, replied=found.replied),
        generated_at=now,
    )
