"""The API as a service: uvicorn serving ``create_app(rt)`` until ``stop()``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import uvicorn

from mailroom.api.app import create_app
from mailroom.broker import free_port
from mailroom.runtime import Runtime

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # the supervisor owns SIGINT/SIGTERM and calls stop(); uvicorn must not take them
        yield


class ApiService:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        settings = rt.settings
        self.host = settings.api_host
        self.port = settings.api_port or free_port(self.host)
        self.app = create_app(rt)
        # X-Forwarded-Proto/-For are believed only from API_TRUSTED_PROXIES (the Ingress), so
        # a request that reached the proxy over https counts as https (Secure cookie, HSTS)
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning",
                                log_config=None, access_log=False, proxy_headers=True,
                                forwarded_allow_ips=settings.api_trusted_proxies)
        self.server = _Server(config)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def started(self) -> bool:
        return bool(self.server.started)

    async def run(self) -> None:
        log.info("API and dashboard on %s", self.url)
        await self.server.serve()

    def stop(self) -> None:
        self.server.should_exit = True
