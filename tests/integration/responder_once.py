"""One responder batch in a process of its own, for ``test_responder_window`` to kill.

Usage: ``python responder_once.py EVENTS.jsonl LEASE_SECONDS`` with the settings in the
environment. The claim and attempt leases are ``LEASE_SECONDS`` so the test's fresh
responder finds them run out soon after the kill.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import timedelta
from pathlib import Path

from mailroom import topics
from mailroom.events import RoutedEmail
from mailroom.responder.service import ResponderService
from mailroom.runner import Item
from mailroom.runtime import build_runtime
from mailroom.settings import Settings


async def main(events_path: Path, lease: float) -> None:
    runtime = build_runtime(Settings(_env_file=None), "127.0.0.1:9")
    events = [RoutedEmail.model_validate_json(line)
              for line in events_path.read_text().splitlines() if line]
    items = [Item(e, e.email.mail_id, topics.ACKNOWLEDGEMENT_QUEUE, 0, n, time.monotonic())
             for n, e in enumerate(events)]
    service = ResponderService(runtime)
    service.attempts.claim_lease = service.attempts.lease = timedelta(seconds=lease)
    try:
        await service.handle_batch(items)
    finally:
        await service.pool.close()
    print("batch done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), float(sys.argv[2])))
