"""The malloc arena cap every mailroom process sets at start (Linux, glibc)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt(3) is glibc's")

# eight threads, alive together, each allocating a mail-sized block; then glibc's own report
# (malloc_stats(3), on stderr) of the arenas the process has
THREADS = """
import ctypes, sys, threading
from mailroom.children import bound_malloc_arenas, libc
if sys.argv[1] == "capped":
    assert bound_malloc_arenas()
together = threading.Barrier(8)
def work():
    block = bytearray(60_000)
    together.wait()
    together.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
sys.stderr.flush()
libc().malloc_stats()
"""


def arenas(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", THREADS, mode], capture_output=True, text=True,
                         timeout=60, check=True)
    return sum(1 for line in out.stderr.splitlines() if line.startswith("Arena "))


def test_threads_share_the_capped_arenas() -> None:
    assert arenas("capped") <= 2 < arenas("default")
