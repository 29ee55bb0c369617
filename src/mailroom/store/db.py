"""Opening the state store: one engine per process, SQLite or PostgreSQL."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.sql.dml import Insert

from mailroom.errors import RetryLater
from mailroom.store.schema import SCHEMA_VERSION, meta, metadata


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the API read while a stage writes; several processes may share it
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True)


def insert_ignore(conn: Connection, table: Table) -> Insert:
    """An INSERT that silently skips rows whose key exists (SQLite and PostgreSQL).

    To learn whether a row was inserted, add ``.returning(pk)`` and check ``.first()``:
    psycopg reports rowcount -1 for these statements.
    """
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return insert(table)


def plan_with_values(conn: Connection) -> None:
    """Have PostgreSQL plan this transaction's statements with their values.

    psycopg prepares a statement after its fifth run, and PostgreSQL then keeps one generic
    plan, made without the values and with the table as large as it was then, until the
    next ANALYZE. For a lookup of a batch of keys in a table that grows fast (a backlog
    drain) that plan was a scan of every row (auto_explain showed it): settling 250
    replies took 591 ms at 100,000 mails, 50 ms planned with the values
    (``python -m benchmarks.store``). Planning each statement again is for transactions
    of a few statements over many rows; an ``executemany`` of hundreds of rows keeps its
    one prepared plan.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")


class Database:
    """The engine plus schema management; query modules take a ``Connection``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    def create_schema(self) -> None:
        """Create missing tables; tolerant of several processes doing it at the same moment."""
        for attempt in range(5):
            try:
                self._create_schema()
                return
            except (IntegrityError, ProgrammingError, OperationalError) as exc:
                # another process created the same table, index or row between check and
                # create (SQLite says so with an OperationalError: "... already exists")
                lost_race = not isinstance(exc, OperationalError) or "already exists" in str(exc)
                if attempt == 4 or not lost_race:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def _create_schema(self) -> None:
        with self.engine.begin() as conn:
            metadata.create_all(conn)
            # create_all adds indexes only with a new table: an index added in a later
            # release reaches an existing store here (on PostgreSQL it locks writes to
            # that table while it is built, once)
            for table in metadata.sorted_tables:
                for index in table.indexes:
                    index.create(conn, checkfirst=True)
            found = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version"))
            if found.scalar() is None:
                conn.execute(insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction; a lost database connection becomes ``RetryLater``."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise RetryLater(f"state store unavailable: {exc.orig!r}") from exc

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
