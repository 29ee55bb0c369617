"""Driving the naive baseline (benchmarks/naive.py) through the same workload as mailroom."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from benchmarks.stats import cpu_per_thousand, latencies, rate, summarise
from benchmarks.world import NAIVE_USER, PASSWORD, Appender, StagedBacklog, World, replies_by_target, workload


def start_naive(world: World, expect: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.naive", "--imap-port", str(world.dovecot.port),
         "--imap-user", NAIVE_USER, "--imap-password", PASSWORD,
         "--smtp-port", str(world.naive_sink.port), "--expect", str(expect)],
        stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if line != "ready":
        proc.kill()
        raise RuntimeError(f"naive loop did not start: {line!r}")
    return proc


def finish(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError(f"naive loop did not finish within {timeout:.0f} s") from None
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def drain(world: World, n: int, start: int) -> dict[str, Any]:
    """Release n mails at once into the naive user's Maildir; time until all are handled."""
    mails = workload(n, start)
    wanted = {m.message_id for m in mails if m.wants_reply}
    staged = StagedBacklog(world.dovecot, NAIVE_USER, mails, "n")
    since = len(world.naive_sink.received)
    proc = start_naive(world, n)
    t0 = time.monotonic()
    release_seconds = staged.release()
    counts = finish(proc, timeout=60 + n / 5)
    exited = time.monotonic()
    replies = replies_by_target(world.naive_sink, since)
    answered = [at for mid, at in replies.items() if mid in wanted]
    end = max([exited, *answered]) - t0
    return {
        "mails": n, "seconds": end, "mails_per_s": rate(n, end),
        "release_seconds": release_seconds,  # as mailroom's: the swap and the server's indexing
        "replied": len(answered), "wanted": len(wanted), "review": counts.get("review", 0),
        "cpu_seconds": counts.get("cpu_seconds", 0.0),
        "cpu_s_per_1000": cpu_per_thousand(counts.get("cpu_seconds", 0.0), n),
        "peak_rss_bytes": counts.get("peak_rss_bytes", 0),
    }


def latency(world: World, per_second: float, seconds: float, start: int) -> dict[str, Any]:
    """APPEND mails at a fixed rate while the naive loop busy-polls; APPEND-to-reply times."""
    n = max(1, int(per_second * seconds))
    mails = workload(n, start)
    since = len(world.naive_sink.received)
    proc = start_naive(world, n)
    appender = Appender(world.dovecot, NAIVE_USER, mails, per_second)
    appender.start()
    appender.join(seconds * 3 + 60)
    if appender.error is not None:
        proc.kill()
        raise RuntimeError(f"APPEND failed: {appender.error!r}")
    counts = finish(proc, timeout=120)
    replies = replies_by_target(world.naive_sink, since)
    pairs = latencies(appender.result.sent_at, replies)
    first = min(appender.result.sent_at.values(), default=0.0)
    return {
        "rate": per_second, "seconds": seconds, "appended": len(appender.result.sent_at),
        "append_behind_s": appender.result.behind, "append_rate": appender.result.achieved_rate(),
        "answered": len(pairs), "wanted": sum(1 for m in mails if m.wants_reply),
        "latency_s": summarise([lat for _, lat in pairs]),
        "series": [(round(sent - first, 4), round(lat, 4)) for sent, lat in pairs],
        "cpu_seconds": counts.get("cpu_seconds", 0.0),
        "peak_rss_bytes": counts.get("peak_rss_bytes", 0),
    }
