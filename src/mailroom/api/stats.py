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
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import Connection

from mailroom.api.models import LatencyPercentiles, MailboxStats, SendPace, Series, Stats
from mailroom.events import as_utc, utcnow
from mailroom.responder.pace import budget_of
from mailroom.runtime import Runtime, queue_sizes_of
from mailroom.settings import Settings
from mailroom.store import dead_letters as dead_letter_store
from mailroom.store import pace as pace_store
from mailroom.store import replies as reply_store
from mailroom.store import stats as stats_store

# re-exported: its callers (a test, the benchmarks) found it here before it moved to the store
from mailroom.store.stats import per_minute_in_store as per_minute_in_store

T = TypeVar("T")

LATENCY_SAMPLE = 5000
SERIES_MINUTES = 60


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
    return sum_counts(stats_store.grouped_counts(conn))


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
    pairs = stats_store.latest_reply_times(conn, LATENCY_SAMPLE)
    return StoreNumbers(
        counts=count_mails(conn),
        open_dead_letters=dead_letter_store.count_open(conn),
        replies=reply_store.counts(conn),
        latency=latency_percentiles(pairs),
        collected=stats_store.collected_per_minute(conn, now, SERIES_MINUTES),
        replied=stats_store.replied_per_minute(conn, now, SERIES_MINUTES),
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


def read_send_pace(conn: Connection, settings: Settings) -> SendPace:
    """The send pace now and the replies waiting for it (the overview's "Send pace")."""
    budget = budget_of(settings)
    state, waiting = pace_store.shown(conn, budget, now=time.time())
    if state is None:
        return SendPace(per_second=0, pace_per_second=None, per_day=0, day_left=None,
                        waiting=waiting)
    return SendPace(per_second=budget.per_second,
                    pace_per_second=state.pace if budget.per_second else None,
                    per_day=budget.per_day,
                    day_left=state.day_left if budget.per_day else None, waiting=waiting)


def read_stats(rt: Runtime, now: datetime | None = None) -> Stats:
    now = now or utcnow()
    with rt.db.begin() as conn:
        found = read_store_numbers(conn, now)
        pace = read_send_pace(conn, rt.settings)
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
        send_pace=pace,
    )
