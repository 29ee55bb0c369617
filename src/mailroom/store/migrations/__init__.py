"""Schema migrations with Alembic, run from code (no ``alembic.ini`` at run time).

``versions/`` holds one revision per schema change; 0001 is the schema of the first
release exactly. ``prepare`` is what every service runs on start:

* a new, empty store gets today's tables (``schema.metadata``) and is stamped at head;
* a store from before migrations (``meta.schema_version`` = 1, no ``alembic_version``) is
  recognised as revision 0001;
* an older store is upgraded when the caller allows it (a SQLite store, under its file
  lock, and ``mailroom db upgrade``), otherwise start-up stops with one line naming the
  command; a store written by a newer release is refused.

Every function takes a connection inside a transaction; the caller commits.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, insert, inspect, select

from mailroom.settings import ConfigError
from mailroom.store.schema import SCHEMA_VERSION, meta, metadata

HERE = Path(__file__).parent
BASELINE = "0001"  # the first release's schema, what a store from before migrations has
UPGRADE_COMMAND = "mailroom db upgrade"


class SchemaError(ConfigError):
    """The store's schema is not this release's; the message says what to do."""


def config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = conn
    return cfg


def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    found = scripts().get_current_head()
    assert found is not None
    return found


def known_revisions() -> set[str]:
    return {s.revision for s in scripts().walk_revisions()}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Alembic says which dialect it uses each time it looks: not worth a line per start."""
    logger = logging.getLogger("alembic.runtime.migration")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def current(conn: Connection) -> str | None:
    """The revision the store is at, 0001 for a store from before migrations, None if empty."""
    tables = set(inspect(conn).get_table_names())
    if "alembic_version" in tables:
        with _quiet():
            found = MigrationContext.configure(conn).get_current_revision()
        if found is not None:
            return found
    if "mails" not in tables:
        return None
    version = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar() \
        if "meta" in tables else None
    if version != "1":
        raise SchemaError(f"the state store has tables but no schema revision (meta.schema_version="
                          f"{version!r}): it was not written by mailroom")
    return BASELINE


def upgrade(conn: Connection, target: str = "head") -> None:
    command.upgrade(config(conn), target)


def stamp(conn: Connection, target: str) -> None:
    command.stamp(config(conn), target)


def prepare(conn: Connection, *, allow_upgrade: bool) -> str:
    """Bring the store to this release's schema or raise ``SchemaError``; returns the revision."""
    at, wanted = current(conn), head()
    if at is None:
        metadata.create_all(conn)
        conn.execute(insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
        with _quiet():
            stamp(conn, "head")
        return wanted
    if at == wanted:
        return at
    if at not in known_revisions():
        raise SchemaError(f"the state store is at schema revision {at}, newer than this release "
                          f"knows ({wanted}): run the newer mailroom, or restore a backup")
    if not allow_upgrade:
        raise SchemaError(f"the state store's schema (revision {at}) is older than this release's "
                          f"({wanted}): run `{UPGRADE_COMMAND}` first")
    with _quiet():
        recorded = MigrationContext.configure(conn).get_current_revision()
    if recorded is None:
        stamp(conn, at)  # a store from before migrations: record where it starts
    upgrade(conn, "head")
    return wanted
