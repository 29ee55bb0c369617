"""Stored mails read back: what a replay classifies again, and the labels reviewers gave."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from mailroom.events import RawEmail
from mailroom.store.schema import feedback, mails


def stored_since(conn: Connection, since: datetime, limit: int) -> list[dict[str, Any]]:
    """Mails collected since ``since``, oldest first: event, stored decision and status."""
    query = (select(mails.c.mail_id, mails.c.event, mails.c.category, mails.c.route, mails.c.status)
             .where(mails.c.collected_at >= since).order_by(mails.c.collected_at).limit(limit))
    return [dict(row) for row in conn.execute(query).mappings()]


def feedback_examples(conn: Connection) -> list[tuple[RawEmail, str]]:
    """Each reviewed mail with the latest label a person gave it."""
    query = (select(feedback.c.mail_id, feedback.c.label, mails.c.event)
             .join(mails, mails.c.mail_id == feedback.c.mail_id)
             .order_by(feedback.c.at, feedback.c.id))
    latest: dict[str, tuple[RawEmail, str]] = {}
    for row in conn.execute(query).mappings():
        latest[row["mail_id"]] = (RawEmail.model_validate(row["event"]), str(row["label"]))
    return list(latest.values())
