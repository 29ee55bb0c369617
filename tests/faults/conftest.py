"""Fixtures of the fault suite: a broker that restarts on its own port, service processes,
and a connection-cutting IMAP proxy (the store handle, ``store_of``, is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fault_procs import RestartableBroker, ServiceProcs
from tcp_proxy import CuttingProxy


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
def proxy_to() -> Iterator[Callable[[str, int], CuttingProxy]]:
    started: list[CuttingProxy] = []

    def make(host: str, port: int) -> CuttingProxy:
        proxy = CuttingProxy(host, port).start()
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.stop()
