"""Starting and stopping services: all of them under one supervisor (`up`) or one alone.

Every service has the same shape: ``Service(runtime)`` with ``async run()`` and ``stop()``.
With ``processes`` (``UP_PROCESSES``, `mailroom up`'s default) the Kafka stages each run in
a child process (``mailroom.stages``) and the supervisor keeps the broker, the API and the
reconciler; otherwise every service is a task of this process.
In embedded mode the supervisor also owns the Tansu broker and keeps its memory bounded:
Tansu keeps every record forever, so once every stage has caught up (nothing open in the
store, every runner idle) the topics and consumer groups are deleted and created again.
That is safe because the store, not the broker, records every mail's fate. A backlog
never catches up on its own, so the collector holds after ``EMBEDDED_RECYCLE_RECORDS``
mails or ``EMBEDDED_RECYCLE_BYTES`` of records (``collector/ahead.py``) and the
supervisor, seeing it hold, recycles as soon as the other stages have settled what it
collected.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from mailroom import topics
from mailroom.broker import BrokerError, EmbeddedBroker
from mailroom.children import bound_malloc_arenas
from mailroom.reconciler import Reconciler
from mailroom.runtime import ComponentHealth, Runtime, build_runtime
from mailroom.settings import ConfigError, Settings
from mailroom.stages import MergedRegistry, StageError, StageProcess
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
RECYCLE_CHECK_EVERY = 2.0  # seconds between the embedded broker's checks for a recycle


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


def use_processes(settings: Settings, names: list[str]) -> bool:
    """Child processes only pay when two or more Kafka stages would share a process."""
    return settings.up_processes and sum(n in KAFKA_STAGES for n in names) >= 2


def spawn_stage_processes(settings: Settings, names: list[str]) -> dict[str, StageProcess]:
    """Process mode: the stages' children, spawned as early as possible so that their imports
    overlap the start-up checks and the broker's start. Call from the main thread (their
    parent-death signal follows the thread that forked them); they wait for ``start``."""
    if not use_processes(settings, names):
        return {}
    stages = {}
    for name in KAFKA_STAGES:
        if name in names:
            stages[name] = StageProcess(name)
            stages[name].spawn()
    return stages


def stop_stage_processes(stages: dict[str, StageProcess]) -> None:
    """End children spawned for a start that did not happen (they only imported)."""
    for stage in stages.values():
        stage.kill_unstarted()


async def stop_gracefully(name: str, service: Service, task: asyncio.Task[None]) -> None:
    """Ask a running service to stop and wait for its task; cancel it after 30 s. Used by
    the supervisor for its in-process services and by a stage's child process for its own."""
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
    # the Kafka stages in child processes (``mailroom.stages``) rather than tasks here
    processes: bool = False
    stages: dict[str, StageProcess] = field(default_factory=dict)
    last_recycle_seconds: float = 0.0  # how long the last topic recycling stopped the stages
    recycled_after: list[int] = field(default_factory=list)  # mails collected between recycles

    async def start_broker(self) -> str:
        if not self.settings.embedded:
            self.spawn_stages()
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
        # the stages import their modules while the broker comes up
        self.spawn_stages()
        return await asyncio.to_thread(self.broker.wait_ready)

    def spawn_stages(self) -> None:
        """Process mode: one child per Kafka stage, forked from the event loop's thread (their
        parent-death signal follows it); they import their service and wait for ``start``."""
        if not self.processes:
            return
        for name in KAFKA_STAGES:
            if name in self.names and name not in self.stages:
                self.stages[name] = StageProcess(name)
                self.stages[name].spawn()
        for stage in self.stages.values():
            stage.on_health = self._merge_health

    def _merge_health(self, stage: StageProcess) -> None:
        """What a child saw of its servers, in this process's runtime (``/health``)."""
        if self.runtime is None:
            return
        for component, (ok, detail, since) in stage.health.items():
            known = self.runtime.health.get(component)
            if known is None or known.ok != ok or known.detail != detail:
                when = datetime.fromisoformat(since) if since else None
                self.runtime.health[component] = (
                    ComponentHealth(ok, detail, when) if when else ComponentHealth(ok, detail))

    def _stage_metrics(self) -> list[list[Any]]:
        return [stage.metrics for stage in self.stages.values()]

    async def start_stages(self, bootstrap: str) -> None:
        assert self.runtime is not None
        # /metrics serves the children's counters with this process's
        merged = MergedRegistry(self.runtime.metrics.registry, self._stage_metrics)
        self.runtime.metrics.registry = merged  # type: ignore[assignment]
        await asyncio.gather(*(stage.connect() for stage in self.stages.values()))
        await asyncio.gather(*(stage.start(self.settings, bootstrap)
                               for stage in self.stages.values()))
        log.info("stages running in their own processes: %s", ", ".join(
            f"{name} (pid {stage.pid})" for name, stage in self.stages.items()))

    def pipeline_idle(self) -> bool:
        """Every consuming stage is between batches and the collector has nothing new."""
        if not all(stage.idle() for stage in self.stages.values()):
            return False
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
        await stop_gracefully(name, service, task)

    async def run(self) -> int:
        check_settings(self.settings, self.names)
        bound_malloc_arenas()
        # imported in a thread while the main one waits for the broker, the store and the
        # topics: a restart answers sooner
        here = [n for n in self.names if not (self.processes and n in KAFKA_STAGES)]
        imported = asyncio.create_task(asyncio.to_thread(import_services, here))
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
            if self.stages:
                await self.start_stages(bootstrap)
            for name in here:
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

    def collector_holding(self) -> bool:
        """The collector waits for the topics' recycle (``collector.ahead``)."""
        stage = self.stages.get("collector")
        if stage is not None:
            return stage.holding
        return bool(getattr(self.services.get("collector"), "holding", False))

    async def _watch(self) -> int:
        # the tick is short so that a collector holding for a recycle waits little; the
        # store is counted for an unprompted recycle only every RECYCLE_CHECK_EVERY
        tick, recycle_checked = 0.25, 0.0
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=tick)
            for name, task in list(self.tasks.items()):
                if task.done() and not self.stopping.is_set():
                    exc = task.exception() if not task.cancelled() else None
                    log.error("service %s stopped unexpectedly: %r", name, exc)
                    self.stopping.set()
                    return 1
            for name, stage in self.stages.items():
                if stage.exited.is_set() and not self.stopping.is_set():
                    await asyncio.sleep(0.2)  # its exit code
                    log.error("service %s stopped unexpectedly: its process (pid %s) exited "
                              "(%s); stopping everything", name, stage.pid, stage.exit_text())
                    self.stopping.set()
                    return 1
            if self.broker is not None and not self.stopping.is_set() and (
                    self.collector_holding()
                    or time.monotonic() - recycle_checked >= RECYCLE_CHECK_EVERY):
                recycle_checked = time.monotonic()
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
        """Delete and recreate the topics when every stage has caught up, after
        ``EMBEDDED_RECYCLE_RECORDS`` mails or when the collector holds for it."""
        assert self.runtime is not None
        # the in-memory check first: the store is counted only when every stage is idle,
        # not every 2 s under load
        if not self.pipeline_idle():
            return False
        # a holding collector has counted its mails: only the open ones (an index range)
        # are counted then, not every mail every tick
        total: int | None = None
        if not (force or self.collector_holding()):
            total = await asyncio.to_thread(self._collected_total)
            if total - self._last_recycle_total < self.settings.embedded_recycle_records:
                return False
        if await asyncio.to_thread(self._open_count) > 0:
            return False
        if total is None:
            total = await asyncio.to_thread(self._collected_total)
        running = [n for n in KAFKA_STAGES if n in self.services or n in self.stages]
        log.info("recycling embedded topics after %d mails", total - self._last_recycle_total)
        started = time.monotonic()
        # all at once: each stop and each start (a Kafka client's first request) takes a
        # good part of a second, and a backlog's collector waits for the whole recycle
        await asyncio.gather(*(self._pause(name) for name in running))
        # stopping the collector may have published more: re-check before dropping
        if await asyncio.to_thread(self._open_count) > 0:
            await asyncio.gather(*(self._resume(name) for name in running))
            return False
        kafka = self.runtime.kafka
        groups = [kafka.group_id(n) for n in KAFKA_STAGES]
        await asyncio.to_thread(kafka.delete_topics_and_groups, topics.ALL_TOPICS, groups)
        await asyncio.to_thread(self._wait_topics_gone)
        await asyncio.to_thread(
            kafka.create_topics, self.settings.kafka_topic_partitions,
            self.settings.kafka_replication_factor,
        )
        await asyncio.gather(*(self._resume(name) for name in running))
        self.recycled_after.append(total - self._last_recycle_total)
        self._last_recycle_total = total
        self.recycles += 1
        self.last_recycle_seconds = time.monotonic() - started
        log.info("recycled the embedded topics; the stages were stopped for %.1f s",
                 self.last_recycle_seconds)
        return True

    def _wait_topics_gone(self, timeout: float = 5.0) -> None:
        """Until the broker lists none of the deleted topics (``create_topics`` leaves a
        listed topic alone), at most ``timeout`` seconds."""
        assert self.runtime is not None
        admin = self.runtime.kafka.admin()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not set(topics.ALL_TOPICS) & set(admin.list_topics(timeout=timeout).topics):
                return
            time.sleep(0.05)
        log.warning("the deleted topics are still listed after %.0f s; creating them anyway",
                    timeout)

    async def _pause(self, name: str) -> None:
        if name in self.stages:
            await self.stages[name].pause()
        else:
            await self.stop_service(name)

    async def _resume(self, name: str) -> None:
        if name in self.stages:
            await self.stages[name].resume()
        else:
            self.start_service(name)

    async def shutdown(self) -> None:
        self.stopping.set()
        if self.reconciler is not None:
            self.reconciler.stop()
        # collector first, so nothing new enters while the others drain their batch
        for name in ["collector", "processor", "responder", "api"]:
            stage = self.stages.pop(name, None)
            if stage is not None:
                await stage.stop()
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
                   on_ready: Callable[[Supervisor], Awaitable[None]] | None = None,
                   stages: dict[str, StageProcess] | None = None) -> int:
    """Run services until SIGINT/SIGTERM; returns the exit code. ``stages``: children
    ``spawn_stage_processes`` started already (process mode), else they are spawned here."""

    async def main() -> int:
        supervisor = Supervisor(settings, names, processes=use_processes(settings, names),
                                stages=dict(stages or {}))
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
    except StageError as exc:
        log.error("%s", exc)
        return 1

