"""Driving mailroom itself: its services as child processes on the benchmark's servers.

``split`` mode runs ``mailroom collector|processor|responder|api`` as separate processes
(as in production, sharing the broker and the store), so memory and CPU are measured per
service; ``up`` runs ``mailroom up`` (its stages in child processes, counted with it;
``--env UP_PROCESSES=false``: every service in one process). Completion and the
per-stage timestamps are read from the state store, the reply arrival times from the sink.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from benchmarks.procs import Sampler
from benchmarks.profiling import Profiler
from benchmarks.stats import cpu_per_thousand, latencies, rate, summarise
from benchmarks.world import (
    MAILROOM_USER,
    PASSWORD,
    Appender,
    StagedBacklog,
    World,
    replies_by_target,
    wait,
    workload,
)
from mailroom.broker import free_port
from mailroom.settings import normalise_database_url
from mailroom.store import Database, MailStatus
from mailroom.store import mails as mail_store
from mailroom.store.schema import mails, replies

MAILROOM = [sys.executable, "-m", "mailroom.cli"]
FINISHED = (MailStatus.REPLIED, MailStatus.IN_REVIEW, MailStatus.ARCHIVED, MailStatus.SUPPRESSED,
            MailStatus.FAILED, MailStatus.DEAD, MailStatus.CLOSED)


def as_epoch(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive UTC datetimes
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


class Mailroom:
    """mailroom's services as child processes; ``stop()`` ends only what it started."""

    def __init__(self, world: World, bootstrap: str, db_url: str, workdir: Path, *,
                 mode: str, services: list[str], batch: int, extra_env: dict[str, str]) -> None:
        self.world, self.bootstrap, self.db_url, self.workdir = world, bootstrap, db_url, workdir
        self.mode, self.services, self.batch, self.extra_env = mode, services, batch, extra_env
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.db = Database(normalise_database_url(db_url))
        self.db.create_schema()
        self.next_index = 10_000_000  # warm-up mails get their own senders

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("IMAP_", "SMTP_", "KAFKA_", "DATABASE_", "MAILROOM_", "API_"))}
        sink = self.world.sink
        env.update({
            "IMAP_SERVER": self.world.dovecot.host, "IMAP_PORT": str(self.world.dovecot.port),
            "IMAP_SECURITY": "none", "IMAP_EMAIL": MAILROOM_USER, "IMAP_PASSWORD": PASSWORD,
            "SMTP_SERVER": "127.0.0.1", "SMTP_PORT": str(sink.port), "SMTP_SECURITY": "none",
            "SMTP_EMAIL": sink.user, "SMTP_PASSWORD": sink.password,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "DATABASE_URL": self.db_url,
            "MAILROOM_DATA_DIR": str(self.workdir / "data"), "API_PORT": "0",
            "MAX_EMAILS_PER_BATCH": str(self.batch), "LOG_LEVEL": "WARNING",
            "KAFKA_SESSION_TIMEOUT_MS": "6000", "DEFAULT_LANGUAGE": "en",
        })
        if not self.bootstrap:  # `mailroom up`'s own broker, on a port of its own
            env["EMBEDDED_BROKER_PORT"] = str(free_port())
        env.update(self.extra_env)
        return env

    def start(self, sampler: Sampler) -> None:
        env = self.env()
        if self.bootstrap:  # (an embedded broker's topics are made by `mailroom up`)
            subprocess.run([*MAILROOM, "topics", "create"], env=env, check=True, timeout=120,
                           capture_output=True)
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        names = ["up"] if self.mode == "up" else self.services
        for n, name in enumerate(names):
            # a service named twice (--services ...,responder,responder) runs twice: the
            # second is "responder2" in the logs and the per-process numbers
            key = name if name not in names[:n] else f"{name}{names[:n].count(name) + 1}"
            out = (logs / f"{key}.log").open("wb")
            proc = subprocess.Popen([*MAILROOM, name], env=env, stdout=out, stderr=subprocess.STDOUT)
            self.procs[key] = proc
            # `mailroom up` runs its stages in child processes (UP_PROCESSES): count them with it
            sampler.add(key, proc.pid, tree=self.mode == "up")

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                log = (self.workdir / "logs" / f"{name}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"mailroom {name} exited with {proc.returncode}:\n{log}")

    def warm_up(self, timeout: float = 180) -> float:
        """One mail end to end, so consumer groups have joined before the clock starts."""
        started = time.monotonic()
        mail = workload(1, self.next_index)[0]
        self.next_index += 1
        since = len(self.world.sink.received)
        self.world.dovecot.append(mail.raw)

        def answered() -> bool:
            self.check_alive()
            return mail.message_id in replies_by_target(self.world.sink, since)

        if not wait(answered, timeout, 0.2):
            seen = list(replies_by_target(self.world.sink, since))[:5]
            raise RuntimeError(f"warm-up mail {mail.message_id} not answered within {timeout:.0f} s; "
                               f"sink has replies to {seen}; store: {self.statuses()}")
        return time.monotonic() - started

    def database_backends(self) -> list[int]:
        """PostgreSQL server processes serving this run's database (for their CPU)."""
        if self.db.engine.dialect.name != "postgresql":
            return []
        with self.db.begin() as conn:
            rows = conn.execute(text("SELECT pid FROM pg_stat_activity "
                                     "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            return [int(r[0]) for r in rows]

    def finished(self) -> int:
        with self.db.begin() as conn:
            counts = mail_store.count_by(conn, "status")
        return sum(counts.get(s.value, 0) for s in FINISHED)

    def statuses(self) -> dict[str, int]:
        with self.db.begin() as conn:
            return mail_store.count_by(conn, "status")

    def stage_times(self, since: float) -> dict[str, Any]:
        """First/last collected_at, decided_at and replies.sent_at after ``since`` (epoch)."""
        after = datetime.fromtimestamp(since, UTC)
        with self.db.begin() as conn:
            c = conn.execute(select(func.min(mails.c.collected_at), func.max(mails.c.collected_at),
                                    func.min(mails.c.decided_at), func.max(mails.c.decided_at),
                                    func.count()).where(mails.c.collected_at >= after)).one()
            r = conn.execute(select(func.min(replies.c.sent_at), func.max(replies.c.sent_at),
                                    func.count()).where(replies.c.sent_at >= after)).one()

        def rel(value: datetime | None) -> float | None:
            epoch = as_epoch(value)
            return None if epoch is None else round(epoch - since, 4)

        return {
            "collected": {"first": rel(c[0]), "last": rel(c[1]), "count": int(c[4])},
            "decided": {"first": rel(c[2]), "last": rel(c[3]), "count": int(c[4])},
            "sent": {"first": rel(r[0]), "last": rel(r[1]), "count": int(r[2])},
        }

    def stage_latencies(self, appended: dict[str, float]) -> dict[str, dict[str, float]]:
        """Where each mail's time went: APPEND -> collected -> decided -> reply sent (store clocks)."""
        steps: dict[str, list[float]] = {"append_to_collected": [], "collected_to_decided": [],
                                         "decided_to_sent": []}
        ids = list(appended)
        with self.db.begin() as conn:
            for i in range(0, len(ids), 500):
                query = (select(mails.c.message_id, mails.c.collected_at, mails.c.decided_at,
                                replies.c.sent_at)
                         .select_from(mails.outerjoin(replies, replies.c.mail_id == mails.c.mail_id))
                         .where(mails.c.message_id.in_(ids[i:i + 500])))
                for mid, collected, decided, sent in conn.execute(query):
                    c, d, t = as_epoch(collected), as_epoch(decided), as_epoch(sent)
                    if c is not None:
                        steps["append_to_collected"].append(c - appended[mid])
                    if c is not None and d is not None:
                        steps["collected_to_decided"].append(d - c)
                    if d is not None and t is not None:
                        steps["decided_to_sent"].append(t - d)
        return {name: summarise(values) for name, values in steps.items()}

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        self.db.dispose()


def stage_rates(times: dict[str, Any], n: int) -> dict[str, float]:
    """Per-stage mails/s over the stage's own active window (first to last timestamp)."""
    out: dict[str, float] = {}
    for stage, t in times.items():
        if t["first"] is not None and t["last"] is not None:
            count = t["count"] if stage == "sent" else n
            out[stage] = rate(count, t["last"] - t["first"])
    return out


def drain(room: Mailroom, sampler: Sampler, n: int, start: int,
          profiler: Profiler | None = None) -> dict[str, Any]:
    """Release n mails at once into mailroom's Maildir; time until every one has its fate."""
    mails_ = workload(n, start)
    wanted = {m.message_id for m in mails_ if m.wants_reply}
    staged = StagedBacklog(room.world.dovecot, MAILROOM_USER, mails_, "m")
    base = room.finished()
    since = len(room.world.sink.received)
    cpu0 = sampler.cpu()
    t0_wall, t0 = time.time(), time.monotonic()
    release_seconds = staged.release()

    def done() -> bool:
        room.check_alive()
        return room.finished() - base >= n

    complete = wait(done, 120 + n / 20, 0.25)
    seen_done = time.monotonic()
    cpu1 = sampler.cpu()
    profiles = profiler.stop() if profiler is not None else {}
    replies = replies_by_target(room.world.sink, since)
    answered = [at - t0 for mid, at in replies.items() if mid in wanted]
    times = room.stage_times(t0_wall)
    decided_last = times["decided"]["last"] or 0.0
    end = max([decided_last, *answered]) if complete else seen_done - t0
    cpu = {name: cpu1.get(name, 0.0) - cpu0.get(name, 0.0) for name in cpu1}
    return {
        "mails": n, "complete": complete, "seconds": end, "mails_per_s": rate(n, end),
        # of the seconds: the swap and the server's indexing of the backlog (``StagedBacklog``)
        "release_seconds": release_seconds,
        "replied": len(answered), "wanted": len(wanted), "statuses": room.statuses(),
        "stages": times, "stage_mails_per_s": stage_rates(times, n),
        "cpu_seconds": cpu,
        "cpu_s_per_1000": {name: cpu_per_thousand(sec, n) for name, sec in cpu.items()},
        "profiles": {name: str(path) for name, path in profiles.items()},
    }


def latency(room: Mailroom, per_second: float, seconds: float, start: int) -> dict[str, Any]:
    """APPEND mails at a fixed rate while mailroom runs; APPEND-to-reply per mail."""
    n = max(1, int(per_second * seconds))
    mails_ = workload(n, start)
    wanted = {m.message_id for m in mails_ if m.wants_reply}
    since = len(room.world.sink.received)
    appender = Appender(room.world.dovecot, MAILROOM_USER, mails_, per_second)
    appender.start()
    appender.join(seconds * 3 + 60)
    if appender.error is not None:
        raise RuntimeError(f"APPEND failed: {appender.error!r}")

    def answered() -> bool:
        room.check_alive()
        return len(wanted & replies_by_target(room.world.sink, since).keys()) >= len(wanted)

    wait(answered, 60, 0.2)
    replies = replies_by_target(room.world.sink, since)
    pairs = latencies(appender.result.sent_at, replies)
    first = min(appender.result.sent_at.values(), default=0.0)
    wall = time.time() - time.monotonic()
    appended = {mid: at + wall for mid, at in appender.result.sent_at.items() if mid in wanted}
    return {
        "stage_latency_s": room.stage_latencies(appended),
        "rate": per_second, "seconds": seconds, "appended": len(appender.result.sent_at),
        "append_behind_s": appender.result.behind, "append_rate": appender.result.achieved_rate(),
        "answered": len(pairs), "wanted": len(wanted),
        "latency_s": summarise([lat for _, lat in pairs]),
        "series": [(round(sent - first, 4), round(lat, 4)) for sent, lat in pairs],
    }
