"""Fixtures that start real servers on free ports and tear them down.

In CI (``CI=true``) a server that cannot start is a failure, never a skip.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from mailroom.broker import EmbeddedBroker
from mailroom.settings import Settings, normalise_database_url
from mailroom.store import Database
from servers import Dovecot, SmtpSink, postgres_database

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long scenarios first (slow, then faults, then integration): under ``pytest -n`` they
    start at once and the many short tests fill the workers around them, instead of one
    long scenario running alone at the end."""
    def rank(item: pytest.Item) -> int:
        for order, marker in enumerate(("slow", "faults", "integration")):
            if item.get_closest_marker(marker) is not None:
                return order
        return 3

    items.sort(key=rank)


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    """A fresh embedded Tansu broker (memory storage) for one test."""
    b = EmbeddedBroker(port=0)
    b.start()
    yield b
    b.stop()


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A real Dovecot IMAP server with one user, support@example.com / support-pass."""
    server = Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real aiosmtpd server with AUTH (mailer@example.com / mailer-pass) keeping mails."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database on 127.0.0.1:5432, dropped afterwards."""
    try:
        ctx = postgres_database()
        url = ctx.__enter__()
    except Exception as exc:  # pragma: no cover - depends on the machine
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    try:
        yield url
    finally:
        ctx.__exit__(None, None, None)


@pytest.fixture
def store_of() -> Iterator[Callable[[str], Database]]:
    """A store handle on a database URL with the schema created, disposed after the test.

    Creating the schema before the service processes start stands in for the migration
    step of a deployment: several processes creating it at once race (see docs/reliability.md).
    """
    opened: list[Database] = []

    def open_store(url: str) -> Database:
        db = Database(normalise_database_url(url))
        db.create_schema()
        opened.append(db)
        return db

    yield open_store
    for db in opened:
        db.engine.dispose()


@pytest.fixture
def corpora() -> Path:
    if not CORPORA.is_dir():
        if os.environ.get("CI"):
            raise RuntimeError(f"test corpora missing at {CORPORA}")
        pytest.skip("../shared/corpora not present")
    return CORPORA


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def pipeline_settings(
    tmp_path: Path,
    *,
    dovecot: Dovecot | None = None,
    smtp: SmtpSink | None = None,
    bootstrap: str = "",
    database_url: str = "",
    **overrides: object,
) -> Settings:
    """Settings for a pipeline on the test servers (plain IMAP/SMTP on loopback)."""
    values: dict[str, object] = {
        "mailroom_data_dir": tmp_path / "data",
        "kafka_bootstrap_servers": bootstrap,
        "database_url": database_url,
        "polling_interval": 1.0,
        "api_port": 0,
        "kafka_session_timeout_ms": 6000,
        "reconcile_after_seconds": 5.0,
        "default_language": "en",
        "embedded_broker_port": 0,  # a free port: tests never meet another broker on 9092
    }
    if dovecot is not None:
        user, password = next(iter(dovecot.users.items()))
        values |= {"imap_server": dovecot.host, "imap_port": dovecot.port, "imap_security": "none",
                   "imap_email": user, "imap_password": password}
    if smtp is not None:
        values |= {"smtp_server": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "none",
                   "smtp_email": smtp.user, "smtp_password": smtp.password}
    values |= overrides
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def make_settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    def make(**kwargs: object) -> Settings:
        return pipeline_settings(tmp_path, **kwargs)  # type: ignore[arg-type]

    return make
