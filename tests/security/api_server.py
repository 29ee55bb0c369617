"""A real ApiService (uvicorn) on its own loop in a thread, for the security tests."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from mailroom.api.service import ApiService
from mailroom.api.state import ApiState
from mailroom.runtime import Runtime, build_runtime
from mailroom.settings import Settings

TOKEN = "security-token-0123456789"
SESSION_SECRET = "s" * 32


def api_settings(tmp: Path, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "mailroom_data_dir": tmp / "data", "kafka_bootstrap_servers": "127.0.0.1:1",
        "api_port": 0, "api_tokens": TOKEN, "api_session_secret": SESSION_SECRET,
    }
    return Settings(_env_file=None, **(values | over))  # type: ignore[call-arg]


class RunningApi:
    """Start with ``with RunningApi(settings) as api``; ``api.rt`` is its runtime."""

    def __init__(self, settings: Settings, rt: Runtime | None = None) -> None:
        self.rt = rt or build_runtime(settings)
        self.service = ApiService(self.rt)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.service.run()), daemon=True)

    @property
    def state(self) -> ApiState:
        state: ApiState = self.service.app.state.mailroom
        return state

    def __enter__(self) -> RunningApi:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.service.started:
            assert time.monotonic() < deadline, "API did not start"
            assert self.thread.is_alive(), "API thread died"
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.service.stop()
        self.thread.join(15)
        self.rt.db.dispose()
        assert not self.thread.is_alive(), "stop() did not end run()"

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.service.url, timeout=30, **kwargs)
