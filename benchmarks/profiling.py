"""py-spy attached to running services: raw collapsed stacks, summarised by stats.hot_spots."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path


def py_spy() -> str:
    """py-spy from the same virtualenv as this Python, else from PATH."""
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else "py-spy"


class Profiler:
    """py-spy attached to each service while a phase runs (raw collapsed stacks)."""

    def __init__(self, pids: dict[str, int], out_dir: Path, stem: str) -> None:
        self.files = {name: out_dir / f"{stem}-profile-{name}.txt" for name in pids}
        self.procs = [
            subprocess.Popen([py_spy(), "record", "--format", "raw", "--rate", "100", "--nonblocking",
                              "--pid", str(pid), "--output", str(self.files[name])],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name, pid in pids.items()
        ]
        time.sleep(1.0)  # let py-spy attach before the clock starts

    def stop(self) -> dict[str, Path]:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(30)
        return {name: path for name, path in self.files.items() if path.exists()}
