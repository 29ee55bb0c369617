"""CPU per mail of the collector's and the processor's own work, each step in-process on
real parts, with Kafka replaced by a stub that keeps nothing (issue 21).

    taskset -c 1 .venv/bin/python -m benchmarks.stage_cpu [--step store|processor|collector] \\
        [--mails 5000] [--rounds 5] [--src DIR --src DIR ...]

The mails are ``tests/mailgen.py``'s, as the drain (``python -m benchmarks``) sends them, made
once per run. Each run gets a fresh PostgreSQL database (``MAILROOM_TEST_PG``, as the tests).

- ``store``: the store transactions alone, per batch of 500: the collector's (``_unknown``,
  then ``_commit``) and the processor's (``_record``, the decisions made beforehand).
- ``processor``: ``Runner._process`` over batches of 500 consumed records (decode, classify,
  store, compose ahead, encode; produce and commit go to stubs), the collector's rows
  already stored. The first batch warms up and is not counted.
- ``collector``: ``CollectorService`` on a throwaway Dovecot holding the mails, until its
  checkpoint passes the last one (IMAP, parse, store; produce goes to a stub).

Per run it prints this process's CPU seconds per 1,000 mails (``time.process_time``, every
thread), the CPU of the PostgreSQL backends serving the run's database (from ``/proc``) and
the statements the server ran per mail (an ``executemany`` counts one per row). Each
``--src`` (a tree's ``src``, e.g. a ``git worktree`` of an older commit; default: this
tree's) runs in a process of its own, the trees in turn, ``--rounds`` times, so they are
compared back to back on a shared machine; the medians follow.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.alternating import ROOT, TESTS, alternate, medians

ACCOUNT = "support@example.com"
BATCH = 500
STEPS = ("store", "processor", "collector")


class Statements:
    """The statements the server runs, per the engine's cursor events."""

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.count = 0

        @event.listens_for(engine, "before_cursor_execute")
        def _count(_c: Any, _cur: Any, _s: str, parameters: Any, _ctx: Any, many: bool) -> None:
            self.count += len(parameters) if many else 1


def backend_cpu(engine: Any) -> float:
    """CPU seconds of the PostgreSQL backends of this database (other than this query's)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        pids = [r[0] for r in conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"))]
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


class _Message:
    """A consumed record, as the runner reads it."""

    def __init__(self, topic: str, key: bytes, value: bytes, offset: int) -> None:
        self._topic, self._key, self._value, self._offset = topic, key, value, offset

    def value(self) -> bytes:
        return self._value

    def key(self) -> bytes:
        return self._key

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def error(self) -> None:
        return None


class _Producer:
    def __init__(self) -> None:
        self.records = 0

    def produce(self, _topic: str, value: bytes | None = None, key: bytes | None = None,
                on_delivery: Any = None) -> None:
        self.records += 1

    def flush(self, _timeout: float | None = None) -> int:
        return 0

    def poll(self, _timeout: float = 0) -> int:
        return 0


class _Consumer:
    def commit(self, offsets: Any = None, asynchronous: bool = False) -> None:
        pass


def _runtime(url: str, tmp: Path, **settings: Any) -> Any:
    from conftest import pipeline_settings
    from mailroom.kafka import KafkaClients
    from mailroom.metrics import Metrics
    from mailroom.runtime import Runtime
    from mailroom.store import Database

    values = {"imap_email": ACCOUNT, "smtp_email": "replies@example.com", **settings}
    config = pipeline_settings(tmp, bootstrap="127.0.0.1:1", database_url=url, **values)
    db = Database(config.store_url)
    db.create_schema()
    return Runtime(settings=config, db=db, kafka=KafkaClients("127.0.0.1:1"), metrics=Metrics())


def _parsed(raws: list[bytes]) -> list[Any]:
    from mailroom.collector.parse import ParseLimits, parse_message

    limits = ParseLimits()
    return [parse_message(raw, account=ACCOUNT, folder="INBOX", uid=uid, uidvalidity=1,
                          limits=limits, own_addresses=(ACCOUNT,))
            for uid, raw in enumerate(raws, 1)]


def run_store(raws: list[bytes], url: str, tmp: Path) -> dict[str, float]:
    from mailroom.collector.folder import FolderWatcher
    from mailroom.processor.classify import classify_batch
    from mailroom.processor.service import ProcessorService

    events = _parsed(raws)
    rt = _runtime(url, tmp)
    processor = ProcessorService(rt)
    batches = [events[s:s + BATCH] for s in range(0, len(events), BATCH)]
    decided = [list(zip(b, classify_batch(b, processor.rules, processor.models, processor.params),
                        strict=True)) for b in batches]
    watcher = FolderWatcher.__new__(FolderWatcher)  # only what _unknown and _commit read
    watcher.rt, watcher.folder = rt, "INBOX"
    watcher.account = type("Account", (), {"name": ACCOUNT})()
    statements = Statements(rt.db.engine)
    collector_cpu = processor_cpu = 0.0
    pg_before = backend_cpu(rt.db.engine)
    for i, (batch, decisions) in enumerate(zip(batches, decided, strict=True)):
        started = time.process_time()
        fresh = watcher._unknown(batch)
        watcher._commit(fresh, [], 1, (i + 1) * BATCH)
        middle = time.process_time()
        processor._record(decisions)
        processor_cpu += time.process_time() - middle
        collector_cpu += middle - started
    pg = backend_cpu(rt.db.engine) - pg_before
    rt.db.dispose()
    n = len(events)
    return {"collector_store": collector_cpu / n * 1000, "processor_store": processor_cpu / n * 1000,
            "postgresql": pg / n * 1000, "statements_per_mail": statements.count / n}


def run_processor(raws: list[bytes], url: str, tmp: Path) -> dict[str, float]:
    from mailroom import topics
    from mailroom.processor.service import ProcessorService
    from mailroom.store import mails as mail_store

    events = _parsed(raws)
    rt = _runtime(url, tmp)
    with rt.db.begin() as conn:  # the collector's rows, as in a drain
        for start in range(0, len(events), BATCH):
            mail_store.record_collected(conn, events[start:start + BATCH])
    service = ProcessorService(rt)
    service.producer, service.consumer = _Producer(), _Consumer()  # type: ignore[assignment]
    records = [(e.mail_id.encode(), e.to_bytes()) for e in events]
    batches = [[_Message(topics.RAW_EMAILS, k, v, s + i) for i, (k, v) in
                enumerate(records[s:s + BATCH])] for s in range(0, len(records), BATCH)]
    asyncio.run(service._process(batches[0]))  # type: ignore[arg-type]
    statements = Statements(rt.db.engine)

    async def drain() -> None:
        for batch in batches[1:]:
            await service._process(batch)  # type: ignore[arg-type]

    pg_before = backend_cpu(rt.db.engine)
    started = time.process_time()
    asyncio.run(drain())
    cpu = time.process_time() - started
    pg = backend_cpu(rt.db.engine) - pg_before
    rt.db.dispose()
    n = sum(len(b) for b in batches[1:])
    return {"processor": cpu / n * 1000, "postgresql": pg / n * 1000,
            "statements_per_mail": statements.count / n}


def run_collector(raws: list[bytes], url: str, tmp: Path) -> dict[str, float]:
    from mailroom.collector.service import CollectorService
    from mailroom.store import checkpoints
    from servers import Dovecot

    dovecot = Dovecot().start()
    try:
        dovecot.preload(ACCOUNT, raws)
        rt = _runtime(url, tmp, imap_server=dovecot.host, imap_port=dovecot.port,
                      imap_security="none", imap_password=dovecot.users[ACCOUNT],
                      collector_max_ahead=0)
        producer = _Producer()
        rt.kafka = type("Kafka", (), {"producer": lambda self, on_error=None: producer})()
        service = CollectorService(rt)
        statements = Statements(rt.db.engine)

        async def collect() -> float:
            started = time.process_time()
            task = asyncio.create_task(service.run())
            while True:
                with rt.db.begin() as conn:
                    checkpoint = checkpoints.load(conn, ACCOUNT, "INBOX")
                if checkpoint is not None and checkpoint.last_uid >= len(raws):
                    break
                await asyncio.sleep(0.05)
            cpu = time.process_time() - started
            service.stop_event.set()
            await asyncio.wait_for(task, 60)
            return cpu

        pg_before = backend_cpu(rt.db.engine)
        cpu = asyncio.run(collect())
        pg = backend_cpu(rt.db.engine) - pg_before
        rt.db.dispose()
    finally:
        dovecot.stop()
    if producer.records != len(raws):
        raise SystemExit(f"{producer.records} records produced for {len(raws)} mails")
    n = len(raws)
    # the checkpoint polling above is counted too (about 20 statements a second)
    return {"collector": cpu / n * 1000, "postgresql": pg / n * 1000,
            "statements_per_mail": statements.count / n}


def one(step: str, mails_file: Path) -> dict[str, Any]:
    import mailroom
    from servers import postgres_database

    data, raws, at = mails_file.read_bytes(), [], 0
    while at < len(data):
        size = int.from_bytes(data[at:at + 4], "big")
        raws.append(data[at + 4:at + 4 + size])
        at += 4 + size
    runner = {"store": run_store, "processor": run_processor, "collector": run_collector}[step]
    with postgres_database() as url, tempfile.TemporaryDirectory() as tmp:
        result: dict[str, Any] = runner(raws, url, Path(tmp))
    return {**result, "package": str(Path(mailroom.__file__).parent.parent)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", choices=STEPS, default="processor")
    parser.add_argument("--mails", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--src", action="append", default=[],
                        help="a tree's src folder to run (repeatable; default: this tree's)")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # a child: the mails file
    args = parser.parse_args()
    sys.path.insert(0, str(TESTS))
    if args.one is not None:
        print(json.dumps(one(args.step, args.one)))
        return
    results = alternate("benchmarks.stage_cpu", args.src or [str(ROOT / "src")],
                        mails=args.mails, rounds=args.rounds, child_args=["--step", args.step],
                        line=lambda run: "  ".join(f"{k} {v:.4f}" for k, v in run.items()))
    print(f"\nmedian over rounds ({args.step}; CPU seconds per 1,000 mails, statements per mail):")
    for src, runs in results.items():
        print(f"  {src}: " + "  ".join(f"{k} {v:.4f}" for k, v in medians(runs).items()))

if __name__ == "__main__":
    main()
