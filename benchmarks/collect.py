"""Collector benchmark: throughput from a preloaded Dovecot folder into raw_emails, and
the latency from an IMAP APPEND to the mail being acknowledged by the broker (IDLE).

    .venv/bin/python benchmarks/collect.py [--mails 5000] [--batch 50] [--appends 20]

Real parts only: a throwaway Dovecot, the embedded Tansu broker, a SQLite store. A mail
counts as collected when its batch's checkpoint is saved, which happens only after the
broker acknowledged the batch.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from mailroom.broker import EmbeddedBroker
from mailroom.collector.service import CollectorService
from mailroom.runtime import Runtime, build_runtime
from mailroom.settings import Settings
from mailroom.store import checkpoints
from servers import Dovecot

USER = "support@example.com"


def sample_mail(i: int) -> bytes:
    body = ("Hola, quisiera información sobre la suscripción mensual. " * 12 if i % 2 else
            "Hello, I have a question about my last invoice and the delivery date. " * 12)
    return (f"From: Customer {i} <customer{i}@example.org>\r\nTo: {USER}\r\n"
            f"Subject: Request {i}\r\nMessage-ID: <bench{i}@example.org>\r\n"
            f"Date: Fri, 27 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"\r\n{body}\r\n").encode()


def last_uid(rt: Runtime) -> int:
    with rt.db.begin() as db:
        cp = checkpoints.load(db, USER, "INBOX")
    return cp.last_uid if cp else 0


async def wait_for_uid(rt: Runtime, uid: int, timeout: float, step: float) -> float:
    deadline = time.monotonic() + timeout
    while last_uid(rt) < uid:
        if time.monotonic() > deadline:
            raise TimeoutError(f"checkpoint did not reach {uid}")
        await asyncio.sleep(step)
    return time.monotonic()


async def bench(args: argparse.Namespace, dovecot: Dovecot, bootstrap: str, data: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, imap_server=dovecot.host, imap_port=dovecot.port, imap_security="none",
        imap_email=USER, imap_password="support-pass", kafka_bootstrap_servers=bootstrap,
        mailroom_data_dir=data, max_emails_per_batch=args.batch,
        # the collector alone: nothing settles its mails, so no bound on how far ahead it runs
        collector_max_ahead=0,
    )
    rt = build_runtime(settings, bootstrap)
    rt.kafka.create_topics(3, 1)
    service = CollectorService(rt)
    started = time.monotonic()
    task = asyncio.create_task(service.run())
    try:
        done = await wait_for_uid(rt, args.mails, timeout=1800, step=0.05)
        elapsed = done - started
        print(f"throughput: {args.mails} mails in {elapsed:.2f} s = {args.mails / elapsed:.0f} mails/s "
              f"(batch {args.batch}, including connect and first SELECT)")
        latencies = []
        for i in range(args.appends):
            await asyncio.sleep(0.2)  # let the collector re-enter IDLE
            sent = time.monotonic()
            await asyncio.to_thread(dovecot.append, sample_mail(args.mails + i))
            arrived = await wait_for_uid(rt, args.mails + i + 1, timeout=30, step=0.005)
            latencies.append(arrived - sent)
        if latencies:
            ordered = sorted(latencies)
            p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
            print(f"IDLE latency (APPEND -> broker ack + checkpoint), {len(latencies)} mails: "
                  f"median {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
                  f"max {max(latencies) * 1000:.0f} ms")
    finally:
        service.stop()
        await asyncio.wait_for(task, 60)
        rt.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--appends", type=int, default=20)
    args = parser.parse_args()
    dovecot = Dovecot().start()
    broker = EmbeddedBroker(port=0)
    bootstrap = broker.start()
    try:
        t0 = time.monotonic()
        dovecot.preload(USER, [sample_mail(i) for i in range(args.mails)])
        print(f"preloaded {args.mails} mails in {time.monotonic() - t0:.1f} s")
        with tempfile.TemporaryDirectory(prefix="mailroom-bench-") as data:
            asyncio.run(bench(args, dovecot, bootstrap, Path(data)))
    finally:
        broker.stop()
        dovecot.stop()


if __name__ == "__main__":
    main()
