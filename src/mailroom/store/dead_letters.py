"""Dead letters kept in the store, so they survive the embedded broker."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from mailroom.events import DeadLetter
from mailroom.store.schema import dead_letters


def record(conn: Connection, letters: list[DeadLetter]) -> None:
    if not letters:
        return
    conn.execute(
        insert(dead_letters),
        [
            {
                "source_topic": d.source_topic,
                "key": d.key,
                "mail_id": d.mail_id,
                "account": d.account,
                "folder": d.folder,
                "uid": d.uid,
                "reason": d.reason[:4000],
                "error_type": d.error_type,
                "payload": d.payload[:1_000_000],
                "failed_at": d.failed_at,
            }
            for d in letters
        ],
    )


def list_open(conn: Connection, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(dead_letters).where(dead_letters.c.status == "open")
        .order_by(dead_letters.c.id.desc()).limit(limit).offset(offset)
    ).mappings()
    return [dict(r) for r in rows]


def get(conn: Connection, letter_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(dead_letters).where(dead_letters.c.id == letter_id)).mappings().first()
    return dict(row) if row else None


def set_status(conn: Connection, letter_id: int, status: str) -> bool:
    result = conn.execute(
        update(dead_letters).where(dead_letters.c.id == letter_id).values(status=status)
    )
    return bool(result.rowcount)


def count_open(conn: Connection) -> int:
    return int(conn.execute(
        select(func.count()).select_from(dead_letters).where(dead_letters.c.status == "open")
    ).scalar_one())


def known_mail_ids(conn: Connection, ids: list[str]) -> set[str]:
    """Which of these mail ids already have a dead letter (a re-scanned folder)."""
    wanted = [i for i in ids if i]
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(conn.execute(
            select(dead_letters.c.mail_id).where(dead_letters.c.mail_id.in_(chunk))).scalars())
    return found
