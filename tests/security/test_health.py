"""Issue 16 item 2 and issue 20 item 5 on the real servers: ``/health`` reads the
collector's own rounds (no IMAP login per call, details only when signed in), and
``/health/ready`` of a stage's process is 503 while the server it needs is down, with one
log line when it goes down and one when it comes back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from mailroom.api.service import ApiService
from mailroom.app import Supervisor
from mailroom.broker import EmbeddedBroker, free_port
from mailroom.settings import Settings
from pipeline import running, wait_until
from servers import Dovecot, SmtpSink

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOKEN = "health-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FOLDER = "imap:support@example.com/INBOX"


async def api_url(supervisor: Supervisor) -> str:
    """The URL of the supervisor's API, once it listens."""
    service = supervisor.services["api"]
    assert isinstance(service, ApiService)
    assert await wait_until(lambda: service.started, 20)
    return service.url


def dovecot_logins(dovecot: Dovecot) -> int:
    path = dovecot.base / "dovecot.log"
    return path.read_text(errors="replace").count("Login: user=<") if path.exists() else 0


async def checks_of(client: httpx.AsyncClient) -> dict[str, dict[str, object]]:
    body = (await client.get("/health", headers=AUTH)).json()
    return {str(c["name"]): c for c in body["checks"]}


def lines(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(text in r.getMessage() for r in caplog.records)


@contextlib.asynccontextmanager
async def forwarder(port: int, target: int) -> AsyncIterator[None]:
    """A TCP relay on ``port`` to ``target``: the IMAP server 'comes back' when it starts."""
    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", target)
        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))

    server = await asyncio.start_server(relay, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()


async def test_health_reads_the_collectors_rounds_and_never_logs_in_to_imap(
        make_settings: Callable[..., Settings], dovecot: Dovecot, broker: EmbeddedBroker) -> None:
    settings = make_settings(dovecot=dovecot, bootstrap=broker.bootstrap_servers,
                             api_tokens=TOKEN, api_health_cache_seconds=0)
    async with running(settings, ["collector", "api"]) as supervisor, \
            httpx.AsyncClient(base_url=await api_url(supervisor), timeout=30) as client:
        async def round_seen() -> bool:
            check = (await checks_of(client)).get(FOLDER)
            return bool(check and check["ok"] and check["last_round_seconds_ago"] is not None)

        for _ in range(200):
            if await round_seen():
                break
            await asyncio.sleep(0.1)
        assert await round_seen(), await checks_of(client)
        logins = dovecot_logins(dovecot)
        assert logins >= 1, "the collector's own login shows in Dovecot's log"
        for _ in range(10):
            assert (await client.get("/health", headers=AUTH)).status_code in (200, 503)
        assert dovecot_logins(dovecot) == logins, "/health made no IMAP login of its own"
        anonymous = await client.get("/health")
        body = anonymous.json()
        assert body["services"]["imap"] is True
        assert body["checks"] == [] and body["details"] == ""
        for detail in ("support@example.com", "127.0.0.1", str(dovecot.port)):
            assert detail not in anonymous.text


async def test_ready_is_503_while_smtp_is_down_and_the_log_says_so_once_each_way(
        make_settings: Callable[..., Settings], broker: EmbeddedBroker, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mailroom.runtime")
    sink = SmtpSink(port=free_port())  # not started yet: nothing listens there
    settings = make_settings(smtp=sink, bootstrap=broker.bootstrap_servers, api_tokens=TOKEN,
                             dependency_probe_seconds=0.2)
    try:
        async with running(settings, ["responder", "api"]) as supervisor, \
                httpx.AsyncClient(base_url=await api_url(supervisor), timeout=30) as client:
            async def ready() -> int:
                return (await client.get("/health/ready")).status_code

            assert await wait_until(lambda: lines(caplog, "smtp is down") > 0, 20)
            assert await ready() == 503
            detailed = (await client.get("/health/ready", headers=AUTH)).json()
            assert "smtp" in detailed["details"] and str(sink.port) in detailed["details"]
            anonymous = (await client.get("/health/ready")).json()
            assert anonymous["details"] == "down: smtp", "no host or port for anonymous callers"
            await asyncio.sleep(1.0)  # five more failed probes
            assert lines(caplog, "smtp is down") == 1

            sink.start()
            assert await wait_until(lambda: lines(caplog, "smtp is back") > 0, 20)
            assert await ready() == 200
            await asyncio.sleep(1.0)  # five more good probes
            assert lines(caplog, "smtp is back") == 1 and lines(caplog, "smtp is down") == 1
    finally:
        sink.stop()


async def test_ready_is_503_while_the_collectors_imap_is_down_and_logged_once_each_way(
        make_settings: Callable[..., Settings], dovecot: Dovecot, broker: EmbeddedBroker,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mailroom.runtime")
    port = free_port()  # the collector's IMAP address: nothing there until the relay starts
    settings = make_settings(dovecot=dovecot, bootstrap=broker.bootstrap_servers,
                             api_tokens=TOKEN, imap_port=port)
    async with running(settings, ["collector", "api"]) as supervisor, \
            httpx.AsyncClient(base_url=await api_url(supervisor), timeout=30) as client:
        assert await wait_until(lambda: lines(caplog, f"{FOLDER} is down") > 0, 20)
        assert (await client.get("/health/ready")).status_code == 503
        await asyncio.sleep(2.5)  # the collector retries (backoff from 1 s) and fails again
        assert lines(caplog, f"{FOLDER} is down") == 1
        async with forwarder(port, dovecot.port):
            assert await wait_until(lambda: lines(caplog, f"{FOLDER} is back") > 0, 40)
            assert (await client.get("/health/ready")).status_code == 200
        assert lines(caplog, f"{FOLDER} is down") == 1
