"""Starting and stopping services: all of them in one process (`up`) or one alone.

Every service has the same shape: ``Service(runtime)`` with ``async run()`` and ``stop()``.
In embedded mode the supervisor also owns the Tansu broker and keeps its memory bounded:
Tansu keeps every record forever, so once every stage has caught up (nothing open in the
store, every runner idle) the topics and consumer groups are deleted and created again.
That is safe because the store, not the broker, records every mail's fate.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from mailroom import topics
from mailroom.broker import BrokerError, EmbeddedBroker
from mailroom.reconciler import Reconciler
from mailroom.runtime import Runtime, build_runtime
from mailroom.settings import ConfigError, Settings
from mailroom.store import mails as mail_store

log = logging.getLogger(__name__)

SERVICE_CLASSES = {
    "collector": "mailroom.collector.service:CollectorService",
    "processor": "mailroom.processor.service:ProcessorService",
    "responder": "mailroom.responder.service:ResponderService",
    "api": "mailroom.api.service:ApiService",
}
KAFKA_STAGES = ("collector", "processor", "responder")
# Tansu answers a new consumer group's first JoinGroup only after half the session
# timeout, which a restart waits for. With the embedded broker every member lives in this
# process and the broker dies with it, so no dead member is ever waited for: a short
# session costs nothing (see docs/reliability.md, `mailroom up` SIGKILLed).
EMBEDDED_SESSION_TIMEOUT_MS = 2000


class Service(Protocol):
    async def run(self) -> None: ...

    def stop(self) -> None: ...


def import_services(names: list[str]) -> None:
    """Import the services' modules (the model's libraries are slow to import)."""
    for name in names:
        importlib.import_module(SERVICE_CLASSES[name].split(":")[0])


def load_service(name: str, runtime: Runtime) -> Service:
    module_name, class_name = SERVICE_CLASSES[name].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    service: Service = cls(runtime)
    return service


# young objects allowed before a collection (the stdlib's 700 suits small heaps): parsing
# and composing mail makes many short-lived objects, and each collection walks them all
GC_GEN0_THRESHOLD = 20_000


def settle_garbage_collector() -> None:
    """Freeze what start-up built (models, templates, clients) and collect less often.

    The garbage collector otherwise walks every object of a started service again and
    again. Measured on the 10,000-mail benchmark: 8-15 % less CPU per service, 11 % faster
    end to end. Memory stays bounded: only cyclic garbage waits for a collection, and
    reference counting frees the rest at once.
    """
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


def check_settings(settings: Settings, names: list[str]) -> None:
    """Fail start-up early, one line per setting the services lack (``Settings.missing_for``)."""
    missing = settings.missing_for(names)
    if missing:
        raise ConfigError("\n".join(missing))


@dataclass
class Supervisor:
    settings: Settings
    names: list[str]
    broker: EmbeddedBroker | None = None
    runtime: Runtime | None = None
    services: dict[str, Service] = field(default_factory=dict)
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    reconciler: Reconciler | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    recycles: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    on_ready: list[Callable[[Supervisor], Awaitable[None]]] = field(default_factory=list)

    async def start_broker(self) -> str:
        if not self.settings.embedded:
            return self.settings.kafka_bootstrap_servers
        if "kafka_session_timeout_ms" not in self.settings.model_fields_set:
            self.settings = self.settings.model_copy(
                update={"kafka_session_timeout_ms": EMBEDDED_SESSION_TIMEOUT_MS})
        self.broker = EmbeddedBroker(port=self.settings.embedded_broker_port,
                                     pid_file=self.settings.mailroom_data_dir / "broker.pid")
        await asyncio.to_thread(self.broker.claim_port)
        # forked from the event loop's thread, which lives as long as the process: the
        # broker's parent-death signal follows the thread that started it, not the process
        self.broker.spawn()
        return await asyncio.to_thread(self.broker.wait_ready)

    def pipeline_idle(self) -> bool:
        """Every consuming stage is between batches and the collector has nothing new."""
        for name in KAFKA_STAGES:
            service = self.services.get(name)
            if service is None:
                continue
            if getattr(service, "busy", False) or not getattr(service, "caught_up", True):
                return False
        return True

    def start_service(self, name: str) -> None:
        assert self.runtime is not None
        service = load_service(name, self.runtime)
        self.services[name] = service
        self.tasks[name] = asyncio.create_task(service.run(), name=f"mailroom-{name}")

    async def stop_service(self, name: str) -> None:
        service = self.services.pop(name, None)
        task = self.tasks.pop(name, None)
        if service is None or task is None:
            return
        service.stop()
        try:
            await asyncio.wait_for(task, timeout=30)
        except TimeoutError:
            log.warning("%s did not stop in 30 s; cancelling", name)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        except Exception:
            log.exception("%s failed while stopping", name)

    async def run(self) -> int:
        check_settings(self.settings, self.names)
        # imported in a thread while the main one waits for the broker, the store and the
        # topics: a restart answers sooner
        imported = asyncio.create_task(asyncio.to_thread(import_services, self.names))
        try:
            bootstrap = await self.start_broker()
            self.runtime = build_runtime(self.settings, bootstrap)
            if any(n in KAFKA_STAGES for n in self.names):
                await asyncio.to_thread(
                    self.runtime.kafka.create_topics,
                    self.settings.kafka_topic_partitions, self.settings.kafka_replication_factor,
                )
            if self.broker is not None:
                # a new embedded broker holds nothing: what is open in the store goes again
                await asyncio.to_thread(self._republish_all)
            await imported
            for name in self.names:
                self.start_service(name)
            if any(n in ("processor", "responder") for n in self.names):
                self.reconciler = Reconciler(
                    self.runtime,
                    pipeline_idle=self.pipeline_idle if len(self.names) > 1 else None,
                )
                self.tasks["reconciler"] = asyncio.create_task(self.reconciler.run())
            settle_garbage_collector()
            self.ready.set()
            for hook in self.on_ready:
                await hook(self)
            return await self._watch()
        finally:
            await self.shutdown()

    def _republish_all(self) -> None:
        assert self.runtime is not None
        reconciler = Reconciler(self.runtime)
        while reconciler.republish_open(timedelta(0), limit=5000) >= 5000:
            pass

    async def _watch(self) -> int:
        check_every = 2.0
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=check_every)
            for name, task in list(self.tasks.items()):
                if task.done() and not self.stopping.is_set():
                    exc = task.exception() if not task.cancelled() else None
                    log.error("service %s stopped unexpectedly: %r", name, exc)
                    self.stopping.set()
                    return 1
            if self.broker is not None and not self.stopping.is_set():
                await self.maybe_recycle()
        return 0

    # -- embedded memory bound ------------------------------------------------------
    def _collected_total(self) -> int:
        assert self.runtime is not None
        with self.runtime.db.begin() as conn:
            return mail_store.count_all(conn)

    def _open_count(self) -> int:
        assert self.runtime is not None
        with self.runtime.db.begin() as conn:
            return mail_store.count_open(conn)

    _last_recycle_total: int = 0

    async def maybe_recycle(self, force: bool = False) -> bool:
        """Delete and recreate the topics when every stage has caught up."""
        assert self.runtime is not None
        # the in-memory check first: the store is counted only when every stage is idle,
        # not every 2 s under load
        if not self.pipeline_idle():
            return False
        total = await asyncio.to_thread(self._collected_total)
        if not force and total - self._last_recycle_total < self.settings.embedded_recycle_records:
            return False
        if await asyncio.to_thread(self._open_count) > 0:
            return False
        running = [n for n in KAFKA_STAGES if n in self.services]
        log.info("recycling embedded topics after %d mails", total - self._last_recycle_total)
        for name in running:
            await self.stop_service(name)
        # stopping the collector may have published more: re-check before dropping
        if await asyncio.to_thread(self._open_count) > 0:
            for name in running:
                self.start_service(name)
            return False
        kafka = self.runtime.kafka
        groups = [kafka.group_id(n) for n in KAFKA_STAGES]
        await asyncio.to_thread(kafka.delete_topics_and_groups, topics.ALL_TOPICS, groups)
        await asyncio.sleep(0.5)
        await asyncio.to_thread(
            kafka.create_topics, self.settings.kafka_topic_partitions,
            self.settings.kafka_replication_factor,
        )
        for name in running:
            self.start_service(name)
        self._last_recycle_total = total
        self.recycles += 1
        return True

    async def shutdown(self) -> None:
        self.stopping.set()
        if self.reconciler is not None:
            self.reconciler.stop()
        # collector first, so nothing new enters while the others drain their batch
        for name in ["collector", "processor", "responder", "api"]:
            await self.stop_service(name)
        task = self.tasks.pop("reconciler", None)
        if task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 10)
        if self.runtime is not None:
            self.runtime.db.dispose()
        if self.broker is not None:
            await asyncio.to_thread(self.broker.stop)


def run_supervised(settings: Settings, names: list[str],
                   on_ready: Callable[[Supervisor], Awaitable[None]] | None = None) -> int:
    """Run services until SIGINT/SIGTERM; returns the exit code."""

    async def main() -> int:
        supervisor = Supervisor(settings, names)
        if on_ready is not None:
            supervisor.on_ready.append(on_ready)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, supervisor.stopping.set)
        return await supervisor.run()

    try:
        return asyncio.run(main())
    except (ConfigError, BrokerError) as exc:
        log.error("%s", exc)
        return 2

