"""What the API keeps for its lifetime: the runtime, one producer, the session signer,
the login throttle and the caches of /stats and /health."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

from confluent_kafka import Producer
from fastapi import Request

from mailroom.api.auth import HashingGate, LoginThrottle, SessionSigner, parse_api_users
from mailroom.api.health import HealthCache
from mailroom.api.models import Stats
from mailroom.api.stats import StatsCache
from mailroom.runtime import Runtime


@dataclass
class ApiState:
    rt: Runtime
    signer: SessionSigner
    config_users: dict[str, str]
    tokens: list[str]
    stats: StatsCache[Stats]
    health: HealthCache
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    hashing: HashingGate = field(default_factory=HashingGate)
    _producer: Producer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, rt: Runtime) -> ApiState:
        s = rt.settings
        # no configured secret: a random one per process (sessions end with a restart)
        secret = s.api_session_secret.get_secret_value().encode() or secrets.token_bytes(32)
        tokens = [t.strip() for t in s.api_tokens.get_secret_value().split(",") if t.strip()]
        return cls(rt=rt, signer=SessionSigner(secret), config_users=parse_api_users(s.api_users),
                   tokens=tokens, stats=StatsCache(s.api_stats_cache_seconds),
                   health=HealthCache(s.api_health_cache_seconds))

    def cookie_secure(self, request: Request) -> bool:
        """API_COOKIE_SECURE, or (unset) whether the request came over https; behind a proxy
        that needs the proxy in API_TRUSTED_PROXIES, so its X-Forwarded-Proto counts."""
        configured = self.rt.settings.api_cookie_secure
        return request.url.scheme == "https" if configured is None else configured

    def producer(self) -> Producer:
        """One producer for the app, built on first use (so the API starts without Kafka)."""
        with self._lock:
            if self._producer is None:
                self._producer = self.rt.kafka.producer()
            return self._producer

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.flush(5)
                self._producer = None


def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.mailroom
    return state
