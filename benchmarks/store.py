"""The state store's hot statements as its tables grow.

Every mail passes through four store calls (collected, decided, reply claimed, reply
settled) and every open dashboard reads ``/stats`` every few seconds. Each must cost about
the same with a million rows as with a thousand, or a busy mailbox gets slower month after
month. This grows the tables through the real store functions, 500 mails at a time (the
collector's and processor's batch; replies in the responder's chunks of 50), and prints the
cost of each call per batch at each table size, and of ``/stats``'s queries.

    python -m benchmarks.store                       # PostgreSQL, 200,000 mails
    python -m benchmarks.store --rows 50000 --db sqlite
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.world import store_url
from mailroom.api.stats import read_store_numbers
from mailroom.events import Decision, RawEmail, Route, utcnow
from mailroom.settings import normalise_database_url
from mailroom.store import Database
from mailroom.store import mails as mail_store
from mailroom.store import replies as reply_store

BATCH = 500  # the collector's MAX_EMAILS_PER_BATCH and the processor's batch
CHUNK = 50  # the responder claims and settles replies in chunks of this many
LEASE = timedelta(minutes=5)
CALLS = ("collected", "decided", "claimed", "settled")


@contextlib.contextmanager
def database(kind: str) -> Iterator[Database]:
    with tempfile.TemporaryDirectory(prefix="mailroom-store-bench-") as tmp, \
            store_url(kind, Path(tmp)) as url:
        db = Database(normalise_database_url(url))
        db.create_schema()
        try:
            yield db
        finally:
            db.dispose()


def batch_of_mails(start: int) -> list[tuple[RawEmail, Decision]]:
    """Half subscription requests (answered), half other mails (review), as the drain."""
    out = []
    for i in range(start, start + BATCH):
        email = RawEmail(
            mail_id=f"bench-{i:09d}", account="support@example.com", folder="INBOX", uid=i + 1,
            uidvalidity=1, message_id=f"<{i}@customers.test>", subject=f"Subscribe {i}",
            from_addr=f"user{i}@customers.test", text="Hello, please subscribe me. " * 40,
            language="en", size=2_000)
        ack = i % 2 == 0
        out.append((email, Decision(
            mail_id=email.mail_id, category="subscription" if ack else "other",
            route=Route.ACKNOWLEDGE if ack else Route.REVIEW,
            template="subscription" if ack else None, language="en")))
    return out


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def one_batch(db: Database, start: int) -> dict[str, float]:
    """Seconds each call took for one batch of mails, in its own transaction(s)."""
    decided = batch_of_mails(start)
    emails = [e for e, _ in decided]
    answered = [reply_store.ClaimRequest(e.mail_id, "subscription", e.from_addr,
                                         f"<reply-{e.mail_id}@support.example.com>")
                for e, d in decided if d.route is Route.ACKNOWLEDGE]
    chunks = [answered[i:i + CHUNK] for i in range(0, len(answered), CHUNK)]

    def collected() -> None:
        with db.begin() as conn:
            mail_store.record_collected(conn, emails)

    def decide() -> None:
        with db.begin() as conn:
            mail_store.record_decisions(conn, decided)

    def claim() -> None:
        for chunk in chunks:
            with db.begin() as conn:
                reply_store.claim_many(conn, chunk, owner="bench", lease=LEASE)

    def settle() -> None:
        for chunk in chunks:
            keys = [r.key for r in chunk]
            with db.begin() as conn:  # the attempt log's start and end, then the settle
                reply_store.record_attempts(conn, sent=[], starts=[(*k, "bench") for k in keys],
                                            lease=LEASE)
                reply_store.record_attempts(conn, sent=keys, starts=[], lease=LEASE)
                reply_store.mark_mails_replied(conn, sorted({m for m, _ in keys}))

    return {"collected": timed(collected), "decided": timed(decide), "claimed": timed(claim),
            "settled": timed(settle)}


def analyze(db: Database) -> None:
    """What autovacuum does sooner or later: statistics and the visibility map."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def stats_seconds(db: Database) -> float:
    def read() -> None:
        with db.begin() as conn:
            read_store_numbers(conn, utcnow())
    read()  # warm
    return min(timed(read) for _ in range(3))


def sizes(rows: int) -> list[int]:
    marks = [m for m in (1_000, 10_000, 50_000, 100_000, 200_000, 500_000, 1_000_000,
                         2_000_000) if m < rows]
    return [*marks, rows]


def run(db: Database, rows: int, window: int, vacuumed: bool) -> list[dict[str, Any]]:
    """Grow the tables to ``rows`` mails; per mark, the median of the last ``window`` batches."""
    results: list[dict[str, Any]] = []
    recent: list[dict[str, float]] = []
    done = 0
    for mark in sizes(rows):
        while done < mark:
            recent = [*recent[-(window - 1):], one_batch(db, done)]
            done += BATCH
        row: dict[str, Any] = {"mails": done}
        for call in CALLS:
            row[f"{call}_ms"] = round(1000 * statistics.median(r[call] for r in recent), 1)
        row["stats_ms"] = round(1000 * stats_seconds(db), 1)
        if vacuumed:
            analyze(db)
            row["stats_vacuumed_ms"] = round(1000 * stats_seconds(db), 1)
        results.append(row)
        print(line(row), flush=True)
    return results


def line(row: dict[str, Any]) -> str:
    vacuumed = f" {row['stats_vacuumed_ms']:>10.1f}" if "stats_vacuumed_ms" in row else ""
    return (f"{row['mails']:>10,} " + " ".join(f"{row[c + '_ms']:>10.1f}" for c in CALLS)
            + f" {row['stats_ms']:>10.1f}" + vacuumed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.store",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000, help="mails in the store at the end")
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--window", type=int, default=10, help="batches per median")
    parser.add_argument("--vacuum", action="store_true",
                        help="also time /stats after VACUUM ANALYZE at each size (as autovacuum "
                             "would leave it; the tables then stay analysed)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    print(f"ms per batch of {BATCH} mails ({BATCH // 2} replies in chunks of {CHUNK}); "
          f"/stats: its store queries once; {args.db}")
    print(f"{'mails':>10} " + " ".join(f"{c:>10}" for c in CALLS) + f" {'/stats':>10}"
          + (f" {'vacuumed':>10}" if args.vacuum else ""))
    with database(args.db) as db:
        results = run(db, args.rows, args.window, args.vacuum)
    if args.json:
        args.json.write_text(json.dumps({"db": args.db, "rows": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
