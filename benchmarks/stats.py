"""Pure statistics for the benchmark report: percentiles, rates, ratios, /proc parsing and
py-spy collapsed-stack summaries. No I/O here, so tests/unit/test_bench_stats.py covers it."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

CLOCK_TICKS = 100  # os.sysconf("SC_CLK_TCK") is 100 on every Linux this runs on


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks.

    Same definition as numpy's default ("linear"); NaN for an empty sample.
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarise(values: Sequence[float]) -> dict[str, float]:
    """count, p50, p90, p99 and max of a sample (latencies in seconds)."""
    return {
        "count": float(len(values)),
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": max(values) if values else math.nan,
    }


def rate(count: int, seconds: float) -> float:
    """Items per second; NaN when no time passed (never a ZeroDivisionError in a report)."""
    return count / seconds if seconds > 0 else math.nan


def ratio(value: float, baseline: float) -> float:
    """value / baseline, NaN when the baseline is zero or missing."""
    if not baseline or math.isnan(baseline) or math.isnan(value):
        return math.nan
    return value / baseline


def cpu_per_thousand(cpu_seconds: float, mails: int) -> float:
    return cpu_seconds * 1000 / mails if mails else math.nan


def latencies(sent_at: Mapping[str, float], replied_at: Mapping[str, float]) -> list[tuple[float, float]]:
    """(sent time, latency) for every key present in both, in sending order."""
    pairs = [(sent_at[k], replied_at[k] - sent_at[k]) for k in sent_at if k in replied_at]
    return sorted(pairs)


def parse_proc_status(text: str) -> dict[str, int]:
    """VmRSS/VmHWM (bytes) from the text of /proc/<pid>/status."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            parts = rest.split()
            out[key] = int(parts[0]) * 1024 if parts else 0
    return out


def parse_proc_stat(text: str) -> tuple[int, float]:
    """(parent pid, utime+stime in seconds) from the text of /proc/<pid>/stat.

    The command name (field 2) may contain spaces and parentheses, so fields are counted
    from the last ')'.
    """
    rest = text[text.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15
    ppid = int(rest[1])
    ticks = int(rest[11]) + int(rest[12])
    return ppid, ticks / CLOCK_TICKS


def hot_spots(collapsed: Iterable[str], top: int = 15) -> dict[str, list[tuple[str, float]]]:
    """Summarise py-spy ``--format raw`` output (``frame;frame;leaf count`` per line).

    ``self``: share of samples whose innermost frame is the function;
    ``total``: share of samples with the function anywhere on the stack (counted once each);
    ``mailroom``: the same, only mailroom's own functions (where its time goes, inclusive).
    Idle frames (epoll/select waits) are kept: a service waiting is a finding too.
    """
    self_counts: Counter[str] = Counter()
    total_counts: Counter[str] = Counter()
    own_counts: Counter[str] = Counter()
    samples = 0
    for line in collapsed:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        stack, _, count_text = line.rpartition(" ")
        try:
            count = int(count_text)
        except ValueError:
            continue
        frames = [f for f in stack.split(";") if f]
        if not frames:
            continue
        samples += count
        self_counts[_short(frames[-1])] += count
        for name in {_short(f) for f in frames}:
            total_counts[name] += count
            if "(mailroom/" in name and not name.endswith("(mailroom/cli.py)"):
                own_counts[name] += count
    if not samples:
        return {"self": [], "total": [], "mailroom": []}
    return {
        "self": [(n, c / samples) for n, c in self_counts.most_common(top)],
        "total": [(n, c / samples) for n, c in total_counts.most_common(top)],
        "mailroom": [(n, c / samples) for n, c in own_counts.most_common(top)],
    }


def _short(frame: str) -> str:
    """'handle (mailroom/processor/service.py:42)' -> 'handle (mailroom/processor/service.py)'."""
    name, sep, where = frame.partition(" (")
    if not sep:
        return frame
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/src/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"
