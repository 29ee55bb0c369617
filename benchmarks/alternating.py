"""Trees compared back to back: each ``--src`` run in a child process of its own, in turn,
round after round, on the same mails (``cpu_per_mail``, ``stage_cpu``).

A child is ``python -m <module> --one <mails file> <args>`` with the tree's ``src`` first on
``PYTHONPATH``; it prints one JSON object whose ``package`` names the mailroom it imported
(a run that imported another tree's stops the comparison).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"

Run = dict[str, float]


def alternate(module: str, sources: Sequence[str], *, mails: int, rounds: int,
              child_args: Sequence[str] = (), line: Callable[[Run], str]) -> dict[str, list[Run]]:
    """Each tree's runs, ``rounds`` of them, alternating; each printed with ``line`` as it ends."""
    sys.path.insert(0, str(TESTS))
    from mailgen import make_batch

    results: dict[str, list[Run]] = {src: [] for src in sources}
    with TemporaryDirectory() as tmp:
        mails_file = Path(tmp) / "mails"
        mails_file.write_bytes(b"".join(len(mail.raw).to_bytes(4, "big") + mail.raw
                                        for mail in make_batch(mails)))
        for round_ in range(rounds):
            for src in sources:
                env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, str(ROOT), str(TESTS)])}
                out = subprocess.run(
                    [sys.executable, "-m", module, "--one", str(mails_file), *child_args],
                    env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout
                run = json.loads(out.strip().splitlines()[-1])
                if Path(run.pop("package")).resolve() != Path(src).resolve():
                    raise SystemExit(f"{src}: another mailroom was imported ({out.strip()})")
                results[src].append(run)
                print(f"round {round_ + 1} {src}: {line(run)}", flush=True)
    return results


def medians(runs: Sequence[Run]) -> Run:
    """Each measure's median over a tree's runs."""
    return {name: statistics.median(run[name] for run in runs) for name in runs[0]}
