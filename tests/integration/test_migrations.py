"""Schema migrations: a store written by the first release upgrades to head and loses nothing,
the migrations build exactly ``schema.metadata``, and an older store is refused or upgraded."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import release_0001_schema as release
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    inspect,
    select,
    text,
)

from mailroom.cli import main
from mailroom.store import Database, migrations
from mailroom.store.schema import metadata

pytestmark = pytest.mark.integration

WHEN = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(empty_store_url: str) -> Iterator[Database]:
    """An empty store on SQLite and on PostgreSQL (``empty_store_url``: conftest.py)."""
    database = Database(empty_store_url)
    yield database
    database.dispose()


def value_for(table: Table, column: Any, n: int) -> Any:
    """A distinct, valid value for one column of one row (foreign keys point at mail-n)."""
    if column.name == "mail_id":
        return f"mail-{n}"
    kind = column.type
    if isinstance(kind, DateTime):
        return WHEN.replace(minute=n)
    if isinstance(kind, Integer | BigInteger):
        return 1000 * n + len(column.name)
    if isinstance(kind, Float):
        return n + 0.25
    if isinstance(kind, JSON):
        return {"column": column.name, "n": n}
    if isinstance(kind, String | Text):
        limit = getattr(kind, "length", None) or 64
        return f"{table.name}.{column.name}-{n}"[:limit]
    raise AssertionError(f"no test value for {table.name}.{column.name} ({kind!r})")


def write_release_store(database: Database) -> dict[str, list[dict[str, Any]]]:
    """What the first release did on start (create_all + schema_version 1), plus two rows
    in every table; returns the rows as read back."""
    with database.engine.begin() as conn:
        release.metadata.create_all(conn)
        conn.execute(insert(release.meta).values(key="schema_version", value="1"))
        for table in release.metadata.sorted_tables:
            if table is release.meta:
                conn.execute(insert(table).values(key="other", value="kept"))
                continue
            conn.execute(insert(table), [{c.name: value_for(table, c, n) for c in table.columns}
                                         for n in (1, 2)])
    return read_rows(database, release.metadata)


def read_rows(database: Database, tables: MetaData) -> dict[str, list[dict[str, Any]]]:
    """Every row of ``tables``' tables, only the columns ``tables`` knows, in key order."""
    found = MetaData()
    found.reflect(database.engine, only=[t.name for t in tables.sorted_tables])
    rows: dict[str, list[dict[str, Any]]] = {}
    with database.engine.connect() as conn:
        for table in tables.sorted_tables:
            live = found.tables[table.name]
            key = [live.c[c.name] for c in table.primary_key.columns]
            columns = [live.c[c.name] for c in table.columns]
            rows[table.name] = [dict(r) for r in conn.execute(
                select(*columns).order_by(*key)).mappings()]
    return rows


def differences(database: Database, target: MetaData) -> list[Any]:
    with database.engine.connect() as conn:
        return list(compare_metadata(MigrationContext.configure(conn), target))


def test_revision_0001_is_exactly_the_schema_of_the_first_release(store: Database) -> None:
    with store.engine.begin() as conn:
        migrations.upgrade(conn, migrations.BASELINE)
    assert differences(store, release.metadata) == []


def test_the_migrations_build_exactly_schema_metadata(store: Database) -> None:
    """Catches a change to schema.py without a migration: revision 0001 upgraded to head
    must give the tables, columns, types, indexes and constraints of ``schema.metadata``."""
    with store.engine.begin() as conn:
        migrations.upgrade(conn, "head")
    assert differences(store, metadata) == []


def test_a_release_store_with_rows_in_every_table_upgrades_to_head_and_loses_nothing(
    store: Database,
) -> None:
    before = write_release_store(store)
    assert all(before[name] for name in before), "every table holds rows before the upgrade"

    assert store.create_schema(upgrade=True) == migrations.head()

    assert read_rows(store, release.metadata) == before
    assert store.schema_revision() == (migrations.head(), migrations.head())
    assert differences(store, metadata) == []


def test_a_release_store_whose_first_stamp_was_cut_off_upgrades_too(store: Database) -> None:
    """An empty alembic_version table (left on SQLite by a killed start, before
    ``create_schema`` began its transaction itself): the store is still recognised as 0001."""
    before = write_release_store(store)
    with store.engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
    assert store.schema_revision()[0] == migrations.BASELINE
    assert store.create_schema(upgrade=True) == migrations.head()
    assert read_rows(store, release.metadata) == before


def test_a_new_store_is_created_at_head_and_matches_the_migrations(store: Database) -> None:
    assert store.schema_revision() == (None, migrations.head())
    assert store.create_schema(upgrade=False) == migrations.head()
    assert store.schema_revision()[0] == migrations.head()
    assert differences(store, metadata) == []
    # starting again changes nothing
    assert store.create_schema(upgrade=False) == migrations.head()


class Killed(Exception):
    """Stands for a SIGKILL of the first start."""


def test_a_first_start_cut_off_before_its_stamp_leaves_no_half_made_store(
    store: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SQLite runs DDL outside a transaction until the first write: a first start cut off
    after creating tables must not leave tables without a revision (refused ever after)."""
    def cut_off(conn: object, target: str) -> None:
        raise Killed

    monkeypatch.setattr(migrations, "stamp", cut_off)
    with pytest.raises(Killed):
        store.create_schema()
    monkeypatch.undo()
    assert store.schema_revision()[0] is None
    assert store.create_schema() == migrations.head()
    assert differences(store, metadata) == []


def test_an_upgrade_cut_off_midway_leaves_the_store_as_it_was(
    store: Database, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Revisions 0002 and 0003 applied, then the start is killed: none of it stays (on
    SQLite too), so the next start upgrades from 0001 again."""
    with store.engine.begin() as conn:
        migrations.upgrade(conn, migrations.BASELINE)
    applied = migrations.upgrade

    def cut_off(conn: Connection, target: str = "head") -> None:
        applied(conn, "0003")
        raise Killed

    monkeypatch.setattr(migrations, "upgrade", cut_off)
    with pytest.raises(Killed):
        store.create_schema(upgrade=True)
    monkeypatch.undo()
    assert store.schema_revision()[0] == migrations.BASELINE
    assert differences(store, release.metadata) == []
    assert store.create_schema(upgrade=True) == migrations.head()
    assert differences(store, metadata) == []


def test_a_store_of_a_newer_release_is_refused(store: Database) -> None:
    store.create_schema()
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(migrations.SchemaError, match="newer than this release"):
        store.create_schema(upgrade=True)


def test_tables_not_written_by_mailroom_are_refused(store: Database) -> None:
    with store.engine.begin() as conn:
        release.mails.create(conn)
    with pytest.raises(migrations.SchemaError, match="not written by mailroom"):
        store.create_schema(upgrade=True)


def test_a_sqlite_store_of_the_release_upgrades_itself_on_start(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        before = write_release_store(database)
        assert database.create_schema() == migrations.head()  # as every service starts
        assert read_rows(database, release.metadata) == before
    finally:
        database.dispose()


def test_a_service_on_an_older_postgresql_store_refuses_to_start_naming_the_command(
    pg_url: str, tmp_path: Path,
) -> None:
    """One line on stderr, exit 2, and the store untouched until `mailroom db upgrade`."""
    database = Database(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        before = write_release_store(database)
        env = {"DATABASE_URL": pg_url, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
               "MAILROOM_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
        started = subprocess.run([sys.executable, "-m", "mailroom.cli", "processor"], env=env,
                                 capture_output=True, text=True, timeout=60, check=False)
        assert started.returncode == 2, started.stderr
        errors = [line for line in started.stderr.splitlines() if "ERROR" in line]
        assert len(errors) == 1 and "run `mailroom db upgrade` first" in errors[0], started.stderr
        assert "alembic_version" not in inspect(database.engine).get_table_names()
        assert read_rows(database, release.metadata) == before
    finally:
        database.dispose()


def test_db_current_and_db_upgrade_commands(
    empty_store_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_store_url)
    monkeypatch.setenv("MAILROOM_DATA_DIR", str(tmp_path))
    database = Database(empty_store_url)
    try:
        write_release_store(database)
        assert main(["db", "current"]) == 1  # behind: says so, and what to run
        assert "run `mailroom db upgrade`" in capsys.readouterr().out
        assert main(["db", "upgrade"]) == 0
        assert f"at {migrations.head()}" in capsys.readouterr().out
        assert main(["db", "current"]) == 0
        assert f"{migrations.head()} (head)" in capsys.readouterr().out
    finally:
        database.dispose()
