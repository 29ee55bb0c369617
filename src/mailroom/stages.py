"""`mailroom up` with one child process per Kafka stage (``UP_PROCESSES=true``).

The supervisor (``app.Supervisor``, in the parent) keeps the embedded broker, the API and
the reconciler; the collector, processor and responder each run in a child started as
``python -m mailroom.stages NAME FD``. Parent and child talk over a socket pair (``FD`` in
the child), one JSON object per line:

- parent -> child: ``start`` (the settings and the broker's address), ``pause`` (stop the
  service, keep the process: the topics are being recycled), ``resume`` (a new service).
- child -> parent: ``started`` / ``paused`` / ``resumed`` acknowledgements, and every
  ``STATE_EVERY`` seconds its ``state``: busy / caught up / holding (for the topic
  recycling), the
  health it has seen of its servers (for ``/health``) and, every ``METRICS_EVERY``
  seconds, a snapshot of its metrics (the parent's ``/metrics`` serves their sum).

A child imports its service as soon as it is spawned, while the parent starts the broker.
Its log lines go to the parent's stdout/stderr (inherited), each tagged ``[stage]``. It
dies with the parent (``children.die_with_parent``: spawned from the event loop's thread,
which lives as long as the process); SIGTERM from the parent stops it gracefully; if the
parent's end of the socket closes, it stops too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from prometheus_client.core import Metric
from prometheus_client.samples import Sample
from pydantic import SecretStr

from mailroom.children import die_with_parent, end
from mailroom.settings import Settings

log = logging.getLogger(__name__)

STATE_EVERY = 0.25  # seconds between a child's state reports (busy, caught up, health)
METRICS_EVERY = 1.0  # seconds between a child's metric snapshots
STATE_STALE = 2.0  # a state older than this (a child that stopped reporting) is not idle
STOP_TIMEOUT = 40.0  # a child that has not exited this long after SIGTERM is killed
ACK_TIMEOUT = 120.0  # start / pause / resume answered within this, or the child is stuck


class StageError(Exception):
    """A stage's child process failed to start, exited, or stopped answering."""


def settings_payload(settings: Settings) -> dict[str, Any]:
    """The settings as JSON for a child, secrets included (they travel over the socket pair
    only, never the command line or the environment)."""
    data: dict[str, Any] = {}
    for name, value in settings:  # not model_dump: a model_copy may hold a str for a secret
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, Enum):
            value = value.value
        elif isinstance(value, Path):
            value = str(value)
        data[name] = value
    return data


# -- parent side ----------------------------------------------------------------------

class StageProcess:
    """One stage's child process, as the supervisor sees it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._acks: asyncio.Queue[str] = asyncio.Queue()
        self.exited = asyncio.Event()  # its end of the socket closed: it exited or is exiting
        self.busy = True
        self.caught_up = False
        self.holding = False  # the collector waits for the topics' recycle
        self.paused = False
        self.state_at = 0.0  # monotonic time of the last state report
        self.health: dict[str, tuple[bool, str, str]] = {}
        self.metrics: list[Any] = []
        self.on_health: Callable[[StageProcess], None] | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else 0

    def spawn(self) -> None:
        """Start the child; call from the event loop's thread (the parent-death signal
        follows the thread that forked the child)."""
        parent_end, child_end = socket.socketpair()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mailroom.stages", self.name, str(child_end.fileno())],
                stdin=subprocess.DEVNULL,
                pass_fds=(child_end.fileno(),),
                start_new_session=True,  # Ctrl-C reaches the parent, which stops the stages in order
                preexec_fn=die_with_parent(),
            )
        finally:
            child_end.close()
        self._sock = parent_end

    def kill_unstarted(self) -> None:
        """SIGTERM a child that was never sent ``start`` (it dies at once) and reap it."""
        if self.proc is not None:
            end(self.proc, grace=10)
        if self._sock is not None:
            self._sock.close()

    async def connect(self) -> None:
        assert self._sock is not None
        reader, self._writer = await asyncio.open_unix_connection(sock=self._sock, limit=2**24)
        self._reader_task = asyncio.create_task(self._read(reader), name=f"stage-{self.name}")

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                message = json.loads(line)
                op = message.get("op")
                if op == "state":
                    self.busy, self.caught_up = message["busy"], message["caught_up"]
                    self.holding = bool(message.get("holding", False))
                    self.state_at = time.monotonic()
                    if "health" in message:
                        self.health = {k: tuple(v) for k, v in message["health"].items()}
                        if self.on_health is not None:
                            self.on_health(self)
                    if "metrics" in message:
                        self.metrics = message["metrics"]
                else:
                    self._acks.put_nowait(op)
        except (OSError, ValueError) as exc:
            log.error("lost the %s process's reports: %r", self.name, exc)
        finally:
            self.exited.set()
            self._acks.put_nowait("exited")

    def idle(self) -> bool:
        """Between batches with nothing new, as last reported (and reported lately)."""
        return (not self.busy and self.caught_up and not self.paused
                and time.monotonic() - self.state_at < STATE_STALE)

    async def _send(self, message: dict[str, Any]) -> None:
        if self._writer is None or self.exited.is_set():
            raise StageError(f"the {self.name} process has exited ({self.exit_text()})")
        self._writer.write(json.dumps(message).encode() + b"\n")
        await self._writer.drain()

    async def _ack(self, expected: str) -> None:
        try:
            got = await asyncio.wait_for(self._acks.get(), ACK_TIMEOUT)
        except TimeoutError:
            raise StageError(f"the {self.name} process did not answer {expected!r} "
                             f"within {ACK_TIMEOUT:.0f} s") from None
        if got != expected:
            await asyncio.sleep(0.2)  # let an exit code arrive
            raise StageError(f"the {self.name} process exited before it {expected} "
                             f"({self.exit_text()})")

    async def start(self, settings: Settings, bootstrap: str) -> None:
        await self._send({"op": "start", "settings": settings_payload(settings),
                          "bootstrap": bootstrap})
        await self._ack("started")

    async def pause(self) -> None:
        self.paused = True
        await self._send({"op": "pause"})
        await self._ack("paused")

    async def resume(self) -> None:
        self.busy, self.caught_up, self.holding = True, False, False
        await self._send({"op": "resume"})
        await self._ack("resumed")
        self.paused = False

    def exit_text(self) -> str:
        code = self.proc.poll() if self.proc is not None else None
        if code is None:
            return "still running" if self.proc is not None else "not started"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    async def stop(self) -> None:
        """SIGTERM and wait; SIGKILL after ``STOP_TIMEOUT``."""
        if self.proc is not None and await asyncio.to_thread(end, self.proc, STOP_TIMEOUT):
            log.warning("%s did not stop in %.0f s; it was killed", self.name, STOP_TIMEOUT)
        if self._writer is not None:
            self._writer.close()
        if self._reader_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader_task, 5)
        if self._sock is not None:
            self._sock.close()


class MergedRegistry:
    """The parent's metrics plus the last snapshot of each child's, summed per series
    (``_created`` samples: the earliest). What ``/metrics`` serves in process mode."""

    def __init__(self, own: Any, snapshots: Callable[[], Iterable[list[Any]]]) -> None:
        self.own = own
        self.snapshots = snapshots

    def collect(self) -> Iterable[Metric]:
        families: dict[str, Metric] = {m.name: m for m in self.own.collect()}
        for snapshot in self.snapshots():
            for name, typ, documentation, samples in snapshot:
                family = families.get(name)
                if family is None:
                    family = families[name] = Metric(name, documentation, typ)
                where = {(s.name, tuple(sorted(s.labels.items()))): i
                         for i, s in enumerate(family.samples)}
                for sample_name, labels, value in samples:
                    key = (sample_name, tuple(sorted(labels.items())))
                    i = where.get(key)
                    if i is None:
                        where[key] = len(family.samples)
                        family.samples.append(Sample(sample_name, labels, value))
                        continue
                    old = family.samples[i]
                    merged = (min(old.value, value) if sample_name.endswith("_created")
                              else old.value + value)
                    family.samples[i] = old._replace(value=merged)
        return list(families.values())

    def __getattr__(self, name: str) -> Any:  # register, unregister, ... go to the real one
        return getattr(self.own, name)


# -- child side -----------------------------------------------------------------------

def snapshot(registry: Any) -> list[Any]:
    return [[m.name, m.type, m.documentation, [[s.name, s.labels, s.value] for s in m.samples]]
            for m in registry.collect()]


def health_of(runtime: Any) -> dict[str, list[Any]]:
    return {k: [v.ok, v.detail, v.since.isoformat() if isinstance(v.since, datetime) else ""]
            for k, v in runtime.health.items()}


async def serve(name: str, sock: socket.socket) -> int:
    from mailroom.app import load_service, settle_garbage_collector, stop_gracefully
    from mailroom.cli import setup_logging
    from mailroom.logs import protect
    from mailroom.runtime import build_runtime

    reader, writer = await asyncio.open_unix_connection(sock=sock, limit=2**24)

    def send(message: dict[str, Any]) -> None:
        writer.write(json.dumps(message).encode() + b"\n")

    line = await reader.readline()
    if not line:  # the parent stopped before starting us
        return 0
    start = json.loads(line)
    settings = Settings(_env_file=None, **start["settings"])
    setup_logging(settings.log_level, tag=name)
    protect(settings)
    runtime = build_runtime(settings, start["bootstrap"])
    # the store-read gauges (queue sizes, review age, pace) are the parent's to serve
    for attr in ("_queue_collector", "_review_age", "_pace"):
        collector = getattr(runtime.metrics, attr, None)
        if collector is not None:
            with contextlib.suppress(KeyError):
                runtime.metrics.registry.unregister(collector)

    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)

    service = load_service(name, runtime)
    task: asyncio.Task[None] | None = asyncio.create_task(service.run(), name=f"mailroom-{name}")
    settle_garbage_collector()
    send({"op": "started"})

    pausing = False  # a service stopped on the parent's word has not stopped unexpectedly

    async def stop_service() -> None:
        nonlocal task, pausing
        if task is None:
            return
        pausing = True
        try:
            await stop_gracefully(name, service, task)
        finally:
            task, pausing = None, False

    async def commands() -> None:
        nonlocal service, task
        while line := await reader.readline():
            op = json.loads(line).get("op")
            if op == "pause":
                await stop_service()
                send({"op": "paused"})
            elif op == "resume":
                service = load_service(name, runtime)
                task = asyncio.create_task(service.run(), name=f"mailroom-{name}")
                send({"op": "resumed"})
        stopping.set()  # the parent is gone (its end closed)

    async def report() -> None:
        last_metrics = 0.0
        while True:
            busy = task is not None and bool(getattr(service, "busy", False))
            caught_up = task is not None and bool(getattr(service, "caught_up", True))
            holding = task is not None and bool(getattr(service, "holding", False))
            message: dict[str, Any] = {"op": "state", "busy": busy, "caught_up": caught_up,
                                       "holding": holding, "health": health_of(runtime)}
            now = time.monotonic()
            if now - last_metrics >= METRICS_EVERY:
                message["metrics"], last_metrics = snapshot(runtime.metrics.registry), now
            send(message)
            await writer.drain()
            await asyncio.sleep(STATE_EVERY)

    helpers = [asyncio.create_task(commands()), asyncio.create_task(report())]
    code = 0
    try:
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=0.5)
            # (a pause's stopped task is seen here between its end and stop_service's return)
            if task is not None and task.done() and not stopping.is_set() and not pausing:
                exc = task.exception() if not task.cancelled() else None
                log.error("service %s stopped unexpectedly: %r", name, exc)
                code = 1
                break
            if any(h.done() and not h.cancelled() and h.exception() for h in helpers):
                failed = next(h for h in helpers if h.done() and h.exception())
                log.error("the %s process lost its parent's socket: %r", name, failed.exception())
                break
    finally:
        await stop_service()
        for helper in helpers:
            helper.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        runtime.db.dispose()
        with contextlib.suppress(Exception):
            writer.close()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    name, fd = args[0], int(args[1])
    sock = socket.socket(fileno=fd)
    # before the imports: a library may start threads as it loads (a thread that has
    # allocated keeps the arena it got)
    from mailroom.children import bound_malloc_arenas

    bound_malloc_arenas()
    # the slow part of a start (the model's libraries), while the parent starts the broker
    from mailroom.app import import_services

    import_services([name])
    try:
        return asyncio.run(serve(name, sock))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
