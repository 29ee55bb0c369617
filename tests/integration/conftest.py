"""The state store on each kind of database, for the store's integration tests (the real
servers' fixtures, ``pg_url`` among them, are in ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailroom.store import Database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store: a SQLite file, or a fresh PostgreSQL database per test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url")).replace("postgresql://", "postgresql+psycopg://")


@pytest.fixture
def db(empty_store_url: str) -> Iterator[Database]:
    """A store with this release's schema, on SQLite and on PostgreSQL."""
    database = Database(empty_store_url)
    database.create_schema()
    yield database
    database.dispose()
