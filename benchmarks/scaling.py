"""Processor throughput with 1 vs 3 processor processes in one consumer group.

Runs against its own embedded broker and a fresh PostgreSQL database (or SQLite with
--sqlite): N RawEmail events are produced straight into raw_emails, then k processor
processes drain them; the time until the store has a decision for every mail is measured.

    python -m benchmarks.scaling --mails 20000 --processes 1 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from mailroom.broker import EmbeddedBroker
from mailroom.events import RawEmail
from mailroom.kafka import KafkaClients, Outgoing, produce_all
from mailroom.store import Database, MailStatus
from mailroom.store import mails as mail_store
from mailroom.topics import RAW_EMAILS


def events(n: int, run: str) -> list[Outgoing]:
    out = []
    for i in range(n):
        subject = "Solicitud de suscripción" if i % 2 == 0 else "Question about my invoice"
        email = RawEmail(mail_id=f"{run}-{i}", account="bench", folder="INBOX", uid=i + 1,
                         message_id=f"<{run}-{i}@bench>", subject=subject,
                         from_addr=f"user{i}@customers.test", text="Hello, " * 40, language="en")
        out.append(Outgoing(RAW_EMAILS, email.mail_id, email.to_bytes()))
    return out


def pg_database() -> tuple[str, str]:
    import psycopg

    name = f"mailroom_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql://postgres@127.0.0.1:5432/{name}"


def drop_pg(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure(mails: int, processes: int, sqlite_dir: Path | None) -> dict[str, float]:
    broker = EmbeddedBroker(port=0)
    broker.start()
    pg_name = None
    if sqlite_dir is None:
        pg_name, url = pg_database()
    else:
        url = f"sqlite:///{sqlite_dir / f'scaling-{processes}.db'}"
    try:
        kafka = KafkaClients(broker.bootstrap_servers)
        kafka.create_topics(3, 1)
        db = Database(url.replace("postgresql://", "postgresql+psycopg://"))
        db.create_schema()
        produce_all(kafka.producer(), events(mails, uuid.uuid4().hex[:6]))
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
               "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "KAFKA_CONSUMER_BATCH": "500"}
        started = time.monotonic()
        procs = [subprocess.Popen([sys.executable, "-m", "mailroom.cli", "processor"], env=env)
                 for _ in range(processes)]
        try:
            done = 0
            while time.monotonic() - started < 600:
                with db.begin() as conn:
                    c = mail_store.count_by(conn, "status")
                done = sum(v for k, v in c.items() if k != MailStatus.COLLECTED)
                if done >= mails:
                    break
                time.sleep(0.2)
            elapsed = time.monotonic() - started
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(30)
        db.dispose()
        return {"processes": processes, "mails": done, "seconds": round(elapsed, 2),
                "mails_per_s": round(done / elapsed, 1)}
    finally:
        broker.stop()
        if pg_name:
            drop_pg(pg_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mails", type=int, default=10000)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    args = parser.parse_args()
    tmp = Path("benchmarks/results")
    tmp.mkdir(parents=True, exist_ok=True)
    rows = [measure(args.mails, k, tmp if args.sqlite else None) for k in args.processes]
    print(f"{'processes':>9} {'mails':>7} {'seconds':>8} {'mails/s':>9}  (includes ~3 s group join)")
    for r in rows:
        print(f"{r['processes']:>9} {r['mails']:>7} {r['seconds']:>8} {r['mails_per_s']:>9}")
    (tmp / f"scaling-{int(time.time())}.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
