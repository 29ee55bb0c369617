"""psycopg's two ways of sending a text array, as ``store.db.insert_ignore_many`` sends a
batch of mails' JSON: text (each element escaped in Python) against binary.

    .venv/bin/python -m benchmarks.arrays [--rows 500] [--kb 4] [--rounds 5]

Needs the test PostgreSQL (``MAILROOM_TEST_PG``, default postgresql://postgres@127.0.0.1:5432/test).
Prints milliseconds per statement for each form (median of the rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import psycopg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--kb", type=int, default=4, help="size of each JSON element")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    url = os.environ.get("MAILROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    # JSON with quotes and backslashes, as a mail's event is
    unit = 'hola "quoted" \\ x '
    values = [json.dumps({"text": unit * (args.kb * 1024 // len(unit)), "n": i})
              for i in range(args.rows)]
    with psycopg.connect(url) as conn:
        for name, placeholder in (("text", "%t"), ("binary", "%b")):
            times = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                conn.execute(f"SELECT cardinality(CAST({placeholder} AS TEXT[]))", [values])
                times.append((time.perf_counter() - started) * 1000)
            print(f"{name:<7} {args.rows} x {args.kb} kB JSON: {statistics.median(times):8.1f} ms")


if __name__ == "__main__":
    main()
