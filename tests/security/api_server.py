"""The security tests' API: a real ApiService (uvicorn) built from settings, its store
closed on exit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mailroom.runtime import build_runtime
from mailroom.settings import Settings
from servers import RunningApi

TOKEN = "security-token-0123456789"
SESSION_SECRET = "s" * 32


def api_settings(tmp: Path, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "mailroom_data_dir": tmp / "data", "kafka_bootstrap_servers": "127.0.0.1:1",
        "api_port": 0, "api_tokens": TOKEN, "api_session_secret": SESSION_SECRET,
    }
    return Settings(_env_file=None, **(values | over))  # type: ignore[call-arg]


class SettingsApi(RunningApi):
    """``with SettingsApi(settings) as api``: its own runtime, disposed on exit."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(build_runtime(settings))

    def __enter__(self) -> SettingsApi:
        super().__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.rt.db.dispose()
