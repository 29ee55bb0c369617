"""Fixtures of the fault suite: a broker that restarts on its own port, service processes,
a connection-cutting IMAP proxy, and a store handle for checking the books."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fault_procs import RestartableBroker, ServiceProcs
from tcp_proxy import CuttingProxy

from mailroom.settings import normalise_database_url
from mailroom.store import Database


@pytest.fixture
def restartable_broker() -> Iterator[RestartableBroker]:
    broker = RestartableBroker()
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def service_procs(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], ServiceProcs]]:
    made: list[ServiceProcs] = []

    def make(env: dict[str, str]) -> ServiceProcs:
        procs = ServiceProcs(env, tmp_path / "logs")
        made.append(procs)
        return procs

    yield make
    for procs in made:
        procs.stop_all()


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
def proxy_to() -> Iterator[Callable[[str, int], CuttingProxy]]:
    started: list[CuttingProxy] = []

    def make(host: str, port: int) -> CuttingProxy:
        proxy = CuttingProxy(host, port).start()
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.stop()
