"""What reviewers do to a mail: find it, read it, reply, reclassify, close; dead letters.

These functions hold the rules (which status may move where, what a reply publishes);
the JSON routes and the dashboard's forms both call them, so both behave the same.
A reply goes through the responder's path: a ``RoutedEmail`` on ``acknowledgement_queue``,
so the responder's guarantees (one reply per mail and template, loop guard) still hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import nh3
from confluent_kafka import Producer
from sqlalchemy import Connection

from mailroom import topics
from mailroom.api.auth import User
from mailroom.api.models import (
    AttachmentInfo,
    DeadLetterInfo,
    MailDetail,
    MailList,
    MailSummary,
    ReplyInfo,
)
from mailroom.events import Decision, RawEmail, Route, RoutedEmail
from mailroom.kafka import Outgoing, produce_all
from mailroom.runtime import Runtime
from mailroom.settings import Settings
from mailroom.store import MailStatus
from mailroom.store import dead_letters as dead_letter_store
from mailroom.store import mails as mail_store
from mailroom.store import replies as reply_store
from mailroom.store import review as review_store

MANUAL_TEMPLATE = "manual"


class ReviewError(Exception):
    """A request that cannot be done as asked; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class MailFilter:
    status: str | None = MailStatus.IN_REVIEW.value
    category: str | None = None
    text: str | None = None
    limit: int = 50
    offset: int = 0


def sanitize_html(html: str) -> str:
    """Mail HTML reduced to harmless markup: no script, no handlers, no styles, no forms."""
    if not html:
        return ""
    return nh3.clean(html, url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")


def list_mails(conn: Connection, f: MailFilter) -> MailList:
    total, rows = review_store.search(conn, status=f.status, category=f.category, text=f.text,
                                      limit=max(1, min(f.limit, 500)), offset=max(0, f.offset))
    return MailList(total=total, items=[MailSummary.model_validate(r) for r in rows])


def categories(conn: Connection) -> list[str]:
    return review_store.categories(conn)


def template_names(folders: Sequence[Path | None]) -> list[str]:
    """Reply templates a reviewer can pick: ``<name>.<lang>.txt`` files, minus ``manual``
    (the wrapper for free text, chosen by writing a text)."""
    names: set[str] = set()
    for folder in folders:
        if folder is not None and folder.is_dir():
            names.update(p.name.split(".", 1)[0] for p in folder.glob("*.*.txt"))
    names.discard(MANUAL_TEMPLATE)
    return sorted(names)


def reply_templates(settings: Settings) -> list[str]:
    packaged = Path(str(files("mailroom") / "templates"))
    return template_names([settings.mailroom_templates, packaged])


def _require(conn: Connection, mail_id: str) -> dict[str, Any]:
    row = mail_store.get_mail(conn, mail_id)
    if row is None:
        raise ReviewError(404, "no such mail")
    return row


def read_mail(conn: Connection, mail_id: str) -> MailDetail:
    row = _require(conn, mail_id)
    email = RawEmail.model_validate(row["event"])
    return MailDetail(
        **{name: row[name] for name in review_store.SUMMARY_NAMES},
        message_id=email.message_id, to=email.to, cc=email.cc, date=email.date,
        headers=email.headers, text=email.text, html_sanitized=sanitize_html(email.html),
        attachments=[AttachmentInfo(**a.model_dump()) for a in email.attachments],
        replies=[ReplyInfo.model_validate(r) for r in reply_store.get(conn, mail_id)],
        rule=row["rule"], template=row["template"], error=row["error"],
        reasons=row.get("reasons") or [], would_reply=row.get("would_reply"),
    )


def build_reply(row: dict[str, Any], user: str, template: str | None, body: str | None) -> RoutedEmail:
    """The event a reviewer's reply publishes (pure)."""
    body = body.strip() if body else None
    template = (template or "").strip() or None
    if not body and (not template or template == MANUAL_TEMPLATE):
        raise ReviewError(422, "write a text, or pick a template to send")
    email = RawEmail.model_validate(row["event"])
    decision = Decision(
        mail_id=email.mail_id, category=row["category"] or "unknown", route=Route.ACKNOWLEDGE,
        # a written text is always sent in the manual template (the responder does the same)
        template=MANUAL_TEMPLATE if body else template, reply_body=body, requested_by=user,
        language=row["language"], reasons=[f"reply requested by {user}"],
    )
    return RoutedEmail(email=email, decision=decision)


def request_reply(rt: Runtime, producer: Producer, mail_id: str, user: str,
                  template: str | None, body: str | None) -> str:
    """Take the mail out of review, then publish the reply request.

    The status change is a conditional update (only from ``in_review``), so of two
    reviewers answering at once exactly one wins; the other gets 409. When the broker does
    not acknowledge the request, the mail goes back to review and the caller sees 503.
    """
    with rt.db.begin() as conn:
        row = _require(conn, mail_id)
    routed = build_reply(row, user, template, body)
    with rt.db.begin() as conn:
        claimed = mail_store.set_status(
            conn, mail_id, MailStatus.AWAITING_REPLY, only_from=(MailStatus.IN_REVIEW,),
            assignee=user, template=routed.decision.template, route=Route.ACKNOWLEDGE.value,
            reply_request={"body": routed.decision.reply_body, "requested_by": user})
    if not claimed:
        with rt.db.begin() as conn:
            now = _require(conn, mail_id)["status"]
        raise ReviewError(409, f"mail is {now}, not in review")
    try:
        produce_all(producer, [Outgoing(topics.ACKNOWLEDGEMENT_QUEUE, mail_id, routed.to_bytes())])
    except Exception:
        with rt.db.begin() as conn:
            mail_store.set_status(conn, mail_id, MailStatus.IN_REVIEW,
                                  only_from=(MailStatus.AWAITING_REPLY,), assignee=None)
        raise
    return MailStatus.AWAITING_REPLY.value


def reclassify(conn: Connection, mail_id: str, category: str, user: str) -> str:
    """Record the reviewer's label (training feedback) and update the mail's category."""
    row = _require(conn, mail_id)
    label = category.strip()
    if not label:
        raise ReviewError(422, "category is empty")
    review_store.record_label(conn, mail_id, label, user)
    return str(row["status"])


def close(conn: Connection, mail_id: str, user: str) -> str:
    row = _require(conn, mail_id)
    if row["status"] == MailStatus.CLOSED:
        return MailStatus.CLOSED.value
    if not mail_store.set_status(conn, mail_id, MailStatus.CLOSED, assignee=user,
                                 only_from=(MailStatus.IN_REVIEW,)):
        raise ReviewError(409, f"mail is {row['status']}, not in review")
    return MailStatus.CLOSED.value


# -- dead letters ---------------------------------------------------------------------


def require_operator(user: User) -> None:
    if not user.operates:
        raise ReviewError(403, "only operators and admins may retry or discard dead letters")


def dead_letter_info(row: dict[str, Any]) -> DeadLetterInfo:
    payload = str(row["payload"] or "")
    return DeadLetterInfo(
        id=row["id"], source_topic=row["source_topic"], key=row["key"], mail_id=row["mail_id"],
        reason=row["reason"], error_type=row["error_type"] or "", status=row["status"],
        failed_at=row["failed_at"], payload_preview=payload[:500])


def list_dead_letters(
    conn: Connection, limit: int = 100, offset: int = 0
) -> tuple[int, list[DeadLetterInfo]]:
    rows = dead_letter_store.list_open(conn, limit=max(1, min(limit, 500)), offset=max(0, offset))
    return dead_letter_store.count_open(conn), [dead_letter_info(r) for r in rows]


def retry_dead_letter(rt: Runtime, producer: Producer, letter_id: int) -> str:
    """Publish the stored payload to its source topic again, then mark it retried."""
    with rt.db.begin() as conn:
        row = dead_letter_store.get(conn, letter_id)
    if row is None:
        raise ReviewError(404, "no such dead letter")
    if row["status"] != "open":
        raise ReviewError(409, f"dead letter is {row['status']}")
    if row["source_topic"] not in topics.ALL_TOPICS or row["source_topic"] == topics.DEAD_LETTER:
        raise ReviewError(422, f"cannot retry to topic {row['source_topic']!r}")
    produce_all(producer, [Outgoing(row["source_topic"], row["key"], str(row["payload"]).encode())])
    with rt.db.begin() as conn:
        review_store.mark_retried(conn, letter_id)
    return "retried"


def discard_dead_letter(conn: Connection, letter_id: int) -> str:
    row = dead_letter_store.get(conn, letter_id)
    if row is None:
        raise ReviewError(404, "no such dead letter")
    if row["status"] != "open":
        raise ReviewError(409, f"dead letter is {row['status']}")
    dead_letter_store.set_status(conn, letter_id, "discarded")
    return "discarded"
