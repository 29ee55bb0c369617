"""The reply ledger: claims, attempts, rate slots, suppressions, parking and giving up.

Every operation takes a batch, so the responder visits the store a few times per batch
and not per reply. A reply row moves:

    claimed --start--> sending --250--> sent
       ^                  |--4xx/5xx, not delivered--> claimed (then retry or failed)
       |                  '--connection lost after DATA--> uncertain (a person decides)
       '--lease ran out, never attempted: claimed again by whoever gets the mail next

``claimed`` holds the reply for one responder before SMTP; nothing is on the wire, so a
claim whose lease ran out (its responder died) is simply claimed again and the reply is
sent, once. ``sending`` is written (in a group commit) just before the SMTP transaction
starts and left just after it ends, so a responder killed at any moment leaves at most one
``sending`` row per pool connection: only those are in doubt. A ``sending`` row whose
lease ran out becomes ``uncertain`` and its mail goes to review; it is never sent again
automatically. Every statement is conditional (on the status, and on the claim's owner
token where it matters), so two responders racing for a reply cannot both send it. Rows
are handled in key order so two batches lock them in the same order (PostgreSQL would
abort one of two crossing batches as a deadlock: RetryLater).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    String,
    and_,
    any_,
    bindparam,
    case,
    func,
    or_,
    select,
    true,
    update,
)

from mailroom.events import as_utc, utcnow
from mailroom.store.db import insert_ignore_many, plan_with_values, unprepared
from mailroom.store.schema import MailStatus, ReplyStatus, autoreply_log, mails, replies, suppressions

Key = tuple[str, str]  # (mail id, template)

# why a reply (its row) and its mail are in doubt after an attempt was cut off; the mail
# goes to review with this text
CUT_OFF = ("the responder stopped while sending this reply, so it may have been delivered; "
           "check the sent mail before answering")


class Claim(StrEnum):
    CLAIMED = "claimed"
    ALREADY_SENT = "already_sent"
    BUSY = "busy"  # another responder holds a live claim or is sending it
    PARKED = "parked"  # waiting for its next retry time
    FINISHED = "finished"  # failed, suppressed or uncertain: nothing more to send
    UNCERTAIN = "uncertain"  # an attempt was cut off just now; a person decides


@dataclass(frozen=True)
class ClaimRequest:
    """One reply to claim."""

    mail_id: str
    template: str
    recipient: str
    message_id: str
    body: str | None = None

    @property
    def key(self) -> Key:
        return self.mail_id, self.template


@dataclass(frozen=True)
class SlotRequest:
    """One rate slot to take: an automatic reply to ``recipient`` for ``mail_id``."""

    recipient: str
    mail_id: str


# an address gets one automatic reply per period, whatever its template (issue 16): every
# slot is kept under this template (the column is from when slots were per template)
ANY_TEMPLATE = "*"


@dataclass(frozen=True)
class ParkRequest:
    """A reply whose attempts failed for now: retry later, or give up when too old."""

    mail_id: str
    template: str
    reason: str
    owner: str | None = None  # the claim's token: not parked if another responder took it
    wait: float | None = None  # seconds until it may go (the send pace), else ``delay``

    @property
    def key(self) -> Key:
        return self.mail_id, self.template


def _pairs(keys: Sequence[tuple[str, str]]) -> ColumnElement[bool]:
    """Rows with these (mail, template) keys, as a condition the unique index can serve.

    Not a row-value ``IN``: for 500 pairs PostgreSQL planned that (EXPLAIN, 30,000
    replies) as a walk over every reply with the template, testing each against every
    pair. Grouped by template, each group is ``template = t AND mail_id IN (...)``: one
    index probe per mail.
    """
    by_template: dict[str, set[str]] = {}
    for mail_id, template in keys:
        by_template.setdefault(template, set()).add(mail_id)
    return or_(*[and_(replies.c.template == template, replies.c.mail_id.in_(sorted(ids)))
                 for template, ids in sorted(by_template.items())])


def claim_many(
    conn: Connection, requests: Sequence[ClaimRequest], *, owner: str, lease: timedelta
) -> dict[Key, Claim]:
    """Claim replies before SMTP; the result is keyed by (mail, template).

    A new reply, a parked one that is due, and a claim whose lease ran out (its responder
    died before attempting it) are claimed. An attempt whose lease ran out is cut off:
    ``uncertain``. A reply asked for twice in one batch is claimed at most once.
    """
    now = utcnow()
    unique = sorted({r.key: r for r in reversed(requests)}.values(), key=lambda r: r.key)
    result: dict[Key, Claim] = {}
    if not unique:
        return result
    inserted = insert_ignore_many(conn, replies, [
        dict(mail_id=r.mail_id, template=r.template, recipient=r.recipient,
             message_id=r.message_id, status=ReplyStatus.CLAIMED, attempts=0, owner=owner,
             lease_until=now + lease, created_at=now, body=r.body)
        for r in unique], returning=("mail_id", "template"))
    result.update({(row.mail_id, row.template): Claim.CLAIMED for row in inserted})
    rest = [r.key for r in unique if r.key not in result]
    if rest:
        # only replies met before (a redelivery, a retry) are looked up by their keys; the
        # insert (prepared, for any number of rows) needs no plan of its own
        plan_with_values(conn)
        retaken = conn.execute(
            update(replies)
            .where(_pairs(rest), or_(
                and_(replies.c.status == ReplyStatus.RETRY,
                     or_(replies.c.next_attempt_at.is_(None), replies.c.next_attempt_at <= now)),
                and_(replies.c.status == ReplyStatus.CLAIMED, replies.c.lease_until < now)))
            .values(status=ReplyStatus.CLAIMED, owner=owner, lease_until=now + lease)
            .returning(replies.c.mail_id, replies.c.template)
        ).all()
        result.update({(m, t): Claim.CLAIMED for m, t in retaken})
        rest = [k for k in rest if k not in result]
    if rest:
        cut_off = conn.execute(
            update(replies)
            .where(_pairs(rest), replies.c.status == ReplyStatus.SENDING,
                   replies.c.lease_until < now)
            .values(status=ReplyStatus.UNCERTAIN, owner=owner, lease_until=None,
                    last_error=CUT_OFF)
            .returning(replies.c.mail_id, replies.c.template)
        ).all()
        result.update({(m, t): Claim.UNCERTAIN for m, t in cut_off})
        rest = [k for k in rest if k not in result]
    if rest:
        found = conn.execute(
            select(replies.c.mail_id, replies.c.template, replies.c.status).where(_pairs(rest))
        ).all()
        result.update({(m, t): _CLAIM_OF.get(ReplyStatus(s), Claim.FINISHED) for m, t, s in found})
    return result


_CLAIM_OF = {ReplyStatus.SENT: Claim.ALREADY_SENT, ReplyStatus.SENDING: Claim.BUSY,
             ReplyStatus.CLAIMED: Claim.BUSY, ReplyStatus.RETRY: Claim.PARKED}


def record_attempts(conn: Connection, *, sent: Sequence[Key],
                    starts: Sequence[tuple[str, str, str]], lease: timedelta
                    ) -> set[tuple[str, str, str]]:
    """``sent`` rows delivered and ``starts`` begun, in ONE statement (the common commit).

    A start is recorded just before the SMTP transaction: the row becomes ``sending`` (one
    more attempt, a lease of ``lease``) only if it is still ``claimed`` under that owner
    token, so a claim another responder took over is not sent twice. Returns the (mail,
    template, owner) of ``starts`` that may go. A delivered reply is ``sent`` even if its
    row was meanwhile found cut off (``uncertain``): the server's 250 is the better
    knowledge; its mail is marked by ``mark_mails_replied``. One prepared statement for
    both, since building a statement anew cost more than running it.
    """
    sent, starts = sorted(set(sent)), sorted(set(starts))
    if not sent and not starts:
        return set()
    now = utcnow()
    if conn.dialect.name == "postgresql":
        return _record_attempts_pg(conn, sent, starts, now, now + lease)
    params: dict[str, Any] = {"p_now": now, "p_lease": now + lease}
    for n, (mail_id, template) in enumerate(sent):
        params |= {f"sm{n}": mail_id, f"st{n}": template}
    for n, (mail_id, template, owner) in enumerate(starts):
        params |= {f"am{n}": mail_id, f"at{n}": template, f"ao{n}": owner}
    rows = conn.execute(_record_statement(len(sent), len(starts)), params).all()
    return {(m, t, str(o)) for m, t, o, status in rows if status == ReplyStatus.SENDING}


@functools.lru_cache(maxsize=256)
def _record_statement(n_sent: int, n_starts: int) -> Any:
    """``record_attempts``'s statement for so many rows, built once: building a statement
    of a few dozen expressions cost more than running it."""
    was_sending = replies.c.status.in_([ReplyStatus.SENDING.value, ReplyStatus.UNCERTAIN.value])
    return (
        update(replies)
        .where(or_(
            *[and_(replies.c.mail_id == bindparam(f"sm{n}"),
                   replies.c.template == bindparam(f"st{n}"), was_sending)
              for n in range(n_sent)],
            *[and_(replies.c.mail_id == bindparam(f"am{n}"),
                   replies.c.template == bindparam(f"at{n}"),
                   replies.c.owner == bindparam(f"ao{n}"),
                   replies.c.status == ReplyStatus.CLAIMED.value)
              for n in range(n_starts)]))
        .values(
            status=case((was_sending, ReplyStatus.SENT.value), else_=ReplyStatus.SENDING.value),
            sent_at=case((was_sending, bindparam("p_now", type_=replies.c.sent_at.type)),
                         else_=replies.c.sent_at),
            last_error=case((was_sending, None), else_=replies.c.last_error),
            lease_until=case((was_sending, None),
                             else_=bindparam("p_lease", type_=replies.c.lease_until.type)),
            attempts=case((was_sending, replies.c.attempts), else_=replies.c.attempts + 1))
        .returning(replies.c.mail_id, replies.c.template, replies.c.owner, replies.c.status)
    )


# ``record_attempts`` on PostgreSQL: one text for any number of rows, the keys as arrays (in
# binary, like ``insert_ignore_many``'s). The OR of one condition per row that SQLite runs
# was a statement of another text for every mix of ends and starts (over 4,096 characters
# with 16 rows, so psycopg converted it anew on every commit, and PostgreSQL prepared a
# statement per mix). ``s`` tells a delivered row (``sent``) from a start; a row of
# ``v`` meets its reply through the unique index on (mail_id, template).
_RECORD_PG = (
    "UPDATE replies AS r SET "
    "status = CASE WHEN r.status IN ('sending', 'uncertain') THEN 'sent' ELSE 'sending' END, "
    "sent_at = CASE WHEN r.status IN ('sending', 'uncertain') THEN %(now)s ELSE r.sent_at END, "
    "last_error = CASE WHEN r.status IN ('sending', 'uncertain') THEN NULL "
    "ELSE r.last_error END, "
    "lease_until = CASE WHEN r.status IN ('sending', 'uncertain') THEN NULL "
    "ELSE %(lease)s END, "
    "attempts = CASE WHEN r.status IN ('sending', 'uncertain') THEN r.attempts "
    "ELSE r.attempts + 1 END "
    "FROM unnest(CAST(%(m)b AS VARCHAR[]), CAST(%(t)b AS VARCHAR[]), "
    "CAST(%(o)b AS VARCHAR[]), CAST(%(s)b AS BOOLEAN[])) AS v(mail_id, template, owner, sent) "
    "WHERE r.mail_id = v.mail_id AND r.template = v.template AND CASE WHEN v.sent "
    "THEN r.status IN ('sending', 'uncertain') "
    "ELSE r.owner = v.owner AND r.status = 'claimed' END "
    "RETURNING r.mail_id, r.template, r.owner, r.status"
)
assert {ReplyStatus.SENDING.value, ReplyStatus.UNCERTAIN.value, ReplyStatus.SENT.value,
        ReplyStatus.CLAIMED.value} <= set(_RECORD_PG.replace("'", " ").split())


def _record_attempts_pg(conn: Connection, sent: Sequence[Key],
                        starts: Sequence[tuple[str, str, str]], now: datetime,
                        lease_until: datetime) -> set[tuple[str, str, str]]:
    rows = [(m, t, "", True) for m, t in sent] + [(m, t, o, False) for m, t, o in starts]
    params = {"m": [r[0] for r in rows], "t": [r[1] for r in rows],
              "o": [r[2] for r in rows], "s": [r[3] for r in rows],
              "now": now, "lease": lease_until}
    # planned with its keys each time (never a generic plan made while the table was small:
    # ``plan_with_values``), without a SET LOCAL: this statement is often a commit alone
    with unprepared(conn):
        result = conn.exec_driver_sql(_RECORD_PG, params).all()
    return {(m, t, str(o)) for m, t, o, status in result if status == ReplyStatus.SENDING}


def end_attempts(conn: Connection, keys: Sequence[Key], *, lease: timedelta) -> None:
    """These transactions ended without delivering (an SMTP refusal): claimed again.

    The responder then tries again at once, parks the reply, or fails it; until then a
    crash leaves a claim, which is sent again, not an attempt in doubt.
    """
    if keys:
        conn.execute(update(replies)
                     .where(_pairs(keys), replies.c.status == ReplyStatus.SENDING)
                     .values(status=ReplyStatus.CLAIMED, lease_until=utcnow() + lease))


def mark_uncertain_many(conn: Connection, uncertain: Mapping[Key, str], *, note: str) -> None:
    """Attempts whose outcome is unknown (e.g. the connection dropped after DATA).

    The reply rows become ``uncertain`` with the reason; their mails go to review with
    ``note``, so a person decides whether the reply went out. Never sent again on its own.
    """
    if not uncertain:
        return
    now = utcnow()
    for (mail_id, template), reason in sorted(uncertain.items()):
        conn.execute(update(replies)
                     .where(replies.c.mail_id == mail_id, replies.c.template == template,
                            replies.c.status == ReplyStatus.SENDING)
                     .values(status=ReplyStatus.UNCERTAIN, lease_until=None,
                             last_error=reason[:2000]))
    conn.execute(update(mails)
                 .where(mails.c.mail_id.in_(sorted({m for m, _ in uncertain})),
                        mails.c.status == MailStatus.AWAITING_REPLY)
                 .values(status=MailStatus.IN_REVIEW, error=note, updated_at=now,
                         finished_at=None))


def park_many(conn: Connection, parked: Sequence[ParkRequest], *, give_up_after: timedelta,
              delay: Callable[[int], float]) -> list[ParkRequest]:
    """Park replies for a later retry; returns those older than ``give_up_after``.

    ``delay(attempts)`` gives the wait in seconds. What is returned is not parked: the
    caller fails it (``fail_many``) with the reason it gives the person.
    """
    if not parked:
        return []
    rows = {(r.mail_id, r.template): r for r in conn.execute(
        select(replies.c.mail_id, replies.c.template, replies.c.attempts, replies.c.created_at)
        .where(_pairs([p.key for p in parked])))}
    now = utcnow()
    given_up: list[ParkRequest] = []
    for request in sorted(parked, key=lambda p: p.key):
        row = rows.get(request.key)
        created = as_utc(row.created_at) if row is not None else now
        # a reply waiting for the send pace is not failing: it is never given up
        if now - created > give_up_after and request.wait is None:
            given_up.append(request)
            continue
        attempts = int(row.attempts) if row is not None else 1
        mine = replies.c.owner == request.owner if request.owner is not None else true()
        conn.execute(update(replies)
                     .where(replies.c.mail_id == request.mail_id,
                            replies.c.template == request.template, mine,
                            replies.c.status.in_([ReplyStatus.CLAIMED, ReplyStatus.SENDING,
                                                  ReplyStatus.RETRY]))
                     .values(status=ReplyStatus.RETRY, lease_until=None, owner=None,
                             next_attempt_at=now + timedelta(
                                 seconds=delay(attempts) if request.wait is None
                                 else request.wait),
                             last_error=request.reason[:2000]))
    return given_up


def fail_many(conn: Connection, failed: Mapping[Key, str]) -> None:
    """Replies that failed for good (5xx, given up), with the reason."""
    for (mail_id, template), reason in sorted(failed.items()):
        conn.execute(update(replies)
                     .where(replies.c.mail_id == mail_id, replies.c.template == template)
                     .values(status=ReplyStatus.FAILED, lease_until=None,
                             last_error=reason[:2000]))


def record_suppressions(conn: Connection, suppressed: Sequence[tuple[str, str]]) -> None:
    """Why no reply went to these mails: (mail id, reason) each."""
    if suppressed:
        now = utcnow()
        conn.execute(suppressions.insert(), [dict(mail_id=m, reason=r[:128], at=now)
                                             for m, r in suppressed])


def take_rate_slots(
    conn: Connection, requests: Sequence[SlotRequest], *, period: timedelta
) -> set[tuple[str, str]]:
    """Rate slots for automatic replies; returns the (recipient, mail) that may reply.

    One slot per address and ``period``, whatever the template: the mail that holds it may
    take it again (a retry, a redelivery), another only once it expired. Within one batch
    it goes as it would one request after the other: to the mail that already holds it,
    else to the first asking mail if the slot is free or expired.
    """
    now = utcnow()
    groups: dict[str, list[str]] = {}
    for r in requests:
        mail_ids = groups.setdefault(r.recipient, [])
        if r.mail_id not in mail_ids:
            mail_ids.append(r.mail_id)
    granted: set[tuple[str, str]] = set()
    if not groups:
        return granted
    ordered = sorted(groups)
    inserted = [rcpt for rcpt, in insert_ignore_many(conn, autoreply_log, [
        dict(recipient=rcpt, template=ANY_TEMPLATE, mail_id=groups[rcpt][0], at=now)
        for rcpt in ordered], returning=("recipient",))]
    granted.update((rcpt, groups[rcpt][0]) for rcpt in inserted)
    taken = set(inserted)
    for rcpt in ordered:  # a slot that exists: few in a batch, one statement each
        if rcpt in taken:
            continue
        slot = (autoreply_log.c.recipient == rcpt, autoreply_log.c.template == ANY_TEMPLATE)
        holder = conn.execute(
            update(autoreply_log)
            .where(*slot, autoreply_log.c.mail_id.in_(groups[rcpt]))
            .values(at=now)
            .returning(autoreply_log.c.mail_id)
        ).scalar()
        if holder is None:
            holder = conn.execute(
                update(autoreply_log)
                .where(*slot, autoreply_log.c.at < now - period)
                .values(mail_id=groups[rcpt][0], at=now)
                .returning(autoreply_log.c.mail_id)
            ).scalar()
        if holder is not None:
            granted.add((rcpt, str(holder)))
    return granted


def waiting_to_send(conn: Connection) -> int:
    """Replies claimed and not yet on the wire: what waits for the pace (or a connection)."""
    return int(conn.execute(select(func.count()).select_from(replies)
                            .where(replies.c.status == ReplyStatus.CLAIMED)).scalar_one())


def mark_mails_replied(conn: Connection, mail_ids: Sequence[str],
                       notes: Mapping[str, str] | None = None) -> None:
    """Mails ``replied``, in one statement per 500 (and one per mail with a note).

    ``notes`` (mail id -> text) is kept as the mail's error, e.g. recipients the server
    refused while accepting the others.
    """
    now = utcnow()
    notes = notes or {}
    plain = sorted({m for m in mail_ids if m not in notes})
    if plain and conn.dialect.name == "postgresql":
        # the ids as one array: the same text for any number (an IN of 500 parameters was
        # rendered by SQLAlchemy and converted by psycopg anew for every batch), planned
        # with its values (``unprepared``)
        with unprepared(conn):
            conn.execute(_REPLIED_PG, {"ids": plain, "now": now})
        plain = []
    for start in range(0, len(plain), 500):
        conn.execute(update(mails).where(mails.c.mail_id.in_(plain[start:start + 500]))
                     .values(status=MailStatus.REPLIED, error=None, updated_at=now,
                             finished_at=now))
    for mail_id, note in sorted(notes.items()):
        conn.execute(update(mails).where(mails.c.mail_id == mail_id)
                     .values(status=MailStatus.REPLIED, error=note, updated_at=now,
                             finished_at=now))


_REPLIED_PG = (update(mails)
               .where(mails.c.mail_id == any_(bindparam("ids", type_=ARRAY(String))))
               .values(status=MailStatus.REPLIED, error=None,
                       updated_at=bindparam("now", type_=mails.c.updated_at.type),
                       finished_at=bindparam("now", type_=mails.c.finished_at.type)))


def due_retries(conn: Connection, limit: int = 500) -> list[str]:
    """Mail ids whose parked reply is due for another attempt."""
    rows = conn.execute(
        select(replies.c.mail_id)
        .where(replies.c.status == ReplyStatus.RETRY, replies.c.next_attempt_at <= utcnow())
        .limit(limit)
    ).scalars()
    return list(rows)


def orphaned(conn: Connection, limit: int = 500) -> list[str]:
    """Mail ids whose claim or attempt ran out: its responder died holding it.

    Published again, a claim is claimed and sent by the next responder, and an attempt
    is found cut off and goes to review (``claim_many``).
    """
    rows = conn.execute(
        select(replies.c.mail_id)
        .join(mails, mails.c.mail_id == replies.c.mail_id)
        .where(replies.c.status.in_([ReplyStatus.CLAIMED, ReplyStatus.SENDING]),
               replies.c.lease_until < utcnow(),
               mails.c.status == MailStatus.AWAITING_REPLY)  # a closed mail is not owed one
        .limit(limit)
    ).scalars()
    return list(rows)


def counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(replies.c.status, func.count()).group_by(replies.c.status))
    return {str(k): int(v) for k, v in rows}


def get(conn: Connection, mail_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(replies).where(replies.c.mail_id == mail_id)).mappings()
    return [dict(r) for r in rows]


