"""The services as separate processes, for faults that need a real process boundary.

``ServiceProcs`` starts ``python -m mailroom.cli <stage>`` with the settings in the
environment (as in production), kills them with any signal, restarts them, and keeps each
process's output in its own log file so a failing scenario shows what each one said.
``RestartableBroker`` is an embedded Tansu broker on a fixed port, so services configured
with ``KAFKA_BOOTSTRAP_SERVERS`` reconnect to the new broker after a restart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from mailroom.broker import EmbeddedBroker, free_port, port_is_free
from servers import Dovecot, SmtpSink

MAILROOM = [sys.executable, "-m", "mailroom.cli"]


def service_env(*, imap_host: str, imap_port: int, smtp: SmtpSink, bootstrap: str, db_url: str,
                data_dir: Path, api_port: int = 0, **extra: str) -> dict[str, str]:
    """The environment of one service process: plain IMAP/SMTP on loopback, 5 s reconcile."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IMAP_", "SMTP_", "KAFKA_", "MAILROOM_", "DATABASE_URL"))}
    env.update({
        "IMAP_SERVER": imap_host, "IMAP_PORT": str(imap_port), "IMAP_SECURITY": "none",
        "IMAP_EMAIL": "support@example.com", "IMAP_PASSWORD": "support-pass",
        "SMTP_SERVER": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_SECURITY": "none",
        "SMTP_EMAIL": smtp.user, "SMTP_PASSWORD": smtp.password,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "DATABASE_URL": db_url,
        "MAILROOM_DATA_DIR": str(data_dir), "POLLING_INTERVAL": "1",
        "API_PORT": str(api_port or free_port()), "RECONCILE_AFTER_SECONDS": "5",
        "KAFKA_SESSION_TIMEOUT_MS": "6000", "DEFAULT_LANGUAGE": "en",
    })
    env.update(extra)
    return env


def dovecot_env(dovecot: Dovecot, smtp: SmtpSink, bootstrap: str, db_url: str, data_dir: Path,
                **extra: str) -> dict[str, str]:
    env = service_env(imap_host=dovecot.host, imap_port=dovecot.port, smtp=smtp,
                      bootstrap=bootstrap, db_url=db_url, data_dir=data_dir)
    env.update(extra)
    return env


@dataclass
class ServiceProcs:
    env: dict[str, str]
    logs: Path
    running: dict[str, list[subprocess.Popen[bytes]]] = field(default_factory=dict)
    everything: list[subprocess.Popen[bytes]] = field(default_factory=list)
    kills: list[str] = field(default_factory=list)

    def topics_create(self) -> None:
        """``mailroom topics create``, retried while a fresh broker warms up."""
        last = b""
        for _ in range(10):
            result = subprocess.run([*MAILROOM, "topics", "create"], env=self.env,
                                    capture_output=True, timeout=60, check=False)
            if result.returncode == 0:
                return
            last = result.stderr
            time.sleep(1)
        raise RuntimeError(f"topics create failed: {last.decode(errors='replace')[-2000:]}")

    def start(self, name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        """``mailroom <name> <args>``, its environment ``env`` over the shared one."""
        self.logs.mkdir(parents=True, exist_ok=True)
        out = (self.logs / f"{name}-{len(self.everything)}.log").open("wb")
        proc = subprocess.Popen([*MAILROOM, name, *args], env=self.env | env, stdout=out,
                                stderr=subprocess.STDOUT)
        out.close()
        self.running.setdefault(name, []).append(proc)
        self.everything.append(proc)
        return proc

    def kill(self, name: str, index: int = 0, sig: signal.Signals = signal.SIGKILL) -> None:
        proc = self.running[name].pop(index)
        proc.send_signal(sig)
        proc.wait(30)
        self.kills.append(name)

    def exited(self) -> list[str]:
        """Services that stopped on their own (they must not)."""
        return [f"{name} (exit {p.returncode})" for name, ps in self.running.items()
                for p in ps if p.poll() is not None]

    def stop_all(self) -> list[str]:
        """SIGTERM every process still running; returns those that had to be SIGKILLed
        (still there 30 s later), which a graceful stop must leave empty."""
        forced = []
        for proc in self.everything:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.everything:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
                forced.append(" ".join(map(str, proc.args[3:])))  # type: ignore[index]
        return forced

    def tail(self, lines: int = 15) -> str:
        """The last lines of every log, for assertion messages."""
        out = []
        for path in sorted(self.logs.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)

    def grep(self, needle: str) -> list[str]:
        return [line for path in sorted(self.logs.glob("*.log"))
                for line in path.read_text(errors="replace").splitlines() if needle in line]


class RestartableBroker:
    """An embedded broker that comes back on the same port, empty."""

    def __init__(self) -> None:
        self.port = free_port()
        self.broker: EmbeddedBroker | None = None
        self.restarts = 0

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        deadline = time.monotonic() + 30
        while not port_is_free(self.port) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.broker = EmbeddedBroker(port=self.port)
        self.broker.start()
        if self.broker.port != self.port:
            self.broker.stop()
            raise RuntimeError(f"broker port {self.port} still taken")

    def stop(self) -> None:
        if self.broker is not None:
            self.broker.stop()
            self.broker = None

    def restart(self, down_for: float = 2.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()
        self.restarts += 1
