"""Who is asking, before anything else: FastAPI dependencies for authentication and CSRF,
and the ASGI layers every request passes (security headers, the authentication gate, the
body limit).

A caller is either a logged-in person (signed session cookie naming a live session in the
store) or automation (a bearer token from ``API_TOKENS``). JSON routes answer 401;
dashboard pages redirect to /login. Unsafe requests made with a session must carry its
CSRF token (form field ``csrf`` or header ``X-CSRF-Token``); token callers need none, as no
browser sends their token. A malformed credential is a 401, never a 500.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mailroom.api.auth import (
    SESSION_COOKIE,
    MalformedCredential,
    User,
    check_token,
    same_secret,
    session_user,
)
from mailroom.api.state import ApiState, api_state
from mailroom.errors import RetryLater

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


log = logging.getLogger(__name__)
UNAVAILABLE_DETAIL = "temporarily unavailable; try again later"
HSTS = "max-age=31536000"  # a year; sent only when the API is served over https


class LoginRequired(Exception):
    """Raised by page dependencies; answered with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def login_url(next_path: str) -> str:
    return f"/login?next={quote(next_path, safe='/')}"


STATE_KEY = "mailroom_caller"
# unsafe requests anyone may make: the login form (its own token guards it)
PUBLIC_UNSAFE = frozenset({"/login"})
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _resolve(headers: Headers, cookies: dict[str, str], state: ApiState) -> User | None:
    """Who sent a request (a token or a live session), or None; ``MalformedCredential``
    for a credential that cannot be compared. Touches the store for sessions."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value:
        return User("token", "operator", "token") if check_token(state.tokens, value.strip()) else None
    value = cookies.get(SESSION_COOKIE, "")
    cookie = state.signer.read(value) if value else None
    if cookie is None:
        return None
    with state.rt.db.begin() as conn:
        return session_user(conn, state.config_users, cookie)


async def caller(request: Request, state: ApiState) -> User | None:
    """The request's user, resolved once per request (the gate may have done it)."""
    scope_state = request.scope.setdefault("state", {})
    if STATE_KEY not in scope_state:
        scope_state[STATE_KEY] = await asyncio.to_thread(
            _resolve, request.headers, dict(request.cookies), state)
    found: User | None = scope_state[STATE_KEY]
    return found


def unavailable(exc: RetryLater) -> JSONResponse:
    """503 with a generic message: what failed (hosts, users, driver errors) goes to the
    log only, never to the caller."""
    log.warning("answered 503: %s", exc.reason)
    return JSONResponse({"detail": UNAVAILABLE_DETAIL}, status_code=503,
                        headers={"Retry-After": "5"})


def unauthorized(detail: str = "authentication required") -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=401,
                        headers={"WWW-Authenticate": 'Bearer realm="mailroom"'})


async def _csrf_ok(request: Request, user: User) -> bool:
    if user.via != "session" or request.method in SAFE_METHODS:
        return True
    presented = request.headers.get("x-csrf-token", "")
    if not presented and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        presented = str(form.get("csrf", ""))
    return bool(presented) and same_secret(presented, user.csrf)


async def api_user(request: Request, state: Annotated[ApiState, Depends(api_state)]) -> User:
    """JSON routes: 401 without credentials, 403 on a missing CSRF token."""
    user = await caller(request, state)
    if user is None:
        raise HTTPException(401, "authentication required",
                            headers={"WWW-Authenticate": 'Bearer realm="mailroom"'})
    if not await _csrf_ok(request, user):
        raise HTTPException(403, "missing or wrong CSRF token")
    return user


async def page_user(request: Request, state: Annotated[ApiState, Depends(api_state)]) -> User:
    """Dashboard pages: redirect to /login without a session."""
    user = await caller(request, state)
    if user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    if not await _csrf_ok(request, user):
        raise HTTPException(403, "missing or wrong CSRF token")
    return user


async def optional_user(request: Request, state: Annotated[ApiState, Depends(api_state)]) -> User | None:
    """Routes open to all that show more to a signed-in caller (``/health``)."""
    try:
        return await caller(request, state)
    except MalformedCredential:
        return None


def open_or_user(flag: str) -> Callable[..., Awaitable[User | None]]:
    """A dependency that lets callers through when the setting ``flag`` is true."""

    async def check(request: Request, state: Annotated[ApiState, Depends(api_state)]) -> User | None:
        if getattr(state.rt.settings, flag):
            return None
        return await api_user(request, state)

    return check


class AuthGate:
    """Authentication before the body is read: an unsafe request (POST and friends) to
    anything but the login form needs a credential before any byte of its body is parsed,
    so an anonymous caller gets 401 (or the login page), never a 422 or 413 about a body
    it had no right to send. The resolved user is kept for the route's dependencies."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS \
                or scope["path"] in PUBLIC_UNSAFE:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        state: ApiState = scope["app"].state.mailroom
        try:
            user = await caller(request, state)
        except MalformedCredential:
            await unauthorized("malformed credential")(scope, receive, send)
            return
        except RetryLater as exc:
            await unavailable(exc)(scope, receive, send)
            return
        if user is None:
            if scope["path"].startswith("/api/"):
                response: Response = unauthorized()
            else:
                response = RedirectResponse(login_url(scope["path"]), status_code=303)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BodyLimit:
    """Every request body at most ``limit`` bytes: a larger declared length is answered 413
    at once; a body without one (chunked) is answered 413 as soon as it grows past the
    limit, and the route then sees the client gone (whatever it answers is dropped)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = JSONResponse({"detail": f"request body larger than {self.limit} bytes"},
                                 status_code=413, headers={"Connection": "close"})
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await too_large(scope, receive, send)
            return
        seen = 0
        started = cut = False

        async def counting_receive() -> Message:
            nonlocal seen, cut
            if cut:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    cut = True
                    if not started:
                        await too_large(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if cut:
                return  # the 413 went out already
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counting_receive, watching_send)


class SecurityHeaders:
    """Adds the CSP and friends to every response (pure ASGI, so streaming is untouched)."""

    def __init__(self, app: ASGIApp, always_https: bool = False) -> None:
        self.app = app
        self.always_https = always_https  # API_COOKIE_SECURE: served over https (via a proxy)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        hsts = self.always_https or scope.get("scheme") == "https"

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
                if hsts:
                    headers.append((b"strict-transport-security", HSTS.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
