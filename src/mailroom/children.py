"""Child processes that die with mailroom, finding processes by command line, and the
malloc arena cap each mailroom process sets (Linux, libc calls).

The embedded broker and the demo's IMAP server are separate processes; a SIGKILL of
mailroom gives it no chance to stop them, so the kernel does it (``die_with_parent``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

# prctl(2) option: the kernel sends the child this signal when its parent thread dies
PR_SET_PDEATHSIG = 1
# mallopt(3) option: the most malloc arenas glibc creates for the process's threads
M_ARENA_MAX = -8
# arenas a mailroom process keeps: glibc's default (8 per core) lets each thread that
# parses or sends a large mail grow an arena of its own that is never given back
MALLOC_ARENAS = 2


def die_with_parent() -> Callable[[], None]:
    """A ``preexec_fn``: SIGKILL the child when the process calling this dies.

    Runs in the forked child before exec, so it only calls an already loaded libc
    function. PR_SET_PDEATHSIG fires when the *thread* that forked the child ends, so the
    child must be spawned from a thread that lives as long as the process (the main
    thread: ``Supervisor`` spawns it from the event loop). If the parent died before the
    signal was armed, the child exits at once instead of running orphaned.
    """
    prctl, parent = libc().prctl, os.getpid()

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return arm


def end(proc: subprocess.Popen[bytes], grace: float) -> bool:
    """SIGTERM a child and reap it; SIGKILL it if it is still there after ``grace`` seconds.
    Returns whether it had to be killed."""
    if proc.poll() is not None:
        return False
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(grace)
        return False
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        return True


@functools.cache
def libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def bound_malloc_arenas() -> bool:
    """Cap glibc's malloc arenas for the threads that allocate from now on (the broker
    client's, the store's and ``asyncio.to_thread``'s). Without the cap, the service's resident
    memory climbs with every batch of large mails even though Python frees them all: each arena
    keeps its high-water mark. Returns False where the C library has no ``mallopt``."""
    mallopt = getattr(libc(), "mallopt", None)
    return bool(mallopt is not None and mallopt(M_ARENA_MAX, MALLOC_ARENAS) == 1)


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").rstrip("\0").split("\0")


def status_field(pid: int, name: str) -> int:
    """A number from ``/proc/<pid>/status`` (``PPid``, ``VmRSS`` in kB); 0 when not there."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    return 0


def parent_of(pid: int) -> int:
    return status_field(pid, "PPid")


def is_mailroom(pid: int) -> bool:
    """Is ``pid`` a running mailroom (the CLI, or a Python running ``mailroom.cli``)?"""
    argv = cmdline(pid)
    return any(Path(a).name == "mailroom" or a == "mailroom.cli" for a in argv)


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or _zombie(pid):
            return True
        time.sleep(0.05)
    return False


def _zombie(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    return False
