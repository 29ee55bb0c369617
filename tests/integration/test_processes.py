"""The services as separate processes on a shared broker and PostgreSQL, as in production."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mailgen import make_batch
from mailroom.broker import EmbeddedBroker, free_port
from mailroom.store import Database, MailStatus
from mailroom.store import mails as mail_store
from servers import Dovecot, SmtpSink

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MAILROOM = [sys.executable, "-m", "mailroom.cli"]


def service_env(dovecot: Dovecot, smtp: SmtpSink, broker: EmbeddedBroker, db_url: str,
                tmp_path: Path, api_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAP_", "SMTP_", "KAFKA_"))}
    env.update({
        "IMAP_SERVER": dovecot.host, "IMAP_PORT": str(dovecot.port), "IMAP_SECURITY": "none",
        "IMAP_EMAIL": "support@example.com", "IMAP_PASSWORD": "support-pass",
        "SMTP_SERVER": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_SECURITY": "none",
        "SMTP_EMAIL": smtp.user, "SMTP_PASSWORD": smtp.password,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers, "DATABASE_URL": db_url,
        "MAILROOM_DATA_DIR": str(tmp_path / "data"), "POLLING_INTERVAL": "1",
        "API_PORT": str(api_port), "RECONCILE_AFTER_SECONDS": "5",
    })
    return env


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_separate_processes_on_postgresql_answer_each_subscription_once(
    dovecot: Dovecot, smtp_sink: SmtpSink, broker: EmbeddedBroker, pg_url: str, tmp_path: Path,
    procs: list[subprocess.Popen[bytes]],
) -> None:
    mails = make_batch(60)
    dovecot.preload("support@example.com", [m.raw for m in mails])
    wanted = {m.message_id for m in mails if m.wants_reply}
    api_port = free_port()
    env = service_env(dovecot, smtp_sink, broker, pg_url, tmp_path, api_port)
    subprocess.run([*MAILROOM, "topics", "create"], env=env, check=True, timeout=60)
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("processor", "processor", "responder", "responder", "collector", "api"):
        log = (logs / f"{name}-{len(procs)}.log").open("wb")
        procs.append(subprocess.Popen([*MAILROOM, name], env=env, stdout=log,
                                      stderr=subprocess.STDOUT))

    # six processes and their consumer-group joins on a loaded machine: minutes, not seconds
    assert smtp_sink.wait_for(len(wanted), 180), [p.read_text() for p in logs.iterdir()]
    # the end signal is the store: every mail has its fate (a reply is recorded sent just
    # after its 250, and its mail marked replied with the rest of its batch a moment later)
    db = Database(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    done = {MailStatus.REPLIED: len(wanted), MailStatus.IN_REVIEW: len(mails) - len(wanted)}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with db.begin() as conn:
            counts = mail_store.count_by(conn, "status")
        if all(counts.get(status, 0) == n for status, n in done.items()):
            break
        time.sleep(0.5)
    db.dispose()
    assert counts.get(MailStatus.REPLIED) == len(wanted), counts
    assert counts.get(MailStatus.IN_REVIEW) == len(mails) - len(wanted), counts
    targets = Counter(str(m["In-Reply-To"]).strip() for m in smtp_sink.messages())
    assert set(targets) == wanted and max(targets.values()) == 1
    health = httpx.get(f"http://127.0.0.1:{api_port}/health", timeout=15)
    assert health.status_code == 200, health.text
    assert all(p.poll() is None for p in procs), "a service exited"


def test_a_single_service_without_a_shared_broker_refuses_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "IMAP_", "SMTP_"))}
    env["MAILROOM_DATA_DIR"] = str(tmp_path)
    result = subprocess.run([*MAILROOM, "processor"], env=env, capture_output=True, timeout=60,
                            cwd=tmp_path)
    assert result.returncode == 2
    assert b"KAFKA_BOOTSTRAP_SERVERS" in result.stderr


def test_an_invalid_setting_stops_start_up_with_one_line_naming_it(tmp_path: Path) -> None:
    env = {**os.environ, "IMAP_PORT": "not-a-port", "IMAP_PASSWORD": "hunter2-secret"}
    result = subprocess.run([*MAILROOM, "up"], env=env, capture_output=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert "IMAP_PORT" in err and len(err.strip().splitlines()) == 1
    assert "hunter2-secret" not in err
