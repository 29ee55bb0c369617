"""Real servers for tests: Dovecot (IMAP), aiosmtpd (SMTP), PostgreSQL databases.

Each Dovecot instance gets its own config, base dir and Maildirs on a free port. Mails are
preloaded as Maildir files (far faster than APPEND); ``append`` is there for tests of
mails arriving while the pipeline runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from mailroom.broker import free_port, wait_for_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
NOBODY_UID = 65534
NOGROUP_GID = 65534

DOVECOT_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = nobody
default_internal_group = nogroup
default_login_user = nobody
first_valid_uid = 0
mail_location = maildir:{base}/mail/%u
mail_uid = nobody
mail_gid = nogroup
imap_idle_notify_interval = 1 secs
mailbox_list_index = no
# Dovecot's 256 MB default cannot SELECT a Maildir of a million mails (the benchmark's
# --mails 1000000); a test server may take what it needs
default_vsz_limit = 2G
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  process_min_avail = 1
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={base}/home/%u
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
"""


class Dovecot:
    """One throwaway Dovecot IMAP server with its own users and Maildirs."""

    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.users = users or {"support@example.com": "support-pass"}
        self.base = Path(tempfile.mkdtemp(prefix="mailroom-dovecot-"))
        self.port = free_port()
        self.host = "127.0.0.1"
        self._seq = 0

    def start(self) -> Dovecot:
        for sub in ("run", "state", "mail", "home"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        (self.base / "passwd").write_text(
            "".join(f"{u}:{{PLAIN}}{p}\n" for u, p in self.users.items())
        )
        conf = self.base / "dovecot.conf"
        conf.write_text(DOVECOT_CONF.format(base=self.base, port=self.port))
        for user in self.users:
            self.maildir(user)
        self._chown()
        os.chmod(self.base, 0o755)  # noqa: S103 - dovecot's nobody must traverse it
        subprocess.run([DOVECOT, "-c", str(conf)], check=True)
        if not wait_for_port(self.host, self.port, 15):
            raise RuntimeError(f"dovecot did not listen: {self.log()}")
        return self

    def log(self) -> str:
        path = self.base / "dovecot.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        conf = self.base / "dovecot.conf"
        subprocess.run([DOVECOT, "-c", str(conf), "stop"], check=False, capture_output=True)
        pid_file = self.base / "run" / "master.pid"
        deadline = time.monotonic() + 10
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        shutil.rmtree(self.base, ignore_errors=True)

    def _chown(self) -> None:
        for root, dirs, files in os.walk(self.base):
            for name in dirs + files:
                with contextlib.suppress(OSError):
                    os.chown(os.path.join(root, name), NOBODY_UID, NOGROUP_GID)
        os.chown(self.base, NOBODY_UID, NOGROUP_GID)

    def maildir(self, user: str, folder: str = "INBOX") -> Path:
        root = self.base / "mail" / user
        path = root if folder == "INBOX" else root / f".{folder}"
        for sub in ("cur", "new", "tmp"):
            (path / sub).mkdir(parents=True, exist_ok=True)
            os.chown(path / sub, NOBODY_UID, NOGROUP_GID)
        for p in (root, path):
            os.chown(p, NOBODY_UID, NOGROUP_GID)
        return path

    def preload(self, user: str, messages: list[bytes], folder: str = "INBOX") -> None:
        """Write messages straight into the Maildir's new/ (Dovecot assigns UIDs on scan)."""
        target = self.maildir(user, folder)
        for raw in messages:
            self._seq += 1
            name = f"{int(time.time())}.M{self._seq}P{os.getpid()}.mailroom-test"
            tmp = target / "tmp" / name
            tmp.write_bytes(raw)
            os.chown(tmp, NOBODY_UID, NOGROUP_GID)
            tmp.rename(target / "new" / name)

    def connect(self, user: str | None = None) -> imaplib.IMAP4:
        user = user or next(iter(self.users))
        imap = imaplib.IMAP4(self.host, self.port)
        imap.login(user, self.users[user])
        return imap

    def append(self, raw: bytes, user: str | None = None, folder: str = "INBOX") -> None:
        imap = self.connect(user)
        try:
            imap.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            imap.append(folder, None, None, raw)
        finally:
            imap.logout()

    def count(self, user: str | None = None, folder: str = "INBOX") -> int:
        """Messages in the folder; a folder not created yet (a move still on its way) holds 0,
        any other refusal of SELECT is an error."""
        imap = self.connect(user)
        try:
            typ, data = imap.select(folder)
            if typ != "OK":
                if b"doesn't exist" in (data[0] or b""):
                    return 0
                raise RuntimeError(f"SELECT {folder}: {typ} {data!r}")
            return int(data[0] or 0)
        finally:
            imap.logout()


# -- SMTP --------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    at: float
    mail_options: list[str] = field(default_factory=list)

    @property
    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    @functools.cached_property
    def in_reply_to(self) -> str:
        """The reply's target, read once (the benchmark asks for it again and again)."""
        head = BytesHeaderParser(policy=policy.default).parsebytes(self.data)
        # a folded header parses with its leading whitespace: strip it
        return str(head.get("In-Reply-To", "")).strip()


@dataclass
class SmtpBehaviour:
    """How the sink answers: a callable may return an SMTP reply line to refuse."""

    on_data: Callable[[Envelope], str | None] | None = None
    on_rcpt: Callable[[str], str | None] | None = None


@dataclass
class SmtpSink:
    """A real aiosmtpd server that keeps every accepted message."""

    user: str = "mailer@example.com"
    password: str = "mailer-pass"
    require_auth: bool = True
    smtputf8: bool = False  # offer SMTPUTF8 (RFC 6531)
    behaviour: SmtpBehaviour = field(default_factory=SmtpBehaviour)
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _controller: Controller | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # aiosmtpd handler hooks ------------------------------------------------------
    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if self.behaviour.on_rcpt is not None:
            refusal = self.behaviour.on_rcpt(address)
            if refusal:
                return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.behaviour.on_data is not None:
            refusal = self.behaviour.on_data(envelope)
            if refusal:
                return refusal
        data = envelope.content if isinstance(envelope.content, bytes) else \
            str(envelope.content).encode()
        with self._lock:
            self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos),
                                          data, time.monotonic(), list(envelope.mail_options)))
        return "250 Message accepted"

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                      mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and \
                auth_data.login.decode() == self.user and auth_data.password.decode() == self.password:
            return AuthResult(success=True)
        # handled=False, or the client hangs (measured here)
        return AuthResult(success=False, handled=False)

    def start(self) -> SmtpSink:
        self.port = self.port or free_port()
        self._controller = Controller(
            self, hostname="127.0.0.1", port=self.port,
            authenticator=self._authenticate, auth_require_tls=False,
            auth_required=self.require_auth, server_hostname="sink.test",
            enable_SMTPUTF8=self.smtputf8,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [r.message for r in self.received]

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return True
            time.sleep(0.05)
        return len(self.received) >= count


# -- PostgreSQL --------------------------------------------------------------------

PG_ADMIN_URL = os.environ.get("MAILROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    name = f"mailroom_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of its own, made with Debian's ``pg_createcluster`` on a free port.

    A test that restarts the whole server restarts only this one: the tests running beside
    it (``pytest -n``) keep their connections to the shared cluster.
    """

    version: str
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        # no pipes: a (re)started server inherits them and would hold them open forever
        subprocess.run(list(args), check=True, timeout=120, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def restart(self) -> None:
        self._ctl("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, "restart")


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """Start a throwaway cluster (trust auth, loopback) and drop it afterwards."""
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions or shutil.which("pg_createcluster") is None:
        raise RuntimeError("pg_createcluster or /etc/postgresql missing (Debian's postgresql)")
    cluster = PrivatePostgres(versions[-1], f"mailroom_{uuid.uuid4().hex[:8]}", free_port())
    cluster._ctl("pg_createcluster", cluster.version, cluster.name, "-p", str(cluster.port),
                 "--start", "--", "--auth=trust")
    try:
        if not wait_for_port("127.0.0.1", cluster.port, timeout=60):
            raise RuntimeError(f"the private PostgreSQL on port {cluster.port} did not start")
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            cluster._ctl("pg_dropcluster", "--stop", cluster.version, cluster.name)


# -- the API -------------------------------------------------------------------------


class RunningApi:
    """A real ApiService (uvicorn) for ``rt`` on its own event loop in a thread."""

    def __init__(self, rt: Any) -> None:
        from mailroom.api.service import ApiService

        self.rt = rt
        self.service = ApiService(rt)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.service.run()), daemon=True)

    @property
    def state(self) -> Any:
        """The app's ``ApiState`` (throttle, hashing gate, caches)."""
        return self.service.app.state.mailroom

    def __enter__(self) -> RunningApi:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.service.started:
            assert time.monotonic() < deadline, "API did not start"
            assert self.thread.is_alive(), "API thread died"
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.service.stop()
        self.thread.join(15)
        assert not self.thread.is_alive(), "stop() did not end run()"

    def client(self, **kwargs: Any) -> Any:
        import httpx

        return httpx.Client(base_url=self.service.url, timeout=30, **kwargs)
