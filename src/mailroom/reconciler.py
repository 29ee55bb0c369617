"""Puts work back on Kafka when the store says a mail is still open.

Kafka carries work; the store is the record. A mail whose Kafka message was lost (the
embedded broker restarted, a topic was recycled) or whose reply was parked for a later
retry is still open in the store, and is published again from there. So is a mail whose
reply a dead responder held: a claim it never attempted is then claimed and sent by the
next responder, an attempt it left on the wire goes to review (``store/replies.py``).
Every stage is idempotent, so a republish is at worst a duplicate that the next stage skips.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from mailroom import topics
from mailroom.events import Decision, RawEmail, Route, RoutedEmail, utcnow
from mailroom.kafka import Outgoing, produce_all
from mailroom.runtime import Runtime
from mailroom.store import MailStatus, progress
from mailroom.store import mails as mail_store
from mailroom.store import replies as reply_store

log = logging.getLogger(__name__)


def routed_from_row(row: dict[str, Any]) -> RoutedEmail:
    email = RawEmail.model_validate(row["event"])
    request = row.get("reply_request") or {}
    decision = Decision(
        mail_id=email.mail_id,
        category=row["category"] or "unknown",
        route=Route(row["route"] or Route.ACKNOWLEDGE),
        confidence=row["confidence"] if row["confidence"] is not None else 1.0,
        rule=row["rule"],
        template=row["template"],
        language=row["language"],
        reasons=["republished from the state store"],
        reply_body=request.get("body"),
        requested_by=request.get("requested_by"),
    )
    return RoutedEmail(email=email, decision=decision)


class Reconciler:
    def __init__(self, runtime: Runtime, *, pipeline_idle: Callable[[], bool] | None = None) -> None:
        self.rt = runtime
        self.pipeline_idle = pipeline_idle
        self.stop_event = asyncio.Event()
        self.republished = 0
        self._progress: dict[str, tuple[datetime | None, datetime]] = {}

    def stop(self) -> None:
        self.stop_event.set()

    def republish_open(self, older_than: timedelta, limit: int = 2000,
                       only_when_stalled: bool = False) -> int:
        """Publish again every open mail not touched for ``older_than``; returns the count.

        With ``only_when_stalled`` a stage's open mails are republished only when that stage
        has made no progress for ``older_than`` either: a long backlog that is being worked
        through is not a lost message, and republishing it would only add duplicates.
        """
        with self.rt.db.begin() as conn:
            check_processor = check_responder = True
            if only_when_stalled:
                marks = progress.last(conn)
                check_processor, check_responder = self._stalled(
                    (marks.get(progress.PROCESSOR), marks.get(progress.RESPONDER)), older_than)
            collected = mail_store.stale_open_mails(
                conn, MailStatus.COLLECTED, older_than, limit) if check_processor else []
            awaiting = mail_store.stale_open_mails(
                conn, MailStatus.AWAITING_REPLY, older_than, limit) if check_responder else []
            # parked replies that are due, and replies a dead responder left claimed or
            # half-sent: whether or not the stage looks stalled
            due = reply_store.due_retries(conn, limit) + reply_store.orphaned(conn, limit)
            if due:
                awaiting += mail_store.stale_open_mails(
                    conn, MailStatus.AWAITING_REPLY, timedelta(0), limit, ids=due)
        records: list[Outgoing] = []
        for row in collected:
            records.append(Outgoing(topics.RAW_EMAILS, row["mail_id"],
                                    RawEmail.model_validate(row["event"]).to_bytes()))
        seen: set[str] = set()
        for row in awaiting:
            if row["mail_id"] in seen:
                continue
            seen.add(row["mail_id"])
            records.append(Outgoing(topics.ACKNOWLEDGEMENT_QUEUE, row["mail_id"],
                                    routed_from_row(row).to_bytes()))
        if not records:
            return 0
        producer = self.rt.kafka.producer()
        try:
            produce_all(producer, records)
        finally:
            producer.flush(5)
        with self.rt.db.begin() as conn:
            mail_store.touch(conn, [r.key for r in records if r.key])
        self.republished += len(records)
        log.info("republished %d open mail(s) from the state store", len(records))
        return len(records)

    def _stalled(self, progress: tuple[datetime | None, datetime | None],
                 older_than: timedelta) -> tuple[bool, bool]:
        """Whether the processor / the responder made no progress for ``older_than``.

        Judged from what this reconciler saw change, never from the clock alone: right
        after a start (consumer groups still joining) nothing counts as stalled yet.
        """
        now = utcnow()
        stalled = []
        for stage, marker in zip(("processor", "responder"), progress, strict=True):
            seen = self._progress.get(stage)
            if seen is None or seen[0] != marker:
                self._progress[stage] = (marker, now)
                stalled.append(False)
            else:
                stalled.append(now - seen[1] >= older_than)
        return stalled[0], stalled[1]

    async def run(self) -> None:
        period = self.rt.settings.reconcile_after_seconds
        idle_rounds = 0
        while not self.stop_event.is_set():
            try:
                await asyncio.wait_for(self.stop_event.wait(), timeout=max(0.5, period / 2))
                break
            except TimeoutError:
                pass
            if self.pipeline_idle is not None:
                idle_rounds = idle_rounds + 1 if self.pipeline_idle() else 0
                if idle_rounds < 2:
                    continue
            try:
                await asyncio.to_thread(self.republish_open, timedelta(seconds=period),
                                        only_when_stalled=self.pipeline_idle is None)
            except Exception as exc:  # the loop's edge: log and try next round
                log.warning("reconcile round failed: %s", exc)
