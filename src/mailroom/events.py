"""The typed messages carried on each topic.

Every event has a ``version`` so an old event still reads after an upgrade: readers accept
every version they know and ignore unknown fields.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mailroom import topics


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A time read back from the store, aware: SQLite hands back naive datetimes, and every
    time the store writes is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=False)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


class Attachment(BaseModel):
    name: str = ""
    content_type: str = "application/octet-stream"
    size: int = 0


# RawEmail.flags: the mail has no text part and its ``text`` is its HTML's visible text (the
# models read such a mail from the HTML, without its quoted thread: processor/text.py)
TEXT_FROM_HTML = "text_from_html"


class RawEmail(Event):
    """A collected mail, as published to ``raw_emails``."""

    version: Literal[1] = 1
    mail_id: str
    account: str
    folder: str
    uid: int = 0
    uidvalidity: int = 0
    message_id: str = ""
    subject: str = ""
    from_addr: str = ""
    from_name: str = ""
    to: list[str] = Field(default_factory=list)
    cc: list[str] = Field(default_factory=list)
    reply_to: list[str] = Field(default_factory=list)
    return_path: str | None = None
    date: str | None = None
    in_reply_to: str = ""
    references: list[str] = Field(default_factory=list)
    headers: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Loop- and spam-relevant headers, lower-case names, every occurrence.",
    )
    content_type: str = "text/plain"
    text: str = ""
    html: str = ""
    attachments: list[Attachment] = Field(default_factory=list)
    language: str | None = None
    size: int = 0
    flags: list[str] = Field(
        default_factory=list,
        description="What limited or degraded parsing: too_large, too_deep, too_many_parts, "
        "stdlib_fallback, charset_replaced; text_from_html: the mail has no text part and "
        "``text`` is its HTML's.",
    )
    collected_at: datetime = Field(default_factory=utcnow)


class Route(StrEnum):
    ACKNOWLEDGE = topics.ACKNOWLEDGEMENT_QUEUE
    REVIEW = topics.HUMAN_REVIEW
    ARCHIVE = "archive"


class Decision(Event):
    """What the processor decided for one mail, published to ``classified_emails``."""

    version: Literal[1] = 1
    mail_id: str
    category: str
    route: Route
    confidence: float = 1.0
    rule: str | None = None
    template: str | None = None
    language: str | None = None
    reasons: list[str] = Field(default_factory=list)
    model_version: str | None = None
    reply_body: str | None = Field(
        None, description="Free text a reviewer wrote; sent instead of the template's text.")
    requested_by: str | None = Field(None, description="The reviewer who asked for this reply.")
    would_reply: str | None = Field(
        None, description="AUTOREPLY_MODE=shadow: the template an automatic reply would have "
                          "used; the mail went to review and nothing was sent.")
    decided_at: datetime = Field(default_factory=utcnow)


class ComposedReply(BaseModel):
    """An automatic reply composed by the processor, ready for SMTP (``compose.Composer``).

    The responder sends it as it is when it is fresh and matches what it would compose
    itself (``Composer.usable``); otherwise it composes the reply again.
    """

    model_config = ConfigDict(extra="ignore")

    key: str = Field(description="The reply's identity per mail (compose.reply_key).")
    message_id: str
    recipients: list[str]
    data: str = Field(description="The whole message as sent (CRLF lines), UTF-8.")
    composer: str = Field("", description="What it was composed with: templates folder, "
                                          "From and default language (a digest).")
    composed_at: datetime = Field(default_factory=utcnow)


class RoutedEmail(Event):
    """A mail with its decision, published to ``acknowledgement_queue`` or ``human_review``."""

    version: Literal[1] = 1
    email: RawEmail
    decision: Decision
    reply: ComposedReply | None = Field(
        None, description="The automatic reply, composed ahead by the processor.")


class DeadLetter(Event):
    """Something that failed for good, with the reason and enough to find it again."""

    version: Literal[1] = 1
    source_topic: str
    key: str | None = None
    reason: str
    error_type: str = ""
    payload: str = Field("", description="The original value, decoded with replacement.")
    mail_id: str | None = None
    account: str | None = None
    folder: str | None = None
    uid: int | None = None
    failed_at: datetime = Field(default_factory=utcnow)
