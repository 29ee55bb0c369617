"""Sampling memory and CPU of named processes from /proc while a benchmark runs.

Each group is one process (a service, the broker, the naive loop) or a process with all
its descendants (Dovecot's master and its imap workers). A background thread reads
/proc/<pid>/status and /proc/<pid>/stat every ``interval`` seconds; a worker that exits
between samples keeps the CPU it had at the last sample, so short-lived imap processes
are slightly under-counted (never over-counted).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.stats import parse_proc_stat, parse_proc_status


def read_text(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return None


def pid_alive(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")


def parent_map() -> dict[int, int]:
    """pid -> parent pid for every process visible now."""
    out: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        text = read_text(f"/proc/{name}/stat")
        if text:
            with contextlib.suppress(ValueError, IndexError):
                out[int(name)] = parse_proc_stat(text)[0]
    return out


def descendants(root: int, parents: dict[int, int]) -> set[int]:
    found = {root}
    changed = True
    while changed:
        changed = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found:
                found.add(pid)
                changed = True
    return found


def child_name(cmdline: str) -> str:
    """What a child of `mailroom up` runs, from its /proc cmdline (NUL-separated): the stage
    (`python -m mailroom.stages collector ...`), "broker" (the embedded Tansu), else the program."""
    argv = [a for a in cmdline.split("\0") if a]
    if "mailroom.stages" in argv and argv.index("mailroom.stages") + 1 < len(argv):
        return argv[argv.index("mailroom.stages") + 1]
    if any(a.endswith("tansu") for a in argv[:1]):
        return "broker"
    return argv[0].rsplit("/", 1)[-1] if argv else "?"


@dataclass
class Group:
    name: str
    pid: int
    tree: bool = False
    others: tuple[int, ...] = ()  # more processes counted with this one (database backends)
    cpu: dict[int, float] = field(default_factory=dict)  # last cumulative CPU seen per pid
    peak_hwm: int = 0  # the largest VmHWM of any one process in the group
    peak_rss_sum: int = 0  # the largest sum of VmRSS over the group at one sample
    # a tree's processes by what they run (`mailroom up`: its stages and embedded broker):
    # the largest VmHWM of each
    children: dict[str, int] = field(default_factory=dict)
    series: list[tuple[float, int]] = field(default_factory=list)  # (monotonic, rss sum)

    def cpu_seconds(self) -> float:
        return sum(self.cpu.values())


class Sampler:
    """Samples every registered group in a background thread until ``stop()``."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.groups: dict[str, Group] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)
        self._names: dict[int, str] = {}  # pid -> what it runs (child_name)

    def add(self, name: str, pid: int, *, tree: bool = False, others: tuple[int, ...] = ()) -> None:
        with self._lock:
            self.groups[name] = Group(name, pid, tree, others)
        self.sample()

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.sample()
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def cpu(self) -> dict[str, float]:
        """Cumulative CPU seconds now (take one before and after a phase): per group, and per
        process of a tree by what it runs ("up/processor", "dovecot/imap")."""
        self.sample()
        with self._lock:
            out = {name: g.cpu_seconds() for name, g in self.groups.items()}
            for name, g in self.groups.items():
                for pid, seconds in g.cpu.items():
                    child = self._names.get(pid) if g.tree and pid != g.pid else None
                    if child is not None:
                        out[f"{name}/{child}"] = out.get(f"{name}/{child}", 0.0) + seconds
            return out

    def children_pids(self, group: str) -> dict[str, int]:
        """The live processes of a tree now, by what they run (one pid per name)."""
        self.sample()
        with self._lock:
            g = self.groups.get(group)
            return {} if g is None else {self._names[pid]: pid for pid in g.cpu
                                         if pid != g.pid and pid in self._names and pid_alive(pid)}

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        with self._lock:
            groups = list(self.groups.values())
            parents = parent_map() if any(g.tree for g in groups) else {}
            now = time.monotonic()
            for group in groups:
                pids = descendants(group.pid, parents) if group.tree else {group.pid}
                pids.update(group.others)
                rss_sum = 0
                for pid in pids:
                    status = read_text(f"/proc/{pid}/status")
                    stat = read_text(f"/proc/{pid}/stat")
                    if status is None or stat is None:
                        continue
                    mem = parse_proc_status(status)
                    rss_sum += mem.get("VmRSS", 0)
                    group.peak_hwm = max(group.peak_hwm, mem.get("VmHWM", 0))
                    if group.tree and pid != group.pid:
                        name = self._names.get(pid) or self._names.setdefault(
                            pid, child_name(read_text(f"/proc/{pid}/cmdline") or ""))
                        group.children[name] = max(group.children.get(name, 0), mem.get("VmHWM", 0))
                    with contextlib.suppress(ValueError, IndexError):
                        cpu = parse_proc_stat(stat)[1]
                        group.cpu[pid] = max(group.cpu.get(pid, 0.0), cpu)
                group.peak_rss_sum = max(group.peak_rss_sum, rss_sum)
                if rss_sum:
                    group.series.append((now, rss_sum))

    def memory(self) -> dict[str, dict[str, Any]]:
        """Peaks per group, and the RSS over time (at most ~200 points, seconds from start)."""
        with self._lock:
            out: dict[str, dict[str, Any]] = {}
            for name, g in self.groups.items():
                every = max(1, len(g.series) // 200)
                start = g.series[0][0] if g.series else 0.0
                out[name] = {"peak_hwm_bytes": g.peak_hwm, "peak_rss_sum_bytes": g.peak_rss_sum,
                             "rss_series": [(round(t - start, 2), rss) for t, rss in g.series[::every]]}
                if g.children:
                    out[name]["children_peak_hwm_bytes"] = dict(sorted(g.children.items()))
            return out
