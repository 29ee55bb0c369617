"""When each stage last handled a batch (one row per stage, written in the batch's own
transaction), so the reconciler can tell a stalled stage from a busy one by reading two
rows instead of scanning every mail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from mailroom.events import utcnow
from mailroom.store.schema import stage_progress

PROCESSOR = "processor"
RESPONDER = "responder"


def mark(conn: Connection, stage: str) -> None:
    """Record progress now. Call it last in the transaction: the row is shared by every
    process of the stage, and its lock is held only until the commit."""
    values = {"stage": stage, "at": utcnow()}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(stage_progress).values(**values)
    conn.execute(statement.on_conflict_do_update(index_elements=[stage_progress.c.stage],
                                                 set_={"at": statement.excluded.at}))


def last(conn: Connection) -> dict[str, datetime]:
    return {str(stage): at for stage, at in conn.execute(
        select(stage_progress.c.stage, stage_progress.c.at))}
