"""Opening the state store: one engine per process, SQLite or PostgreSQL."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    Row,
    String,
    Table,
    create_engine,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.dml import Insert

from mailroom.errors import RetryLater

# pg_advisory_lock key of schema creation and upgrades (any constant unique to mailroom)
SCHEMA_LOCK_KEY = 0x6D61696C726F6F6D  # "mailroom"


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


def insert_ignore_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]],
                       returning: Sequence[str] = ()) -> list[Row[Any]]:
    """``insert_ignore`` of many rows (each with the same keys); the ``returning`` columns
    of the rows inserted.

    On PostgreSQL one statement whose parameters are one array per column (``INSERT ...
    SELECT FROM unnest(...)``): its text is the same for any number of rows, so psycopg
    converts it once and the server prepares it, where a multi-row ``VALUES`` of a few
    thousand parameters was converted and parsed anew for every batch (psycopg caches no
    statement of more than 50 parameters). The arrays go in binary (``%b``): psycopg's
    text form escapes every element in Python, far slower for a batch of mails' JSON
    (``python -m benchmarks.arrays``; docs/benchmarks.md). A ``None`` is SQL NULL (also
    in a JSON column). Elsewhere an ``executemany``.
    """
    if not rows:
        return []
    if conn.dialect.name != "postgresql":
        insert_rows = insert_ignore(conn, table)
        if not returning:
            conn.execute(insert_rows, list(rows))
            return []
        return list(conn.execute(insert_rows.returning(*(table.c[n] for n in returning)),
                                 list(rows)).all())
    names = tuple(rows[0])
    params = {f"a{i}": [array_item(table.c[name].type, row[name]) for row in rows]
              for i, name in enumerate(names)}
    result = conn.exec_driver_sql(_unnest_insert(table, names, tuple(returning)), params)
    return list(result.all()) if returning else []


def array_item(column_type: Any, value: Any) -> Any:
    """One value as an element of a column's array parameter (JSON as ``json.dumps`` text,
    as SQLAlchemy's JSON type writes it; an enum as its value)."""
    if value is None:
        return None
    if isinstance(column_type, JSON):
        return json.dumps(value)
    return value.value if isinstance(value, Enum) else value


def array_type(column_type: Any) -> str:
    """The PostgreSQL element type of a column's array parameter (``unnest``). JSON travels
    as text (``json.dumps``) and is cast back per value. A string travels as unbounded
    VARCHAR: a cast to VARCHAR(n) would cut a value too long for its column without a
    word, where the assignment to the column fails, as a row-by-row statement does."""
    if isinstance(column_type, JSON):
        return "TEXT"
    if isinstance(column_type, String):
        return "VARCHAR"
    return str(column_type.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]


@functools.lru_cache(maxsize=64)
def _unnest_insert(table: Table, names: tuple[str, ...], returning: tuple[str, ...]) -> str:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(n) for n in names)
    types = [array_type(table.c[n].type) for n in names]
    arrays = ", ".join(f"CAST(%(a{i})b AS {t}[])" for i, t in enumerate(types))
    values = ", ".join(f"CAST(v.{quote(n)} AS JSON)" if isinstance(table.c[n].type, JSON)
                       else f"v.{quote(n)}" for n in names)
    # only the table's own (quoted) names are formatted in; every value is a parameter
    sql = (f"INSERT INTO {quote(table.name)} ({columns}) SELECT {values} "  # noqa: S608
           f"FROM unnest({arrays}) AS v({columns}) ON CONFLICT DO NOTHING")
    if returning:
        sql += " RETURNING " + ", ".join(quote(n) for n in returning)
    return sql


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


@contextlib.contextmanager
def unprepared(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, the statements run meanwhile are not prepared by psycopg: each is
    planned with its own values, as ``plan_with_values`` has it, but without a ``SET
    LOCAL`` (a round trip) before them. For a statement of many rows whose keys are
    arrays: a generic plan (prepared) would guess their length."""
    if conn.dialect.name != "postgresql":
        yield
        return
    raw = conn.connection.dbapi_connection
    threshold = raw.prepare_threshold  # type: ignore[union-attr]
    raw.prepare_threshold = None  # type: ignore[union-attr]
    try:
        yield
    finally:
        raw.prepare_threshold = threshold  # type: ignore[union-attr]


class Database:
    """The engine plus schema management; query modules take a ``Connection``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    def create_schema(self, upgrade: bool | None = None) -> str:
        """Bring the store to this release's schema; returns its revision.

        A new store is created and stamped; an older one is upgraded when ``upgrade`` is
        true (default: only a SQLite store, which no other node shares), otherwise this
        raises ``SchemaError`` naming ``mailroom db upgrade``. Several processes doing this
        at once take turns on a lock (PostgreSQL advisory lock, a file lock for SQLite).
        """
        from mailroom.store import migrations

        allow = self.engine.dialect.name == "sqlite" if upgrade is None else upgrade
        with self.schema_lock(), self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                # Python's sqlite3 opens a transaction only at the first INSERT/UPDATE, so
                # DDL before it commits at once: a start killed mid-creation or mid-upgrade
                # would leave a half-made schema that later starts refuse or fail on
                conn.exec_driver_sql("BEGIN")
            return migrations.prepare(conn, allow_upgrade=allow)

    def schema_revision(self) -> tuple[str | None, str]:
        """(the store's revision or None when empty, this release's head)."""
        from mailroom.store import migrations

        with self.engine.connect() as conn:
            return migrations.current(conn), migrations.head()

    @contextlib.contextmanager
    def schema_lock(self) -> Iterator[None]:
        """One process at a time creates or upgrades the schema."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY})
                    conn.commit()
            return
        path = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not path or path == ":memory:":
            yield
            return
        with open(f"{path}.schema-lock", "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

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
