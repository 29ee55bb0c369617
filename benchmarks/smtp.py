"""Replies per second through the responder's SMTP pool, against a local aiosmtpd.

The server runs in its own process (``python -m aiosmtpd`` with the discarding ``Sink``
handler) so it does not share this process's GIL.

    .venv/bin/python -m benchmarks.smtp [--messages 2000]

Prints the rate for pool sizes 1, 4 and 8 (connections reused) and, for contrast, a new
connection per message. Messages are real replies as the processor and the responder make
them (``Composer.render``), so the size and MIME shape match production; making them is
timed separately, beside building the ``EmailMessage`` and serialising it (``reply_message``,
``serialise``), the way that gives the same bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

from mailroom.broker import free_port, wait_for_port
from mailroom.events import Decision, RawEmail, Route
from mailroom.responder.compose import Composer, Rendered, serialise
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


COMPOSER = Composer(Templates(), SENDER, "Soporte", "en")


def mails(n: int) -> list[tuple[RawEmail, Decision]]:
    """Half with an ASCII subject, half with an accented one (written as encoded words)."""
    out = []
    for i in range(n):
        subject = f"Suscripción {i}" if i % 2 else f"Subscription {i}"
        email = RawEmail(mail_id=f"m{i}", account=SENDER, folder="INBOX",
                         message_id=f"<orig-{i}@client.example.org>", subject=subject,
                         from_addr=f"client{i}@example.org", from_name=f"Client {i}",
                         language="es" if i % 2 else "en")
        out.append((email, Decision(mail_id=email.mail_id, category="subscription",
                                    route=Route.ACKNOWLEDGE)))
    return out


async def through_pool(config: SmtpConfig, messages: list[Rendered]) -> float:
    pool = SmtpPool(config)
    limit = asyncio.Semaphore(config.pool_size * 2)

    async def one(data: bytes, to: list[str]) -> None:
        async with limit:
            await pool.send(data, sender=SENDER, recipients=to)

    started = time.perf_counter()
    try:
        await asyncio.gather(*(one(m.data, m.recipients) for m in messages))
    finally:
        await pool.close()
    return len(messages) / (time.perf_counter() - started)


async def new_connection_each(config: SmtpConfig, messages: list[Rendered]) -> float:
    started = time.perf_counter()
    for msg in messages:
        client = config.client()
        await client.connect()
        await client.sendmail(SENDER, msg.recipients, msg.data)
        await client.quit()
    return len(messages) / (time.perf_counter() - started)


async def main(count: int) -> None:
    with smtp_server() as port:
        inputs = mails(count)
        for email, decision in inputs[:50]:  # templates loaded, memos warm, for both ways
            serialise(COMPOSER.compose(email, decision))
            COMPOSER.render(email, decision)
        started = time.process_time()
        for email, decision in inputs:
            serialise(COMPOSER.compose(email, decision))
        spent = time.process_time() - started
        print(f"message + serialise: {count / spent:8.0f} replies per CPU second")
        started = time.process_time()
        messages = [COMPOSER.render(email, decision) for email, decision in inputs]
        spent = time.process_time() - started
        print(f"render (sent):       {count / spent:8.0f} replies per CPU second")
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
