"""``mailroom demo``: the whole pipeline on a laptop, with its own mailbox and SMTP sink.

Starts pymap (in-memory IMAP) seeded with about twenty mails, an SMTP sink writing replies
to ``<data dir>/demo-outbox``, and every mailroom service on the embedded broker; prints
the dashboard URL, its one-time credentials and, once the mails are settled, what happened.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from pathlib import Path

from mailroom.app import Supervisor
from mailroom.broker import port_is_free
from mailroom.demo.mails import DEMO_DOMAIN, seed_messages
from mailroom.demo.servers import DEMO_PASSWORD, DEMO_USER, DemoImapServer, DemoSmtpSink
from mailroom.settings import Security, Settings
from mailroom.store import MailStatus
from mailroom.store import mails as mail_store
from mailroom.store.location import demo_data_dir, shown_url

log = logging.getLogger(__name__)


def demo_settings(settings: Settings, imap: DemoImapServer, sink: DemoSmtpSink,
                  dashboard_password: str) -> Settings:
    from mailroom.api.auth import hash_password

    return settings.model_copy(update={
        "imap_server": "127.0.0.1", "imap_port": imap.port, "imap_security": Security.NONE,
        "imap_email": DEMO_USER, "imap_password": DEMO_PASSWORD, "imap_mailbox": "INBOX",
        "smtp_server": "127.0.0.1", "smtp_port": sink.port, "smtp_security": Security.NONE,
        "smtp_email": f"support@{DEMO_DOMAIN}", "polling_interval": 5.0,
        "mailroom_demo": True, "mailroom_mailboxes": None,
        "api_users": f"demo:{hash_password(dashboard_password)}",
        "mailroom_data_dir": demo_data_dir(settings),
        # a demo never fails on a busy port: the URL it prints is the one it took
        "api_port": settings.api_port if port_is_free(settings.api_port) else 0,
        "database_url": settings.database_url,
    })


def summary(settings: Settings, supervisor: Supervisor) -> dict[str, int]:
    assert supervisor.runtime is not None
    with supervisor.runtime.db.begin() as conn:
        return mail_store.count_by(conn, "status")


async def report_when_settled(supervisor: Supervisor, expected: int, outbox: Path,
                              timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    while time.monotonic() < deadline and not supervisor.stopping.is_set():
        counts = summary(supervisor.settings, supervisor)
        settled = sum(v for k, v in counts.items() if k not in (MailStatus.COLLECTED,
                                                                 MailStatus.AWAITING_REPLY))
        if settled >= expected:
            break
        await asyncio.sleep(1)
    lines = [f"  {status:15} {count}" for status, count in sorted(counts.items())]
    print("\nWhat happened to the demo mails:\n" + "\n".join(lines), flush=True)
    print(f"Replies written by the SMTP sink: {outbox}\n", flush=True)


def run_demo(settings: Settings, seconds: float = 0) -> int:
    imap = DemoImapServer().start()
    data_dir = demo_data_dir(settings)
    sink = DemoSmtpSink(outbox=data_dir / "demo-outbox").start()
    password = secrets.token_urlsafe(9)
    messages = seed_messages()
    try:
        imap.append(messages)
        demo = demo_settings(settings, imap, sink, password)

        background: set[asyncio.Task[None]] = set()

        async def on_ready(supervisor: Supervisor) -> None:
            api = supervisor.services.get("api")
            url = getattr(api, "url", f"http://{demo.api_host}:{demo.api_port}")
            store = shown_url(demo.store_url) + ("" if demo.database_url else
                                                 " (other commands read it with MAILROOM_DATA_DIR="
                                                 f"{demo.mailroom_data_dir})")
            print(f"\nmailroom demo is running.\n  dashboard: {url}/\n  login:     demo / {password}"
                  f"\n  metrics:   {url}/metrics\n  mailbox:   {len(messages)} mails seeded\n"
                  f"  store:     {store}\n"
                  "Ctrl-C stops it.\n", flush=True)
            reporter = asyncio.create_task(
                report_when_settled(supervisor, len(messages), sink.outbox))
            background.add(reporter)
            reporter.add_done_callback(background.discard)
            if seconds:
                asyncio.get_running_loop().call_later(seconds, supervisor.stopping.set)

        from mailroom.app import run_supervised

        return run_supervised(demo, ["collector", "processor", "responder", "api"], on_ready)
    finally:
        sink.stop()
        imap.stop()
