"""OAuth2 access tokens for SASL XOAUTH2 (Gmail, Microsoft 365): the refresh-token flow.

A ``TokenSource`` keeps the current access token and asks the token endpoint for a new
one shortly before it expires (or when the server refused it). The HTTP call uses the
standard library in a worker thread; tokens and secrets never reach a log line.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from mailroom.collector.mailboxes import OAuth2Config
from mailroom.errors import RetryLater

REFRESH_MARGIN = 300.0  # renew this long before expiry (or at 80 % of a short lifetime)
HTTP_TIMEOUT = 15.0


class TokenError(RetryLater):
    """The token endpoint failed or refused; the mailbox retries with backoff."""


def _post_form(url: str, form: dict[str, str], timeout: float) -> dict[str, Any]:
    body = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(  # noqa: S310 - the URL is validated as http(s)
        url, data=body, method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            payload = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise TokenError(f"token endpoint answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise TokenError(f"token endpoint unreachable: {type(exc).__name__}") from None
    except ValueError:
        raise TokenError("token endpoint did not answer JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str):
        raise TokenError("token endpoint answer has no access_token")
    return payload


class TokenSource:
    """The access token for one account, refreshed before it expires."""

    def __init__(self, config: OAuth2Config, *, clock: Any = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._refresh_token = config.refresh_token.get_secret_value()
        self._access_token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()
        self.refreshes = 0

    def _form(self) -> dict[str, str]:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token,
            "client_id": self.config.client_id,
        }
        secret = self.config.client_secret.get_secret_value()
        if secret:
            form["client_secret"] = secret
        if self.config.scope:
            form["scope"] = self.config.scope
        return form

    async def token(self, *, force: bool = False) -> str:
        """A valid access token; ``force`` after the server refused the current one."""
        async with self._lock:
            if force or self._access_token is None or self._clock() >= self._renew_at:
                payload = await asyncio.to_thread(
                    _post_form, self.config.token_url, self._form(), HTTP_TIMEOUT)
                lifetime = float(payload.get("expires_in") or 3600)
                self._access_token = str(payload["access_token"])
                # providers may rotate the refresh token (Microsoft does)
                if isinstance(payload.get("refresh_token"), str):
                    self._refresh_token = payload["refresh_token"]
                self._renew_at = self._clock() + max(
                    0.0, min(lifetime - REFRESH_MARGIN, lifetime * 0.8))
                self.refreshes += 1
            assert self._access_token is not None
            return self._access_token

    def expires_soon(self, within: float) -> bool:
        return self._access_token is not None and self._clock() + within >= self._renew_at
