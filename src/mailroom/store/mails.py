"""Queries on the fate of mails."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    String,
    and_,
    any_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql

from mailroom.events import Decision, RawEmail, Route, utcnow
from mailroom.store.db import array_item, array_type, insert_ignore_many, unprepared
from mailroom.store.schema import MailStatus, mails

ROUTE_STATUS = {
    Route.ACKNOWLEDGE: MailStatus.AWAITING_REPLY,
    Route.REVIEW: MailStatus.IN_REVIEW,
    Route.ARCHIVE: MailStatus.ARCHIVED,
}
# a decision may move a mail only out of these statuses (a replay never undoes a reply)
DECIDABLE = (MailStatus.COLLECTED, MailStatus.AWAITING_REPLY, MailStatus.IN_REVIEW,
             MailStatus.ARCHIVED, MailStatus.DEAD)


def _row(email: RawEmail, status: MailStatus, now: datetime) -> dict[str, Any]:
    return {
        "mail_id": email.mail_id,
        "account": email.account,
        "folder": email.folder,
        "uid": email.uid,
        "uidvalidity": email.uidvalidity,
        "message_id": email.message_id[:998],
        "subject": email.subject,
        "from_addr": email.from_addr[:512],
        "language": email.language,
        "status": status,
        "event": email.model_dump(mode="json"),
        "collected_at": email.collected_at,
        "updated_at": now,
    }


# PostgreSQL: a batch's ids as one array parameter. The statement's text is the same for any
# number of ids, so SQLAlchemy and psycopg convert it once, where an expanding IN of 500
# parameters was rendered and converted anew for every batch. They run unprepared
# (``db.unprepared``), so each is planned with its values: a generic plan made while the table
# was small would scan every row once it is large.
_BY_IDS = select(mails.c.mail_id).where(
    mails.c.mail_id == any_(bindparam("ids", type_=postgresql.ARRAY(String))))
_STATUSES_BY_IDS = select(mails.c.mail_id, mails.c.status).where(
    mails.c.mail_id == any_(bindparam("ids", type_=postgresql.ARRAY(String))))


def known_ids(conn: Connection, ids: Iterable[str]) -> set[str]:
    ids = list(ids)
    if conn.dialect.name == "postgresql":
        if not ids:
            return set()
        with unprepared(conn):
            return set(conn.execute(_BY_IDS, {"ids": ids}).scalars())
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(conn.execute(select(mails.c.mail_id).where(mails.c.mail_id.in_(chunk))).scalars())
    return found


def record_collected(conn: Connection, emails: Sequence[RawEmail]) -> None:
    """Insert newly collected mails; a mail already known keeps its fate."""
    if not emails:
        return
    now = utcnow()
    insert_ignore_many(conn, mails, [_row(e, MailStatus.COLLECTED, now) for e in emails])


def _statuses(conn: Connection, ids: Sequence[str]) -> dict[str, str]:
    if conn.dialect.name == "postgresql":
        with unprepared(conn):
            return {row[0]: row[1] for row in conn.execute(_STATUSES_BY_IDS, {"ids": list(ids)})}
    return {
        row[0]: row[1]
        for row in conn.execute(select(mails.c.mail_id, mails.c.status).where(mails.c.mail_id.in_(ids)))
    }


_DECIDE = (
    update(mails)
    .where(mails.c.mail_id == bindparam("b_mail_id"),
           # an OR of equalities, not IN: an expanding IN cannot run as executemany
           or_(*[mails.c.status == literal_column(f"'{s.value}'") for s in DECIDABLE]))
    .values(
        status=bindparam("b_status"), category=bindparam("b_category"), rule=bindparam("b_rule"),
        confidence=bindparam("b_confidence"), route=bindparam("b_route"),
        template=bindparam("b_template"), language=bindparam("b_language"),
        decided_at=bindparam("b_decided_at"), updated_at=bindparam("b_now"),
        finished_at=bindparam("b_finished_at"),
        reasons=bindparam("b_reasons", type_=mails.c.reasons.type),
        would_reply=bindparam("b_would_reply"), would_category=bindparam("b_would_category"),
    )
)


# the columns _DECIDE writes, with its parameter for each (the key, b_mail_id, first)
_DECIDE_PARAMS = (
    ("mail_id", "b_mail_id"), ("status", "b_status"), ("category", "b_category"),
    ("rule", "b_rule"), ("confidence", "b_confidence"), ("route", "b_route"),
    ("template", "b_template"), ("language", "b_language"), ("decided_at", "b_decided_at"),
    ("updated_at", "b_now"), ("finished_at", "b_finished_at"), ("reasons", "b_reasons"),
    ("would_reply", "b_would_reply"), ("would_category", "b_would_category"),
)


@functools.cache
def _decide_unnest() -> str:
    """``_DECIDE`` on PostgreSQL as one statement for a whole batch: the values as one array
    per column (``unnest``, each of ``db.array_type``), the same condition on the status."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    quote = dialect.identifier_preparer.quote
    names = [name for name, _ in _DECIDE_PARAMS]
    arrays = ", ".join(f"CAST(%({param})b AS {array_type(mails.c[name].type)}[])"
                       for name, param in _DECIDE_PARAMS)
    sets = ", ".join(f"{quote(n)} = CAST(v.{quote(n)} AS JSON)" if isinstance(mails.c[n].type, JSON)
                     else f"{quote(n)} = v.{quote(n)}" for n in names[1:])
    decidable = ", ".join(f"'{s.value}'" for s in DECIDABLE)
    # only the table's own names and the fixed statuses are formatted in; values are parameters
    return (f"UPDATE {quote(mails.name)} SET {sets} "  # noqa: S608
            f"FROM unnest({arrays}) AS v({', '.join(quote(n) for n in names)}) "
            f"WHERE {quote(mails.name)}.{quote('mail_id')} = v.{quote('mail_id')} "
            f"AND {quote(mails.name)}.{quote('status')} IN ({decidable})")


def _decide(conn: Connection, params: list[dict[str, Any]]) -> None:
    """``_DECIDE`` for every row of ``params``: one statement on PostgreSQL, else an
    executemany. The same rows get the same values either way; a batch naming one mail twice
    (executemany: the last one wins) or with a naive time (the array needs one kind) takes
    the executemany."""
    if (conn.dialect.name != "postgresql"
            or len({p["b_mail_id"] for p in params}) != len(params)
            or any(p["b_decided_at"].tzinfo is None for p in params)):
        conn.execute(_DECIDE, params)
        return
    arrays = {param: [array_item(mails.c[name].type, p[param]) for p in params]
              for name, param in _DECIDE_PARAMS}
    with unprepared(conn):  # planned with its values, as the lookups above
        conn.exec_driver_sql(_decide_unnest(), arrays)


def record_decisions(conn: Connection, decided: Sequence[tuple[RawEmail, Decision]]) -> set[str]:
    """Store each decision; returns the ids whose reply/review is already settled.

    A mail the processor sees before the collector's row landed is inserted here. The
    update is conditional on the status still being decidable, in the statement itself:
    a responder that marks the mail replied at the same moment is never overwritten (a
    read-then-write here lost that race under a rebalance). A mail whose status is not the
    decision's afterwards (replied, suppressed, failed, closed) is settled: the caller
    does not route it again. One statement per batch, not one per mail.
    """
    if not decided:
        return set()
    now = utcnow()
    ids = [e.mail_id for e, _ in decided]
    existing = _statuses(conn, ids)
    missing = {e.mail_id: e for e, _ in decided if e.mail_id not in existing}
    if missing:
        insert_ignore_many(conn, mails, [_row(e, MailStatus.COLLECTED, now)
                                         for e in missing.values()])
    params = [
        {
            "b_mail_id": email.mail_id, "b_status": ROUTE_STATUS[decision.route],
            "b_category": decision.category, "b_rule": decision.rule,
            "b_confidence": decision.confidence, "b_route": decision.route.value,
            "b_template": decision.template, "b_language": decision.language or email.language,
            "b_decided_at": decision.decided_at, "b_now": now,
            "b_finished_at": now if decision.route is Route.ARCHIVE else None,
            "b_reasons": decision.reasons, "b_would_reply": decision.would_reply,
            "b_would_category": decision.category if decision.would_reply else None,
        }
        for email, decision in decided
        if existing.get(email.mail_id, MailStatus.COLLECTED) in DECIDABLE
    ]
    if params:
        _decide(conn, params)
    after = _statuses(conn, ids)
    return {e.mail_id for e, d in decided if after.get(e.mail_id) != ROUTE_STATUS[d.route]}


def set_status(
    conn: Connection,
    mail_id: str,
    status: MailStatus,
    *,
    error: str | None = None,
    only_from: Sequence[MailStatus] | None = None,
    **values: Any,
) -> bool:
    now = utcnow()
    stmt = update(mails).where(mails.c.mail_id == mail_id)
    if only_from is not None:
        stmt = stmt.where(mails.c.status.in_([s.value for s in only_from]))
    finished = None if status in (MailStatus.COLLECTED, MailStatus.AWAITING_REPLY,
                                  MailStatus.IN_REVIEW) else now
    result = conn.execute(
        stmt.values(status=status, error=error, updated_at=now, finished_at=finished, **values)
    )
    return bool(result.rowcount)


def stale_open_mails(
    conn: Connection, status: MailStatus, older_than: timedelta, limit: int = 1000,
    ids: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Mails stuck in an open status: their Kafka message may have been lost."""
    cutoff = utcnow() - older_than
    query = (
        select(mails.c.mail_id, mails.c.event, mails.c.category, mails.c.rule,
               mails.c.confidence, mails.c.route, mails.c.language, mails.c.template,
               mails.c.reply_request)
        .where(and_(mails.c.status == status, mails.c.updated_at < cutoff))
        .order_by(mails.c.updated_at)
        .limit(limit)
    )
    if ids is not None:
        query = query.where(mails.c.mail_id.in_(list(ids)))
    return [dict(r) for r in conn.execute(query).mappings()]


def touch(conn: Connection, ids: Sequence[str]) -> None:
    if ids:
        conn.execute(update(mails).where(mails.c.mail_id.in_(list(ids))).values(updated_at=utcnow()))


def count_by(conn: Connection, column: str) -> dict[str, int]:
    col = mails.c[column]
    rows = conn.execute(select(col, func.count()).group_by(col))
    return {str(k): int(v) for k, v in rows}


def count_in(conn: Connection, statuses: Sequence[MailStatus]) -> dict[str, int]:
    """``count_by("status")`` for a few statuses: an index range, not every mail."""
    rows = conn.execute(
        select(mails.c.status, func.count())
        .where(mails.c.status.in_([s.value for s in statuses]))
        .group_by(mails.c.status))
    return {str(k): int(v) for k, v in rows}


def count_all(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(mails)).scalar_one())


def count_open(conn: Connection) -> int:
    return int(conn.execute(
        select(func.count()).select_from(mails).where(mails.c.status.in_(
            [MailStatus.COLLECTED.value, MailStatus.AWAITING_REPLY.value]))
    ).scalar_one())


def get_mail(conn: Connection, mail_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(mails).where(mails.c.mail_id == mail_id)).mappings().first()
    return dict(row) if row else None
