"""Shadow mode's record: the replies mailroom would have sent, and what reviewers made of them.

With ``AUTOREPLY_MODE=shadow`` the processor sends every would-be acknowledgement to
review and stores its template (``mails.would_reply``) and category
(``mails.would_category``). A reviewer's verdict on such a mail is read from what they did:

- **agree**: they replied with the same template, or saved the same category;
- **disagree**: they replied with another template or their own text, saved another
  category, or closed the mail without a reply;
- **pending**: nothing yet.

Precision is agree / (agree + disagree): the share of would-be replies a person confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Select, func, or_, select

from mailroom.store.schema import MailStatus, feedback, mails, replies


class Verdict(StrEnum):
    AGREE = "agree"
    DISAGREE = "disagree"
    PENDING = "pending"


@dataclass(frozen=True)
class WouldBeReply:
    mail_id: str
    subject: str
    from_addr: str
    template: str
    category: str
    status: str
    collected_at: datetime
    verdict: Verdict


@dataclass(frozen=True)
class ShadowSummary:
    total: int
    agree: int
    disagree: int

    @property
    def pending(self) -> int:
        return self.total - self.agree - self.disagree

    @property
    def precision(self) -> float | None:
        """Agreed share of the judged would-be replies; None before any verdict."""
        judged = self.agree + self.disagree
        return self.agree / judged if judged else None


def verdict(template: str, category: str, status: str, reply_templates: list[str],
            labels: list[str]) -> Verdict:
    """A reviewer's verdict on one would-be reply (pure); ``labels`` oldest first."""
    if template in reply_templates:
        return Verdict.AGREE
    if reply_templates:
        return Verdict.DISAGREE
    if labels:
        return Verdict.AGREE if labels[-1] == category else Verdict.DISAGREE
    if status == MailStatus.CLOSED:
        return Verdict.DISAGREE
    return Verdict.PENDING


# every would-be reply, with what a verdict and a listing need
_WOULD_BE = select(mails.c.mail_id, mails.c.subject, mails.c.from_addr, mails.c.would_reply,
                   mails.c.would_category, mails.c.status, mails.c.collected_at
                   ).where(mails.c.would_reply.is_not(None))


def _rows(conn: Connection, query: Select[Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(query).mappings()]


def _actions(conn: Connection, ids: list[str]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Reply templates and feedback labels (oldest first) of each mail."""
    templates: dict[str, list[str]] = {i: [] for i in ids}
    labels: dict[str, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for mail_id, template in conn.execute(
                select(replies.c.mail_id, replies.c.template).where(replies.c.mail_id.in_(chunk))):
            templates[mail_id].append(template)
        for mail_id, label in conn.execute(
                select(feedback.c.mail_id, feedback.c.label).where(feedback.c.mail_id.in_(chunk))
                .order_by(feedback.c.at, feedback.c.id)):
            labels[mail_id].append(label)
    return templates, labels


def _judged(conn: Connection, rows: list[dict[str, Any]]) -> list[WouldBeReply]:
    templates, labels = _actions(conn, [r["mail_id"] for r in rows])
    return [
        WouldBeReply(mail_id=r["mail_id"], subject=r["subject"], from_addr=r["from_addr"],
                     template=r["would_reply"], category=r["would_category"] or "",
                     status=r["status"], collected_at=r["collected_at"],
                     verdict=verdict(r["would_reply"], r["would_category"] or "", r["status"],
                                     templates[r["mail_id"]], labels[r["mail_id"]]))
        for r in rows
    ]


def would_be_replies(conn: Connection, limit: int = 50, offset: int = 0) -> list[WouldBeReply]:
    """The latest would-be replies, newest first, each with the reviewers' verdict."""
    query = (_WOULD_BE.order_by(mails.c.collected_at.desc(), mails.c.mail_id)
             .limit(max(1, min(limit, 500))).offset(max(0, offset)))
    return _judged(conn, _rows(conn, query))


def summary(conn: Connection) -> ShadowSummary:
    """How many would-be replies there are and how reviewers judged them."""
    total = int(conn.execute(select(func.count()).select_from(mails)
                             .where(mails.c.would_reply.is_not(None))).scalar_one())
    if not total:
        return ShadowSummary(0, 0, 0)
    # judged mails are the ones a person touched: only those need their replies and labels
    judged = _judged(conn, _rows(conn, _WOULD_BE.where(or_(
        mails.c.status != MailStatus.IN_REVIEW.value,
        mails.c.mail_id.in_(select(feedback.c.mail_id))))))
    agree = sum(1 for j in judged if j.verdict is Verdict.AGREE)
    disagree = sum(1 for j in judged if j.verdict is Verdict.DISAGREE)
    return ShadowSummary(total, agree, disagree)
