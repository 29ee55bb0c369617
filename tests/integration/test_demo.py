"""`mailroom demo`: the newcomer's first run works on its own, with nothing configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_demo_answers_the_subscription_mails_and_leaves_the_rest_for_review(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IMAP_", "SMTP_", "KAFKA_", "DATABASE_", "MAILROOM_", "API_"))}
    env |= {"API_PORT": "0", "EMBEDDED_BROKER_PORT": "0"}
    result = subprocess.run([sys.executable, "-m", "mailroom.cli", "demo", "--seconds", "25"],
                            env=env, cwd=tmp_path, capture_output=True, timeout=120, text=True)
    out = result.stdout
    assert result.returncode == 0, result.stderr[-3000:]
    assert "dashboard: http://127.0.0.1:" in out and "login:     demo / " in out
    counts = dict(line.split() for line in out.split("What happened to the demo mails:")[1]
                  .split("Replies written")[0].strip().splitlines())
    # 8 of the 20 seeded mails ask for a subscription; the out-of-office and the bounce must
    # not be answered; the rest wait for a person
    assert counts == {"in_review": "12", "replied": "8"}, out
    outbox = tmp_path / ".mailroom" / "demo" / "demo-outbox"
    replies = sorted(outbox.glob("*.eml"))
    assert len(replies) == 8
    assert all(b"Auto-Submitted: auto-replied" in p.read_bytes() for p in replies)
    password = out.split("login:     demo / ")[1].split()[0]
    assert password not in result.stderr  # the one-time password is printed once, not logged
