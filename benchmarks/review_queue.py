"""The review queue with many mails waiting: server time of the queue page and its JSON.

Fills a store with ``--rows`` mails in review (a tenth of them in two-mail conversations,
a few held by a reviewer, four categories, two languages, ages spread over a week), then
asks the API app in this process (Starlette's test client: no network, the whole request
path - authentication, the store's queries, the template) for the queue page with the
filters a reviewer uses, and prints the median and p90 server time of each.

    python -m benchmarks.review_queue                      # PostgreSQL, 100,000 mails
    python -m benchmarks.review_queue --rows 20000 --db sqlite
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import update

from benchmarks.world import store_url
from mailroom.api.app import create_app
from mailroom.events import Decision, RawEmail, Route, utcnow
from mailroom.runtime import build_runtime
from mailroom.settings import Settings
from mailroom.store import Database
from mailroom.store import mails as mail_store
from mailroom.store.schema import mails

BATCH = 500
TOKEN = "bench-token-0123456789"
TARGET_MS = 300.0
CATEGORIES = ("other", "billing", "subscription", "shipping")
QUERIES = (
    ("queue, newest first", "/review"),
    ("oldest first", "/review?sort=oldest"),
    ("one category", "/review?category=billing"),
    ("language + mailbox", "/review?language=es&mailbox=support@example.com/INBOX"),
    ("held by me", "/review?assignee=me"),
    ("nobody holds", "/review?assignee=none&sort=oldest"),
    ("older than 3 days", "/review?older_than_minutes=4320"),
    ("page 100", "/review?offset=5000"),
    ("JSON, 50", "/api/mails"),
    ("JSON, category, 500", "/api/mails?category=subscription&limit=500"),
    ("text search", "/review?q=parcel"),
)


def fill(db: Database, rows: int) -> None:
    now = utcnow()
    for start in range(0, rows, BATCH):
        decided = []
        for i in range(start, min(rows, start + BATCH)):
            email = RawEmail(
                mail_id=f"q-{i:09d}", account="support@example.com", folder="INBOX", uid=i + 1,
                message_id=f"<q{i}@customers.test>", subject=f"Question {i} about my parcel" if i % 97 == 0
                else f"Question {i}", from_addr=f"user{i}@customers.test",
                text="Hello, I have a question about my order. " * 20, language="es" if i % 5 == 0 else "en",
                collected_at=now - timedelta(minutes=(rows - i) * 10_080 / rows))
            decided.append((email, Decision(mail_id=email.mail_id, category=CATEGORIES[i % 4],
                                            route=Route.REVIEW, confidence=0.4)))
        with db.begin() as conn:
            mail_store.record_collected(conn, [e for e, _ in decided])
            mail_store.record_decisions(conn, decided)
    with db.begin() as conn:
        # a tenth in two-mail conversations; one in 1000 held by the benchmark's token user,
        # each its conversation's newest mail (the row the queue shows), so "held by me" has rows
        for i in range(0, rows - 1, 20):
            conn.execute(update(mails).where(mails.c.mail_id.in_([f"q-{i:09d}", f"q-{i + 1:09d}"]))
                         .values(thread_id=f"q-{i:09d}"))
        for i in range(1, rows, 1000):
            conn.execute(update(mails).where(mails.c.mail_id == f"q-{i:09d}")
                         .values(assignee="token", assigned_at=utcnow()))


def measure(client: TestClient, name: str, path: str, repeat: int) -> None:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        resp = client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        assert resp.status_code == 200, (path, resp.status_code)
    api_path = path.replace("/review", "/api/mails", 1)
    matching = client.get(api_path).json()["total"] if path.startswith("/review") else resp.json()["total"]
    times.sort()
    print(f"{name:<24} {statistics.median(times):>8.1f} "
          f"{times[max(0, int(len(times) * 0.9) - 1)]:>8.1f} {matching:>9,}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.review_queue",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="mails in review")
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--repeat", type=int, default=15, help="requests per query")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mailroom-queue-bench-") as tmp, \
            store_url(args.db, Path(tmp)) as url:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, mailroom_data_dir=Path(tmp) / "data", database_url=url,
            kafka_bootstrap_servers="127.0.0.1:1", api_tokens=TOKEN, api_session_secret="s" * 32)
        rt = build_runtime(settings)
        started = time.perf_counter()
        fill(rt.db, args.rows)
        print(f"{args.rows:,} mails in review on {args.db} (filled in "
              f"{time.perf_counter() - started:.0f} s); server time per request, ms "
              f"(target < {TARGET_MS:.0f} ms for the queue page)")
        with TestClient(create_app(rt), headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            for phase, statement in (("after ANALYZE", "ANALYZE"),
                                     ("after VACUUM ANALYZE, as autovacuum leaves it",
                                      "VACUUM ANALYZE" if args.db == "postgres" else "VACUUM")):
                with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql(statement)
                print(f"-- {phase}")
                print(f"{'request':<24} {'median':>8} {'p90':>8} {'matching':>9}")
                for name, path in QUERIES:
                    measure(client, name, path, args.repeat)
        rt.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
