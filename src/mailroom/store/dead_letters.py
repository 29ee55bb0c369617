"""Dead letters kept in the store, so they survive the embedded broker."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from mailroom.events import DeadLetter
from mailroom.store.schema import dead_letters


def dedup_key(letter: DeadLetter, origin: str | None = None) -> str:
    """The same failure gives the same key, whenever and however often it is recorded.

    A failed mail is named by its id, so a redelivered or republished event that fails the
    same way again is the same dead letter. A record that never decoded has no mail id; its
    ``origin`` (topic/partition/offset: the same garbage on two partitions is two letters)
    and its bytes name it.
    """
    if letter.mail_id:
        parts = [letter.source_topic, letter.mail_id, letter.error_type, letter.reason]
    else:
        parts = [letter.source_topic, origin or "", letter.key or "", letter.account or "",
                 letter.folder or "", str(letter.uid or ""), letter.error_type, letter.reason,
                 hashlib.sha256(letter.payload.encode(errors="replace")).hexdigest()]
    return hashlib.sha256("\x00".join(parts).encode(errors="replace")).hexdigest()


def _text(value: str | None, limit: int) -> str | None:
    """A value PostgreSQL can store: its text columns refuse NUL, which hostile mail carries."""
    return None if value is None else value[:limit].replace("\x00", "\\x00")


def record(conn: Connection, letters: Sequence[DeadLetter],
           origins: Sequence[str | None] | None = None) -> None:
    """Record dead letters; one already recorded adds no row (a retried batch, a redelivery).

    ``origins`` (one per letter) names where a record that never decoded came from. A
    letter a person sent back for another try (``retried``) that fails the same way again
    is opened again rather than left looking handled; a discarded one stays discarded.
    """
    if not letters:
        return
    rows: dict[str, dict[str, Any]] = {}
    for d, origin in zip(letters, origins or [None] * len(letters), strict=True):
        key = dedup_key(d, origin)
        rows[key] = {
            "source_topic": d.source_topic,
            "key": _text(d.key, 255),
            "mail_id": _text(d.mail_id, 64),
            "account": _text(d.account, 255),
            "folder": _text(d.folder, 255),
            "uid": d.uid,
            "reason": _text(d.reason, 4000),
            "error_type": _text(d.error_type, 128),
            "payload": _text(d.payload, 1_000_000),
            "failed_at": d.failed_at,
            "dedup_key": key,
        }
    statement = (postgresql.insert(dead_letters) if conn.dialect.name == "postgresql"
                 else sqlite.insert(dead_letters))
    statement = statement.on_conflict_do_update(
        index_elements=[dead_letters.c.dedup_key],
        set_={"status": "open", "failed_at": statement.excluded.failed_at},
        where=dead_letters.c.status == "retried",
    )
    conn.execute(statement, list(rows.values()))


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
