"""One registry, every metric defined once.

The three seed metrics keep their names and labels. ``email_queue_size`` is computed at
scrape time from the state store (the embedded broker's high watermarks are wrong, so
Kafka lag is never read from it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from mailroom import topics

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
# Counters of rare events start at 0 for each label value known in advance. A series that
# first appears at 1 is invisible to rate() and increase(): the first dead letter or failed
# reply after a start would never alert, and its panel would show "No data" instead of 0.
# the stages whose batches ``runner.Runner`` retries (their ``stage`` attribute)
RETRYING_STAGES = ("processor", "responder")
# where dead letters come from: the collector ("imap") and the runners' input topics
DEAD_LETTER_SOURCES = ("imap", topics.RAW_EMAILS, topics.ACKNOWLEDGEMENT_QUEUE)
# the responder outcomes (``responder.service.Outcome``) the MailroomSmtpDown alert counts
FAILING_REPLY_OUTCOMES = ("retry", "failed")
# why the collector waits (``collector.ahead.WaitReason``)
COLLECTOR_WAIT_REASONS = ("pipeline", "recycle")


class QueueSizeCollector(Collector):
    def __init__(self, read: Callable[[], dict[str, int]]) -> None:
        self.read = read

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "email_queue_size", "Mails waiting in each queue (from the state store)",
            labels=["queue_name"],
        )
        try:
            sizes = self.read()
        except Exception:
            sizes = {}
        for name, size in sorted(sizes.items()):
            family.add_metric([name], size)
        yield family


class ReviewAgeCollector(Collector):
    """``email_review_oldest_age_seconds``, read from the store at scrape time, so an alert
    can fire when mails wait too long for a person whichever process serves /metrics."""

    def __init__(self, read: Callable[[], float]) -> None:
        self.read = read

    def collect(self) -> Iterable[Metric]:
        family = GaugeMetricFamily(
            "email_review_oldest_age_seconds",
            "Seconds the oldest mail in review has waited since it was collected (0: none waits)")
        try:
            age = self.read()
        except Exception:  # the store is down: no sample rather than a false 0
            age = None
        if age is not None:
            family.add_metric([], age)
        yield family


class PaceCollector(Collector):
    """``email_send_pace_per_second`` and ``email_send_waiting``, read from the store at
    scrape time: every responder replica shares one pace (``store/pace.py``)."""

    def __init__(self, read: Callable[[], tuple[float | None, int]]) -> None:
        self.read = read

    def collect(self) -> Iterable[Metric]:
        pace = GaugeMetricFamily(
            "email_send_pace_per_second",
            "Replies per second the SMTP relay may get now (SMTP_RATE_PER_SECOND, slowed "
            "after a 'too many'); absent when no per-second pace is set")
        waiting = GaugeMetricFamily(
            "email_send_waiting", "Replies claimed and not yet sent (waiting for their slot)")
        try:
            now, count = self.read()
        except Exception:  # the store is down: no sample rather than a false 0
            yield pace
            yield waiting
            return
        if now is not None:
            pace.add_metric([], now)
        waiting.add_metric([], count)
        yield pace
        yield waiting


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.processed = Counter(
            "emails_processed_total", "Mails handled per topic and outcome",
            ["topic", "status"], registry=r,
        )
        self.processing_time = Histogram(
            "email_processing_time_seconds", "Time to handle one mail, per topic",
            ["topic"], buckets=LATENCY_BUCKETS, registry=r,
        )
        # collector
        self.fetched = Counter("mailroom_collector_fetched_total", "Mails fetched",
                               ["mailbox"], registry=r)
        self.fetch_latency = Histogram("mailroom_collector_fetch_seconds",
                                       "Time of one FETCH batch", ["mailbox"],
                                       buckets=LATENCY_BUCKETS, registry=r)
        self.reconnects = Counter("mailroom_collector_reconnects_total", "IMAP reconnects",
                                  ["mailbox"], registry=r)
        self.idle_state = Gauge("mailroom_collector_idle", "1 while the folder is in IDLE",
                                ["mailbox"], registry=r)
        self.mailbox_up = Gauge("mailroom_collector_mailbox_up", "1 when the mailbox is connected",
                                ["mailbox"], registry=r)
        self.collector_lag = Gauge("mailroom_collector_lag",
                                   "Messages on the server not yet collected", ["mailbox"],
                                   registry=r)
        # COLLECTOR_MAX_AHEAD reached ("pipeline") or held for the embedded topics' recycle
        self.collector_waiting = Gauge(
            "mailroom_collector_waiting", "1 while the collector waits before its next FETCH",
            ["reason"], registry=r)
        self.collector_wait_seconds = Counter(
            "mailroom_collector_wait_seconds_total",
            "Seconds the collector waited before a FETCH, by reason", ["reason"], registry=r)
        for reason in COLLECTOR_WAIT_REASONS:
            self.collector_waiting.labels(reason)
            self.collector_wait_seconds.labels(reason)
        # processor
        self.decisions = Counter("mailroom_decisions_total", "Decisions per category and rule",
                                 ["category", "rule"], registry=r)
        self.confidence = Histogram("mailroom_decision_confidence", "Classifier confidence",
                                    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0),
                                    registry=r)
        self.model_version = Gauge("mailroom_model_info", "Loaded model version", ["version"],
                                   registry=r)
        # responder
        self.replies = Counter("mailroom_replies_total", "Replies by outcome",
                               ["outcome"], registry=r)
        self.suppressed = Counter("mailroom_replies_suppressed_total",
                                  "Replies not sent, by reason", ["reason"], registry=r)
        self.smtp_latency = Histogram("mailroom_smtp_send_seconds", "SMTP send time",
                                      buckets=LATENCY_BUCKETS, registry=r)
        self.end_to_end = Histogram("mailroom_end_to_end_seconds",
                                    "Collected-to-replied latency", buckets=LATENCY_BUCKETS,
                                    registry=r)
        # the loop
        self.dead_letters = Counter("mailroom_dead_letters_total", "Records dead-lettered",
                                    ["topic"], registry=r)
        self.retries = Counter("mailroom_retries_total", "Batches retried later",
                               ["stage"], registry=r)
        for stage in RETRYING_STAGES:
            self.retries.labels(stage)
        for source in DEAD_LETTER_SOURCES:
            self.dead_letters.labels(source)
        for outcome in FAILING_REPLY_OUTCOMES:
            self.replies.labels(outcome=outcome)
        self._queue_collector: QueueSizeCollector | None = None
        self._review_age: ReviewAgeCollector | None = None
        self._pace: PaceCollector | None = None

    def watch_pace(self, read: Callable[[], tuple[float | None, int]]) -> None:
        """Register the scrape-time send pace and replies waiting for it (once per registry)."""
        if self._pace is None:
            self._pace = PaceCollector(read)
            self.registry.register(self._pace)

    def watch_review_age(self, read: Callable[[], float]) -> None:
        """Register the scrape-time age of the oldest mail in review (once per registry)."""
        if self._review_age is None:
            self._review_age = ReviewAgeCollector(read)
            self.registry.register(self._review_age)

    def watch_queues(self, read: Callable[[], dict[str, int]]) -> None:
        """Register the scrape-time queue sizes (once per registry)."""
        if self._queue_collector is None:
            self._queue_collector = QueueSizeCollector(read)
            self.registry.register(self._queue_collector)
