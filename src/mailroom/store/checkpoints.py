"""How far each folder has been read: (account, folder, UIDVALIDITY) -> last UID."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from mailroom.events import utcnow
from mailroom.store.db import insert_ignore
from mailroom.store.schema import checkpoints


@dataclass(frozen=True)
class Checkpoint:
    uidvalidity: int
    last_uid: int


def load(conn: Connection, account: str, folder: str) -> Checkpoint | None:
    row = conn.execute(
        select(checkpoints.c.uidvalidity, checkpoints.c.last_uid).where(
            checkpoints.c.account == account, checkpoints.c.folder == folder
        )
    ).first()
    return Checkpoint(int(row[0]), int(row[1])) if row else None


def save(conn: Connection, account: str, folder: str, uidvalidity: int, last_uid: int) -> None:
    """Advance the checkpoint; it never goes backwards within one UIDVALIDITY.

    On PostgreSQL and SQLite one statement: the row inserted, or updated when the
    UIDVALIDITY changed or the UID moved forward (what the insert, read and update below
    do in three).
    """
    now = utcnow()
    if conn.dialect.name in ("postgresql", "sqlite"):
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(checkpoints).values(
            account=account, folder=folder, uidvalidity=uidvalidity, last_uid=last_uid,
            updated_at=now)
        conn.execute(statement.on_conflict_do_update(
            index_elements=[checkpoints.c.account, checkpoints.c.folder],
            set_={"uidvalidity": statement.excluded.uidvalidity,
                  "last_uid": statement.excluded.last_uid,
                  "updated_at": statement.excluded.updated_at},
            where=or_(checkpoints.c.uidvalidity != statement.excluded.uidvalidity,
                      checkpoints.c.last_uid < statement.excluded.last_uid)))
        return
    conn.execute(
        insert_ignore(conn, checkpoints).values(
            account=account, folder=folder, uidvalidity=uidvalidity, last_uid=last_uid,
            updated_at=now,
        )
    )
    current = load(conn, account, folder)
    if current is None:
        return
    if current.uidvalidity != uidvalidity or current.last_uid < last_uid:
        conn.execute(
            update(checkpoints)
            .where(checkpoints.c.account == account, checkpoints.c.folder == folder)
            .values(uidvalidity=uidvalidity, last_uid=last_uid, updated_at=now)
        )
