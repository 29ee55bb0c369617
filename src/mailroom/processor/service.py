"""The processor stage: raw_emails -> decision -> classified_emails + a route topic.

Only moves data: classification is ``classify.classify`` (pure). Per batch, every
decision is stored in one transaction first; mails the store says are already settled
(replied, suppressed, closed) are not routed again, so a redelivered or replayed event
never causes a second reply.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from mailroom import topics
from mailroom.events import ComposedReply, Decision, RawEmail, Route, RoutedEmail
from mailroom.kafka import Outgoing
from mailroom.processor.classify import ClassifyParams, Models, classify_batch
from mailroom.processor.conversation import route_answer
from mailroom.processor.model import ModelError, TextModel
from mailroom.processor.rules import load_rules
from mailroom.processor.training import STARTER_MODEL, load_intent_model, load_spam_model
from mailroom.responder.compose import Composer
from mailroom.runner import Item, Runner
from mailroom.runtime import Runtime
from mailroom.store import mails as mail_store
from mailroom.store import progress, threads

log = logging.getLogger(__name__)

RELOAD_CHECK_SECONDS = 2.0


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


class ProcessorService(Runner[RawEmail]):
    stage = "processor"
    input_topic = topics.RAW_EMAILS
    event_type = RawEmail

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        settings = runtime.settings
        self.rules = load_rules(settings.mailroom_rules)  # RulesError stops start-up here
        self.params = ClassifyParams.from_settings(settings)
        self.model_path: Path = settings.mailroom_model or STARTER_MODEL
        self.model_mtime = _mtime(self.model_path)
        intent = load_intent_model(settings.mailroom_model)
        self.models = Models(intent, load_spam_model(settings.mailroom_spam_model))
        self._shown_version: str | None = None
        self._show_version(intent)
        self._next_check = time.monotonic() + RELOAD_CHECK_SECONDS
        self.composer = Composer.from_settings(settings, self.params.own_addresses)
        log.info("processor: %d rule(s) from %s, model %s, spam model %s, AUTOREPLY_MODE=%s",
                 len(self.rules.rules), self.rules.source, intent.version,
                 self.models.spam.version if self.models.spam else "none",
                 self.params.autoreply_mode.value)

    # -- model reload -------------------------------------------------------------------
    async def on_idle(self) -> None:
        if time.monotonic() >= self._next_check:
            self._next_check = time.monotonic() + RELOAD_CHECK_SECONDS
            await self.reload_if_changed()

    async def reload_if_changed(self) -> bool:
        """Load the model file again when its mtime changed; keep the old one if it fails."""
        mtime = _mtime(self.model_path)
        if mtime is None or mtime == self.model_mtime:
            return False
        self.model_mtime = mtime
        try:
            intent = await asyncio.to_thread(load_intent_model, self.model_path)
        except ModelError as exc:
            log.error("processor: keeping model %s; the new file is unusable: %s",
                      self.models.intent.version if self.models.intent else "none", exc)
            return False
        self.models = Models(intent, self.models.spam)
        self._show_version(intent)
        log.info("processor: loaded model %s from %s", intent.version, self.model_path)
        return True

    def _show_version(self, model: TextModel) -> None:
        gauge = self.rt.metrics.model_version
        if self._shown_version is not None:
            gauge.remove(self._shown_version)
        gauge.labels(version=model.version).set(1)
        self._shown_version = model.version

    # -- the batch ----------------------------------------------------------------------
    async def handle_batch(self, items: Sequence[Item[RawEmail]]) -> list[Outgoing]:
        latest: dict[str, Item[RawEmail]] = {}
        for item in items:  # the same mail twice in one batch is decided once
            latest[item.event.mail_id] = item
        emails = [item.event for item in latest.values()]
        # CPU work off the event loop: in `mailroom up` the API and other stages share it
        decisions = await asyncio.to_thread(classify_batch, emails, self.rules, self.models,
                                            self.params)
        decided, settled = await asyncio.to_thread(self._record, list(zip(emails, decisions, strict=True)))
        # the automatic replies composed here, off the responder's event loop (it sends them)
        replies = await asyncio.to_thread(self._compose_ahead, [
            (email, decision) for email, decision in decided
            if decision.route is Route.ACKNOWLEDGE and email.mail_id not in settled])
        out: list[Outgoing] = []
        metrics = self.rt.metrics
        # each labelled child looked up once per batch, not once per mail
        processing_time = metrics.processing_time.labels(topic=topics.RAW_EMAILS)
        processed = functools.cache(lambda status: metrics.processed.labels(
            topic=topics.RAW_EMAILS, status=status))
        decisions_of = functools.cache(lambda category, rule: metrics.decisions.labels(
            category=category, rule=rule))
        for item, (email, decision) in zip(latest.values(), decided, strict=True):
            processing_time.observe(time.monotonic() - item.received)
            if email.mail_id in settled:
                processed("settled").inc()
                continue
            processed(decision.route.value).inc()
            decisions_of(decision.category, decision.rule or "").inc()
            metrics.confidence.observe(decision.confidence)
            out.extend(routed_records(email, decision, replies.get(email.mail_id)))
        return out

    def _compose_ahead(self, acknowledged: list[tuple[RawEmail, Decision]]
                       ) -> dict[str, ComposedReply]:
        """Each automatic reply, composed as the responder would; a reply that cannot be
        composed here is left to the responder, which composes or refuses it itself."""
        replies: dict[str, ComposedReply] = {}
        for email, decision in acknowledged:
            try:
                composed = self.composer.ahead(email, decision)
            except Exception:  # never a reason to hold a decision back
                log.exception("processor: composing the reply to %s ahead failed", email.mail_id)
                continue
            if composed is not None:
                replies[email.mail_id] = composed
        return replies

    def _record(self, decided: list[tuple[RawEmail, Decision]]
                ) -> tuple[list[tuple[RawEmail, Decision]], set[str]]:
        """Store the decisions, each seen in its conversation: an answer to a reply we sent
        goes to review (``conversation.route_answer``) and is linked to the earlier mail."""
        with self.rt.db.begin() as conn:
            links = threads.find_links(conn, [e for e, _ in decided])
            decided = [(e, route_answer(d, links.get(e.mail_id))) for e, d in decided]
            settled = mail_store.record_decisions(conn, decided)
            threads.record_links(conn, links)
            progress.mark(conn, progress.PROCESSOR)
            return decided, settled


def routed_records(email: RawEmail, decision: Decision,
                   reply: ComposedReply | None = None) -> list[Outgoing]:
    """The decision for ``classified_emails`` and the mail for its route (none for archive),
    with its reply when it was composed ahead."""
    records = [Outgoing(topics.CLASSIFIED_EMAILS, email.mail_id, decision.to_bytes())]
    if decision.route is not Route.ARCHIVE:
        if email.language is None and decision.language:
            email = email.model_copy(update={"language": decision.language})
        routed = RoutedEmail(email=email, decision=decision, reply=reply)
        records.append(Outgoing(decision.route.value, email.mail_id, routed.to_bytes()))
    return records
