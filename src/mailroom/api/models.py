"""Response and request bodies of the API, with examples for ``/docs``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def _example(**values: Any) -> ConfigDict:
    """Model config carrying one example for the OpenAPI document."""
    example: dict[str, Any] = values
    return ConfigDict(json_schema_extra={"examples": [example]})


class HealthServices(BaseModel):
    kafka: bool
    smtp: bool
    imap: bool


class CheckResult(BaseModel):
    name: str = Field(description="kafka, smtp, store or imap:<account>/<folder>")
    ok: bool
    detail: str = ""
    seconds: float = 0.0
    last_round_seconds_ago: float | None = Field(
        None, description="IMAP folders: age of the collector's last successful round")


class Health(BaseModel):
    model_config = _example(
        status="OK", services={"kafka": True, "smtp": True, "imap": True}, store=True,
        details="", timestamp="2026-01-01T12:00:00+00:00",
        checks=[{"name": "imap:support@example.com/INBOX", "ok": True, "detail": "", "seconds": 0.02}])
    status: Literal["OK", "DEGRADED"]
    services: HealthServices
    store: bool = Field(True, description="the state store answered")
    details: str = Field(description="one line per failed check; empty when all is well")
    timestamp: datetime
    checks: list[CheckResult] = Field(default_factory=list)


class Probe(BaseModel):
    model_config = _example(status="OK", details="")
    status: Literal["OK", "DEGRADED"]
    details: str = ""


class LatencyPercentiles(BaseModel):
    count: int = 0
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    max: float | None = None


class MailboxStats(BaseModel):
    account: str
    folder: str
    total: int
    by_status: dict[str, int]


class Series(BaseModel):
    """Per-minute counts, oldest first, ending at ``until``."""

    minutes: int
    until: datetime
    collected: list[int]
    replied: list[int]


class SendPace(BaseModel):
    """The relay's pace shared by the responders (docs/responder.md "Send pace")."""

    per_second: float = Field(description="SMTP_RATE_PER_SECOND (0: unlimited)")
    pace_per_second: float | None = Field(
        description="the pace allowed now, below per_second after a 'too many'; null: unlimited")
    per_day: int = Field(description="SMTP_RATE_PER_DAY (0: unlimited)")
    day_left: float | None = Field(description="sends the day's budget still allows; null: unlimited")
    waiting: int = Field(description="replies claimed and not yet sent")


class Stats(BaseModel):
    model_config = _example(
        since_start={"raw_emails/ok": 12}, by_status={"replied": 5, "in_review": 7},
        by_category={"subscription": 5, "other": 7}, queue_sizes={"human_review": 7},
        replies={"sent": 5}, latency_seconds={"count": 5, "p50": 1.2, "p90": 2.0, "p99": 2.4,
                                              "max": 2.5},
        mailboxes=[{"account": "support@example.com", "folder": "INBOX", "total": 12,
                    "by_status": {"replied": 5, "in_review": 7}}],
        total=12, throughput={"minutes": 60, "until": "2026-01-01T12:00:00+00:00",
                              "collected": [0, 2], "replied": [0, 1]},
        generated_at="2026-01-01T12:00:00+00:00")
    since_start: dict[str, float] = Field(
        description="emails_processed_total of this process, keyed 'topic/status'")
    by_status: dict[str, int]
    by_category: dict[str, int]
    queue_sizes: dict[str, int]
    replies: dict[str, int]
    latency_seconds: LatencyPercentiles = Field(description="collected_at to reply sent_at")
    mailboxes: list[MailboxStats]
    total: int
    throughput: Series
    generated_at: datetime
    send_pace: SendPace | None = None


class MailSummary(BaseModel):
    mail_id: str
    subject: str
    from_addr: str
    account: str
    folder: str
    status: str
    category: str | None = None
    confidence: float | None = None
    language: str | None = None
    collected_at: datetime
    assignee: str | None = Field(None, description="who holds it, or who answered or closed it")
    assigned_at: datetime | None = None
    holder: str | None = Field(None, description="who holds it in review now (holds lapse)")
    thread_id: str | None = Field(None, description="its conversation: the first mail's id")
    thread_count: int = Field(1, description="mails in its conversation")


class MailList(BaseModel):
    model_config = _example(total=1, items=[{
        "mail_id": "3f2a...", "subject": "Question about my invoice", "from_addr": "ana@example.org",
        "account": "support@example.com", "folder": "INBOX", "status": "in_review",
        "category": "billing", "confidence": 0.42, "language": "en",
        "collected_at": "2026-01-01T12:00:00+00:00", "assignee": None}])
    total: int
    items: list[MailSummary]


class AttachmentInfo(BaseModel):
    name: str
    content_type: str
    size: int


class ReplyInfo(BaseModel):
    template: str
    recipient: str
    status: str
    attempts: int
    sent_at: datetime | None = None
    last_error: str | None = None


class AuditEntry(BaseModel):
    model_config = _example(id=7, at="2026-01-01T12:00:00+00:00", user="rita", action="reclassify",
                            mail_id="3f2a...", target=None, before={"category": "other"},
                            after={"category": "billing"})
    id: int
    at: datetime
    user: str
    action: str = Field(description="reply, reply_undone, close, reclassify, take, release, "
                                    "assign, bulk, dead_letter_retry, dead_letter_discard")
    mail_id: str | None = None
    target: str | None = Field(None, description="a dead letter's or bulk job's id")
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class AuditList(BaseModel):
    total: int
    items: list[AuditEntry]


class TakeRequest(BaseModel):
    model_config = _example(to="bob")
    to: str | None = Field(None, max_length=128,
                           description="operators: give the mail to this reviewer; empty: take it")


class ThreadItem(BaseModel):
    kind: Literal["mail", "reply"] = Field(description="a mail we received, or a reply we sent")
    mail_id: str = Field(description="the mail (for a reply: the mail it answered)")
    subject: str = Field(description="a reply: its template")
    from_addr: str = Field(description="a reply: its recipient")
    status: str
    at: datetime | None = None
    text: str = ""


class MailDetail(MailSummary):
    message_id: str
    to: list[str]
    cc: list[str]
    date: str | None
    headers: dict[str, list[str]]
    text: str
    html_sanitized: str = Field(description="the HTML part after nh3; shown only in a sandboxed frame")
    attachments: list[AttachmentInfo]
    replies: list[ReplyInfo]
    rule: str | None = None
    template: str | None = None
    error: str | None = None
    reasons: list[str] = Field(default_factory=list,
                               description="why it was decided so: the rule, the model, a veto")
    would_reply: str | None = Field(None, description="shadow mode: the template it would have "
                                                      "been answered with; nothing was sent")
    history: list[AuditEntry] = Field(default_factory=list, description="what people did to it")
    thread: list[ThreadItem] = Field(default_factory=list,
                                     description="its conversation in time order, when it has one")


class ReplyRequest(BaseModel):
    model_config = _example(template="manual", body="Hello, thanks for writing: we fixed it.")
    template: str | None = Field(None, max_length=128,
                                 description="a responder template; 'manual' when body is free text")
    body: str | None = Field(None, max_length=100_000, description="free text sent as the reply")


class ReclassifyRequest(BaseModel):
    model_config = _example(category="subscription")
    category: str = Field(min_length=1, max_length=64)


class ActionResult(BaseModel):
    model_config = _example(mail_id="3f2a...", status="awaiting_reply", detail="reply queued")
    mail_id: str
    status: str
    detail: str = ""


class DeadLetterInfo(BaseModel):
    id: int
    source_topic: str
    key: str | None
    mail_id: str | None
    reason: str
    error_type: str
    status: str
    failed_at: datetime
    payload_preview: str


class DeadLetterList(BaseModel):
    model_config = _example(total=1, items=[{
        "id": 1, "source_topic": "raw_emails", "key": "3f2a...", "mail_id": "3f2a...",
        "reason": "unreadable event", "error_type": "ValidationError", "status": "open",
        "failed_at": "2026-01-01T12:00:00+00:00", "payload_preview": "{...}"}])
    total: int
    items: list[DeadLetterInfo]


class DeadLetterResult(BaseModel):
    id: int
    status: str


class BulkFilter(BaseModel):
    """The review queue's filter, as ``GET /api/mails`` takes it."""

    status: str | None = Field("in_review", max_length=32)
    category: str | None = Field(None, max_length=64)
    q: str | None = Field(None, max_length=200)
    language: str | None = Field(None, max_length=16)
    mailbox: str | None = Field(None, max_length=512)
    assignee: str | None = Field(None, max_length=128)
    older_than_minutes: float | None = Field(None, ge=0)
    conversations: bool = Field(True, description="each conversation's newest mail, as the "
                                                  "queue lists them; false: every mail")


class BulkRequest(BaseModel):
    model_config = _example(action="reply", template="subscription_confirmed",
                            filter={"category": "subscription"})
    action: Literal["reply", "reclassify", "close", "assign"]
    ids: list[str] | None = Field(None, max_length=10_000, description="these mails, or ...")
    filter: BulkFilter | None = Field(None, description="... every mail this filter matches now")
    template: str | None = Field(None, max_length=128, description="reply: the template to send")
    body: str | None = Field(None, max_length=100_000, description="reply: free text instead")
    category: str | None = Field(None, max_length=64, description="reclassify: the new category")
    to: str | None = Field(None, max_length=128, description="assign: the reviewer; empty: me")


class BulkJob(BaseModel):
    model_config = _example(id="9b1c...", action="reply", status="running", total=500, done=120,
                            skipped=3, created_by="rita", created_at="2026-01-01T12:00:00+00:00",
                            updated_at="2026-01-01T12:00:05+00:00", finished_at=None, error=None)
    id: str
    action: str
    status: Literal["running", "done", "failed"]
    total: int
    done: int = Field(description="mails the action was applied to")
    skipped: int = Field(description="mails no longer in review, or held by someone else")
    created_by: str
    created_at: datetime
    updated_at: datetime = Field(description="its runner's last progress (a heartbeat)")
    finished_at: datetime | None = None
    error: str | None = None
