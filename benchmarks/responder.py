"""The responder alone: ``handle_batch`` over a backlog, against aiosmtpd in its own process.

    .venv/bin/python -m benchmarks.responder --replies 3000 --variant A --variant SMTP_POOL_SIZE=16

Cheaper and steadier than the whole pipeline (``python -m benchmarks``): no IMAP, no
broker, no processor; what it measures is the responder's own ceiling with every guarantee
on (rate slots, claims, the attempt log's durable group commits before DATA, the settle).
Each ``--variant`` is a set of settings (``NAME=VALUE`` joined by ``,``; a bare label means
the defaults; ``SRC=<dir>`` runs the mailroom package found in ``<dir>``, e.g. a worktree
of another commit's ``src``; ``COMPOSE=responder`` leaves composing to the responder, as
for a reply the processor did not compose, where by default each event carries its reply
composed ahead, as the processor sends it); the variants run in turn, ``--rounds`` times, each in a
process of its own on a fresh database, so they are compared back to back on a shared
machine. Per run it prints replies/s (the
backlog's replies over the wall time of its batches), the responder's CPU per 1,000
replies (this process: composing, the store's client side, SMTP client, event loop) and
the attempt log's commits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

TESTS = Path(__file__).resolve().parents[1] / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from benchmarks.smtp import smtp_server  # noqa: E402
from mailgen import SUBSCRIPTION_SUBJECTS  # noqa: E402
from mailroom import topics  # noqa: E402
from mailroom.events import Decision, RawEmail, Route, RoutedEmail  # noqa: E402
from mailroom.responder.service import ResponderService  # noqa: E402
from mailroom.runner import Item  # noqa: E402
from mailroom.runtime import build_runtime  # noqa: E402
from mailroom.settings import Settings  # noqa: E402
from mailroom.store import mails as mail_store  # noqa: E402

SENDER = "support@example.com"


def events(n: int, offset: int) -> list[RoutedEmail]:
    """Replies as ``python -m benchmarks`` asks for them (``tests/mailgen.py``'s subjects and
    names: a third of the subjects accented, ASCII names), every sender its own."""
    out = []
    for i in range(offset, offset + n):
        email = RawEmail(mail_id=f"m{i}", account=SENDER, folder="INBOX", uid=i + 1,
                         message_id=f"<t{i}.{i * 7919}@customers.test>",
                         subject=f"{SUBSCRIPTION_SUBJECTS[i % len(SUBSCRIPTION_SUBJECTS)]} #{i}",
                         from_addr=f"user{i}@customers.test", from_name=f"User {i}",
                         language="es" if i % 2 else "en")
        decision = Decision(mail_id=email.mail_id, category="subscription",
                            route=Route.ACKNOWLEDGE, language=email.language)
        out.append(RoutedEmail(email=email, decision=decision))
    return out


@contextlib.contextmanager
def store(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'mailroom.db'}"
        return
    from servers import postgres_database

    with postgres_database() as url:
        yield url


def parse_variant(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in text.split(",") if "=" in part)


async def one_run(port: int, db_url: str, workdir: Path, replies: int, batch: int,
                  overrides: dict[str, str], compose: str = "processor") -> dict[str, Any]:
    values: dict[str, Any] = {
        "mailroom_data_dir": workdir, "database_url": db_url, "kafka_bootstrap_servers": "",
        "smtp_server": "127.0.0.1", "smtp_port": port, "smtp_security": "none",
        "smtp_email": SENDER, "default_language": "en", "api_port": 0,
    }
    values |= {name.lower(): value for name, value in overrides.items()}
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    rt = build_runtime(settings, "127.0.0.1:1")  # no broker: handle_batch produces nothing here
    backlog = events(replies, 0)
    with rt.db.begin() as conn:
        mail_store.record_collected(conn, [e.email for e in backlog])
        mail_store.record_decisions(conn, [(e.email, e.decision) for e in backlog])
    service = ResponderService(rt)
    commits = 0
    commit = service.attempts._commit

    def counting(ops: Any) -> Any:
        nonlocal commits
        commits += 1
        return commit(ops)

    service.attempts._commit = counting  # type: ignore[method-assign]
    if compose == "processor":  # as the pipeline does: the processor composed each reply
        from mailroom.responder.compose import Composer

        composer = Composer.from_settings(settings)
        backlog = [e.model_copy(update={"reply": composer.ahead(e.email, e.decision)})
                   for e in backlog]
    # the first batch opens the SMTP connections and warms the store's statements
    warm, backlog = backlog[:50], backlog[50:]
    await service.handle_batch([Item(e, e.email.mail_id, topics.ACKNOWLEDGEMENT_QUEUE, 0, n,
                                     time.monotonic()) for n, e in enumerate(warm)])
    commits = 0
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    sent = 0
    for at in range(0, len(backlog), batch):
        items = [Item(e, e.email.mail_id, topics.ACKNOWLEDGEMENT_QUEUE, 0, at + n, time.monotonic())
                 for n, e in enumerate(backlog[at:at + batch])]
        await service.handle_batch(items)
        sent += len(items)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    await service.pool.close()
    rt.db.dispose()
    used = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
    return {"rate": sent / wall, "cpu_per_1000": used / sent * 1000, "commits": commits,
            "per_commit": sent / max(commits, 1)}


def run_alone(args: argparse.Namespace) -> None:
    """One run in this process (``--one``): prints its result as one JSON line."""
    overrides = parse_variant(args.one)
    with TemporaryDirectory(prefix="mailroom-resp-") as tmp, store(args.db, Path(tmp)) as url:
        result = asyncio.run(one_run(args.port, url, Path(tmp), args.replies, args.batch,
                                     {k: v for k, v in overrides.items()
                                      if k not in ("SRC", "COMPOSE")},
                                     overrides.get("COMPOSE", "processor")))
    print(json.dumps(result))


def main(args: argparse.Namespace) -> None:
    variants = args.variant or ["defaults"]
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    root = Path(__file__).resolve().parents[1]
    with smtp_server() as port:
        for round_ in range(args.rounds):
            for variant in variants:
                src = parse_variant(variant).get("SRC")
                env = dict(os.environ)
                if src:  # that tree's mailroom first; the benchmarks from this one
                    env["PYTHONPATH"] = os.pathsep.join([src, str(root)])
                out = subprocess.run(
                    [sys.executable, "-m", "benchmarks.responder", "--one", variant,
                     "--port", str(port), "--replies", str(args.replies), "--batch",
                     str(args.batch), "--db", args.db],
                    env=env, cwd=root, check=True, capture_output=True, text=True).stdout
                r = json.loads(out.strip().splitlines()[-1])
                results[variant].append(r)
                print(f"round {round_ + 1} {variant:40s} {r['rate']:7.0f} replies/s  "
                      f"{r['cpu_per_1000']:5.2f} CPU-s/1000  {r['commits']:5d} commits "
                      f"({r['per_commit']:.1f} replies each)  load {os.getloadavg()[0]:.1f}",
                      flush=True)
    print("\nmedian over rounds:")
    for variant, runs in results.items():
        print(f"  {variant:40s} {statistics.median(r['rate'] for r in runs):7.0f} replies/s  "
              f"{statistics.median(r['cpu_per_1000'] for r in runs):5.2f} CPU-s/1000")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replies", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=500, help="records per handle_batch "
                        "(KAFKA_CONSUMER_BATCH's default)")
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variant", action="append", default=[],
                        help="settings for one variant, e.g. SMTP_POOL_SIZE=16 (repeatable)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        run_alone(args)
    else:
        main(args)
