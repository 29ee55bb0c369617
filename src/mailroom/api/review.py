"""What reviewers do to a mail: find it, read it, reply, reclassify, close; dead letters.

These functions hold the rules (which status may move where, what a reply publishes);
the JSON routes and the dashboard's forms both call them, so both behave the same.
A reply goes through the responder's path: a ``RoutedEmail`` on ``acknowledgement_queue``,
so the responder's guarantees (one reply per mail and template, loop guard) still hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
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
    AuditEntry,
    DeadLetterInfo,
    MailDetail,
    MailList,
    MailSummary,
    ReplyInfo,
    ThreadItem,
)
from mailroom.events import Decision, RawEmail, Route, RoutedEmail, utcnow
from mailroom.kafka import Outgoing, produce_all
from mailroom.runtime import Runtime
from mailroom.settings import Settings
from mailroom.store import MailStatus, assignments
from mailroom.store import audit as audit_store
from mailroom.store import dead_letters as dead_letter_store
from mailroom.store import mails as mail_store
from mailroom.store import replies as reply_store
from mailroom.store import review as review_store
from mailroom.store import threads as thread_store

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
    language: str | None = None
    mailbox: str | None = None  # "account" or "account/folder"
    assignee: str | None = None  # a name, "me" (the caller) or "none" (nobody holds it)
    older_than_minutes: float | None = None
    oldest_first: bool = False
    conversations: bool = True  # one row per conversation (its newest mail), with its count


DEFAULT_TAKE_MINUTES = float(Settings.model_fields["review_take_minutes"].default)


def take_cutoff(minutes: float = DEFAULT_TAKE_MINUTES) -> datetime:
    """Holds taken before this have lapsed."""
    return utcnow() - timedelta(minutes=minutes)


def filter_query(f: MailFilter, user: str, cutoff: datetime) -> dict[str, Any]:
    """The store's search arguments for a filter (pure): "me" is the caller."""
    account, _, folder = (f.mailbox or "").partition("/")
    who = (f.assignee or "").strip()
    return {
        "status": f.status, "category": f.category, "text": f.text, "language": f.language or None,
        "account": account or None, "folder": folder or None,
        "holder": None if who in ("", "none") else (user if who == "me" else who),
        "unassigned": who == "none", "take_cutoff": cutoff,
        "collected_before": (utcnow() - timedelta(minutes=f.older_than_minutes)
                             if f.older_than_minutes else None),
    }


def sanitize_html(html: str) -> str:
    """Mail HTML reduced to harmless markup: no script, no handlers, no styles, no forms."""
    if not html:
        return ""
    return nh3.clean(html, url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer nofollow")


def summary(row: dict[str, Any], cutoff: datetime) -> MailSummary:
    return MailSummary.model_validate(row | {"holder": assignments.holder(row, cutoff)})


def list_mails(conn: Connection, f: MailFilter, user: str = "",
               take_minutes: float = DEFAULT_TAKE_MINUTES) -> MailList:
    cutoff = take_cutoff(take_minutes)
    total, rows = review_store.search(conn, limit=max(1, min(f.limit, 500)),
                                      offset=max(0, f.offset), oldest_first=f.oldest_first,
                                      conversations=f.conversations,
                                      **filter_query(f, user, cutoff))
    counts = thread_store.thread_counts(conn, [r["thread_id"] for r in rows if r["thread_id"]])
    return MailList(total=total, items=[
        summary(r | {"thread_count": counts.get(r["thread_id"] or "", 1)}, cutoff) for r in rows])


def matching_ids(conn: Connection, f: MailFilter, user: str, limit: int,
                 take_minutes: float = DEFAULT_TAKE_MINUTES) -> list[str]:
    """Every row of the queue a filter matches (a bulk action's targets), at most ``limit``."""
    return review_store.matching_ids(conn, limit=limit, conversations=f.conversations,
                                     **filter_query(f, user, take_cutoff(take_minutes)))


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


def read_mail(conn: Connection, mail_id: str,
              take_minutes: float = DEFAULT_TAKE_MINUTES) -> MailDetail:
    row = _require(conn, mail_id)
    email = RawEmail.model_validate(row["event"])
    return MailDetail(
        **{name: row[name] for name in review_store.SUMMARY_NAMES},
        holder=assignments.holder(row, take_cutoff(take_minutes)),
        history=[AuditEntry.model_validate(r) for r in audit_store.for_mail(conn, mail_id)],
        thread=[ThreadItem.model_validate(i) for i in
                (thread_store.thread(conn, row["thread_id"]) if row["thread_id"] else [])],
        message_id=email.message_id, to=email.to, cc=email.cc, date=email.date,
        headers=email.headers, text=email.text, html_sanitized=sanitize_html(email.html),
        attachments=[AttachmentInfo(**a.model_dump()) for a in email.attachments],
        replies=[ReplyInfo.model_validate(r) for r in reply_store.get(conn, mail_id)],
        rule=row["rule"], template=row["template"], error=row["error"],
        reasons=row.get("reasons") or [], would_reply=row.get("would_reply"),
    )


def mail_html(conn: Connection, mail_id: str) -> str:
    """A mail's HTML part, sanitised (the mail page's frame): one read, not the whole detail
    with its history, conversation and replies."""
    return sanitize_html(RawEmail.model_validate(_require(conn, mail_id)["event"]).html)


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


def refusal(conn: Connection, mail_id: str, user: str, cutoff: datetime) -> ReviewError:
    """Why ``user`` could not act on a mail: 409 naming who holds or answered it."""
    row = _require(conn, mail_id)
    owner = assignments.holder(row, cutoff)
    if owner is not None and owner != user:
        return ReviewError(409, f"{owner} has taken this mail")
    by = f" by {row['assignee']}" if row.get("assignee") else ""
    return ReviewError(409, f"mail is {row['status']}{by}, not in review")


def request_reply(rt: Runtime, producer: Producer, mail_id: str, user: str,
                  template: str | None, body: str | None) -> str:
    """Take the mail out of review, then publish the reply request.

    The status change is a conditional update (only from ``in_review``, only when nobody
    else holds the mail), so of two reviewers answering at once exactly one wins; the other
    gets 409 naming who has it. When the broker does not acknowledge the request, the mail
    goes back to review and the caller sees 503.
    """
    with rt.db.begin() as conn:
        row = _require(conn, mail_id)
    routed = build_reply(row, user, template, body)
    cutoff = take_cutoff(rt.settings.review_take_minutes)
    with rt.db.begin() as conn:
        claimed = claim_for_reply(conn, mail_id, user, cutoff, routed)
        if claimed:
            audit_store.record(conn, user, "reply", mail_id=mail_id,
                               before={"status": row["status"]},
                               after={"status": MailStatus.AWAITING_REPLY.value,
                                      "template": routed.decision.template,
                                      "body": routed.decision.reply_body})
    if not claimed:
        with rt.db.begin() as conn:
            raise refusal(conn, mail_id, user, cutoff)
    try:
        produce_all(producer, [Outgoing(topics.ACKNOWLEDGEMENT_QUEUE, mail_id, routed.to_bytes())])
    except Exception:
        with rt.db.begin() as conn:
            undo_replies(conn, [mail_id], user)
        raise
    return MailStatus.AWAITING_REPLY.value


def claim_for_reply(conn: Connection, mail_id: str, user: str, cutoff: datetime,
                    routed: RoutedEmail) -> bool:
    """Move the mail from review to awaiting ``routed``'s reply: only from ``in_review`` and
    only when nobody else holds it (False otherwise), so a mail is never answered twice."""
    return assignments.leave_review(
        conn, mail_id, user, cutoff, MailStatus.AWAITING_REPLY,
        template=routed.decision.template, route=Route.ACKNOWLEDGE.value,
        reply_request={"body": routed.decision.reply_body, "requested_by": user})


def undo_replies(conn: Connection, mail_ids: list[str], user: str,
                 target: str | None = None) -> None:
    """Back to review, audited: the broker did not take their reply requests."""
    assignments.back_to_review(conn, mail_ids)
    audit_store.record_many(conn, [
        {"user": user, "action": "reply_undone", "mail_id": m, "target": target,
         "after": {"status": MailStatus.IN_REVIEW.value,
                   "reason": "the broker did not take the reply request"}}
        for m in mail_ids])


def reclassify(conn: Connection, mail_id: str, category: str, user: str) -> str:
    """Record the reviewer's label (training feedback) and update the mail's category."""
    row = _require(conn, mail_id)
    label = category.strip()
    if not label:
        raise ReviewError(422, "category is empty")
    review_store.record_label(conn, mail_id, label, user)
    audit_store.record(conn, user, "reclassify", mail_id=mail_id,
                       before={"category": row["category"]}, after={"category": label})
    return str(row["status"])


def close(conn: Connection, mail_id: str, user: str,
          take_minutes: float = DEFAULT_TAKE_MINUTES) -> str:
    row = _require(conn, mail_id)
    if row["status"] == MailStatus.CLOSED:
        return MailStatus.CLOSED.value
    cutoff = take_cutoff(take_minutes)
    if not assignments.leave_review(conn, mail_id, user, cutoff, MailStatus.CLOSED):
        raise refusal(conn, mail_id, user, cutoff)
    audit_store.record(conn, user, "close", mail_id=mail_id, before={"status": row["status"]},
                       after={"status": MailStatus.CLOSED.value})
    return MailStatus.CLOSED.value


# -- ownership ------------------------------------------------------------------------


def take(conn: Connection, mail_id: str, user: User, to: str | None = None,
         take_minutes: float = DEFAULT_TAKE_MINUTES) -> str:
    """``user`` takes the mail, or (operators) gives it to ``to``; 409 naming the holder
    when a reviewer tries to take a mail someone else holds."""
    row = _require(conn, mail_id)
    name = (to or "").strip() or user.name
    if name != user.name and not user.operates:
        raise ReviewError(403, "only operators and admins may assign mails to someone else")
    cutoff = take_cutoff(take_minutes)
    if not assignments.take(conn, mail_id, name, cutoff, force=user.operates):
        raise refusal(conn, mail_id, name, cutoff)
    after: dict[str, Any] = {"assignee": name}
    if row["thread_id"]:  # the conversation's other mails in review come along
        after["conversation"] = assignments.take_conversation(conn, row["thread_id"], name, cutoff,
                                                              force=user.operates)
    audit_store.record(conn, user.name, "assign" if name != user.name else "take", mail_id=mail_id,
                       before={"assignee": assignments.holder(row, cutoff)}, after=after)
    return name


def release(conn: Connection, mail_id: str, user: User,
            take_minutes: float = DEFAULT_TAKE_MINUTES) -> None:
    """Give the mail back: one's own hold, or anybody's for operators."""
    row = _require(conn, mail_id)
    cutoff = take_cutoff(take_minutes)
    before = assignments.holder(row, cutoff)
    if before is None:
        return
    if not assignments.release(conn, mail_id, None if user.operates else user.name):
        raise ReviewError(409, f"{before} has taken this mail")
    if row["thread_id"]:
        assignments.release_conversation(conn, row["thread_id"], before)
    audit_store.record(conn, user.name, "release", mail_id=mail_id,
                       before={"assignee": before}, after={"assignee": None})


def audit_entries(conn: Connection, *, user: str | None = None, action: str | None = None,
                  mail_id: str | None = None, target: str | None = None, limit: int = 100,
                  offset: int = 0) -> tuple[int, list[AuditEntry]]:
    total, rows = audit_store.search(conn, user=user, action=action, mail_id=mail_id,
                                     target=target, limit=max(1, min(limit, 500)),
                                     offset=max(0, offset))
    return total, [AuditEntry.model_validate(r) for r in rows]


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


def retry_dead_letter(rt: Runtime, producer: Producer, letter_id: int, user: str = "") -> str:
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
        audit_store.record(conn, user or "unknown", "dead_letter_retry", mail_id=row["mail_id"],
                           target=str(letter_id), before={"status": "open"},
                           after={"status": "retried"})
    return "retried"


def discard_dead_letter(conn: Connection, letter_id: int, user: str = "") -> str:
    row = dead_letter_store.get(conn, letter_id)
    if row is None:
        raise ReviewError(404, "no such dead letter")
    if row["status"] != "open":
        raise ReviewError(409, f"dead letter is {row['status']}")
    dead_letter_store.set_status(conn, letter_id, "discarded")
    audit_store.record(conn, user or "unknown", "dead_letter_discard", mail_id=row["mail_id"],
                       target=str(letter_id), before={"status": "open"},
                       after={"status": "discarded"})
    return "discarded"
