"""Running the ``mailroom`` command as a user would: a subprocess with only the given settings."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# settings from the machine's environment never leak into a test's run
SETTING_PREFIXES = ("IMAP_", "SMTP_", "KAFKA_", "DATABASE_", "MAILROOM_", "API_", "DEFAULT_",
                    "LOG_", "EMBEDDED_", "CLASSIFIER_", "AUTOREPLY_")


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err

    def lines(self, mark: str) -> list[str]:
        """The output lines starting with ``mark`` (``✓``, ``✗``, ``mailroom:``)."""
        return [line for line in self.both.splitlines() if line.startswith(mark)]


def clean_env(**settings: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
    env |= {"EMBEDDED_BROKER_PORT": "0", "API_PORT": "0"}
    env |= {k.upper(): str(v) for k, v in settings.items()}
    return env


def mailroom(cwd: Path, *args: str, timeout: float = 120, **settings: object) -> Ran:
    """``mailroom ARGS`` in ``cwd`` (where a user's .env would be) with only ``settings``."""
    result = subprocess.run([sys.executable, "-m", "mailroom.cli", *args], cwd=cwd,
                            env=clean_env(**settings), capture_output=True, text=True,
                            timeout=timeout)
    return Ran(result.returncode, result.stdout, result.stderr)
