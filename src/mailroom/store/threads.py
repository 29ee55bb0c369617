"""Conversations in the store: an answer's In-Reply-To/References found among the replies
we sent and the mails we received, the link written on both mails, and a thread read back
in order (their mail, our reply, their answer)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, select, update

from mailroom.events import RawEmail
from mailroom.store.schema import mails, replies

MAX_REFS = 50  # the newest references of one mail that are looked up


@dataclass(frozen=True)
class Link:
    """Where a new mail belongs: the conversation, the mail it answers, and whether we had
    replied in that conversation (the answer then goes to a person)."""

    thread_id: str
    parent_mail_id: str
    answers_our_reply: bool


def references(email: RawEmail) -> list[str]:
    """The Message-IDs a mail answers, the most direct first (pure)."""
    found = [email.in_reply_to, *reversed(email.references[-MAX_REFS:])]
    return list(dict.fromkeys(r.strip() for r in found if r and r.strip()))


def _chunks(values: list[str], size: int = 500) -> list[list[str]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


def find_links(conn: Connection, emails: Sequence[RawEmail]) -> dict[str, Link]:
    """Each mail that answers one of our replies or a mail we received, with its link."""
    refs = {e.mail_id: references(e) for e in emails}
    wanted = sorted({r for rs in refs.values() for r in rs})
    if not wanted:
        return {}
    ours: dict[str, str] = {}  # our reply's Message-ID -> the mail it answered
    theirs: dict[str, str] = {}  # a received mail's Message-ID -> its mail_id
    for chunk in _chunks(wanted):
        ours.update((str(m), str(i)) for m, i in conn.execute(
            select(replies.c.message_id, replies.c.mail_id).where(replies.c.message_id.in_(chunk))))
        theirs.update((str(m), str(i)) for m, i in conn.execute(
            select(mails.c.message_id, mails.c.mail_id).where(mails.c.message_id.in_(chunk))
            .order_by(mails.c.collected_at)))
    parents = sorted(set(ours.values()) | set(theirs.values()))
    threads: dict[str, str | None] = {}
    replied: set[str] = set()
    for chunk in _chunks(parents):
        threads.update((str(i), t) for i, t in conn.execute(
            select(mails.c.mail_id, mails.c.thread_id).where(mails.c.mail_id.in_(chunk))))
        replied.update(conn.execute(select(replies.c.mail_id).where(replies.c.mail_id.in_(chunk))
                                    .group_by(replies.c.mail_id)).scalars())
    links: dict[str, Link] = {}
    for email in emails:
        for ref in refs[email.mail_id]:
            parent = ours.get(ref) or theirs.get(ref)
            if parent is None or parent == email.mail_id or parent not in threads:
                continue
            links[email.mail_id] = Link(thread_id=threads[parent] or parent, parent_mail_id=parent,
                                        answers_our_reply=ref in ours or parent in replied)
            break
    return links


def record_links(conn: Connection, links: dict[str, Link]) -> None:
    """Write each link on the answer and, when it had none yet, on the mail it answers."""
    if not links:
        return
    rows = [{"b_id": mail_id, "b_thread": link.thread_id} for mail_id, link in links.items()]
    rows += [{"b_id": link.parent_mail_id, "b_thread": link.thread_id} for link in links.values()]
    conn.execute(update(mails).where(mails.c.mail_id == bindparam("b_id"), mails.c.thread_id.is_(None))
                 .values(thread_id=bindparam("b_thread")), rows)


def thread_counts(conn: Connection, thread_ids: Sequence[str]) -> dict[str, int]:
    ids = sorted({t for t in thread_ids if t})
    counts: dict[str, int] = {}
    for chunk in _chunks(ids):
        counts.update({str(t): int(n) for t, n in conn.execute(
            select(mails.c.thread_id, func.count()).where(mails.c.thread_id.in_(chunk))
            .group_by(mails.c.thread_id))})
    return counts


def thread(conn: Connection, thread_id: str, limit: int = 200) -> list[dict[str, Any]]:
    """A conversation in time order: each mail we received and each reply we sent in it."""
    received = [dict(r) for r in conn.execute(
        select(mails.c.mail_id, mails.c.subject, mails.c.from_addr, mails.c.status,
               mails.c.collected_at, mails.c.event)
        .where(mails.c.thread_id == thread_id).order_by(mails.c.collected_at).limit(limit)
    ).mappings()]
    ids = [r["mail_id"] for r in received]
    items: list[dict[str, Any]] = []
    for r in received:
        event = r.pop("event") or {}
        items.append(r | {"kind": "mail", "at": r["collected_at"],
                          "text": str(event.get("text") or "")[:2000]})
    for chunk in _chunks(ids):
        for rep in conn.execute(
                select(replies.c.mail_id, replies.c.template, replies.c.recipient, replies.c.status,
                       replies.c.body, replies.c.created_at, replies.c.sent_at)
                .where(replies.c.mail_id.in_(chunk))).mappings():
            items.append({"kind": "reply", "mail_id": rep["mail_id"], "subject": rep["template"],
                          "from_addr": rep["recipient"], "status": rep["status"],
                          "at": rep["sent_at"] or rep["created_at"],
                          "text": str(rep["body"] or "")[:2000]})
    return sorted(items, key=lambda i: _sortable(i["at"]))


def _sortable(at: datetime | None) -> datetime:
    """The store writes UTC; SQLite hands it back naive, PostgreSQL aware."""
    return at.replace(tzinfo=None) if at is not None else datetime.min
