"""Replies per second through the responder's SMTP pool, against a local aiosmtpd.

The server runs in its own process (``python -m aiosmtpd`` with the discarding ``Sink``
handler) so it does not share this process's GIL.

    .venv/bin/python -m benchmarks.smtp [--messages 2000]

Prints the rate for pool sizes 1, 4 and 8 (connections reused) and, for contrast, a new
connection per message. Messages are real composed replies (``compose_reply``), so the
size and MIME shape match production; composing is timed separately.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage

from mailroom.broker import free_port, wait_for_port
from mailroom.events import Decision, RawEmail, Route
from mailroom.responder.compose import compose_reply, envelope_recipients, serialise
from mailroom.responder.smtp import SmtpConfig, SmtpPool
from mailroom.responder.templates import Templates
from mailroom.settings import Security

SENDER = "support@example.com"


@contextlib.contextmanager
def smtp_server() -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                             "-c", "aiosmtpd.handlers.Sink"])
    try:
        if not wait_for_port("127.0.0.1", port, 15):
            raise RuntimeError("aiosmtpd did not start")
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def replies(n: int) -> list[EmailMessage]:
    templates = Templates()
    out = []
    for i in range(n):
        email = RawEmail(mail_id=f"m{i}", account=SENDER, folder="INBOX",
                         message_id=f"<orig-{i}@client.example.org>", subject=f"Suscripción {i}",
                         from_addr=f"client{i}@example.org", from_name="Ana Pérez", language="es")
        decision = Decision(mail_id=email.mail_id, category="subscription", route=Route.ACKNOWLEDGE)
        out.append(compose_reply(email, decision, templates=templates, from_addr=SENDER,
                                 from_name="Soporte", default_language="en"))
    return out


async def through_pool(config: SmtpConfig, messages: list[EmailMessage]) -> float:
    pool = SmtpPool(config)
    limit = asyncio.Semaphore(config.pool_size * 2)
    ready = [(serialise(msg), envelope_recipients(msg)) for msg in messages]

    async def one(data: bytes, to: list[str]) -> None:
        async with limit:
            await pool.send(data, sender=SENDER, recipients=to)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(one(data, to) for data, to in ready))
    finally:
        await pool.close()
    return len(messages) / (time.perf_counter() - started)


async def new_connection_each(config: SmtpConfig, messages: list[EmailMessage]) -> float:
    started = time.perf_counter()
    for msg in messages:
        client = config.client()
        await client.connect()
        await client.send_message(msg, sender=SENDER)
        await client.quit()
    return len(messages) / (time.perf_counter() - started)


async def main(count: int) -> None:
    with smtp_server() as port:
        started = time.perf_counter()
        messages = replies(count)
        print(f"compose_reply: {count / (time.perf_counter() - started):8.0f} replies/s")
        started = time.perf_counter()
        for msg in messages:
            serialise(msg)
        print(f"serialise:     {count / (time.perf_counter() - started):8.0f} replies/s")
        for size in (1, 4, 8):
            config = SmtpConfig(host="127.0.0.1", port=port, security=Security.NONE, pool_size=size)
            rate = await through_pool(config, messages)
            print(f"pool size {size}:     {rate:8.0f} replies/s")
        config = SmtpConfig(host="127.0.0.1", port=port, security=Security.NONE, pool_size=1)
        few = messages[: max(1, count // 10)]
        print(f"new connection:  {await new_connection_each(config, few):8.0f} replies/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=2000)
    asyncio.run(main(parser.parse_args().messages))
