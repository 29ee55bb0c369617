"""Replay: stored mails through the current rules and model, and what would change.

The state store keeps every collected mail's ``RawEmail`` (column ``event``), so a replay
works even after the broker dropped ``raw_emails``. Applying a replay stores the new
decisions with ``record_decisions``, which leaves replied, suppressed and closed mails as
they are, and routes only the mails it did update: a reply already sent is never sent
again (the responder's reply table guards that too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from mailroom.events import Decision, RawEmail
from mailroom.kafka import Outgoing
from mailroom.processor.classify import ClassifyParams, Models, classify
from mailroom.processor.rules import RuleSet
from mailroom.processor.service import routed_records
from mailroom.store import mails as mail_store


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


@dataclass(frozen=True)
class Replayed:
    """What a replay found: how many mails it read, what ``apply`` would change, and how
    many more would be judged differently but are settled (replied, suppressed, failed,
    closed) and stay as they are."""

    read: int
    found: list[Change]
    settled: int


def changes(rows: list[dict[str, Any]], rules: RuleSet, models: Models,
            params: ClassifyParams) -> Replayed:
    """Classify stored mails again; only a mail ``apply`` may still decide counts as a change."""
    found = []
    settled = 0
    for row in rows:
        email = RawEmail.model_validate(row["event"])
        decision = classify(email, rules, models, params)
        before = (row["category"], row["route"])
        if before == (decision.category, decision.route.value):
            continue
        # the same test record_decisions makes: a settled mail is never decided again
        if row["status"] in mail_store.DECIDABLE:
            found.append(Change(email, before, decision, str(row["status"])))
        else:
            settled += 1
    return Replayed(len(rows), found, settled)


def apply(conn: Connection, found: list[Change]) -> tuple[list[Outgoing], set[str]]:
    """Store the new decisions; returns the records to route and the ids left as they were."""
    settled = mail_store.record_decisions(conn, [(c.email, c.decision) for c in found])
    records: list[Outgoing] = []
    for change in found:
        if change.email.mail_id not in settled:
            records.extend(routed_records(change.email, change.decision))
    return records, settled
