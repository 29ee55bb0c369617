"""The state store's tables: the record of every mail's fate.

The embedded broker forgets on restart, so anything that must survive (what was
collected, how far each folder was read, what was decided, which reply was sent) lives
here; Kafka only carries work between stages.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

SCHEMA_VERSION = 1

metadata = MetaData()

# an account's or a folder's name, a health component ("imap:<account>/<folder>") and a
# lease's name ("collector:<account>/<folder>"), at most
NAME_CHARS = 255


class MailStatus(StrEnum):
    COLLECTED = "collected"  # in raw_emails, not yet classified
    AWAITING_REPLY = "awaiting_reply"  # routed to acknowledgement_queue
    IN_REVIEW = "in_review"  # routed to human_review, waiting for a person
    ARCHIVED = "archived"  # dropped to archive by a rule
    REPLIED = "replied"
    SUPPRESSED = "suppressed"  # a reply was owed by the rules but the guard refused it
    FAILED = "failed"  # the reply failed for good (5xx)
    DEAD = "dead"  # could not be handled; see dead_letters
    CLOSED = "closed"  # a person closed it


OPEN_STATUSES = (MailStatus.COLLECTED, MailStatus.AWAITING_REPLY)


class ReplyStatus(StrEnum):
    CLAIMED = "claimed"  # held by one responder, not yet on the wire (sent again if it dies)
    SENDING = "sending"  # its SMTP transaction started and is not confirmed yet
    RETRY = "retry"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    UNCERTAIN = "uncertain"  # its responder died mid-send: it may or may not have gone out


mails = Table(
    "mails",
    metadata,
    Column("mail_id", String(64), primary_key=True),
    Column("account", String(NAME_CHARS), nullable=False),
    Column("folder", String(NAME_CHARS), nullable=False),
    Column("uid", BigInteger, nullable=False, default=0),
    Column("uidvalidity", BigInteger, nullable=False, default=0),
    Column("message_id", String(998), nullable=False, default=""),
    Column("subject", Text, nullable=False, default=""),
    Column("from_addr", String(512), nullable=False, default=""),
    Column("language", String(16)),
    Column("status", String(32), nullable=False),
    Column("category", String(64)),
    Column("rule", String(128)),
    Column("confidence", Float),
    Column("route", String(64)),
    Column("template", String(128)),
    Column("reply_request", JSON, doc="a reviewer's reply (text, who), kept for republishing"),
    Column("error", Text),
    Column("event", JSON, nullable=False, doc="the RawEmail event, for recovery and review"),
    Column("collected_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("assignee", String(128)),
    Column("reasons", JSON, doc="why the processor decided so (Decision.reasons), for reviewers"),
    Column("would_reply", String(128),
           doc="AUTOREPLY_MODE=shadow: the template an automatic reply would have used"),
    Column("would_category", String(64), doc="shadow mode: the category it would have answered"),
    # review ownership: when ``assignee`` took the mail (it lapses after REVIEW_TAKE_MINUTES)
    Column("assigned_at", DateTime(timezone=True)),
    # the conversation: the mail_id of its first mail (set on both once an answer links them)
    Column("thread_id", String(64)),
)
Index("ix_mails_status_updated", mails.c.status, mails.c.updated_at)
Index("ix_mails_category", mails.c.category)
Index("ix_mails_collected", mails.c.collected_at)
# the dashboard's list of would-be replies (shadow mode)
Index("ix_mails_would_reply", mails.c.would_reply)
# the review queue sorted by age within a status (one row per conversation: thread_id read
# from the index), and its "mine"/"unassigned" filters
Index("ix_mails_status_collected", mails.c.status, mails.c.collected_at, mails.c.thread_id)
Index("ix_mails_status_assignee", mails.c.status, mails.c.assignee)
# conversations: a thread's mails, and an answer's In-Reply-To/References found among the
# mails we received and the replies we sent
Index("ix_mails_thread", mails.c.thread_id, mails.c.collected_at)
Index("ix_mails_message_id", mails.c.message_id)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("account", String(NAME_CHARS), primary_key=True),
    Column("folder", String(NAME_CHARS), primary_key=True),
    Column("uidvalidity", BigInteger, nullable=False),
    Column("last_uid", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

replies = Table(
    "replies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mail_id", String(64), ForeignKey("mails.mail_id"), nullable=False),
    Column("template", String(128), nullable=False),
    Column("recipient", String(512), nullable=False),
    Column("message_id", String(998), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("owner", String(128)),
    Column("lease_until", DateTime(timezone=True)),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("body", Text, doc="free-text reply written by a person, if any"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    UniqueConstraint("mail_id", "template", name="uq_reply_mail_template"),
)
Index("ix_replies_recipient", replies.c.recipient, replies.c.template, replies.c.sent_at)
Index("ix_replies_status_next", replies.c.status, replies.c.next_attempt_at)
# /stats: the latest sent replies and the replies per minute, without a scan of every reply
Index("ix_replies_sent", replies.c.sent_at)
Index("ix_replies_message_id", replies.c.message_id)

autoreply_log = Table(
    "autoreply_log",
    metadata,
    Column("recipient", String(512), primary_key=True),
    Column("template", String(128), primary_key=True),
    Column("mail_id", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

# the relay's pace shared by every responder (store/pace.py): one row per SMTP relay, times
# in epoch seconds (one arithmetic for SQLite and PostgreSQL)
send_pace = Table(
    "send_pace",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("next_at", Float, nullable=False),  # the per-second budget's next free slot
    Column("day", Float, nullable=False),  # the UTC day the count is of (its midnight)
    Column("day_count", Integer, nullable=False),  # sends that day (the per-day budget)
    Column("factor", Float, nullable=False),  # share of the set pace after the last slowdown
    Column("slowed_at", Float, nullable=False),  # when it was set (recovery counts from it)
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_topic", String(64), nullable=False),
    Column("key", String(255)),
    Column("mail_id", String(64)),
    Column("account", String(NAME_CHARS)),
    Column("folder", String(NAME_CHARS)),
    Column("uid", BigInteger),
    Column("reason", Text, nullable=False),
    Column("error_type", String(128), nullable=False, default=""),
    Column("payload", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False, default="open"),  # open|retried|discarded
    Column("failed_at", DateTime(timezone=True), nullable=False),
    # the same failure recorded again (a retried batch, a redelivery) finds this key and
    # adds no second row; see store/dead_letters.py
    Column("dedup_key", String(64)),
)
Index("ix_dead_letters_status", dead_letters.c.status)
Index("uq_dead_letters_dedup", dead_letters.c.dedup_key, unique=True)

suppressions = Table(
    "suppressions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mail_id", String(64), nullable=False),
    Column("reason", String(128), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mail_id", String(64), ForeignKey("mails.mail_id"), nullable=False),
    Column("label", String(64), nullable=False),
    Column("user", String(128), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(NAME_CHARS), primary_key=True),  # collector:<account>/<folder>
    Column("owner", String(128), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("username", String(128), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(32), nullable=False, default="reviewer"),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# dashboard sessions, so logout and a password change end them before their cookie expires;
# the key is a hash of the cookie's session id (a copy of the table logs no one in)
sessions = Table(
    "sessions",
    metadata,
    Column("session_hash", String(64), primary_key=True),
    Column("username", String(128), nullable=False),
    Column("password_tag", String(64), nullable=False),  # which password it was opened with
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
Index("ix_sessions_username", sessions.c.username)

# each watched folder's last successful IMAP round and last failure, stamped by the
# collector: /health reads them instead of logging in to IMAP itself
mailbox_health = Table(
    "mailbox_health",
    metadata,
    Column("component", String(NAME_CHARS), primary_key=True),  # imap:<account>/<folder>
    Column("ok_at", DateTime(timezone=True)),
    Column("failed_at", DateTime(timezone=True)),
    Column("detail", Text, nullable=False, server_default=""),
)

# when each stage last handled a batch: the reconciler's "is it stalled?" without scanning
# the mails table
stage_progress = Table(
    "stage_progress",
    metadata,
    Column("stage", String(32), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
)

# every human action on a mail or dead letter: who, when, what it was before and after
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user", String(128), nullable=False),
    Column("action", String(32), nullable=False),  # reply|close|reclassify|take|release|assign|...
    Column("mail_id", String(64)),
    Column("target", String(64)),  # a dead letter's or bulk job's id, when not a mail
    Column("before", JSON),
    Column("after", JSON),
)
Index("ix_audit_log_mail", audit_log.c.mail_id, audit_log.c.id)
Index("ix_audit_log_at", audit_log.c.at)

# a reviewer's action on many mails, run in the background; the mail ids are fixed when
# the job is made, so a filter matching new mails later does not grow a running job
bulk_jobs = Table(
    "bulk_jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("action", String(32), nullable=False),  # reply|reclassify|close|assign
    Column("params", JSON, nullable=False),
    Column("mail_ids", JSON, nullable=False),
    Column("status", String(16), nullable=False),  # running|done|failed
    Column("total", Integer, nullable=False, server_default="0"),
    Column("done", Integer, nullable=False, server_default="0"),
    Column("skipped", Integer, nullable=False, server_default="0"),
    Column("position", Integer, nullable=False, server_default="0"),  # mail_ids handled so far
    Column("error", Text),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
