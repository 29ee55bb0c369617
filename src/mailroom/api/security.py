"""FastAPI dependencies for authentication and CSRF, and the security headers.

A caller is either a logged-in person (signed session cookie) or automation (a bearer
token from ``API_TOKENS``). JSON routes answer 401; dashboard pages redirect to /login.
Unsafe requests made with a session must carry its CSRF token (form field ``csrf`` or
header ``X-CSRF-Token``); token callers need none, as no browser sends their token.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailroom.api.auth import SESSION_COOKIE, User, check_token
from mailroom.api.state import ApiState, api_state

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
# the sanitised mail HTML: no script at all, inline styles allowed, nothing fetched
MAIL_FRAME_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                  "frame-ancestors 'self'; sandbox")
# Swagger UI and ReDoc are served from local files (no CDN), but their pages carry one
# inline script and inline styles; they show no mail data, only the API's schema.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
            "worker-src 'self' blob:; frame-ancestors 'none'")
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


class LoginRequired(Exception):
    """Raised by page dependencies; answered with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def login_url(next_path: str) -> str:
    return f"/login?next={quote(next_path, safe='/')}"


def caller(request: Request, state: ApiState) -> User | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return User("token", "operator", "token") if check_token(state.tokens, value.strip()) else None
    cookie = request.cookies.get(SESSION_COOKIE)
    return state.signer.read(cookie) if cookie else None


async def _csrf_ok(request: Request, user: User) -> bool:
    if user.via != "session" or request.method in ("GET", "HEAD", "OPTIONS"):
        return True
    presented = request.headers.get("x-csrf-token", "")
    if not presented and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        presented = str(form.get("csrf", ""))
    return bool(presented) and hmac.compare_digest(presented, user.csrf)


async def api_user(request: Request, state: Annotated[ApiState, Depends(api_state)]) -> User:
    """JSON routes: 401 without credentials, 403 on a missing CSRF token."""
    user = caller(request, state)
    if user is None:
        raise HTTPException(401, "authentication required",
                            headers={"WWW-Authenticate": 'Bearer realm="mailroom"'})
    if not await _csrf_ok(request, user):
        raise HTTPException(403, "missing or wrong CSRF token")
    return user


async def page_user(request: Request, state: Annotated[ApiState, Depends(api_state)]) -> User:
    """Dashboard pages: redirect to /login without a session."""
    user = caller(request, state)
    if user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    if not await _csrf_ok(request, user):
        raise HTTPException(403, "missing or wrong CSRF token")
    return user


def open_or_user(flag: str) -> Callable[..., Awaitable[User | None]]:
    """A dependency that lets callers through when the setting ``flag`` is true."""

    async def check(request: Request, state: Annotated[ApiState, Depends(api_state)]) -> User | None:
        if getattr(state.rt.settings, flag):
            return None
        return await api_user(request, state)

    return check


class SecurityHeaders:
    """Adds the CSP and friends to every response (pure ASGI, so streaming is untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                if b"content-security-policy" not in names:
                    policy = DOCS_CSP if path in DOCS_PATHS else CSP
                    headers.append((b"content-security-policy", policy.encode()))
                for name, value in SECURITY_HEADERS.items():
                    if name == "x-frame-options" and path.endswith("/frame"):
                        value = "SAMEORIGIN"
                    if name.encode() not in names:
                        headers.append((name.encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
