"""The numbers behind ``/stats`` and the dashboard's charts.

Counts come from the state store (the record of every mail) and, for "since start", from
this process's ``emails_processed_total`` counter. Percentiles and per-minute series are
pure functions over rows read with bounded queries.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, and_, func, select

from mailroom.api.models import LatencyPercentiles, MailboxStats, Series, Stats
from mailroom.events import utcnow
from mailroom.runtime import Runtime
from mailroom.store import mails as mail_store
from mailroom.store import replies as reply_store
from mailroom.store.schema import ReplyStatus, mails, replies

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
    """Counts per minute for the ``minutes`` minutes ending at ``until``, oldest first."""
    counts = [0] * minutes
    end = as_utc(until)
    for t in times:
        age = (end - as_utc(t)).total_seconds()
        if 0 <= age < minutes * 60:
            counts[minutes - 1 - int(age // 60)] += 1
    return counts


def processed_since_start(rt: Runtime) -> dict[str, float]:
    found: dict[str, float] = {}
    for metric in rt.metrics.processed.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                key = f"{sample.labels.get('topic', '')}/{sample.labels.get('status', '')}"
                found[key] = sample.value
    return found


def mailbox_stats(conn: Connection) -> list[MailboxStats]:
    rows = conn.execute(
        select(mails.c.account, mails.c.folder, mails.c.status, func.count())
        .group_by(mails.c.account, mails.c.folder, mails.c.status)
    ).all()
    boxes: dict[tuple[str, str], dict[str, int]] = {}
    for account, folder, status, count in rows:
        boxes.setdefault((str(account), str(folder)), {})[str(status)] = int(count)
    return [MailboxStats(account=a, folder=f, total=sum(s.values()), by_status=s)
            for (a, f), s in sorted(boxes.items())]


def read_stats(rt: Runtime, now: datetime | None = None) -> Stats:
    now = now or utcnow()
    since = now - timedelta(minutes=SERIES_MINUTES)
    with rt.db.begin() as conn:
        by_status = mail_store.count_by(conn, "status")
        by_category = {k: v for k, v in mail_store.count_by(conn, "category").items() if k != "None"}
        reply_counts = reply_store.counts(conn)
        pairs = conn.execute(
            select(mails.c.collected_at, replies.c.sent_at)
            .join(replies, replies.c.mail_id == mails.c.mail_id)
            .where(and_(replies.c.status == ReplyStatus.SENT, replies.c.sent_at.is_not(None)))
            .order_by(replies.c.sent_at.desc()).limit(LATENCY_SAMPLE)
        ).all()
        collected = conn.execute(
            select(mails.c.collected_at).where(mails.c.collected_at >= since)).scalars().all()
        replied = conn.execute(
            select(replies.c.sent_at).where(replies.c.sent_at >= since)).scalars().all()
        boxes = mailbox_stats(conn)
    return Stats(
        since_start=processed_since_start(rt),
        by_status=by_status,
        by_category=by_category,
        queue_sizes=rt.queue_sizes(),
        replies=reply_counts,
        latency_seconds=latency_percentiles(pairs),
        mailboxes=boxes,
        total=sum(by_status.values()),
        throughput=Series(minutes=SERIES_MINUTES, until=now,
                          collected=per_minute(collected, now, SERIES_MINUTES),
                          replied=per_minute(replied, now, SERIES_MINUTES)),
        generated_at=now,
    )
