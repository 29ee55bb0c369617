"""Replay: stored mails through the current rules and model, and what would change.

The state store keeps every collected mail's ``RawEmail`` (column ``event``), so a replay
works even after the broker dropped ``raw_emails``. Applying a replay stores the new
decisions with ``record_decisions``, which leaves replied, suppressed and closed mails as
they are, and routes only the mails it did update: a reply already sent is never sent
again (the responder's reply table guards that too).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from mailroom.events import Decision, RawEmail
from mailroom.kafka import Outgoing
from mailroom.processor.classify import ClassifyParams, Models, classify
from mailroom.processor.rules import RuleSet
from mailroom.processor.service import routed_records
from mailroom.store import mails as mail_store
from mailroom.store.schema import feedback, mails


@dataclass(frozen=True)
class Change:
    email: RawEmail
    before: tuple[str | None, str | None]  # (category, route) stored
    decision: Decision
    status: str

    def describe(self) -> str:
        old = f"{self.before[0] or '-'}/{self.before[1] or '-'}"
        new = f"{self.decision.category}/{self.decision.route.value}"
        return (f"{self.email.mail_id}  [{self.status}]  {self.email.subject[:60]!r}: {old} -> {new}"
                f"  ({'; '.join(self.decision.reasons)})")


def stored_since(conn: Connection, since: datetime, limit: int) -> list[dict[str, Any]]:
    query = (select(mails.c.mail_id, mails.c.event, mails.c.category, mails.c.route, mails.c.status)
             .where(mails.c.collected_at >= since).order_by(mails.c.collected_at).limit(limit))
    return [dict(row) for row in conn.execute(query).mappings()]


def changes(rows: list[dict[str, Any]], rules: RuleSet, models: Models,
            params: ClassifyParams) -> tuple[int, list[Change]]:
    """Classify stored mails again; returns how many were read and those whose fate changes."""
    found = []
    for row in rows:
        email = RawEmail.model_validate(row["event"])
        decision = classify(email, rules, models, params)
        before = (row["category"], row["route"])
        if before != (decision.category, decision.route.value):
            found.append(Change(email, before, decision, str(row["status"])))
    return len(rows), found


def apply(conn: Connection, found: list[Change]) -> tuple[list[Outgoing], set[str]]:
    """Store the new decisions; returns the records to route and the ids left as they were."""
    settled = mail_store.record_decisions(conn, [(c.email, c.decision) for c in found])
    records: list[Outgoing] = []
    for change in found:
        if change.email.mail_id not in settled:
            records.extend(routed_records(change.email, change.decision))
    return records, settled


def feedback_examples(conn: Connection) -> list[tuple[RawEmail, str]]:
    """Each reviewed mail with the latest label a person gave it."""
    query = (select(feedback.c.mail_id, feedback.c.label, mails.c.event)
             .join(mails, mails.c.mail_id == feedback.c.mail_id)
             .order_by(feedback.c.at, feedback.c.id))
    latest: dict[str, tuple[RawEmail, str]] = {}
    for row in conn.execute(query).mappings():
        latest[row["mail_id"]] = (RawEmail.model_validate(row["event"]), str(row["label"]))
    return list(latest.values())
