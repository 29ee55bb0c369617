"""The collector against a real Dovecot, the embedded Kafka broker and a SQLite store.

Records are read back from the topics with a fresh consumer group each time and counted
until the expected number or a timeout, then a little longer to catch duplicates (the
embedded broker's watermarks are wrong, so they are never used).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import http.server
import imaplib
import json
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer
from pydantic import SecretStr

import servers
from mailroom import topics
from mailroom.broker import EmbeddedBroker, free_port
from mailroom.collector.mailboxes import OAuth2Config
from mailroom.collector.oauth import TokenSource
from mailroom.collector.parse import ParseLimits, UnparseableMail, parse_message
from mailroom.collector.service import CollectorService
from mailroom.runtime import Runtime, build_runtime
from mailroom.settings import Settings
from mailroom.store import checkpoints
from mailroom.store import dead_letters as dead_letter_store
from mailroom.store import mails as mail_store
from servers import Dovecot

pytestmark = pytest.mark.integration
USER = "support@example.com"


def make_mail(i: int, *, subject: str = "", body_size: int = 0, tag: str = "m") -> bytes:
    body = f"Hello, this is mail number {i}.\r\n" + "x" * body_size
    return (
        f"From: Customer {i} <customer{i}@example.org>\r\n"
        f"To: {USER}\r\n"
        f"Subject: {subject or f'Question {i}'}\r\n"
        f"Message-ID: <{tag}{i}@test.example>\r\n"
        f"Date: Fri, 27 Nov 2026 10:00:00 +0000\r\n\r\n{body}\r\n"
    ).encode()


def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 60.0,
               settle: float = 3.0) -> list[Any]:
    """Every record of ``topic``: until ``expected`` arrived, then ``settle`` s for extras."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"test-{uuid.uuid4().hex}",
        "auto.offset.reset": "earliest", "enable.auto.commit": False,
        "session.timeout.ms": 6000, "log_level": 3,
    })
    consumer.subscribe([topic])
    got: list[Any] = []
    deadline = time.monotonic() + timeout
    settle_until: float | None = None
    try:
        while time.monotonic() < (settle_until or deadline):
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                got.append(msg)
            if settle_until is None and len(got) >= expected:
                settle_until = time.monotonic() + settle
    finally:
        consumer.close()
    return got


async def read(bootstrap: str, topic: str, expected: int, **kwargs: Any) -> list[Any]:
    return await asyncio.to_thread(read_topic, bootstrap, topic, expected, **kwargs)


def events(records: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(r.value()) for r in records]


async def until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.05)


def idle_entered(rt: Runtime, label: str) -> Callable[[], bool]:
    return lambda: rt.metrics.registry.get_sample_value(
        "mailroom_collector_idle", {"mailbox": label}) == 1


def checkpoint(rt: Runtime, account: str, folder: str = "INBOX") -> checkpoints.Checkpoint | None:
    with rt.db.begin() as db:
        return checkpoints.load(db, account, folder)


@contextlib.asynccontextmanager
async def collector(rt: Runtime) -> AsyncIterator[CollectorService]:
    service = CollectorService(rt)
    task = asyncio.create_task(service.run())
    try:
        yield service
    finally:
        service.stop()
        await asyncio.wait_for(task, 30)


@pytest.fixture
def runtime_for(broker: EmbeddedBroker, make_settings: Callable[..., Settings],
                ) -> Callable[..., Runtime]:
    def build(**overrides: Any) -> Runtime:
        settings = make_settings(bootstrap=broker.bootstrap_servers, **overrides)
        rt = build_runtime(settings, broker.bootstrap_servers)
        rt.kafka.create_topics(3, 1)
        return rt
    return build


async def test_preloaded_mails_published_once_and_checkpointed(
        broker: EmbeddedBroker, dovecot: Dovecot, runtime_for: Callable[..., Runtime]) -> None:
    """N preloaded mails reach raw_emails exactly once in several batches; the checkpoint
    is the last UID; a restarted collector publishes nothing again."""
    n = 23
    dovecot.preload(USER, [make_mail(i) for i in range(n)])
    rt = runtime_for(dovecot=dovecot, max_emails_per_batch=5)
    async with collector(rt):
        await until(idle_entered(rt, f"{USER}/INBOX"), what="first catch-up")
        got = events(await read(broker.bootstrap_servers, topics.RAW_EMAILS, n))
    assert sorted(e["message_id"] for e in got) == sorted(f"<m{i}@test.example>" for i in range(n))
    assert len({e["mail_id"] for e in got}) == n
    assert checkpoint(rt, USER) == checkpoints.Checkpoint(dovecot_uidvalidity(dovecot), n)
    assert rt.metrics.registry.get_sample_value(
        "emails_processed_total", {"topic": "imap", "status": "collected"}) == n

    rt2 = build_runtime(rt.settings, broker.bootstrap_servers)
    async with collector(rt2):
        await until(idle_entered(rt2, f"{USER}/INBOX"), what="restart catch-up")
    again = await read(broker.bootstrap_servers, topics.RAW_EMAILS, n + 1, timeout=8, settle=0)
    assert len(again) == n, "a restarted collector re-published mails"


async def test_batches_are_bounded_by_bytes_and_lose_nothing(
        broker: EmbeddedBroker, dovecot: Dovecot, runtime_for: Callable[..., Runtime]) -> None:
    """With MAX_BATCH_BYTES of about three mails, 20 mails of 3 KB go in batches of at
    most three; every one is published once and the checkpoint ends on the last UID."""
    n = 20
    dovecot.preload(USER, [make_mail(i, tag="b", body_size=3000) for i in range(n)])
    rt = runtime_for(dovecot=dovecot, max_emails_per_batch=500, max_batch_bytes=10_000)
    async with collector(rt):
        await until(idle_entered(rt, f"{USER}/INBOX"), what="catch-up")
        got = events(await read(broker.bootstrap_servers, topics.RAW_EMAILS, n))
    assert sorted(e["message_id"] for e in got) == sorted(f"<b{i}@test.example>" for i in range(n))
    assert checkpoint(rt, USER) == checkpoints.Checkpoint(dovecot_uidvalidity(dovecot), n)
    fetches = rt.metrics.registry.get_sample_value(
        "mailroom_collector_fetch_seconds_count", {"mailbox": f"{USER}/INBOX"})
    assert fetches is not None and fetches >= n / 3


async def test_a_backlog_starts_with_a_small_batch_and_doubles(
        broker: EmbeddedBroker, dovecot: Dovecot, runtime_for: Callable[..., Runtime]) -> None:
    """A backlog's first FETCH is ``FIRST_BATCH`` mails, so the processor starts on them
    while the next (twice as many) is fetched: 120 mails with batches of up to 500 go in
    two FETCHes (50, then the 70 left), each published once."""
    from mailroom.collector.folder import FIRST_BATCH
    n = 120
    assert FIRST_BATCH < n < 3 * FIRST_BATCH
    dovecot.preload(USER, [make_mail(i, tag="s") for i in range(n)])
    rt = runtime_for(dovecot=dovecot, max_emails_per_batch=500)
    async with collector(rt):
        await until(idle_entered(rt, f"{USER}/INBOX"), what="catch-up")
        got = events(await read(broker.bootstrap_servers, topics.RAW_EMAILS, n))
    assert sorted(e["message_id"] for e in got) == sorted(f"<s{i}@test.example>" for i in range(n))
    assert checkpoint(rt, USER) == checkpoints.Checkpoint(dovecot_uidvalidity(dovecot), n)
    assert rt.metrics.registry.get_sample_value(
        "mailroom_collector_fetch_seconds_count", {"mailbox": f"{USER}/INBOX"}) == 2


def dovecot_uidvalidity(dovecot: Dovecot, folder: str = "INBOX") -> int:
    imap = dovecot.connect()
    try:
        imap.select(folder)
        _typ, data = imap.response("UIDVALIDITY")
        return int(data[0])
    finally:
        imap.logout()


async def test_append_during_idle_published_within_one_second(
        broker: EmbeddedBroker, dovecot: Dovecot, runtime_for: Callable[..., Runtime]) -> None:
    """A mail APPENDed while the collector is in IDLE is in raw_emails in under 1 s
    (measured with the record's producer timestamp)."""
    rt = runtime_for(dovecot=dovecot)
    latencies = []
    async with collector(rt):
        await until(idle_entered(rt, f"{USER}/INBOX"), what="IDLE")
        for i in range(3):
            await asyncio.sleep(0.3)
            appended = time.time()
            await asyncio.to_thread(dovecot.append, make_mail(i, tag="idle"))
            got = await read(broker.bootstrap_servers, topics.RAW_EMAILS, i + 1, settle=0)
            newest = max(got, key=lambda r: r.timestamp()[1])
            latencies.append(newest.timestamp()[1] / 1000 - appended)
            await until(idle_entered(rt, f"{USER}/INBOX"), what="IDLE again")
    assert len(got) == 3
    assert max(latencies) < 1.0, latencies


async def test_bad_password_account_does_not_stop_the_others(
        broker: EmbeddedBroker, runtime_for: Callable[..., Runtime], tmp_path: Path) -> None:
    """Three accounts from mailboxes.yaml, one with a wrong password, one whose server is
    down: the good one's two folders are collected, health shows both failures, and the
    service still stops at once."""
    server = Dovecot(users={"a@example.com": "pass-a", "b@example.com": "pass-b"}).start()
    try:
        server.preload("a@example.com", [make_mail(i, tag="inbox") for i in range(3)])
        server.preload("a@example.com", [make_mail(i, tag="sales") for i in range(2)],
                       folder="Sales")
        server.preload("b@example.com", [make_mail(i, tag="b") for i in range(2)])
        config = tmp_path / "mailboxes.yaml"
        config.write_text(f"""
accounts:
  - name: good
    server: 127.0.0.1
    port: {server.port}
    security: none
    user: a@example.com
    password: pass-a
    folders: [INBOX, Sales]
  - name: bad
    server: 127.0.0.1
    port: {server.port}
    security: none
    user: b@example.com
    password: wrong-password
  - name: down
    server: 127.0.0.1
    port: {free_port()}
    security: none
    user: a@example.com
    password: pass-a
""")
        rt = runtime_for(mailroom_mailboxes=config)
        async with collector(rt):
            await until(idle_entered(rt, "good/INBOX"), what="good INBOX")
            await until(idle_entered(rt, "good/Sales"), what="good Sales")
            await until(lambda: "imap:bad/INBOX" in rt.health, what="bad reported")
            await until(lambda: "imap:down/INBOX" in rt.health, what="down reported")
            got = events(await read(broker.bootstrap_servers, topics.RAW_EMAILS, 5))
            bad = rt.health["imap:bad/INBOX"]
            stopping = time.monotonic()
        assert time.monotonic() - stopping < 5, "stopping waited for the failing mailboxes"
        assert not rt.health["imap:down/INBOX"].ok
        assert "connect" in rt.health["imap:down/INBOX"].detail
        assert sorted((e["account"], e["folder"]) for e in got) == \
            [("good", "INBOX")] * 3 + [("good", "Sales")] * 2
        assert not bad.ok and "LOGIN refused" in bad.detail
        assert "wrong-password" not in bad.detail
        assert rt.health["imap:good/INBOX"].ok and rt.health["imap:good/Sales"].ok
    finally:
        server.stop()


async def test_uidvalidity_change_rescans_without_duplicates(
        broker: EmbeddedBroker, dovecot: Dovecot, runtime_for: Callable[..., Runtime],
        tmp_path: Path) -> None:
    """The folder is deleted and recreated with the same mails (new UIDVALIDITY): the
    re-scan publishes nothing twice, and a new mail afterwards is still collected."""
    mails = [make_mail(i, tag="uv") for i in range(4)]
    dovecot.preload(USER, mails, folder="Sales")
    config = tmp_path / "mailboxes.yaml"
    config.write_text(f"""
accounts:
  - name: support
    server: 127.0.0.1
    port: {dovecot.port}
    security: none
    user: {USER}
    password: support-pass
    folders: [Sales]
""")
    rt = runtime_for(mailroom_mailboxes=config)
    async with collector(rt):
        await until(idle_entered(rt, "support/Sales"), what="first scan")
        before = checkpoint(rt, "support", "Sales")
        assert before is not None and before.last_uid == 4

        def recreate() -> None:
            imap: imaplib.IMAP4 = dovecot.connect()
            try:
                imap.delete("Sales")
                imap.create("Sales")
                for raw in mails:
                    imap.append("Sales", None, None, raw)
            finally:
                imap.logout()

        await asyncio.to_thread(recreate)
        await until(lambda: (c := checkpoint(rt, "support", "Sales")) is not None
                    and c.uidvalidity != before.uidvalidity, timeout=15, what="re-scan")
        await asyncio.to_thread(dovecot.append, make_mail(99, tag="uv"), USER, "Sales")
        got = events(await read(broker.bootstrap_servers, topics.RAW_EMAILS, 5))
    assert sorted(e["message_id"] for e in got) == sorted(
        f"<uv{i}@test.example>" for i in [0, 1, 2, 3, 99])


class LoopbackServer:
    """An asyncio TCP server on a free loopback port; a subclass handles each connection."""

    def __init__(self) -> None:
        self.port = free_port()
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    @staticmethod
    async def until_one_ends(pipes: list[Coroutine[Any, Any, None]],
                             *writers: asyncio.StreamWriter) -> None:
        """Run both directions of a relay until one ends, then drop both connections."""
        tasks = [asyncio.ensure_future(pipe) for pipe in pipes]
        with contextlib.suppress(Exception):
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for writer in writers:
            writer.transport.abort()


class CuttingProxy(LoopbackServer):
    """A TCP proxy that cuts the connection once, in the middle of a body FETCH."""

    def __init__(self, target_port: int, cut_after: int) -> None:
        super().__init__()
        self.target_port = target_port
        self.cut_after = cut_after
        self.cuts = 0

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        fetching = asyncio.Event()

        async def upstream() -> None:
            while data := await client_r.read(65536):
                if b"BODY.PEEK[]" in data:
                    fetching.set()
                server_w.write(data)
                await server_w.drain()

        async def downstream() -> None:
            sent = 0
            while data := await server_r.read(1024):
                if fetching.is_set() and self.cuts == 0:
                    sent += len(data)
                    if sent > self.cut_after:
                        self.cuts += 1
                        client_w.write(data[: len(data) // 2])
                        return  # cut: both sides are closed below
                client_w.write(data)
                await client_w.drain()

        await self.until_one_ends([upstream(), downstream()], client_w, server_w)


async def test_connection_cut_mid_fetch_loses_and_duplicates_nothing(
        broker: EmbeddedBroker, dovecot: Dovecot, runtime_for: Callable[..., Runtime]) -> None:
    """A proxy cuts the IMAP connection in the middle of a FETCH: the collector reconnects
    and every mail is published exactly once."""
    n = 12
    dovecot.preload(USER, [make_mail(i, tag="cut", body_size=2000) for i in range(n)])
    proxy = CuttingProxy(dovecot.port, cut_after=9000)
    await proxy.start()
    try:
        rt = runtime_for(dovecot=dovecot, imap_port=proxy.port, max_emails_per_batch=5)
        async with collector(rt):
            got = events(await read(broker.bootstrap_servers, topics.RAW_EMAILS, n))
            await until(idle_entered(rt, f"{USER}/INBOX"), what="catch-up")
        assert proxy.cuts == 1
        assert (rt.metrics.registry.get_sample_value(
            "mailroom_collector_reconnects_total", {"mailbox": f"{USER}/INBOX"}) or 0) >= 1
        assert sorted(e["message_id"] for e in got) == sorted(
            f"<cut{i}@test.example>" for i in range(n))
        assert checkpoint(rt, USER) is not None and checkpoint(rt, USER).last_uid == n  # type: ignore[union-attr]
    finally:
        await proxy.stop()


async def test_whole_corpora_become_events_or_dead_letters(
        broker: EmbeddedBroker, dovecot: Dovecot, runtime_for: Callable[..., Runtime],
        corpora: Path) -> None:
    """Every corpora message goes through the collector: each becomes an event or a dead
    letter (topic and store), the folder is read to its last UID, nothing escapes."""
    files = sorted(p for p in corpora.rglob("*") if p.is_file()
                   and p.name not in ("LICENSE", "COPYING", "README.md"))
    dovecot.preload(USER, [p.read_bytes() for p in files])
    rt = runtime_for(dovecot=dovecot)
    async with collector(rt):
        await until(idle_entered(rt, f"{USER}/INBOX"), timeout=240, what="corpora collected")
        assert rt.health[f"imap:{USER}/INBOX"].ok
    cp = checkpoint(rt, USER)
    assert cp is not None and cp.last_uid == len(files)
    with rt.db.begin() as db:
        dead = dead_letter_store.list_open(db, limit=10_000)
        stored = sum(mail_store.count_by(db, "status").values())
    raw = await read(broker.bootstrap_servers, topics.RAW_EMAILS, stored, timeout=90)
    letters = await read(broker.bootstrap_servers, topics.DEAD_LETTER, len(dead), timeout=30)
    assert len(raw) == stored and len({r.key() for r in raw}) == stored
    assert len(letters) == len(dead) > 0
    assert all(d["reason"] and d["uid"] and d["account"] == USER for d in dead)
    # the only mails neither published nor dead-lettered repeat an earlier mail: the same
    # Message-ID, or the same bytes when there is none
    seen: set[str] = set()
    repeats = 0
    for path in files:
        data = path.read_bytes()
        try:
            key = parse_message(data, account=USER, folder="INBOX", uid=0, uidvalidity=0,
                                limits=ParseLimits()).message_id
        except UnparseableMail:
            key = ""
        key = key or hashlib.sha256(data).hexdigest()
        repeats += key in seen
        seen.add(key)
    assert stored + len(dead) + repeats == len(files)


# -- OAuth2 / XOAUTH2 ------------------------------------------------------------------


class TokenEndpoint:
    """A local OAuth2 token endpoint (refresh-token grant) issuing tok-1, tok-2, ..."""

    def __init__(self, expires_in: int = 3600) -> None:
        self.expires_in = expires_in
        self.requests: list[dict[str, str]] = []
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                endpoint.requests.append(form)
                body = json.dumps({"access_token": endpoint.current, "token_type": "Bearer",
                                   "expires_in": endpoint.expires_in}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def current(self) -> str:
        return f"tok-{len(self.requests)}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class XOAuth2Gateway(LoopbackServer):
    """A minimal IMAP server that accepts only SASL XOAUTH2 with the token it is told to,
    then hands the authenticated session over to Dovecot (logged in as the same user)."""

    def __init__(self, dovecot: Dovecot, accept: Callable[[], str]) -> None:
        super().__init__()
        self.dovecot = dovecot
        self.accept = accept
        self.attempts: list[str] = []

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        caps = b"IMAP4rev1 SASL-IR AUTH=XOAUTH2"
        writer.write(b"* OK [CAPABILITY " + caps + b"] gateway ready\r\n")
        while line := await reader.readline():
            tag, _, rest = line.decode().strip().partition(" ")
            command, _, argument = rest.partition(" ")
            if command.upper() == "CAPABILITY":
                writer.write(b"* CAPABILITY " + caps + f"\r\n{tag} OK done\r\n".encode())
            elif command.upper() == "AUTHENTICATE" and argument.upper().startswith("XOAUTH2 "):
                sasl = base64.b64decode(argument.split()[1]).decode()
                self.attempts.append(sasl)
                if sasl != f"user={USER}\x01auth=Bearer {self.accept()}\x01\x01":
                    writer.write(f"{tag} NO [AUTHENTICATIONFAILED] invalid token\r\n".encode())
                    continue
                await self._hand_over(tag, reader, writer)
                return
            elif command.upper() == "LOGOUT":
                writer.write(f"* BYE\r\n{tag} OK bye\r\n".encode())
                break
            else:
                writer.write(f"{tag} BAD only XOAUTH2 here\r\n".encode())
        writer.close()

    async def _hand_over(self, tag: str, reader: asyncio.StreamReader,
                         writer: asyncio.StreamWriter) -> None:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", self.dovecot.port)
        await up_r.readline()
        up_w.write(f'g1 LOGIN "{USER}" "support-pass"\r\n'.encode())
        while not (await up_r.readline()).startswith(b"g1 "):
            pass
        writer.write(f"{tag} OK [CAPABILITY IMAP4rev1] authenticated\r\n".encode())

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()

        await self.until_one_ends([pipe(reader, up_w), pipe(up_r, writer)], writer, up_w)


async def test_xoauth2_account_collects_with_refreshed_token(
        broker: EmbeddedBroker, dovecot: Dovecot, runtime_for: Callable[..., Runtime],
        tmp_path: Path) -> None:
    """An OAuth2 account gets its access token with the refresh-token grant, logs in with
    SASL XOAUTH2, and when the server refuses the token, refreshes it and retries."""
    endpoint = TokenEndpoint()
    # the gateway accepts only the second token issued: the first one is "revoked"
    gateway = XOAuth2Gateway(dovecot, accept=lambda: "tok-2")
    await gateway.start()
    dovecot.preload(USER, [make_mail(i, tag="oauth") for i in range(3)])
    config = tmp_path / "mailboxes.yaml"
    config.write_text(f"""
accounts:
  - name: o365
    server: 127.0.0.1
    port: {gateway.port}
    security: none
    user: {USER}
    oauth2:
      token_url: {endpoint.url}
      client_id: mailroom-test
      client_secret: client-secret-value
      refresh_token: refresh-token-value
""")
    try:
        rt = runtime_for(mailroom_mailboxes=config)
        async with collector(rt):
            await until(idle_entered(rt, "o365/INBOX"), what="XOAUTH2 session in IDLE")
            got = events(await read(broker.bootstrap_servers, topics.RAW_EMAILS, 3))
        assert sorted(e["message_id"] for e in got) == sorted(
            f"<oauth{i}@test.example>" for i in range(3))
        assert [a.split("auth=Bearer ")[1].strip("\x01") for a in gateway.attempts] == \
            ["tok-1", "tok-2"]
        assert endpoint.requests[0] == {
            "grant_type": "refresh_token", "refresh_token": "refresh-token-value",
            "client_id": "mailroom-test", "client_secret": "client-secret-value"}
        assert "tok-" not in rt.health["imap:o365/INBOX"].detail
    finally:
        await gateway.stop()
        endpoint.stop()


async def test_token_source_refreshes_before_expiry() -> None:
    """A token living 600 s is renewed 300 s before it expires, not on every use."""
    endpoint = TokenEndpoint(expires_in=600)
    now = [1000.0]
    try:
        source = TokenSource(OAuth2Config(
            token_url=endpoint.url, client_id="c", refresh_token=SecretStr("r")),
            clock=lambda: now[0])
        assert await source.token() == "tok-1"
        now[0] += 299
        assert await source.token() == "tok-1"
        now[0] += 2  # 301 s in: inside the 300 s margin
        assert await source.token() == "tok-2"
        assert len(endpoint.requests) == 2
    finally:
        endpoint.stop()


# -- polling, post-actions, size limit -------------------------------------------------


def mailboxes_file(tmp_path: Path, dovecot: Dovecot, post_action: str) -> Path:
    path = tmp_path / "mailboxes.yaml"
    path.write_text(f"""
accounts:
  - name: support
    server: 127.0.0.1
    port: {dovecot.port}
    security: none
    user: {USER}
    password: support-pass
    post_action: "{post_action}"
""")
    return path


def uid_reached(rt: Runtime, uid: int, account: str = "support") -> Callable[[], bool]:
    return lambda: (c := checkpoint(rt, account)) is not None and c.last_uid >= uid


async def test_polling_without_idle_collects_new_mail_and_flags_seen(
        dovecot: Dovecot, runtime_for: Callable[..., Runtime], tmp_path: Path) -> None:
    """With IDLE off, the folder is polled every POLLING_INTERVAL; post_action seen flags
    every collected mail \\Seen (only after it is durable)."""
    dovecot.preload(USER, [make_mail(i, tag="poll") for i in range(2)])
    rt = runtime_for(mailroom_mailboxes=mailboxes_file(tmp_path, dovecot, "seen"),
                     imap_idle=False, polling_interval=1.0)
    async with collector(rt):
        await until(uid_reached(rt, 2), what="first poll")
        await asyncio.to_thread(dovecot.append, make_mail(2, tag="poll"))
        await until(uid_reached(rt, 3), timeout=5, what="next poll")
        assert rt.metrics.registry.get_sample_value(
            "mailroom_collector_idle", {"mailbox": "support/INBOX"}) == 0
    imap = dovecot.connect()
    try:
        imap.select("INBOX", readonly=True)
        _typ, data = imap.search(None, "UNSEEN")
        assert data == [b""], "some collected mails were not flagged \\Seen"
    finally:
        imap.logout()


async def test_move_post_action_and_oversize_mail_becomes_headers_only_event(
        dovecot: Dovecot, runtime_for: Callable[..., Runtime], tmp_path: Path) -> None:
    """A mail over MAX_EMAIL_BYTES is fetched as headers only and flagged too_large; with
    post_action move:<folder> both mails end in that folder (created on demand)."""
    big = make_mail(1, tag="size", body_size=20_000)
    dovecot.preload(USER, [make_mail(0, tag="size"), big])
    rt = runtime_for(mailroom_mailboxes=mailboxes_file(tmp_path, dovecot, "move:Done"),
                     max_email_bytes=4096)
    async with collector(rt):
        await until(uid_reached(rt, 2), what="both collected")
        await until(lambda: dovecot.count(folder="Done") == 2, what="moved")
    assert dovecot.count() == 0
    with rt.db.begin() as db:
        rows = {r["message_id"]: r["event"] for r in (
            mail_store.get_mail(db, i) for i in mail_store.known_ids(db, _ids(rt))) if r}
    assert rows["<size0@test.example>"]["flags"] == []
    oversize = rows["<size1@test.example>"]
    assert oversize["flags"] == ["too_large"] and oversize["text"] == ""
    assert oversize["size"] >= len(big) and oversize["subject"] == "Question 1"


def _ids(rt: Runtime) -> list[str]:
    return [topics.mail_id("support", "INBOX", f"<size{i}@test.example>", b"") for i in range(2)]


# -- TLS: implicit (ssl) and STARTTLS ----------------------------------------------------


class TlsDovecot(Dovecot):  # type: ignore[misc]  # servers is not type-checked
    """Dovecot with a self-signed certificate for 127.0.0.1: STARTTLS on ``port``, implicit
    TLS on ``ssl_port``."""

    def __init__(self) -> None:
        super().__init__()
        self.ssl_port = free_port()
        self.cert = self.base / "cert.pem"

    def start(self) -> TlsDovecot:
        key = self.base / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", str(key), "-out", str(self.cert)],
            check=True, capture_output=True)
        original = servers.DOVECOT_CONF
        servers.DOVECOT_CONF = original.replace("ssl = no", (
            f"ssl = yes\nssl_cert = <{self.cert}\nssl_key = <{key}\n"
        )).replace("inet_listener imaps {{\n    port = 0", (
            f"inet_listener imaps {{{{\n    address = 127.0.0.1\n    port = {self.ssl_port}"))
        try:
            super().start()
        finally:
            servers.DOVECOT_CONF = original
        return self


@pytest.mark.parametrize("security", ["ssl", "starttls"])
async def test_tls_connections_collect(
        security: str, runtime_for: Callable[..., Runtime], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Implicit TLS and STARTTLS both verify the server certificate and collect."""
    server = TlsDovecot().start()
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.cert))  # trust the test certificate
        server.preload(USER, [make_mail(i, tag=security) for i in range(2)])
        port = server.ssl_port if security == "ssl" else server.port
        config = tmp_path / "mailboxes.yaml"
        config.write_text(f"""
accounts:
  - name: tls
    server: 127.0.0.1
    port: {port}
    security: {security}
    user: {USER}
    password: support-pass
""")
        rt = runtime_for(mailroom_mailboxes=config)
        async with collector(rt):
            await until(uid_reached(rt, 2, account="tls"), what=f"{security} collection")
        assert rt.health["imap:tls/INBOX"].ok
    finally:
        server.stop()


class RecordingProxy(LoopbackServer):
    """A TCP proxy that keeps every UID SEARCH command the client sends."""

    def __init__(self, target_port: int) -> None:
        super().__init__()
        self.target_port = target_port
        self.searches: list[str] = []

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def upstream() -> None:
            while data := await client_r.read(65536):
                self.searches += [line.split(b"SEARCH", 1)[1].decode().strip()
                                  for line in data.split(b"\r\n") if b"UID SEARCH" in line]
                server_w.write(data)
                await server_w.drain()

        async def downstream() -> None:
            while data := await server_r.read(65536):
                client_w.write(data)
                await client_w.drain()

        await self.until_one_ends([upstream(), downstream()], client_w, server_w)


async def test_a_checkpoint_far_behind_is_caught_up_a_window_of_uids_at_a_time(
        broker: EmbeddedBroker, dovecot: Dovecot, runtime_for: Callable[..., Runtime],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With the checkpoint more than ``SEARCH_WINDOW`` UIDs below UIDNEXT, the collector
    searches bounded UID ranges (never one SEARCH of the whole backlog), skips the gaps
    that expunged mails leave, and publishes every mail once."""
    from mailroom.collector import folder

    monkeypatch.setattr(folder, "SEARCH_WINDOW", 7)
    n = 30
    dovecot.preload(USER, [make_mail(i, tag="w") for i in range(n)])
    imap = dovecot.connect()
    try:  # a gap wider than a window: UIDs 9-17 expunged
        imap.select("INBOX")
        imap.uid("STORE", "9:17", "+FLAGS", "(\\Deleted)")
        imap.expunge()
    finally:
        imap.logout()
    kept = [i for i in range(n) if not 8 <= i <= 16]
    proxy = RecordingProxy(dovecot.port)
    await proxy.start()
    try:
        rt = runtime_for(dovecot=dovecot, imap_port=proxy.port, max_emails_per_batch=500)
        async with collector(rt):
            await until(idle_entered(rt, f"{USER}/INBOX"), what="catch-up")
            got = events(await read(broker.bootstrap_servers, topics.RAW_EMAILS, len(kept)))
    finally:
        await proxy.stop()
    assert sorted(e["message_id"] for e in got) == sorted(f"<w{i}@test.example>" for i in kept)
    assert checkpoint(rt, USER) == checkpoints.Checkpoint(dovecot_uidvalidity(dovecot), n)
    assert proxy.searches[:4] == ["UID 1:7", "UID 8:14", "UID 15:21", "UID 22:28"], proxy.searches
    assert proxy.searches[4] == "UID 29:*", proxy.searches
