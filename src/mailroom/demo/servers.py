"""The demo's own local servers: pymap (IMAP, in memory) and an SMTP sink that keeps mail."""

from __future__ import annotations

import imaplib
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailroom.broker import free_port, wait_for_port
from mailroom.children import die_with_parent, end

DEMO_USER = "support@demo.mailroom.test"
DEMO_PASSWORD = "demo-imap"  # noqa: S105 - a local, in-memory demo mailbox


class DemoImapServer:
    """pymap's in-memory backend in a child process (pure pip, no system packages)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> DemoImapServer:
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from pymap.main import main; main()",
             "--host", "127.0.0.1", "--port", str(self.port), "--no-tls",
             "--no-service", "admin", "dict",
             "--demo-user", DEMO_USER, "--demo-password", DEMO_PASSWORD],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=die_with_parent(),  # no orphan if the demo is killed
        )
        if not wait_for_port("127.0.0.1", self.port, 15):
            self.stop()
            raise RuntimeError("the demo IMAP server (pymap) did not start")
        return self

    def append(self, messages: list[bytes]) -> None:
        imap = imaplib.IMAP4("127.0.0.1", self.port)
        imap.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            imap.login(DEMO_USER, DEMO_PASSWORD)
            for raw in messages:
                imap.append("INBOX", None, None, raw)
        finally:
            imap.logout()

    def stop(self) -> None:
        if self.process is not None:
            end(self.process, grace=5)
            self.process = None


@dataclass
class DemoSmtpSink:
    """Accepts every message and writes it to ``outbox/`` as an .eml file."""

    outbox: Path
    port: int = field(default_factory=free_port)
    count: int = 0
    _controller: Controller | None = None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.count += 1
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        (self.outbox / f"reply-{self.count:04d}.eml").write_bytes(content)
        return "250 Message accepted for delivery"

    def start(self) -> DemoSmtpSink:
        self.outbox.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
